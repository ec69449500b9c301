"""``image_folder``: the user's own images in torchvision's ImageFolder layout, decoded once and cached.

``path`` holds one folder per class, named after it, with that class's images in it (sub-folders are
searched too): ``path/cat/001.png``, ``path/dog/a/002.jpg``. Class ``i`` is the ``i``-th folder name in
sorted order, as ImageFolder numbers them; folders and files whose names start with ``.`` are skipped, and
so are files that are not images (by suffix, torchvision's list: .jpg .jpeg .png .ppm .bmp .pgm .tif .tiff
.webp). Every image is decoded with Pillow, converted to RGB (``channels: 3``) or greyscale (``channels:
1``) and resized to ``size`` x ``size`` (bilinear, aspect ratio not kept), giving ``uint8`` arrays (N, C,
size, size) that are normalised with their training pixels' per-channel mean and std on the trial's device.

Decoding is slow, so the pixels are cached in ``data_dir / "image_folder"``, keyed by a digest of the
folder's absolute path, every image's relative path, size and modification time, ``size`` and
``channels``: adding, removing or changing an image decodes again, a second load with nothing changed
does not. The cache file is written atomically. A second folder (``test_path``, the same class folders) is
the test split; without one, a stratified test split of ``test_fraction`` is drawn with the experiment seed.
Images of at least 16 x 16 pixels are offered random crops and flips (``dataset.augment`` turns them off).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import zipfile
from pathlib import Path

import numpy as np

from cords_tune.atomic import write_atomically
from cords_tune.datasets.registry import DATASETS
from cords_tune.datasets.bundle import TrainTest
from cords_tune.datasets.files import UserPath, encode_labels, resolve_path, split_or_keep
from cords_tune.params import ParamCheck

__all__ = ["image_folder", "decode_image", "images_in", "IMAGE_SUFFIXES"]

logger = logging.getLogger(__name__)

_NAME = "image_folder"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")  # torchvision's
_WHAT = "a folder with one sub-folder of images per class"
_AUGMENT_MIN_SIZE = 16  # crop pads 4 pixels: smaller images would lose too much of themselves
_CACHE_VERSION = 1  # part of the cache key: a change to decoding must not read old caches


@DATASETS.register(_NAME)
def image_folder(
    *,
    data_dir: Path,
    seed: int,
    path: str | None = None,
    size: int = 32,
    channels: int = 3,
    test_path: str | None = None,
    test_fraction: float = 0.2,
) -> TrainTest:
    """Your own images, one folder per class (torchvision ImageFolder layout), decoded once and cached.

    Args:
        data_dir: the decoded pixels are cached in ``data_dir / "image_folder"``.
        seed: seeds the stratified train/test split when there is no ``test_path``.
        path: the folder of class folders (required); relative to the current directory.
        size: every image is resized to ``size`` x ``size`` pixels, at least 1.
        channels: 3 (RGB) or 1 (greyscale).
        test_path: a second folder with the same class folders, the test split; ``None`` draws the test
            split from ``path``.
        test_fraction: share of the images held out as the test split, in (0, 1); used only without
            ``test_path``.

    Returns:
        ``uint8`` images (N, channels, size, size), int64 labels in ``[0, num_classes)``, per-channel
        ``mean`` / ``std``, and crop and flip augmentations for images of 16 pixels or more.

    Raises:
        ConfigError: a bad parameter, a missing folder (or a file instead), no class folders, a class
            folder without images, fewer than two classes, test class folders that differ, an image that
            cannot be decoded (named).
    """
    check = ParamCheck("dataset", _NAME)
    size = check.integer("size", size, low=1)
    channels = int(check.choice("channels", check.integer("channels", channels, low=1, high=3), (1, 3)))
    test_fraction = check.number("test_fraction", test_fraction, low=0.0, high=1.0, low_open=True, high_open=True)
    root = resolve_path(_NAME, "path", path, kind="directory", what=_WHAT)
    test_root = None if test_path is None else resolve_path(_NAME, "test_path", test_path, kind="directory",
                                                             what=_WHAT)

    files = _scan(root)
    test_files = None if test_root is None else _scan(test_root)
    if test_root is not None and test_files is not None:  # the class folders agree before anything is decoded
        classes, test_classes = {name for name, _ in files}, {name for name, _ in test_files}
        if classes != test_classes:
            missing, extra = sorted(classes - test_classes), sorted(test_classes - classes)
            parts = [f"missing {missing}" if missing else "", f"extra {extra}" if extra else ""]
            raise test_root.error(f"must hold the class folders of {root}. Got {'; '.join(p for p in parts if p)} "
                                  "instead")
    x_train = _pixels(root, files, size=size, channels=channels, data_dir=data_dir)
    names_train = np.asarray([name for name, _ in files])
    x_test = names_test = None
    if test_root is not None and test_files is not None:
        x_test = _pixels(test_root, test_files, size=size, channels=channels, data_dir=data_dir)
        names_test = np.asarray([name for name, _ in test_files])
    y_train, y_test, classes = encode_labels(
        names_train, root, names_test, test_root, what="images in class folders"
    )
    augmentations = ("crop", "flip") if size >= _AUGMENT_MIN_SIZE else ()
    raw = split_or_keep(
        root, x_train, y_train, x_test, y_test, classes=classes, test_fraction=test_fraction, seed=seed,
        augmentations=augmentations,
    )
    logger.debug("image_folder: %d train / %d test images, %d classes, from %s", len(raw.y_train),
                 len(raw.y_test), raw.num_classes, root.path)
    return raw


def decode_image(path: Path, *, size: int, channels: int) -> np.ndarray:
    """One image file as a ``uint8`` array (channels, size, size): RGB or greyscale, resized (bilinear).

    Raises:
        OSError, ValueError: Pillow cannot decode the file.
    """
    from PIL import Image  # deferred: only this loader needs Pillow

    with Image.open(path) as image:
        image = image.convert("L" if channels == 1 else "RGB")
        if image.size != (size, size):
            image = image.resize((size, size), Image.Resampling.BILINEAR)
        pixels = np.asarray(image, dtype=np.uint8)
    return pixels[None] if channels == 1 else pixels.transpose(2, 0, 1)


def _scan(root: UserPath) -> list[tuple[str, Path]]:
    """``(class name, image path)`` of every image under ``root``, classes and files in sorted order."""
    try:
        classes = sorted(e.name for e in os.scandir(root.path) if e.is_dir() and not e.name.startswith("."))
        if not classes:
            loose = sum(1 for e in os.scandir(root.path) if e.is_file() and _is_image(e.name))
            got = f"only {loose} image file(s) directly in it" if loose else "no folders in it"
            raise root.error(f"must hold one folder per class, with that class's images in it "
                             f"(e.g. {root.given}/cat/1.png). Got {got} instead")
        files = []
        for name in classes:
            found = images_in(root.path / name)
            if not found:
                raise root.error(f"must hold at least one image in every class folder. Got none in {name!r} "
                                 f"(images end in {', '.join(IMAGE_SUFFIXES)})")
            files += [(name, file) for file in found]
    except OSError as exc:
        raise root.error(f"cannot be listed ({type(exc).__name__}: {exc})") from None
    return files


def images_in(folder: Path) -> list[Path]:
    """The image files under ``folder`` and its sub-folders (followed if linked), hidden ones skipped, sorted."""
    found = []
    for parent, dirs, names in os.walk(folder, followlinks=True):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found += [Path(parent, name) for name in names if _is_image(name)]
    return sorted(found)


def _is_image(name: str) -> bool:
    return not name.startswith(".") and name.lower().endswith(IMAGE_SUFFIXES)


def _pixels(root: UserPath, files: list[tuple[str, Path]], *, size: int, channels: int, data_dir: Path) -> np.ndarray:
    """The decoded images of ``files``, from the cache when it is up to date, else decoded and cached."""
    cache = _cache_path(root, files, size=size, channels=channels, data_dir=data_dir)
    shape = (len(files), channels, size, size)
    x = _read_cache(cache, shape)
    if x is not None:
        logger.debug("image_folder: %d decoded images of %s read from %s", len(files), root.path, cache)
        return x
    from PIL import Image

    logger.info("Decoding %d images from %s (once: cached in %s)", len(files), root.path, cache)
    x = np.empty(shape, dtype=np.uint8)
    for i, (_, file) in enumerate(files):
        try:
            x[i] = decode_image(file, size=size, channels=channels)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:  # what Pillow raises
            raise root.error(f"must hold only images Pillow can decode. Got {str(file)!r}, which cannot be decoded "
                             f"({type(exc).__name__}: {exc}). Remove or replace it") from None
    _write_cache(cache, x)
    return x


def _cache_path(root: UserPath, files: list[tuple[str, Path]], *, size: int, channels: int, data_dir: Path) -> Path:
    """Where the decoded images of ``files`` are cached: a digest of the folder, each image's relative path,
    byte size and modification time, ``size`` and ``channels``."""
    try:
        listing = [[str(file.relative_to(root.path)), *_stamp(file)] for _, file in files]
    except OSError as exc:
        raise root.error(f"cannot be listed ({type(exc).__name__}: {exc})") from None
    key = {"version": _CACHE_VERSION, "root": str(root.path), "files": listing, "size": size, "channels": channels}
    digest = hashlib.sha256(json.dumps(key).encode()).hexdigest()[:16]
    return Path(data_dir) / _NAME / f"{root.path.name or 'root'}_{size}px_{channels}ch_{digest}.npz"


def _stamp(file: Path) -> tuple[int, int]:
    stat = file.stat()
    return stat.st_size, stat.st_mtime_ns


def _read_cache(path: Path, shape: tuple[int, ...]) -> np.ndarray | None:
    """The cached pixels, or ``None`` when the cache is absent, unreadable or of another shape."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as archive:
            x = archive["x"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        logger.warning("Ignoring unreadable image cache %s (%s); decoding again", path, exc)
        return None
    if x.shape != shape or x.dtype != np.uint8:
        logger.warning("Ignoring image cache %s of shape %s (expected %s); decoding again", path, x.shape, shape)
        return None
    return x


def _write_cache(path: Path, x: np.ndarray) -> None:
    """Write ``x`` to ``path`` atomically; a failure to cache is logged, never fatal."""

    def save(tmp: str) -> None:
        with open(tmp, "wb") as file:  # a file object: np.savez would add ".npz" to a bare name
            np.savez(file, x=x)

    try:
        write_atomically(path, save)
    except OSError as exc:
        logger.warning("Cannot cache the decoded images in %s: %s", path, exc)
