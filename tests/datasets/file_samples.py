"""Small sample files for the datasets that read the user's own files (``FILE_DATASETS``), for the
conformance suite and test_user_files.py (imported as ``file_samples``: tests/datasets is on ``sys.path``
under pytest's default import mode; not a conftest.py, whose name would shadow tests/conftest.py's)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

NUM_CLASSES = 3
PER_CLASS = 20


def sample_features(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """60 samples of 4 features, 20 per class, the classes apart."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(NUM_CLASSES), PER_CLASS)
    x = rng.normal(size=(len(y), 4)) + y[:, None]
    return x, y


def write_png(path: Path, pixels: np.ndarray) -> None:
    """Write ``pixels`` (H, W, 3) or (H, W) ``uint8`` as a PNG with Pillow."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)


def write_image_folder(root: Path, classes: tuple[str, ...] = ("cat", "dog", "fox"), per_class: int = 12,
                       pixels: int = 10, seed: int = 0) -> Path:
    """A folder of class folders of small random RGB PNGs, each class a different brightness."""
    rng = np.random.default_rng(seed)
    for c, name in enumerate(classes):
        for i in range(per_class):
            image = rng.integers(0, 60, size=(pixels, pixels, 3)) + 80 * c
            write_png(root / name / f"{i:03d}.png", image.astype(np.uint8))
    return root


def write_sample_files(name: str, folder: Path) -> dict[str, Any]:
    """Write a small dataset for file dataset ``name`` under ``folder`` and return the params that load it."""
    folder.mkdir(parents=True, exist_ok=True)
    if name == "npz":
        x, y = sample_features()
        np.savez(folder / "sample.npz", x_train=x, y_train=y)
        return {"path": str(folder / "sample.npz")}
    if name == "csv":
        import pandas as pd

        x, y = sample_features()
        table = pd.DataFrame(x, columns=["a", "b", "c", "d"]).assign(label=np.array(["x", "y", "z"])[y])
        table.to_csv(folder / "sample.csv", index=False)
        return {"path": str(folder / "sample.csv")}
    if name == "image_folder":
        return {"path": str(write_image_folder(folder / "images")), "size": 8}
    raise KeyError(f"no sample files for dataset {name!r}: add them to tests/datasets/conftest.py")
