"""torchvision-backed image datasets: ``cifar10``, ``cifar100``, ``mnist``, ``fashion_mnist``, ``svhn``.

One code path serves them all; what differs lives in ``SPECS`` (torchvision class, split arguments,
layout, normalisation, augmentations, download URL and how to place the files by hand). Files live in
``data_dir / name``. Images come back as ``uint8`` (N, C, H, W) with int64 labels; ``mean`` / ``std`` are
per channel for pixels scaled to [0, 1].

When the files are missing or corrupt and cannot be downloaded (offline, ``download=False``), the loader
raises ``DatasetUnavailableError`` with one message naming the dataset, the directory and the files to
put there. Downloads cannot hang: the server is probed first with a short timeout (DNS included), and the
download itself runs under a socket timeout.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import pickle
import socket
import tarfile
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cords_tune.datasets.registry import DATASETS
from cords_tune.datasets.bundle import TrainTest
from cords_tune.errors import DatasetUnavailableError
from cords_tune.params import ParamCheck

__all__ = ["VisionSpec", "SPECS", "VISION_DATASETS", "PROBE_TIMEOUT_S", "DOWNLOAD_TIMEOUT_S"]

logger = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 5.0  # how long the reachability probe (DNS + HEAD request) may take
DOWNLOAD_TIMEOUT_S = 30.0  # socket timeout of every blocking operation while downloading

# What goes wrong when files are missing, truncated or corrupt, or a download fails.
_LOAD_ERRORS = (RuntimeError, OSError, ValueError, EOFError, KeyError, AssertionError,
                pickle.UnpicklingError, tarfile.TarError, http.client.HTTPException)


@dataclass(frozen=True)
class VisionSpec:
    """The facts about one torchvision dataset that its loader needs.

    Attributes:
        name: registry name; the files live in ``data_dir / name``.
        title: the dataset's usual name, for docstrings.
        torchvision_class: class name in ``torchvision.datasets``.
        train_kwargs, test_kwargs: the arguments that select each split.
        num_classes: number of classes.
        mean, std: per-channel statistics of the training pixels scaled to [0, 1].
        augmentations: augmentations that suit the images (see ``cords_tune.datasets.augment``).
        channels_last: torchvision keeps the images as (N, H, W, C) (CIFAR).
        url: where the files come from; probed before downloading.
        manual: how to place the files by hand; ``{root}`` stands for ``data_dir / name``.
    """

    name: str
    title: str
    torchvision_class: str
    train_kwargs: dict[str, Any]
    test_kwargs: dict[str, Any]
    num_classes: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    augmentations: tuple[str, ...]
    url: str
    manual: str
    channels_last: bool = False
    label_attr: str = "targets"


_TRAIN, _TEST = {"train": True}, {"train": False}
_MNIST_FILES = "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte"

SPECS: dict[str, VisionSpec] = {
    spec.name: spec
    for spec in (
        VisionSpec(
            "cifar10", "CIFAR-10", "CIFAR10", _TRAIN, _TEST, num_classes=10,
            mean=(0.4914, 0.4822, 0.4465), std=(0.2470, 0.2435, 0.2616), augmentations=("crop", "flip"),
            url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
            manual="download https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz and extract it in {root}, "
            "so that {root}/cifar-10-batches-py/ holds data_batch_1 ... data_batch_5, test_batch and batches.meta",
            channels_last=True,
        ),
        VisionSpec(
            "cifar100", "CIFAR-100", "CIFAR100", _TRAIN, _TEST, num_classes=100,
            mean=(0.5071, 0.4865, 0.4409), std=(0.2673, 0.2564, 0.2762), augmentations=("crop", "flip"),
            url="https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
            manual="download https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz and extract it in {root}, "
            "so that {root}/cifar-100-python/ holds train, test and meta",
            channels_last=True,
        ),
        VisionSpec(
            "mnist", "MNIST", "MNIST", _TRAIN, _TEST, num_classes=10,
            mean=(0.1307,), std=(0.3081,), augmentations=(),
            url="https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz",
            manual="download the four .gz files from https://ossci-datasets.s3.amazonaws.com/mnist/ and gunzip "
            f"them into {{root}}/MNIST/raw/, giving {_MNIST_FILES}",
        ),
        VisionSpec(
            "fashion_mnist", "Fashion-MNIST", "FashionMNIST", _TRAIN, _TEST, num_classes=10,
            mean=(0.2860,), std=(0.3530,), augmentations=(),
            url="http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/train-images-idx3-ubyte.gz",
            manual="download the four .gz files from http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/ "
            f"(or github.com/zalandoresearch/fashion-mnist) and gunzip them into {{root}}/FashionMNIST/raw/, "
            f"giving {_MNIST_FILES}",
        ),
        VisionSpec(
            "svhn", "SVHN (cropped digits)", "SVHN", {"split": "train"}, {"split": "test"}, num_classes=10,
            mean=(0.4377, 0.4438, 0.4728), std=(0.1980, 0.2010, 0.1970), augmentations=("crop",),
            url="http://ufldl.stanford.edu/housenumbers/train_32x32.mat",
            manual="download train_32x32.mat and test_32x32.mat from http://ufldl.stanford.edu/housenumbers/ "
            "into {root}/",
            label_attr="labels",
        ),
    )
}

VISION_DATASETS: tuple[str, ...] = tuple(SPECS)  # the datasets that need files (all others are offline)


def _load(spec: VisionSpec, data_dir: Path, download: bool) -> TrainTest:
    """Load both splits of ``spec`` from ``data_dir / spec.name``, downloading them if allowed and needed."""
    download = ParamCheck("dataset", spec.name).boolean("download", download)
    root = Path(data_dir) / spec.name
    try:
        return _read(spec, root, download=False)
    except _LOAD_ERRORS as exc:
        if not download:
            missing = not root.is_dir() or not any(root.iterdir())
            state = "missing" if missing else "there but cannot be read"
            why = f"the files are {state} ({_reason(exc)}) and download is off"
            raise _unavailable(spec, root, why, missing=missing) from None
    reason = _probe(spec.url)
    if reason is not None:
        raise _unavailable(spec, root, f"the files are missing or corrupt and {spec.url} is unreachable ({reason})")
    logger.info("Downloading %s into %s", spec.title, root)
    try:
        with _socket_timeout(DOWNLOAD_TIMEOUT_S):
            return _read(spec, root, download=True)
    except _LOAD_ERRORS as exc:
        raise _unavailable(spec, root, f"downloading it failed ({_reason(exc)})") from None


def _read(spec: VisionSpec, root: Path, *, download: bool) -> TrainTest:
    import torchvision.datasets  # deferred: importing torchvision takes a while

    cls = getattr(torchvision.datasets, spec.torchvision_class)
    splits = []
    for kwargs in (spec.train_kwargs, spec.test_kwargs):
        ds = cls(root=str(root), download=download, **kwargs)
        splits.extend(_to_arrays(spec, ds.data, getattr(ds, spec.label_attr)))
    x_train, y_train, x_test, y_test = splits
    logger.debug("Loaded %s from %s: %d train / %d test images", spec.title, root, len(y_train), len(y_test))
    return TrainTest(
        x_train, y_train, x_test, y_test,
        num_classes=spec.num_classes, mean=spec.mean, std=spec.std, augmentations=spec.augmentations,
    )


def _to_arrays(spec: VisionSpec, data: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    """torchvision's images and labels as ``uint8`` (N, C, H, W) and ``int64`` (N,) arrays."""
    x = np.asarray(data.numpy() if hasattr(data, "numpy") else data, dtype=np.uint8)
    y = np.asarray(labels.numpy() if hasattr(labels, "numpy") else labels, dtype=np.int64)
    if x.ndim == 3:  # MNIST-like: (N, H, W)
        x = x[:, None]
    elif spec.channels_last:
        x = x.transpose(0, 3, 1, 2)
    if len(x) != len(y):
        raise ValueError(f"{len(x)} images but {len(y)} labels")
    return np.ascontiguousarray(x), y


