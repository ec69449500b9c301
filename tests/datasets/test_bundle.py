"""Tests of the two seeded, stratified splits in cords_tune/datasets/bundle.py."""

from __future__ import annotations

import numpy as np
import pytest

from cords_tune.datasets.bundle import split_validation, stratified_split
from cords_tune.errors import ConfigError

X = np.arange(100, dtype=np.float32)[:, None]
Y = np.repeat(np.arange(4), 25)


def test_stratified_split_is_stratified_seeded_and_complete() -> None:
    x_train, y_train, x_test, y_test = stratified_split("toy", X, Y, 0.2, seed=0)
    assert len(y_test) == 20 and len(y_train) == 80
    np.testing.assert_array_equal(np.bincount(y_test), [5] * 4)
    np.testing.assert_array_equal(np.sort(np.concatenate([x_train, x_test])[:, 0]), X[:, 0])
    np.testing.assert_array_equal(Y[x_test[:, 0].astype(int)], y_test)  # inputs keep their labels
    again = stratified_split("toy", X, Y, 0.2, seed=0)
    np.testing.assert_array_equal(again[2], x_test)
    assert not np.array_equal(stratified_split("toy", X, Y, 0.2, seed=1)[2], x_test)


@pytest.mark.parametrize("test_fraction", [0.01, 0.99])
def test_stratified_split_needs_one_sample_per_class_on_both_sides(test_fraction: float) -> None:
    with pytest.raises(ConfigError) as info:
        stratified_split("toy", X, Y, test_fraction, seed=0)
    assert info.value.path == "dataset.params.test_fraction"
    assert str(info.value) == (
        "dataset.params.test_fraction: The 'test_fraction' parameter of dataset 'toy' must be large and small "
        "enough to leave at least 4 samples (one per class) in both the train and the test split of 100 samples. "
        f"Got {test_fraction!r} instead."
    )


def test_split_validation_keeps_a_training_sample_per_class() -> None:
    x_train, y_train, x_val, y_val = split_validation(X, Y, 0.2, seed=0)
    np.testing.assert_array_equal(np.bincount(y_val), [5] * 4)
    np.testing.assert_array_equal(np.bincount(y_train), [20] * 4)
    np.testing.assert_array_equal(np.sort(np.concatenate([x_train, x_val])[:, 0]), X[:, 0])
    _, y_train, _, _ = split_validation(X[:8], np.arange(8) % 2, 0.99, seed=0)
    assert set(y_train) == {0, 1}
