from __future__ import annotations

import random
from pathlib import Path

import mnist1d.data
import numpy as np
import pytest

from cords_tune.datasets import DATASETS
from cords_tune.datasets.mnist1d import cache_path
from cords_tune.errors import ConfigError

SMALL = {"num_samples": 200, "generator_seed": 7}


def _forbid_generation(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("make_dataset was called although the cache holds the data")

    monkeypatch.setattr(mnist1d.data, "make_dataset", fail)


def test_standard_benchmark_shapes(tmp_path: Path) -> None:
    raw = DATASETS.build("mnist1d", data_dir=tmp_path, seed=0)
    assert raw.x_train.shape == (4000, 40) and raw.x_test.shape == (1000, 40)
    assert raw.x_train.dtype == np.float32 and raw.y_train.dtype == np.int64
    assert raw.num_classes == 10 and set(np.unique(raw.y_test)) == set(range(10))


def test_second_load_reads_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = DATASETS.build("mnist1d", data_dir=tmp_path, seed=0, **SMALL)
    path = cache_path(tmp_path, num_samples=200, generator_seed=7, train_split=0.8)
    assert path.is_file() and path.parent == tmp_path / "mnist1d"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind
    _forbid_generation(monkeypatch)
    second = DATASETS.build("mnist1d", data_dir=tmp_path, seed=5, **SMALL)
    for attr in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(first, attr), getattr(second, attr))


def test_generation_args_change_the_data_and_the_cache_key(tmp_path: Path) -> None:
    a = DATASETS.build("mnist1d", data_dir=tmp_path, seed=0, **SMALL)
    b = DATASETS.build("mnist1d", data_dir=tmp_path, seed=0, num_samples=200, generator_seed=8)
    c = DATASETS.build("mnist1d", data_dir=tmp_path, seed=0, num_samples=200, generator_seed=7, train_split=0.5)
    assert not np.array_equal(a.x_train, b.x_train)
    assert len(c.y_train) == 100 and len(c.y_test) == 100
    assert len(list((tmp_path / "mnist1d").glob("*.npz"))) == 3


def test_corrupt_cache_is_regenerated(tmp_path: Path) -> None:
    path = cache_path(tmp_path, num_samples=200, generator_seed=7, train_split=0.8)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not an npz file")
    raw = DATASETS.build("mnist1d", data_dir=tmp_path, seed=0, **SMALL)
    assert raw.x_train.shape == (160, 40)
    with np.load(path) as npz:
        np.testing.assert_array_equal(npz["x_train"], raw.x_train)


def test_global_random_states_are_left_alone(tmp_path: Path) -> None:
    np.random.seed(123)
    random.seed(123)
    DATASETS.build("mnist1d", data_dir=tmp_path, seed=0, **SMALL)
    after = (np.random.rand(), random.random())
    np.random.seed(123)
    random.seed(123)
    assert after == (np.random.rand(), random.random())


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"num_samples": 3}, "The 'num_samples' parameter of dataset 'mnist1d' must be an integer >= 20. Got 3 "
                             "instead."),
        ({"train_split": 1.0}, r"The 'train_split' parameter of dataset 'mnist1d' must be a number in \(0, 1\)"),
        ({"generator_seed": -1}, r"The 'generator_seed' parameter of dataset 'mnist1d' must be an integer in "
                                 r"\[0, 4294967295\]. Got -1 instead."),
    ],
)
def test_bad_params_are_rejected_before_generation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, params: dict, message: str
) -> None:
    _forbid_generation(monkeypatch)
    with pytest.raises(ConfigError, match=message) as info:
        DATASETS.build("mnist1d", data_dir=tmp_path, seed=0, **params)
    assert info.value.path == f"dataset.params.{next(iter(params))}"
