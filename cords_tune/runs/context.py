"""Opening a command's run: the one place that goes from a checked experiment to a run directory with Ray up.

In order: the Ray address is probed, the output directory checked, the data loaded and the experiment checked
against it, the free disk space and (for a search) the tracking backends checked; then Ray starts, the data goes
into its object store, the run directory is made and ``config.yaml`` written (a resumed run opens its existing
directory instead). ``cords-tune run``, ``resume``, ``train`` and ``fidelity`` all open their runs here.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from cords_tune.config import ExperimentConfig
from cords_tune.datasets import DataBundle
from cords_tune.models.given import GivenModel, as_given
from cords_tune.preflight import check_against_data, load_data
from cords_tune.reports import write_text_atomic
from cords_tune.runs.run_dir import check_output_dir, make_run_dir
from cords_tune.tuning.disk import (
    RUN_FILES_BYTES,
    RunSpace,
    check_free_space,
    disk_full_error,
    estimate_run_bytes,
    is_disk_full,
)
from cords_tune.tuning.progress import Progress
from cords_tune.tuning.session import probe_address, ray_for_trials
from cords_tune.tuning.storage import check_storage_visible, is_uri
from cords_tune.tuning.tracking import check_tracking

__all__ = ["Command", "StartTimings", "RunContext", "open_run", "open_existing_run", "tune_storage"]

log = logging.getLogger(__name__)


class Command(Enum):
    """What a run directory is made for; the value ends its name (``<name><suffix>-<time>``)."""

    RUN = ""  # a search and its phases (``run``, ``resume``)
    TRAIN = "-train"
    FIDELITY = "-fidelity"

    @property
    def searches(self) -> bool:
        """It runs a Tune search: trial files, tracking and Tune's storage are checked for it."""
        return self is Command.RUN


@dataclass(frozen=True)
class StartTimings:
    """Seconds the run's start took, on the driver."""

    data_load_s: float
    ray_start_s: float | None = None
    data_put_s: float | None = None  # the data into Ray's object store


@dataclass(frozen=True)
class RunContext:
    """What every phase of one run shares: the experiment, its data, where its files go, who watches."""

    config: ExperimentConfig  # with absolute paths: resume finds the data and the trial files from anywhere
    data: DataBundle
    data_ref: Any  # ``data`` in Ray's object store
    run_dir: Path
    storage: str  # Tune's storage path for the run's searches
    experiment: str  # the subset search's experiment name under it
    started: float  # time.perf_counter() when the command began
    timings: StartTimings
    space: RunSpace  # the disk space the run needs at most
    resume: bool = False  # a resumed run, in its existing directory
    model: GivenModel | None = None  # a model given from Python, sent to every trial and task
    on_progress: Callable[[Progress], None] | None = None
    on_notice: Callable[[str], None] | None = None


@contextmanager
def open_run(
    config: ExperimentConfig,
    *,
    command: Command = Command.RUN,
    output_dir: str | Path | None = None,
    address: str | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    on_notice: Callable[[str], None] | None = None,
    data: Any = None,
    model: Any = None,
    checked: ExperimentConfig | None = None,
    on_run_dir: Callable[[Path], None] | None = None,
) -> Iterator[RunContext]:
    """A new run of ``config`` in a new run directory under ``output_dir`` (default ``config.output_dir``), with
    Ray up for the block. ``checked``: the experiment as the command runs it, where that differs from the one
    written to ``config.yaml`` (``train`` drops the search space); ``on_run_dir`` is told the directory as soon
    as it is made. A run that cannot start (address, output, data, disk, Ray) leaves no run directory."""
    started = time.perf_counter()
    checked = checked or config
    probe_address(address or os.environ.get("RAY_ADDRESS"))  # before anything is written
    if command.searches:
        check_tracking(config)
    output = check_output_dir(output_dir or config.output_dir)
    given = as_given(model)
    bundle, largest_model, load_s = _load(checked, data, given)
    # After the load, whose messages show paths as the user wrote them: resume must find the data and the
    # trial files from any directory.
    config = config.with_absolute_paths()
    space = _space(command, config, largest_model, len(bundle.y_train))
    if command.searches and config.storage_path is not None:
        check_free_space(output, space.results)
        if not is_uri(config.storage_path):
            check_free_space(config.storage_path, space.trial_files)
    else:  # trial files, if any, go into the run directory too
        check_free_space(output, space.total)
    ray_timings: dict[str, float] = {}
    # Ray first: a Ray that cannot start leaves no run directory.
    with ray_for_trials(checked, address, ray_timings, on_notice):
        run_dir = make_run_dir(output, f"{config.name}{command.value}")
        if on_run_dir:
            on_run_dir(run_dir)
        with _disk_full_as_error(run_dir, space.total, command.searches):
            write_text_atomic(run_dir / "config.yaml", config.to_yaml())
            yield _context(config, bundle, run_dir, started, load_s, ray_timings, space, command, resume=False,
                           model=given, on_progress=on_progress, on_notice=on_notice)


