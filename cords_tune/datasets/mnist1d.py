"""``mnist1d``: the MNIST-1D benchmark (Greydanus & Kobak, 2020), generated locally and cached on disk.

MNIST-1D turns ten 1-D digit templates into 40-step sequences with random padding, translation, shear,
scaling and correlated noise. With the defaults (5000 samples, generator seed 42, 80/20 split) it is the
standard benchmark: 4000 training and 1000 test sequences. It is generated with
``mnist1d.data.make_dataset`` (never ``get_dataset``, which downloads), which takes seconds, so the arrays
are cached under ``data_dir / "mnist1d" / "<key>.npz"``, the key encoding every generation argument. The
cache file is written atomically (``cords_tune.datasets.cache``), so concurrent runs never read a half-written
file.

The experiment ``seed`` does not change the data (``generator_seed`` does); it only drives the
validation split that ``load_dataset`` carves out of the training part.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import logging
import random
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from cords_tune.datasets.cache import read_arrays, write_arrays
from cords_tune.datasets.registry import DATASETS
from cords_tune.datasets.bundle import TrainTest
from cords_tune.params import ParamCheck

__all__ = ["mnist1d", "cache_path"]

logger = logging.getLogger(__name__)

_NAME = "mnist1d"
_NUM_CLASSES = 10
_ARRAYS = ("x_train", "y_train", "x_test", "y_test")


@DATASETS.register(_NAME)
def mnist1d(
    *,
    data_dir: Path,
    seed: int,
    num_samples: int = 5000,
    generator_seed: int = 42,
    train_split: float = 0.8,
) -> TrainTest:
    """MNIST-1D benchmark (40-step 1-D digits, 10 classes), generated locally and cached; offline.

    Args:
        data_dir: root of the dataset cache; the arrays are stored in ``data_dir / "mnist1d"``.
        seed: unused for the data (see ``generator_seed``); the validation split uses it.
        num_samples: sequences in train and test together, at least 20; rounded down to a multiple of 10
            (the generator makes ``num_samples // 10`` per class). 5000 is the standard benchmark.
        generator_seed: seed of the generator; 42 is the benchmark's own.
        train_split: share of the (shuffled) sequences in the training split, in (0, 1).

    Returns:
        ``float32`` sequences of shape (N, 40), standardised over the whole dataset, int64 labels.
    """
    check = ParamCheck("dataset", _NAME)
    num_samples = check.integer("num_samples", num_samples, low=20)
    generator_seed = check.integer("generator_seed", generator_seed, low=0, high=2**32 - 1)
    train_split = check.number("train_split", train_split, low=0.0, high=1.0, low_open=True, high_open=True)

    path = cache_path(data_dir, num_samples=num_samples, generator_seed=generator_seed, train_split=train_split)
    arrays = read_arrays(path, _ARRAYS, title="MNIST-1D")
    if arrays is None:
        logger.info("Generating MNIST-1D (%d samples, seed %d); caching it in %s", num_samples, generator_seed, path)
        arrays = _generate(num_samples=num_samples, generator_seed=generator_seed, train_split=train_split)
        write_arrays(path, arrays, title="MNIST-1D")
    else:
        logger.debug("Loaded MNIST-1D from %s", path)
    return TrainTest(**arrays, num_classes=_NUM_CLASSES)


def cache_path(data_dir: Path, *, num_samples: int, generator_seed: int, train_split: float) -> Path:
    """Where the arrays generated with these arguments are cached.

    The key is readable and ends in a digest of the arguments and the ``mnist1d`` package version (whose
    other generation arguments are fixed per version), so a new generator never reads a stale cache.
    Computing it does not import ``mnist1d``, so a cache hit is cheap.
    """
    args = {"num_samples": num_samples, "seed": generator_seed, "train_split": train_split,
            "mnist1d": importlib.metadata.version("mnist1d")}
    digest = hashlib.sha256(json.dumps(args, sort_keys=True).encode()).hexdigest()[:12]
    key = f"n{num_samples}_split{train_split:g}_seed{generator_seed}_{digest}"
    return Path(data_dir) / _NAME / f"{key}.npz"


@contextlib.contextmanager
def _preserved_global_rng() -> Iterator[None]:
    """Restore ``random`` and ``np.random`` global states afterwards (make_dataset reseeds both)."""
    py_state, np_state = random.getstate(), np.random.get_state()
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)


def _generate(*, num_samples: int, generator_seed: int, train_split: float) -> dict[str, np.ndarray]:
    """Run the benchmark's generator with its default arguments, ours substituted."""
    # Deferred: mnist1d imports matplotlib (seconds). make_dataset is looked up at call time (tests patch it).
    from mnist1d import data as mnist1d_data
    from mnist1d.utils import ObjectView

    args = mnist1d_data.get_dataset_args(as_dict=True)
    args.update(num_samples=num_samples, seed=generator_seed, train_split=train_split)
    with _preserved_global_rng():
        raw = mnist1d_data.make_dataset(ObjectView(args))
    return {
        "x_train": np.asarray(raw["x"], dtype=np.float32),
        "y_train": np.asarray(raw["y"], dtype=np.int64),
        "x_test": np.asarray(raw["x_test"], dtype=np.float32),
        "y_test": np.asarray(raw["y_test"], dtype=np.int64),
    }
