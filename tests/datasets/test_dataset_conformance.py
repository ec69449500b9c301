"""Conformance suite run against every registered dataset: a new entry is tested with no test edits.

Datasets that need files (the torchvision ones) are checked here for their contract only; their loading
is tested in test_vision.py on tiny files written by the tests. Datasets that read the user's own files
(``FILE_DATASETS``) are loaded from the sample files of tests/datasets/file_samples.py.
"""

from __future__ import annotations

import inspect
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from file_samples import write_sample_files  # tests/datasets/file_samples.py

from cords_tune.datasets import DATASETS, DataBundle, load_dataset
from cords_tune.datasets.augment import AUGMENTATIONS
from cords_tune.datasets.files import FILE_DATASETS
from cords_tune.datasets.vision import VISION_DATASETS
from cords_tune.errors import ConfigError

# Small, fast parameters per offline dataset; a dataset missing here is tested with its defaults.
SMALL_PARAMS: dict[str, dict] = {"synthetic": {"num_samples": 400}, "mnist1d": {"num_samples": 300},
                                 "cifar_shaped": {"num_train": 300, "num_test": 50}}
OFFLINE = [name for name in DATASETS.names() if name not in VISION_DATASETS]


def _params(name: str, tmp_path: Path) -> dict:
    """The small parameters of ``name``; for a file dataset, its sample files written under ``tmp_path``."""
    if name in FILE_DATASETS:
        return write_sample_files(name, tmp_path / "files")
    return dict(SMALL_PARAMS.get(name, {}))


def _load(name: str, data_dir: Path, params: dict, seed: int = 0) -> DataBundle:
    return load_dataset(name, data_dir=data_dir, seed=seed, val_fraction=0.1, params=params)


def _rows(x: np.ndarray, y: np.ndarray) -> Counter:
    """The multiset of (input, label) rows, to compare splits regardless of order."""
    return Counter((row.tobytes(), int(label)) for row, label in zip(x, y, strict=True))


def test_registry_holds_the_documented_datasets() -> None:
    expected = {"synthetic", "digits", "mnist1d", "cifar_shaped", "cifar10", "cifar100", "mnist", "fashion_mnist",
                "svhn", "npz", "csv", "image_folder"}
    assert expected <= set(DATASETS.names())
    assert set(FILE_DATASETS) == {"npz", "csv", "image_folder"}
    assert set(VISION_DATASETS) == {"cifar10", "cifar100", "mnist", "fashion_mnist", "svhn"}


@pytest.mark.parametrize("name", DATASETS.names())
def test_loader_follows_the_contract(name: str) -> None:
    signature = inspect.signature(DATASETS.get(name))
    params = signature.parameters
    assert {"data_dir", "seed"} <= set(params)
    for param in params.values():
        assert param.kind is param.KEYWORD_ONLY, f"{name}: {param.name} must be keyword-only"
        assert param.annotation is not inspect.Parameter.empty, f"{name}: {param.name} needs a type hint"
        if param.name not in ("data_dir", "seed"):
            assert param.default is not inspect.Parameter.empty, f"{name}: {param.name} needs a default"
    assert DATASETS.describe(name), f"{name}: the docstring's first line is its listing"


@pytest.mark.parametrize("name", DATASETS.names())
def test_unknown_param_is_rejected_with_its_path(name: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="has no parameter 'bogus'") as info:
        load_dataset(name, data_dir=tmp_path, params={"bogus": 1})
    assert info.value.path == "dataset.params.bogus"


@pytest.mark.parametrize("name", OFFLINE)
def test_offline_dataset_builds_a_consistent_bundle(name: str, tmp_path: Path) -> None:
    bundle = _load(name, tmp_path, _params(name, tmp_path))
    splits = [(bundle.x_train, bundle.y_train), (bundle.x_val, bundle.y_val), (bundle.x_test, bundle.y_test)]
    for x, y in splits:
        assert len(x) == len(y) > 0
        assert x.shape[1:] == bundle.input_shape
        assert x.dtype in (np.float32, np.uint8)
        assert y.dtype == np.int64 and y.ndim == 1
        assert y.min() >= 0 and y.max() < bundle.num_classes
        if x.dtype == np.float32:
            assert np.isfinite(x).all()
    assert set(np.unique(bundle.y_train)) == set(range(bundle.num_classes))
    if bundle.mean is not None:
        assert len(bundle.mean) == len(bundle.std) == bundle.input_shape[0]
    assert set(bundle.augmentations) <= set(AUGMENTATIONS)


@pytest.mark.parametrize("name", OFFLINE)
def test_validation_is_carved_out_of_the_training_split(name: str, tmp_path: Path) -> None:
    params = _params(name, tmp_path)
    raw = DATASETS.build(name, data_dir=tmp_path, seed=0, **params)
    bundle = _load(name, tmp_path, params)
    train, val = _rows(bundle.x_train, bundle.y_train), _rows(bundle.x_val, bundle.y_val)
    assert train + val == _rows(raw.x_train, raw.y_train)  # a partition of the loader's training data
    assert not set(train) & set(val)
    np.testing.assert_array_equal(bundle.x_test, raw.x_test)


@pytest.mark.parametrize("name", OFFLINE)
def test_same_seed_gives_the_same_data(name: str, tmp_path: Path) -> None:
    params = _params(name, tmp_path)
    first, second = _load(name, tmp_path, params), _load(name, tmp_path, params)
    other = _load(name, tmp_path, params, seed=1)
    for attr in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(first, attr), getattr(second, attr))
    assert not np.array_equal(first.x_val, other.x_val), "another seed must give another validation split"
