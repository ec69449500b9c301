"""Datasets, loaded by name from the registry (``cords_tune.datasets.registry``). Every dataset becomes a
``DataBundle`` of in-memory arrays with a validation split carved (stratified, seeded) from its training data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

# The loader modules are imported for their side effect of filling DATASETS.
from cords_tune.datasets import (  # noqa: F401
    cifar_shaped, digits, image_folder, mnist1d, npz, synthetic, tabular, vision,
)
from cords_tune.datasets.bundle import DataBundle, TrainTest, split_validation
from cords_tune.datasets.registry import DATASETS

__all__ = ["DATASETS", "DataBundle", "TrainTest", "load_dataset", "bundle_splits", "list_datasets"]

def list_datasets() -> list[str]:
    return DATASETS.names()


def load_dataset(
    name: str,
    *,
    data_dir: str | Path,
    seed: int = 0,
    val_fraction: float = 0.1,
    params: dict[str, Any] | None = None,
) -> DataBundle:
    """Load dataset ``name`` and carve a validation split of ``val_fraction`` from its training data."""
    params = dict(params or {})
    DATASETS.check_params(name, params, path="dataset.params")
    raw: TrainTest = DATASETS.build(name, data_dir=Path(data_dir).expanduser(), seed=seed, **params)
    return bundle_splits(name, raw, val_fraction=val_fraction, seed=seed)


def bundle_splits(name: str, raw: TrainTest, *, val_fraction: float, seed: int) -> DataBundle:
    """The ``DataBundle`` of a dataset's train and test splits, with a validation split carved (stratified,
    seeded) from the training one."""
    x_train, y_train, x_val, y_val = split_validation(raw.x_train, raw.y_train, val_fraction, seed)
    return DataBundle(
        name=name,
        x_train=np.ascontiguousarray(x_train),
        y_train=np.ascontiguousarray(y_train, dtype=np.int64),
        x_val=np.ascontiguousarray(x_val),
        y_val=np.ascontiguousarray(y_val, dtype=np.int64),
        x_test=np.ascontiguousarray(raw.x_test),
        y_test=np.ascontiguousarray(raw.y_test, dtype=np.int64),
        num_classes=raw.num_classes,
        mean=raw.mean,
        std=raw.std,
        augmentations=tuple(raw.augmentations),
        classes=raw.classes,
        feature_names=raw.feature_names,
    )