def _unavailable(spec: VisionSpec, root: Path, why: str, *, missing: bool = False) -> DatasetUnavailableError:
    how = spec.manual.format(root=root)
    return DatasetUnavailableError(
        f"Dataset {spec.name!r} ({spec.title}) is not available in {root}: {why}. To place it by hand, {how}. "
        f"Or run once with dataset.params.download=true on a machine with internet access and copy {root} here.",
        missing=missing,
    )


def _reason(exc: BaseException) -> str:
    """A one-line account of ``exc`` (torchvision's messages can span lines)."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _probe(url: str, timeout: float = PROBE_TIMEOUT_S) -> str | None:
    """``None`` if the server of ``url`` answers within ``timeout`` seconds, else why not.

    The request runs in a daemon thread so that name resolution, which socket timeouts do not bound,
    cannot hold the caller longer than ``timeout``. Any HTTP answer, even an error status, counts as
    reachable; the download that follows reports its own failure.
    """
    outcome: list[str | None] = []

    def attempt() -> None:
        try:
            request = urllib.request.Request(url, method="HEAD", headers={"User-Agent": "cords-tune"})
            with urllib.request.urlopen(request, timeout=timeout):
                pass
            outcome.append(None)
        except urllib.error.HTTPError:  # the server answered
            outcome.append(None)
        except urllib.error.URLError as exc:
            outcome.append(str(exc.reason))
        except Exception as exc:  # noqa: BLE001 - a probe: any failure means "not reachable", and why
            outcome.append(_reason(exc))

    thread = threading.Thread(target=attempt, name="cords-tune-probe", daemon=True)
    thread.start()
    thread.join(timeout)
    return outcome[0] if outcome else f"no answer within {timeout:g} s"


@contextlib.contextmanager
def _socket_timeout(seconds: float) -> Iterator[None]:
    """Bound every blocking socket operation (torchvision's downloads set none), restoring the default."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def _make_loader(spec: VisionSpec) -> Callable[..., TrainTest]:
    def loader(*, data_dir: Path, seed: int, download: bool = True) -> TrainTest:
        return _load(spec, data_dir, download)

    loader.__name__ = loader.__qualname__ = spec.name
    loader.__doc__ = (
        f"{spec.title} via torchvision: {spec.num_classes} classes, uint8 images, files in data_dir/{spec.name}.\n\n"
        f"Args:\n"
        f"    data_dir: the files live in ``data_dir / {spec.name!r}``.\n"
        f"    seed: unused (the dataset has fixed train and test splits); part of the loader contract.\n"
        f"    download: fetch missing files from {spec.url.rsplit('/', 1)[0]}/ (else fail at once).\n"
    )
    return loader


for _spec in SPECS.values():
    DATASETS.register(_spec.name)(_make_loader(_spec))
