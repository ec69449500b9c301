"""``synthetic``: a seeded Gaussian-cluster classification problem that needs no files at all.

The samples come from scikit-learn's ``make_classification`` (Guyon's Madelon design, one Gaussian cluster
per class on the vertices of a hypercube of side ``2 * class_sep``, every feature informative, no label
noise). It is meant for smoke tests and quick experiments: a linear model separates it well above chance,
and the same ``seed`` always gives the same arrays.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from cords_tune.datasets.registry import DATASETS
from cords_tune.datasets.bundle import TrainTest, stratified_split
from cords_tune.params import ParamCheck

__all__ = ["synthetic"]

logger = logging.getLogger(__name__)

_NAME = "synthetic"


@DATASETS.register(_NAME)
def synthetic(
    *,
    data_dir: Path,
    seed: int,
    num_samples: int = 2000,
    num_features: int = 20,
    num_classes: int = 4,
    test_fraction: float = 0.2,
    class_sep: float = 1.0,
) -> TrainTest:
    """Seeded Gaussian clusters, one per class (scikit-learn make_classification); offline, instant.

    Args:
        data_dir: unused (nothing is read or written); part of the loader contract.
        seed: seeds both the samples and the stratified train/test split.
        num_samples: samples in train and test together, at least ``2 * num_classes``.
        num_features: input dimension; every feature is informative. Needs ``2 ** num_features >=
            num_classes`` (one hypercube vertex per class).
        num_classes: number of classes, at least 2.
        test_fraction: share of the samples held out as the test split, in (0, 1).
        class_sep: half the side of the hypercube the cluster centres sit on; larger is easier.

    Returns:
        ``float32`` inputs of shape (N, num_features), balanced int64 labels in ``[0, num_classes)``.
    """
    check = ParamCheck("dataset", _NAME)
    num_classes = check.integer("num_classes", num_classes, low=2)
    num_samples = check.integer("num_samples", num_samples, low=2 * num_classes)
    num_features = check.integer("num_features", num_features, low=1)
    if 2**num_features < num_classes:
        raise check.error(
            "num_features", f"large enough that 2 ** num_features >= num_classes ({num_classes})", num_features
        )
    test_fraction = check.number("test_fraction", test_fraction, low=0.0, high=1.0, low_open=True, high_open=True)
    class_sep = check.number("class_sep", class_sep, low=0.0, low_open=True)

    from sklearn.datasets import make_classification  # deferred: importing sklearn takes seconds

    x, y = make_classification(
        n_samples=num_samples,
        n_features=num_features,
        n_informative=num_features,
        n_redundant=0,
        n_repeated=0,
        n_classes=num_classes,
        n_clusters_per_class=1,
        class_sep=class_sep,
        flip_y=0.0,
        shuffle=True,
        random_state=seed,
    )
    x_train, y_train, x_test, y_test = stratified_split(
        _NAME, x.astype(np.float32), y.astype(np.int64), test_fraction, seed
    )
    logger.debug("synthetic: %d train / %d test samples, %d features", len(y_train), len(y_test), num_features)
    return TrainTest(x_train, y_train, x_test, y_test, num_classes=num_classes)
