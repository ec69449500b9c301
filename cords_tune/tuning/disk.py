"""Disk space for a run: an estimate checked before anything starts, and a full disk turned into one message.

Trials write checkpoints (model, optimizer state, current subset) and Tune's result files; the driver writes the
result files and the final model. A full disk mid-run fails trials (they stay resumable from their last
checkpoint) and the driver's writes; either way the user gets one ``DiskFullError`` naming the path.
"""

from __future__ import annotations

import errno
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from cords_tune.config import ExperimentConfig
from cords_tune.errors import DiskFullError

__all__ = [
    "RunSpace",
    "SpaceReserve",
    "estimate_run_bytes",
    "check_free_space",
    "is_disk_full",
    "out_of_space",
    "disk_full_error",
    "human_bytes",
]

TRIAL_FILES_BYTES = 256 * 1024  # Tune's per-trial result.json, progress.csv, params and events files
RUN_FILES_BYTES = 1024 * 1024  # summary, trials.parquet, report, plots, Tune's experiment state
_FULL_MARKERS = ("No space left on device", "[Errno 28]", "[errno 28]", "Disk quota exceeded")


@dataclass(frozen=True)
class SpaceReserve:
    """A file of ``size`` bytes kept beside a search's Tune files and deleted the moment the disk fills up.

    Tune overwrites its experiment state in place: on a full disk it would leave it cut short, and the run could
    not be resumed. With the reserve released first, Tune's last save of its state has room, and ``resume``
    continues the run once space is freed.
    """

    path: Path
    size: int

    @classmethod
    def for_search(cls, folder: str | Path, name: str, num_trials: int) -> "SpaceReserve":
        # Tune's experiment state grows by about 15 KiB a trial; our result files need less than 1 MiB.
        return cls(Path(folder) / f".{name}.reserve", 2 * 1024 * 1024 + 64 * 1024 * num_trials)

    def make(self) -> None:
        """Claim the space (an ``OSError`` for a full disk propagates)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "wb") as file:
            try:
                os.posix_fallocate(file.fileno(), 0, self.size)
                return
            except (AttributeError, OSError) as error:  # no fallocate (macOS, some filesystems): write zeros
                if isinstance(error, OSError) and is_disk_full(error):
                    raise
            chunk = bytes(1024 * 1024)
            for start in range(0, self.size, len(chunk)):
                file.write(chunk[: self.size - start])

    def release(self) -> None:
        self.path.unlink(missing_ok=True)

    def disk_is_full(self) -> bool:
        return out_of_space(self.path.parent)


@dataclass(frozen=True)
class RunSpace:
    """Bytes a run needs at most, by where they go."""

    trial_files: int  # under the storage path: checkpoints, Tune's files, the reserve
    results: int  # under the output directory: result files and the final model(s)

    @property
    def total(self) -> int:
        return self.trial_files + self.results


def estimate_run_bytes(config: ExperimentConfig, num_parameters: int, num_train: int) -> RunSpace:
    """Bytes a run needs at most: every trial keeps ``keep_checkpoints`` checkpoints (model and optimizer
    state in float32, the subset's indices and weights), plus the result files and the final model(s).

    Args:
        config: the experiment.
        num_parameters: the model's parameter count (the largest model the search may build).
        num_train: training samples (a checkpoint stores the current subset).
    """
    optimizer_copies = 2 if config.training.optimizer in ("adam", "adamw") else 1
    model_bytes = 4 * num_parameters
    checkpoint = model_bytes * (1 + optimizer_copies) + 12 * num_train + 64 * 1024  # + pickling, RNG states
    per_search = config.search.num_trials * (config.fault_tolerance.keep_checkpoints * checkpoint + TRIAL_FILES_BYTES)
    searches = 2 if config.baseline else 1
    reserve = SpaceReserve.for_search(".", "", config.search.num_trials).size
    return RunSpace(trial_files=searches * (per_search + reserve), results=searches * (model_bytes + RUN_FILES_BYTES))


def check_free_space(path: str | Path, needed: int) -> None:
    """Refuse to start where ``needed`` bytes are not free (the first existing parent of ``path`` is measured)."""
    free = shutil.disk_usage(_existing(Path(path).expanduser().resolve())).free
    if free < needed:
        raise DiskFullError(
            f"not enough disk space in {path}: this run needs about {human_bytes(needed)} (trial checkpoints, "
            f"result files and the final model) and {human_bytes(free)} is free. Free some space, choose another "
            "place with --output (and --storage-path), or keep fewer checkpoints (fault_tolerance.keep_checkpoints)"
        )


def is_disk_full(error: BaseException | str | None) -> bool:
    """An ``OSError`` for a full disk or quota, or a trial's error text that says so."""
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    # pyarrow's and Ray's errors carry the errno in their text only
    return error is not None and any(marker in str(error) for marker in _FULL_MARKERS)


def out_of_space(path: str | Path) -> bool:
    """Whether the disk holding ``path`` is (all but) full: errors Ray and pyarrow raise while reading back
    half-written files then have this as their cause."""
    return shutil.disk_usage(_existing(Path(path))).free < 64 * 1024


def disk_full_error(path: str | Path, run_dir: str | Path, *, needed: int | None = None, cause: str = "") -> DiskFullError:
    """The one message for a disk that filled up during a run."""
    free = shutil.disk_usage(_existing(Path(path))).free
    need = f"; a run like this one needs about {human_bytes(needed)} in all" if needed else ""
    return DiskFullError(
        f"the disk holding {path} is full ({human_bytes(free)} free{need}). {cause}What finished is kept: free "
        f"some space, then continue with: cords-tune resume {run_dir}"
    )


def human_bytes(count: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1024
    raise AssertionError("unreachable")


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path
