from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from cords_tune.datasets import DATASETS, load_dataset
from cords_tune.errors import ConfigError


def test_shapes_dtypes_and_balance(tmp_path: Path) -> None:
    raw = DATASETS.build("synthetic", data_dir=tmp_path, seed=3, num_samples=500, num_features=7, num_classes=5,
                         test_fraction=0.2)
    assert raw.x_train.shape == (400, 7) and raw.x_test.shape == (100, 7)
    assert raw.x_train.dtype == np.float32 and raw.y_train.dtype == np.int64
    assert raw.num_classes == 5 and raw.mean is None and raw.augmentations == ()
    np.testing.assert_array_equal(np.bincount(raw.y_test), [20] * 5)  # stratified test split


def test_a_linear_model_learns_it(tmp_path: Path) -> None:
    bundle = load_dataset("synthetic", data_dir=tmp_path, seed=0)
    model = LogisticRegression(max_iter=500).fit(bundle.x_train, bundle.y_train)
    assert model.score(bundle.x_test, bundle.y_test) > 0.6  # chance is 0.25


def test_class_sep_makes_it_easier(tmp_path: Path) -> None:
    def score(class_sep: float) -> float:
        raw = DATASETS.build("synthetic", data_dir=tmp_path, seed=0, class_sep=class_sep)
        return LogisticRegression(max_iter=500).fit(raw.x_train, raw.y_train).score(raw.x_test, raw.y_test)

    assert score(3.0) > score(0.3)


def test_seed_decides_the_data(tmp_path: Path) -> None:
    a, b, c = (DATASETS.build("synthetic", data_dir=tmp_path, seed=s, num_samples=100) for s in (1, 1, 2))
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.x_train, c.x_train)


def test_integral_floats_are_accepted_for_int_params(tmp_path: Path) -> None:
    params = {"num_samples": 100, "num_features": 5, "num_classes": 3}
    as_int = DATASETS.build("synthetic", data_dir=tmp_path, seed=0, **params)
    as_float = DATASETS.build("synthetic", data_dir=tmp_path, seed=0, **{k: float(v) for k, v in params.items()})
    assert as_float.num_classes == 3 and type(as_float.num_classes) is int
    np.testing.assert_array_equal(as_int.x_train, as_float.x_train)
    np.testing.assert_array_equal(as_int.y_test, as_float.y_test)


@pytest.mark.parametrize(
    ("params", "path", "message"),
    [
        ({"num_classes": 1}, "num_classes",
         "The 'num_classes' parameter of dataset 'synthetic' must be an integer >= 2. Got 1"),
        ({"num_samples": 2.5}, "num_samples", "must be an integer >= 8. Got 2.5 instead."),
        ({"num_features": 1, "num_classes": 3}, "num_features", r"2 \*\* num_features >= num_classes"),
        ({"test_fraction": 1.0}, "test_fraction", r"must be a number in \(0, 1\). Got 1.0 instead."),
        ({"test_fraction": 0.001}, "test_fraction", "at least 4 samples"),
        ({"class_sep": -1}, "class_sep", "must be a number > 0. Got -1 instead."),
    ],
)
def test_bad_params_are_rejected(tmp_path: Path, params: dict, path: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        load_dataset("synthetic", data_dir=tmp_path, params=params)
    assert info.value.path == f"dataset.params.{path}"
