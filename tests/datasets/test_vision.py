"""The torchvision datasets, offline: their clear error when files are missing, and their real parsing path
on tiny files written here in torchvision's layout.

MNIST-like datasets check only that the raw files exist, so they are parsed unpatched. CIFAR and SVHN
check md5 sums, so for them ``check_integrity`` is replaced by an existence check.
"""

from __future__ import annotations

import os
import pickle
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import torchvision.datasets.cifar
import torchvision.datasets.svhn

from cords_tune.datasets import DATASETS, load_dataset
from cords_tune.datasets import vision
from cords_tune.datasets.vision import SPECS, VISION_DATASETS
from cords_tune.errors import ConfigError, DatasetUnavailableError

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # x_train, y_train, x_test, y_test, our layout
RNG = np.random.default_rng(0)

# What the error message must point the user to, per dataset (written independently of SPECS).
MANUAL_HINTS = {
    "cifar10": "cifar-10-python.tar.gz",
    "cifar100": "cifar-100-python.tar.gz",
    "mnist": os.path.join("MNIST", "raw"),
    "fashion_mnist": os.path.join("FashionMNIST", "raw"),
    "svhn": "train_32x32.mat",
}


def _images(n: int, shape: tuple[int, ...]) -> np.ndarray:
    return RNG.integers(0, 256, size=(n, *shape), dtype=np.uint8)


def _write_idx(path: Path, array: np.ndarray) -> None:
    """An uncompressed IDX file of uint8 (magic 0x08, then big-endian int32 dimensions)."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def _write_mnist_like(root: Path, folder: str) -> Arrays:
    raw = root / folder / "raw"
    raw.mkdir(parents=True)
    arrays = []
    for prefix, n in (("train", 30), ("t10k", 10)):
        x, y = _images(n, (28, 28)), np.arange(n, dtype=np.uint8) % 10
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", x)
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", y)
        arrays += [x[:, None], y.astype(np.int64)]
    return tuple(arrays)


def _write_cifar(root: Path, folder: str, batches: list[str], label_key: str, meta: tuple[str, str],
                 num_classes: int) -> Arrays:
    """CIFAR's pickled batches: rows of 3072 bytes (R plane, G plane, B plane) plus labels."""
    (root / folder).mkdir(parents=True)
    xs, ys = [], []
    for name in [*batches, "test_batch_marker"]:
        n = 4 if name != "test_batch_marker" else 6
        x, y = _images(n, (3, 32, 32)), RNG.integers(0, num_classes, size=n)
        file = name if name != "test_batch_marker" else ("test" if folder.startswith("cifar-100") else "test_batch")
        with open(root / folder / file, "wb") as f:
            pickle.dump({"data": x.reshape(n, -1), label_key: y.tolist()}, f)
        xs.append(x)
        ys.append(y.astype(np.int64))
    with open(root / folder / meta[0], "wb") as f:
        pickle.dump({meta[1]: [str(i) for i in range(num_classes)]}, f)
    return np.concatenate(xs[:-1]), np.concatenate(ys[:-1]), xs[-1], ys[-1]


def _write_svhn(root: Path) -> Arrays:
    """SVHN's .mat files: X is (H, W, C, N), y is (N, 1) with the digit 0 labelled 10."""
    root.mkdir(parents=True)
    arrays = []
    for split, n in (("train", 12), ("test", 6)):
        x, y = _images(n, (3, 32, 32)), np.arange(n) % 10
        mat = {"X": x.transpose(2, 3, 1, 0), "y": np.where(y == 0, 10, y)[:, None]}
        scipy.io.savemat(root / f"{split}_32x32.mat", mat)
        arrays += [x, y.astype(np.int64)]
    return tuple(arrays)


WRITERS: dict[str, Callable[[Path], Arrays]] = {
    "mnist": lambda root: _write_mnist_like(root, "MNIST"),
    "fashion_mnist": lambda root: _write_mnist_like(root, "FashionMNIST"),
    "cifar10": lambda root: _write_cifar(root, "cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)],
                                         "labels", ("batches.meta", "label_names"), 10),
    "cifar100": lambda root: _write_cifar(root, "cifar-100-python", ["train"], "fine_labels",
                                          ("meta", "fine_label_names"), 100),
    "svhn": _write_svhn,
}


@pytest.fixture
def no_md5(monkeypatch: pytest.MonkeyPatch) -> None:
    exists = lambda fpath, md5=None: os.path.isfile(fpath)  # noqa: E731
    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", exists)
    monkeypatch.setattr(torchvision.datasets.svhn, "check_integrity", exists)


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every HTTP request (ours and torchvision's) fails as it does without a network."""

    def no_network(*args: object, **kwargs: object) -> None:
        raise urllib.error.URLError("simulated: no network")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)