@contextmanager
def open_existing_run(
    config: ExperimentConfig,
    run_dir: Path,
    *,
    address: str | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    on_notice: Callable[[str], None] | None = None,
    data: Any = None,
    model: Any = None,
) -> Iterator[RunContext]:
    """The run in ``run_dir`` (its ``config.yaml`` read as ``config``), reopened to resume, with Ray up for
    the block. The caller has probed the address, checked the tracking backends and that something is left to
    do."""
    started = time.perf_counter()
    given = as_given(model)
    bundle, largest_model, load_s = _load(config, data, given)
    space = estimate_run_bytes(config, largest_model, len(bundle.y_train))
    ray_timings: dict[str, float] = {}
    with ray_for_trials(config, address, ray_timings, on_notice), _disk_full_as_error(run_dir, space.total, True):
        yield _context(config, bundle, run_dir, started, load_s, ray_timings, space, Command.RUN, resume=True,
                       model=given, on_progress=on_progress, on_notice=on_notice)


def tune_storage(config: ExperimentConfig, run_dir: Path) -> tuple[str, str]:
    """(storage path, experiment name) for Ray Tune: the run directory's ``tune/`` by default, else
    ``<storage_path>/<run name>``."""
    if config.storage_path is None:
        return str(run_dir), "tune"
    if is_uri(config.storage_path):
        return config.storage_path.rstrip("/"), run_dir.name
    return str(Path(config.storage_path).expanduser().resolve()), run_dir.name


def _context(config: ExperimentConfig, data: DataBundle, run_dir: Path, started: float, load_s: float,
             ray_timings: dict[str, float], space: RunSpace, command: Command, **parts: Any) -> RunContext:
    import ray

    tick = time.perf_counter()
    data_ref = ray.put(data)
    timings = StartTimings(load_s, ray_timings.get("ray_start_s"), time.perf_counter() - tick)
    storage, experiment = tune_storage(config, run_dir)
    if command.searches:
        check_storage_visible(storage)
    return RunContext(config, data, data_ref, run_dir, storage, experiment, started, timings, space, **parts)


def _load(config: ExperimentConfig, given: Any, model: GivenModel | None) -> tuple[DataBundle, int, float]:
    """The run's data, checked against the experiment; the largest model's parameter count; the load time."""
    tick = time.perf_counter()
    data = load_data(config, data=given)
    largest_model = check_against_data(config, data, model)
    log.info("dataset %s", data.describe())
    return data, largest_model, time.perf_counter() - tick


def _space(command: Command, config: ExperimentConfig, largest_model: int, num_train: int) -> RunSpace:
    if command.searches:
        return estimate_run_bytes(config, largest_model, num_train)
    return RunSpace(trial_files=0, results=4 * largest_model + RUN_FILES_BYTES)  # the model and the result files


@contextmanager
def _disk_full_as_error(run_dir: Path, needed: int, resumable: bool) -> Iterator[None]:
    """A full disk met by the driver (a result file, the final model) becomes one message; what was written
    before stays, and the run resumes once there is space. A command that cannot resume keeps the error."""
    try:
        yield
    except OSError as error:
        if not resumable or not is_disk_full(error):
            raise
        raise disk_full_error(error.filename or run_dir, run_dir, needed=needed) from None
