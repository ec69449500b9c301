from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits

from cords_tune.datasets import DATASETS
from cords_tune.errors import ConfigError


def test_images_scaled_to_unit_interval(tmp_path: Path) -> None:
    raw = DATASETS.build("digits", data_dir=tmp_path, seed=0)
    assert raw.x_train.shape[1:] == (1, 8, 8) and raw.x_train.dtype == np.float32
    assert len(raw.y_train) + len(raw.y_test) == 1797
    x = np.concatenate([raw.x_train, raw.x_test])
    assert x.min() == 0.0 and x.max() == 1.0
    assert raw.num_classes == 10 and raw.mean is None and raw.augmentations == ()


def test_images_keep_their_labels(tmp_path: Path) -> None:
    raw = DATASETS.build("digits", data_dir=tmp_path, seed=0)
    original = load_digits()
    pairs = zip(original.images, original.target, strict=True)
    lookup = {(img / 16.0).astype(np.float32).tobytes(): int(t) for img, t in pairs}
    for x, y in zip(raw.x_test, raw.y_test, strict=True):
        assert lookup[x[0].tobytes()] == y


def test_test_split_is_stratified_and_seeded(tmp_path: Path) -> None:
    a, b, c = (DATASETS.build("digits", data_dir=tmp_path, seed=s, test_fraction=0.25) for s in (0, 0, 1))
    assert len(a.y_test) == 450
    counts = np.bincount(a.y_test, minlength=10)
    assert counts.min() >= 43 and counts.max() <= 47  # each class ~ a quarter of its ~180 images
    np.testing.assert_array_equal(a.x_test, b.x_test)
    assert not np.array_equal(a.x_test, c.x_test)


@pytest.mark.parametrize("test_fraction", [0.0, 1.2, "0.2", 0.001])
def test_bad_test_fraction_is_rejected(tmp_path: Path, test_fraction: object) -> None:
    with pytest.raises(ConfigError, match="The 'test_fraction' parameter of dataset 'digits' must be") as info:
        DATASETS.build("digits", data_dir=tmp_path, seed=0, test_fraction=test_fraction)
    assert info.value.path == "dataset.params.test_fraction"