def test_every_vision_dataset_has_a_parsing_test() -> None:
    assert set(WRITERS) == set(VISION_DATASETS)


@pytest.mark.parametrize("name", VISION_DATASETS)
def test_parses_files_placed_by_hand(name: str, tmp_path: Path, no_md5: None) -> None:
    expected = WRITERS[name](tmp_path / name)
    raw = DATASETS.build(name, data_dir=tmp_path, seed=0, download=False)
    for got, want in zip((raw.x_train, raw.y_train, raw.x_test, raw.y_test), expected, strict=True):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    spec = SPECS[name]
    assert raw.x_train.shape[1] == len(raw.mean) == len(raw.std)
    assert (raw.num_classes, raw.augmentations) == (spec.num_classes, spec.augmentations)


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
def test_mnist_like_bundle_from_idx_files(name: str, tmp_path: Path) -> None:
    WRITERS[name](tmp_path / name)
    bundle = load_dataset(name, data_dir=tmp_path, seed=0, val_fraction=0.34, params={"download": False})
    assert bundle.x_train.shape == (20, 1, 28, 28) and bundle.x_val.shape == (10, 1, 28, 28)
    assert bundle.x_test.dtype == np.uint8 and bundle.y_test.dtype == np.int64
    assert bundle.augmentations == () and bundle.mean is not None and 0 < bundle.mean[0] < 1


@pytest.mark.parametrize("name", VISION_DATASETS)
def test_missing_files_without_download(name: str, tmp_path: Path) -> None:
    with pytest.raises(DatasetUnavailableError) as info:
        load_dataset(name, data_dir=tmp_path, params={"download": False})
    message = str(info.value)
    assert repr(name) in message and str(tmp_path / name) in message
    assert "download is off" in message and MANUAL_HINTS[name] in message
    assert info.value.__cause__ is None and info.value.__suppress_context__


@pytest.mark.parametrize("name", VISION_DATASETS)
def test_offline_download_fails_with_one_clear_error(name: str, tmp_path: Path, offline: None) -> None:
    with pytest.raises(DatasetUnavailableError, match="unreachable") as info:
        load_dataset(name, data_dir=tmp_path)
    message = str(info.value)
    assert repr(name) in message and str(tmp_path / name) in message and "simulated: no network" in message
    assert MANUAL_HINTS[name] in message


@pytest.mark.parametrize("name", VISION_DATASETS)
def test_failed_download_is_reported_and_restores_the_socket_timeout(
    name: str, tmp_path: Path, offline: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vision, "_probe", lambda url: None)  # the server seems up, the download then fails
    before = socket.getdefaulttimeout()
    with pytest.raises(DatasetUnavailableError, match="downloading it failed") as info:
        load_dataset(name, data_dir=tmp_path)
    assert str(tmp_path / name) in str(info.value) and info.value.__cause__ is None
    assert socket.getdefaulttimeout() == before


def test_corrupt_files_are_reported(tmp_path: Path) -> None:
    WRITERS["mnist"](tmp_path / "mnist")
    (tmp_path / "mnist" / "MNIST" / "raw" / "t10k-images-idx3-ubyte").write_bytes(b"truncated")
    with pytest.raises(DatasetUnavailableError, match="there but cannot be read") as info:
        load_dataset("mnist", data_dir=tmp_path, params={"download": False})
    assert not info.value.missing


def test_absent_files_are_reported_as_missing(tmp_path: Path) -> None:
    with pytest.raises(DatasetUnavailableError, match="the files are missing") as info:
        load_dataset("mnist", data_dir=tmp_path, params={"download": False})
    assert info.value.missing


def test_probe_gives_up_on_a_silent_server(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()

    def silent(*args: object, **kwargs: object) -> None:
        release.wait(10)
        raise urllib.error.URLError("released")

    monkeypatch.setattr(urllib.request, "urlopen", silent)
    try:
        assert vision._probe("https://example.invalid/x", timeout=0.2) == "no answer within 0.2 s"
    finally:
        release.set()


def test_probe_counts_an_http_error_as_reachable(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise urllib.error.HTTPError("https://example.invalid/x", 403, "Forbidden", None, None)  # type: ignore

    monkeypatch.setattr(urllib.request, "urlopen", forbidden)
    assert vision._probe("https://example.invalid/x", timeout=2) is None


@pytest.mark.parametrize("download", ["yes", 1])
def test_download_must_be_a_bool(download: object, tmp_path: Path) -> None:
    message = "The 'download' parameter of dataset 'cifar10' must be true or false"
    with pytest.raises(ConfigError, match=message) as info:
        load_dataset("cifar10", data_dir=tmp_path, params={"download": download})
    assert info.value.path == "dataset.params.download"
