"""The on-disk cache of generated datasets: named arrays in one ``.npz`` file, written atomically (a temporary
file, then ``os.replace``) so that concurrent runs never read a half-written file."""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cords_tune.atomic import write_atomically

__all__ = ["read_arrays", "write_arrays"]

logger = logging.getLogger(__name__)


def read_arrays(path: Path, names: Sequence[str], *, title: str) -> dict[str, np.ndarray] | None:
    """The arrays ``names`` cached at ``path``, or ``None`` when the file is absent or unreadable (then the
    caller generates them again); ``title`` names the dataset in the warning."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {name: npz[name] for name in names}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        logger.warning("Ignoring unreadable %s cache %s (%s); regenerating it", title, path, exc)
        return None


def write_arrays(path: Path, arrays: dict[str, np.ndarray], *, title: str) -> None:
    """Write ``arrays`` to ``path`` atomically; a failure to cache is logged, never fatal."""

    def save(tmp: str) -> None:
        with open(tmp, "wb") as file:  # a file object: np.savez would add ".npz" to a bare name
            np.savez(file, **arrays)

    try:
        write_atomically(path, save)
    except OSError as exc:
        logger.warning("Cannot cache %s in %s: %s", title, path, exc)
