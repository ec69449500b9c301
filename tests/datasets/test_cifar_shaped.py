"""cifar_shaped: CIFAR-10's shapes, balanced classes, the same images for the same generator seed (cached), its
parameters checked, and learnable from its pixels without being trivial."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cords_tune.datasets import DATASETS, load_dataset
from cords_tune.datasets import cifar_shaped as module
from cords_tune.errors import ConfigError

SMALL = {"num_train": 300, "num_test": 60}


def _build(data_dir: Path, seed: int = 0, **params):
    return DATASETS.build("cifar_shaped", data_dir=data_dir, seed=seed, **{**SMALL, **params})


def test_cifar_shapes_and_balanced_classes(tmp_path: Path) -> None:
    raw = _build(tmp_path, num_train=305, num_test=60)
    assert raw.x_train.shape == (305, 3, 32, 32) and raw.x_test.shape == (60, 3, 32, 32)
    assert raw.x_train.dtype == np.uint8 and raw.y_train.dtype == np.int64
    assert raw.num_classes == 10 and raw.augmentations == ("crop", "flip")
    counts = np.bincount(raw.y_train, minlength=10)
    assert counts.max() - counts.min() <= 1 and counts.sum() == 305
    np.testing.assert_array_equal(np.bincount(raw.y_test), [6] * 10)
    np.testing.assert_allclose(raw.mean, raw.x_train.mean(axis=(0, 2, 3)) / 255, rtol=1e-6)
    np.testing.assert_allclose(raw.std, raw.x_train.std(axis=(0, 2, 3)) / 255, rtol=1e-6)
    assert 0 < min(raw.std) and raw.x_train.min() < 30 and raw.x_train.max() > 225  # the whole pixel range


def test_the_defaults_are_cifar10s_sizes() -> None:
    params = DATASETS.user_params("cifar_shaped")
    assert (params["num_train"].default, params["num_test"].default) == (50000, 10000)


def test_the_generator_seed_decides_the_images_and_the_experiment_seed_does_not(tmp_path: Path) -> None:
    first = _build(tmp_path / "a", generator_seed=3)
    again = _build(tmp_path / "b", seed=9, generator_seed=3)  # generated anew, not read from the same cache
    other = _build(tmp_path / "c", generator_seed=4)
    for attr in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(first, attr), getattr(again, attr))
    assert not np.array_equal(first.x_train, other.x_train)


def test_images_are_cached_and_a_second_load_reads_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = _build(tmp_path)
    (path,) = (tmp_path / "cifar_shaped").iterdir()
    assert path == module.cache_path(tmp_path, **SMALL, generator_seed=0, prototypes=64, max_shift=4, noise=0.08)

    def fail(**kwargs):
        raise AssertionError("generated although the cache holds the images")

    monkeypatch.setattr(module, "generate", fail)
    second = _build(tmp_path)
    np.testing.assert_array_equal(first.x_train, second.x_train)
    with pytest.raises(AssertionError, match="generated although"):
        _build(tmp_path, noise=0.1)  # another parameter is another cache entry


def test_a_corrupt_cache_is_regenerated(tmp_path: Path) -> None:
    path = module.cache_path(tmp_path, **SMALL, generator_seed=0, prototypes=64, max_shift=4, noise=0.08)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not an npz file")
    raw = _build(tmp_path)
    with np.load(path) as npz:
        np.testing.assert_array_equal(npz["x_train"], raw.x_train)


@pytest.mark.parametrize(("param", "value", "requirement"), [
    ("num_train", 10, "an integer >= 20"),
    ("num_train", 100.5, "an integer >= 20"),
    ("num_test", 0, "an integer >= 10"),
    ("generator_seed", -1, "an integer in [0, 4294967295]"),
    ("prototypes", 0, "an integer in [1, 64]"),
    ("max_shift", 13, "an integer in [0, 12]"),
    ("noise", -0.1, "a number in [0, 1]"),
    ("noise", "loud", "a number in [0, 1]"),
])
def test_bad_parameters_are_config_errors_naming_the_parameter(tmp_path: Path, param, value, requirement) -> None:
    with pytest.raises(ConfigError) as error:
        load_dataset("cifar_shaped", data_dir=tmp_path, params={**SMALL, param: value})
    assert error.value.path == f"dataset.params.{param}"
    assert f"The {param!r} parameter of dataset 'cifar_shaped' must be {requirement}. Got {value!r}" in str(error.value)


def _nearest_mean_accuracy(raw) -> float:
    """Accuracy of the nearest class mean on raw pixels: a model with no notion of shifts or lighting."""
    x, x_test = raw.x_train.reshape(len(raw.x_train), -1) / 255.0, raw.x_test.reshape(len(raw.x_test), -1) / 255.0
    means = np.stack([x[raw.y_train == c].mean(0) for c in range(raw.num_classes)])
    distances = ((x_test[:, None, :] - means[None]) ** 2).sum(-1)
    return float((distances.argmin(1) == raw.y_test).mean())


def test_learnable_from_its_pixels_but_not_trivially(tmp_path: Path) -> None:
    raw = _build(tmp_path, num_train=2000, num_test=500)
    accuracy = _nearest_mean_accuracy(raw)
    assert 0.2 < accuracy < 0.8  # chance is 0.1


def test_more_noise_is_harder(tmp_path: Path) -> None:
    clean = _nearest_mean_accuracy(_build(tmp_path, num_train=2000, num_test=500, noise=0.0, max_shift=0))
    noisy = _nearest_mean_accuracy(_build(tmp_path, num_train=2000, num_test=500, noise=0.3, max_shift=8))
    assert clean > noisy
