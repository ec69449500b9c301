"""One tuning run: load the data once, search with Optuna + ASHA on Ray Tune, train the best configurations
on the full data and keep the one that validates best (finalists), write the results; with ``baseline``, run the same search on the full data and compare.
The only place that starts and stops Ray for a run."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from cords_tune.compression import compress_run
from cords_tune.config import ExperimentConfig, apply_params, load_config, parse_config
from cords_tune.datasets import DataBundle
from cords_tune.results.energy import Energy, RunEnergy
from cords_tune.models.given import GivenModel, as_given
from cords_tune.errors import (
    ConfigError,
    CordsTuneError,
    ResourcesUnavailableError,
    RunFailedError,
    RunFinishedError,
    RunInterruptedError,
)
from cords_tune.preflight import check_against_data, load_data
from cords_tune.reports import (
    comparison_section,
    render_report,
    write_comparison,
    write_run,
    write_text_atomic,
)
from cords_tune.selection import uses_subsets
from cords_tune.tuning.progress import Progress, ProgressCallback, last_progress, progress_display
from cords_tune.tuning.results import collect_trials, search_slot_use
from cords_tune.training import EpochStats
from cords_tune.training.proxy import SharedSubset
from cords_tune.tuning.selection_cost import CostTask, CostWatch
from cords_tune.tuning.shared_subset import ProxyTask, ProxyWatch
from cords_tune.results.summary import RunSummary, Timings, trial_totals
from cords_tune.results.trial import TrialRecord, read_trials
from cords_tune.results.slot_use import SlotUse, over_sessions
from cords_tune.tuning.finalists import Finalist, Settled, rank_trials, settle_finalists
from cords_tune.results.comparison import Comparison, build_comparison
from cords_tune.results.final import FinalResult
from cords_tune.tuning.retrain import keep_model, retrain_on_cluster, evaluate_checkpoint_on_cluster
from cords_tune.tuning.disk import (
    SpaceReserve,
    check_free_space,
    disk_full_error,
    estimate_run_bytes,
    is_disk_full,
    out_of_space,
)
from cords_tune.tuning.interrupts import SearchWatch, StopReason, watch_search
from cords_tune.tuning.budget import TimeBudget, budget_outcome, search_budget
from cords_tune.tuning.resources import TrialRequest, trial_slots
from cords_tune.tuning.algorithms import asha_grace_period, build_scheduler, build_searcher, quiet_optuna
from cords_tune.tuning.noise import forced_snapshots_unannounced
from cords_tune.tuning.session import first_line, probe_address, ray_for_trials
from cords_tune.results.study import StudyStore
from cords_tune.tuning.tracking import StudyRecorder, check_tracking, logger_callbacks, study_store
from cords_tune.tuning.storage import alive_nodes, check_storage_visible, is_uri
from cords_tune.tuning.prestarted_workers import trials_on_prestarted_workers

__all__ = [
    "RunResult",
    "run_experiment",
    "resume_experiment",
    "asha_grace_period",
    "full_data_variant",
    "make_run_dir",
    "check_output_dir",
    "BASELINE_DIR",
]

log = logging.getLogger(__name__)

BASELINE_DIR = "baseline"  # the full-data search's files, inside the run directory


@dataclass(frozen=True)
class RunResult:
    """A finished run: its directory, and what its files hold as typed objects (``to_json()`` gives each
    file's content: summary.json, the rows of trials.parquet, comparison.json)."""

    run_dir: Path
    summary: RunSummary
    trials: list[TrialRecord]
    comparison: Comparison | None = None  # with ``baseline``: subset tuning against full-data tuning


def check_output_dir(output_dir: str | Path) -> Path:
    """Check, before anything starts, that results can be written under ``output_dir``: the directories it
    needs are made and a file written there, then whatever the check made is removed again (a run that fails
    later, e.g. on its data, leaves nothing behind).

    Raises:
        ConfigError: it is a file, cannot be made, or cannot be written.
    """
    path = Path(output_dir).expanduser().resolve()
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{str(output_dir)!r} is a file, not a directory. Give a directory for the results",
                          path="output")
    missing = [p for p in (path, *path.parents) if not p.exists()]
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as error:
        raise ConfigError(
            f"cannot write results into {str(output_dir)!r} ({error.strerror or error}). Give a directory you can "
            "write to (--output DIR, or output_dir in the experiment file)", path="output"
        ) from None
    finally:
        for made in missing:  # deepest first
            with contextlib.suppress(OSError):
                made.rmdir()
    return path


def make_run_dir(output_dir: str | Path, name: str) -> Path:
    """A new directory ``<output_dir>/<name>-<YYYYmmdd-HHMMSS>`` (suffixed if it already exists)."""
    base = Path(output_dir).expanduser().resolve() / f"{name}-{datetime.now():%Y%m%d-%H%M%S}"
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    candidate.mkdir(parents=True)
    return candidate


def run_experiment(
    config: ExperimentConfig,
    *,
    output_dir: str | Path | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    on_notice: Callable[[str], None] | None = None,
    address: str | None = None,
    data: Any = None,
    model: Any = None,
) -> RunResult:
    """Tune ``config`` on data subsets, train its top ``final.top_k`` configurations on the full data and keep
    the one with the best full-data validation score, write the results;
    with ``config.baseline``, then tune on the full data too and write the comparison.

    Args:
        config: a validated experiment.
        output_dir: where the run directory is made; default ``config.output_dir``.
        on_progress: receives a ``Progress`` snapshot at each trial event (on the driver).
        on_notice: receives one-off lines of text: which Ray runs the trials, what they wait for.
        address: a Ray cluster to join; default: ``RAY_ADDRESS`` if set, else a private local Ray.
        data: data given from Python in place of the experiment's dataset (``dataset.name: python``; the forms
            are listed in ``cords_tune.datasets.given``); it reaches the trials through Ray's object store.
        model: a model factory given from Python in place of the experiment's model (``model.name: python``;
            see ``cords_tune.models.given``); it reaches the trials pickled.

    Raises:
        RunInterruptedError: the driver was interrupted; ``resume_experiment(run_dir)`` continues it.
    """
    started = time.perf_counter()
    probe_address(address or os.environ.get("RAY_ADDRESS"))  # before anything is written
    check_tracking(config)
    output = check_output_dir(output_dir or config.output_dir)
    given = as_given(model)
    data, largest_model, timings = _load_data(config, data, given)
    # After the load, whose messages show paths as the user wrote them: resume must find the data and the
    # trial files from any directory.
    config = config.with_absolute_paths()
    space = estimate_run_bytes(config, largest_model, len(data.y_train))
    if config.storage_path is None:  # trial files go into the run directory too
        check_free_space(output, space.total)
    else:
        check_free_space(output, space.results)
        if not is_uri(config.storage_path):
            check_free_space(config.storage_path, space.trial_files)
    run_dir = None
    try:
        with ray_for_trials(config, address, timings, on_notice):  # first: a Ray that cannot start leaves no run directory
            run_dir = make_run_dir(output, config.name)
            with _disk_full_as_error(run_dir, space.total):
                write_text_atomic(run_dir / "config.yaml", config.to_yaml())
                return _run(config, data, run_dir, timings, started, on_progress, resume=False, model=given)
    except KeyboardInterrupt:
        if run_dir is None:
            raise  # nothing was written: there is nothing to continue
        raise _interrupted_between_phases(config, run_dir) from None


def resume_experiment(
    run_dir: str | Path,
    *,
    on_progress: Callable[[Progress], None] | None = None,
    on_notice: Callable[[str], None] | None = None,
    address: str | None = None,
    data: Any = None,
    model: Any = None,
) -> RunResult:
    """Continue an interrupted run: finished trials are kept, unfinished ones continue from their last
    checkpoint, then the finalists train on the full data (all of them again if they were interrupted) and the
    baseline search, if asked for, continues or starts. A run whose data or model was given from Python needs
    them given again (``data``, ``model``)."""
    started = time.perf_counter()
    probe_address(address or os.environ.get("RAY_ADDRESS"))
    run_dir = Path(run_dir).expanduser().resolve()
    if not run_dir.exists():
        raise ConfigError(f"{str(run_dir)!r} does not exist. Give the run directory that `cords-tune run` printed")
    if not (run_dir / "config.yaml").is_file():
        raise ConfigError(f"{str(run_dir)!r} is not a run directory: it has no config.yaml. Give the directory "
                          "that `cords-tune run` printed")
    config = load_config(run_dir / "config.yaml")
    check_tracking(config)
    subset_summary = _finished_summary(run_dir)
    if _nothing_left(config, run_dir, subset_summary):
        raise RunFinishedError(f"{run_dir} finished already; its results are in {run_dir / 'summary.json'}")
    state, saved = _saved_search(config, run_dir)
    if not subset_summary and not saved:
        raise RunFailedError(
            f"no tuning state to resume under {state}: the run stopped before its first trial "
            f"started. Start it again with: cords-tune run {run_dir / 'config.yaml'}"
        )
    given = as_given(model)
    data, largest_model, timings = _load_data(config, data, given)
    space = estimate_run_bytes(config, largest_model, len(data.y_train))
    try:
        with ray_for_trials(config, address, timings, on_notice), _disk_full_as_error(run_dir, space.total):
            return _run(config, data, run_dir, timings, started, on_progress, resume=True, model=given,
                        subset_summary=subset_summary)
    except KeyboardInterrupt:
        raise _interrupted_between_phases(config, run_dir) from None


def _interrupted_between_phases(config: ExperimentConfig, run_dir: Path) -> RunInterruptedError:
    """A Ctrl-C that no phase turned into its own message: one that came as a search ended, while results were
    written or while Ray shut down. Every result file is written whole (``summary.json`` last) and Tune's state
    is saved as each trial ends, so what the run directory holds says what is left to do."""
    subset_summary = _finished_summary(run_dir)
    if _nothing_left(config, run_dir, subset_summary):
        return RunInterruptedError(f"interrupted as the run ended; it had finished, and its results are in {run_dir}")
    if not subset_summary and not _saved_search(config, run_dir)[1]:
        return RunInterruptedError(f"interrupted before the first trial started; nothing is lost. Start it again "
                                   f"with: cords-tune run {run_dir / 'config.yaml'}")
    return RunInterruptedError(f"interrupted; the finished trials are kept. Continue with: cords-tune resume {run_dir}")


def _nothing_left(config: ExperimentConfig, run_dir: Path, subset_summary: RunSummary | None) -> bool:
    """The subset search finished (``subset_summary``), and so did the baseline where one is asked for."""
    return subset_summary is not None and (not config.baseline or (run_dir / "comparison.json").is_file())


def _saved_search(config: ExperimentConfig, run_dir: Path) -> tuple[str, bool]:
    """Where Tune keeps the subset search's state, and whether it saved any (it does once a trial has started)."""
    from ray import tune

    storage, experiment = _storage(config, run_dir)
    state = f"{storage}/{experiment}"
    return state, tune.Tuner.can_restore(state)


@contextmanager
def _disk_full_as_error(run_dir: Path, needed: int) -> Iterator[None]:
    """A full disk met by the driver (a result file, the final model) becomes one message; what was written
    before stays, and the run resumes once there is space."""
    try:
        yield
    except OSError as error:
        if not is_disk_full(error):
            raise
        raise disk_full_error(error.filename or run_dir, run_dir, needed=needed) from None


def _finished_summary(run_dir: Path) -> RunSummary | None:
    """The subset search's summary if it finished (status ``ok``), else ``None``."""
    summary_file = run_dir / "summary.json"
    if not summary_file.is_file():
        return None
    try:
        summary = RunSummary.from_json(json.loads(summary_file.read_text()))
    except (ValueError, TypeError, KeyError, AttributeError) as error:  # cut short, or edited by hand
        raise RunFailedError(
            f"{summary_file} cannot be read ({type(error).__name__}: {first_line(error)}). Move it aside (the "
            f"finished trials are kept in the tuning state) and resume again to redo what follows the search: "
            f"mv {summary_file} {summary_file}.bad"
        ) from None
    return summary if summary.ok else None


def _load_data(
    config: ExperimentConfig, given: Any, model: GivenModel | None
) -> tuple[DataBundle, int, dict[str, float]]:
    """The run's data, checked against the experiment; the largest model's parameter count; the load time."""
    tick = time.perf_counter()
    data = load_data(config, data=given)
    largest_model = check_against_data(config, data, model)
    log.info("dataset %s", data.describe())
    return data, largest_model, {"data_load_s": time.perf_counter() - tick}


@dataclass(frozen=True)
class _Run:
    """What every phase of one run shares: the experiment, its data, where its files go, who watches."""

    config: ExperimentConfig
    data: DataBundle
    data_ref: Any
    run_dir: Path
    storage: str
    experiment: str
    on_progress: Callable[[Progress], None] | None
    resume: bool
    model: GivenModel | None  # a model given from Python, sent to every trial and task


def _run(
    config: ExperimentConfig,
    data: DataBundle,
    run_dir: Path,
    timings: dict[str, float],
    started: float,
    on_progress: Callable[[Progress], None] | None,
    *,
    resume: bool,
    model: GivenModel | None,
    subset_summary: RunSummary | None = None,
) -> RunResult:
    """The subset search with its finalists (unless ``subset_summary``: a resumed run finished it already), then
    the baseline if asked."""
    import ray

    tick = time.perf_counter()
    data_ref = ray.put(data)
    timings["data_put_s"] = time.perf_counter() - tick
    storage, experiment = _storage(config, run_dir)
    check_storage_visible(storage)
    run = _Run(config, data, data_ref, run_dir, storage, experiment, on_progress, resume, model)

    if subset_summary is not None:
        summary, trials = subset_summary, read_trials(run_dir / "trials.parquet")
    else:
        summary, trials = _search_and_retrain(run, timings, started)
    comparison = _baseline(run, summary, trials) if config.baseline else None
    return RunResult(run_dir=run_dir, summary=summary, trials=trials, comparison=comparison)


@dataclass(frozen=True)
class _Searched:
    grid: Any
    trials: list[TrialRecord]
    ranked: list[TrialRecord]  # the usable trials, best first, one per configuration
    best: TrialRecord
    best_config: ExperimentConfig
    study: StudyStore | None  # where the search's Optuna study is kept
    slot_use: SlotUse | None  # where the search's slot time went
    shared_subset: SharedSubset | None  # the subsets every trial trained on, for a shared strategy
    started: float  # the run's start (perf_counter), earlier by the time its interrupted sessions took
    notes: tuple[str, ...] = ()  # e.g. that the time budget ended it

    def finished(self, summary: RunSummary, *, resumed: bool) -> RunSummary:
        """``summary`` with what it records of the finished search itself."""
        return replace(summary, resumed=resumed, optuna_study=self.study, slot_use=self.slot_use,
                       shared_subset=self.shared_subset.record if self.shared_subset else None,
                       notes=[*summary.notes, *self.notes])


def _search(
    run: _Run,
    config: ExperimentConfig,
    *,
    folder: Path,
    experiment: str,
    display: str,
    phase: str,
    timings: dict[str, float],
    started: float,
    restore: bool,
    if_none_usable: str,
) -> _Searched:
    """Run (or restore and finish) one Tune search and pick its best trial. If the search was interrupted or
    no trial is usable, its files are written into ``folder`` first; ``if_none_usable`` says what is lost.
    A shared strategy's subsets are chosen by a task started with the search; its time is in the search's."""
    tick, began = time.perf_counter(), time.time()
    earlier = _earlier_session(folder) if restore else None
    if earlier is not None:  # a resumed search's times count the session it continues
        started -= earlier.end_to_end_wall_s or 0.0
    proxy = ProxyTask.start(config, run.data_ref, run.model, folder)
    local = not is_uri(run.storage)
    reserve = SpaceReserve.for_search(run.storage, experiment, config.search.num_trials) if local else None
    study = study_store(config, folder, display)
    stopped: StopReason | None = None
    cost: CostTask | None = None
    try:
        cost = CostTask.start(config, run.data, run.data_ref, run.model, folder)  # a Ctrl-C here is an interrupt too
        if reserve:
            reserve.make()
        spent_before = (earlier.tuning_wall_s or 0.0) if earlier else 0.0  # a budget counts every session
        with progress_display(display, run.on_progress), watch_search() as stopped, _start_slots_together(config), \
                trials_on_prestarted_workers(), forced_snapshots_unannounced(), \
                search_budget(display, config.search.time_budget_s, spent_before_s=spent_before) as budget:
            tuner = _tuner(config, run.data_ref, run.model, run.storage, experiment, display, resume=restore,
                           phase=phase, reserve=reserve, study=study, run_name=run.run_dir.name, proxy=proxy,
                           cost=cost)
            grid = tuner.fit()
    except KeyboardInterrupt:  # a second Ctrl-C, while Tune saved its state after the first
        if proxy:
            proxy.settle()
        raise RunInterruptedError(
            f"interrupted during the {phase!r} phase. Continue with: cords-tune resume {run.run_dir}"
        ) from None
    except Exception as error:
        if proxy and proxy.failure:  # the trials were waiting for its subsets
            proxy.result()  # says what failed
        if stopped is not None and stopped.stopped:  # stopped off the main thread (SearchStopped)
            raise _early_stop_error(run, stopped, last_progress(display), phase) from None
        if local and (is_disk_full(error) or out_of_space(run.storage)):  # e.g. a state file cut short
            raise disk_full_error(run.storage, run.run_dir) from None
        raise
    finally:
        if cost:
            cost.settle()
        if reserve:
            reserve.release()  # its space is for the files written below
    elapsed = time.perf_counter() - tick
    timings["tuning_wall_s"] = elapsed + ((earlier.tuning_wall_s or 0.0) if earlier else 0.0)
    used = over_sessions(earlier.slot_use if earlier else None, search_slot_use(grid, began, began + elapsed))
    ended_by_budget, trials, notes = budget_outcome(budget, stopped.stopped, collect_trials(grid, config),
                                                    config.search.num_trials)

    finished = grid.num_terminated + grid.num_errors
    if stopped.stopped or (finished < config.search.num_trials and not ended_by_budget):
        if proxy:
            proxy.settle()
        summary = _summary(config, run.data, trials, None, None, None, timings, started, slot_use=used,
                           status="waiting_for_resources" if stopped.waited_s is not None else "interrupted")
        try:
            write_run(folder, summary, trials, None)
        except OSError as error:
            if not (stopped.disk_full and is_disk_full(error)):
                raise  # on a full disk the summary may not fit: the message below says what to do
        raise _early_stop_error(run, stopped, last_progress(display), phase)
    shared = proxy.result() if proxy else None  # a failed proxy, not its waiting trials, is the error to report
    if shared:
        timings["shared_subset_s"] = shared.record.wall_s if proxy.chosen_now else 0.0
    usable = [t for t in trials if t.usable]
    if not usable:
        write_run(folder, _summary(config, run.data, trials, None, None, None, timings, started, slot_use=used),
                  trials, None)
        errors = {t.error for t in trials if t.error}
        raise RunFailedError(
            f"all {len(trials)} trials failed or diverged; {if_none_usable}. First error: "
            f"{next(iter(errors), 'none (diverged)')}. Trial logs are under {run.storage}/{experiment}"
        )
    ranked = rank_trials(usable, config.search.mode)
    return _Searched(grid, trials, ranked, ranked[0], apply_params(config, ranked[0].params), study, used, shared,
                     started, notes)


def _earlier_session(folder: Path) -> RunSummary | None:
    """What the session before this one recorded of the search kept in ``folder`` (its ``summary.json``: an
    interrupted search, or a finished one whose run stopped later, e.g. a baseline before its comparison), or
    None: none was written (a driver killed outright), or it cannot be read."""
    try:
        return RunSummary.from_json(json.loads((folder / "summary.json").read_text()))
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


@contextmanager
def _start_slots_together(config: ExperimentConfig) -> Iterator[None]:
    """Let Tune start a trial for every free slot at once. With a searcher (TPE), Tune keeps one trial pending
    at a time unless told otherwise, so each slot's worker would only start once the one before it had
    started: on the quickstart the second slot waited seconds for the first's imports. A user's own
    ``TUNE_MAX_PENDING_TRIALS_PG`` is kept."""
    if "TUNE_MAX_PENDING_TRIALS_PG" in os.environ:
        yield
        return
    os.environ["TUNE_MAX_PENDING_TRIALS_PG"] = str(trial_slots(config, alive_nodes()))
    try:
        yield
    finally:
        os.environ.pop("TUNE_MAX_PENDING_TRIALS_PG", None)


def _early_stop_error(run: _Run, stopped: StopReason, seen: Progress | None, phase: str) -> CordsTuneError:
    """Why the search ended before its trials did, and how to continue."""
    resume_hint = f"Continue with: cords-tune resume {run.run_dir}"
    if stopped.disk_full:
        return disk_full_error(run.storage, run.run_dir, cause=(
            "Trials could not save their checkpoints: no space left on the device (here, or in Ray's temporary "
            "directory on their node). "))
    if stopped.waited_s is not None:
        return ResourcesUnavailableError(
            f"no trial could run for {stopped.waited_s:.0f} s (resources.max_wait_s): {stopped.waiting_for}. Add "
            f"nodes that have these resources or lower the request; the finished trials are kept. {resume_hint}"
        )
    # Tune reports the trials it stopped on Ctrl-C as terminated: the progress display counted the real ones.
    done = f"{seen.finished} of " if seen else "fewer than "
    return RunInterruptedError(
        f"interrupted with {done}{run.config.search.num_trials} trials of the {phase!r} phase finished; nothing is "
        f"lost. {resume_hint}"
    )


def _search_and_retrain(
    run: _Run, timings: dict[str, float], started: float
) -> tuple[RunSummary, list[TrialRecord]]:
    config, run_dir = run.config, run.run_dir
    searched = _search(
        run, config, folder=run_dir, experiment=run.experiment, display=run_dir.name, phase="tuning",
        timings=timings, started=started, restore=run.resume, if_none_usable="nothing to retrain",
    )
    trials, best, best_config, started = searched.trials, searched.best, searched.best_config, searched.started

    final, settled = None, None
    if config.final.enabled:
        count = min(config.final.top_k, len(searched.ranked))
        _announce(run, run_dir.name, "retraining the best config on the full data" if count == 1
                  else f"training the top {count} configs on the full data (finalists)")
        tick = time.perf_counter()
        try:
            settled = settle_finalists(config, searched.ranked, run.data_ref, count, model=run.model,
                                       on_done=lambda finalist, left: _finalist_done(run, finalist, left),
                                       on_epoch=lambda rank, stats: _finalist_epoch(run, rank, stats))
        except BaseException as error:  # the trials are paid for: keep them whatever stops the retrain
            interrupted = isinstance(error, KeyboardInterrupt)
            status = "interrupted" if interrupted else "retrain_failed"
            summary = _summary(config, run.data, trials, best, best_config, None, timings, started, status=status,
                               slot_use=searched.slot_use)
            write_run(run_dir, summary, trials, best_config)
            phase = "the final retrain" if count == 1 else f"the full-data training of the {count} finalists"
            if interrupted:
                raise RunInterruptedError(
                    f"interrupted during {phase}; all trials are kept. Continue with: cords-tune resume {run_dir}"
                ) from None
            raise RunFailedError(
                f"{phase} failed: {first_line(error)}. The trials and best_config.yaml are in "
                f"{run_dir}; retry it with: cords-tune resume {run_dir}"
            ) from None
        best, best_config = settled.winner.trial, settled.winner.config
        final = keep_model(settled.winner.result, run_dir)  # model.pt; a full disk here is a DiskFullError
        settled = settled.without_models(final)
        timings["final_wall_s"] = time.perf_counter() - tick

    summary = _summary(config, run.data, trials, best, best_config, final, timings, started, settled=settled,
                       subset_best=searched.best)
    summary = searched.finished(summary, resumed=run.resume)
    write_run(run_dir, summary, trials, best_config)
    if final and best_config.final.compress.enabled:  # after the run's files: compressing never loses them
        summary = replace(summary, compression=compress_run(run_dir, run.data, best_config, run.model))
        write_run(run_dir, summary, trials, best_config)
    return summary, trials


def _baseline(run: _Run, subset_summary: RunSummary, subset_trials: list[TrialRecord]) -> Comparison:
    """The same search on the full data; its best trial is tested as it stands (it trained on the full data
    already), then ``comparison.json``, ``comparison.png`` and the comparison in ``report.md`` are written."""
    from ray import tune

    started = time.perf_counter()
    full = full_data_variant(run.config)
    folder = run.run_dir / BASELINE_DIR
    folder.mkdir(exist_ok=True)
    experiment = f"{run.experiment}-{BASELINE_DIR}"
    restore = run.resume and tune.Tuner.can_restore(f"{run.storage}/{experiment}")
    display = f"{run.run_dir.name}-{BASELINE_DIR}"
    timings: dict[str, float] = {}
    searched = _search(
        run, full, folder=folder, experiment=experiment, display=display,
        phase="baseline: tuning on the full data", timings=timings, started=started, restore=restore,
        if_none_usable=f"there is nothing to compare with (the subset results in {run.run_dir} are complete)",
    )
    best, best_config = searched.best, searched.best_config
    checkpoint = searched.grid[best.index].checkpoint
    tick = time.perf_counter()
    try:
        if best.status == "completed" and checkpoint is not None:
            _announce(run, display, "baseline: testing the best full-data trial")
            final = evaluate_checkpoint_on_cluster(best_config, run.data_ref, checkpoint, run.model)
        else:  # stopped early by ASHA: a user tuning on the full data would have to train it to the end too
            _announce(run, display, "baseline: retraining the best full-data config (it was stopped early)")
            final = retrain_on_cluster(best_config, run.data_ref, run.model)
    except KeyboardInterrupt:  # the subset results are complete; resume redoes only this step
        interrupted = _summary(full, run.data, searched.trials, best, best_config, None, timings, searched.started,
                               status="interrupted", slot_use=searched.slot_use)
        write_run(folder, interrupted, searched.trials, best_config)
        raise RunInterruptedError(
            f"interrupted while finishing the best full-data configuration; the subset results and the baseline's trials "
            f"are kept. Continue with: cords-tune resume {run.run_dir}"
        ) from None
    final = keep_model(final, folder)  # baseline/model.pt
    timings["final_wall_s"] = time.perf_counter() - tick
    summary = searched.finished(_summary(full, run.data, searched.trials, best, best_config, final, timings,
                                         searched.started),
                                resumed=restore)
    write_run(folder, summary, searched.trials, best_config)

    dropped = sorted(set(run.config.search.space) - set(full.search.space))
    comparison = build_comparison(subset_summary, summary, dropped=dropped)
    write_comparison(run.run_dir, comparison)
    write_text_atomic(run.run_dir / "report.md", render_report(subset_summary, subset_trials, sections=[comparison_section(comparison)]))
    return comparison


def _announce(run: _Run, display: str, phase: str) -> None:
    if run.on_progress:
        progress = last_progress(display) or Progress(total=run.config.search.num_trials)
        progress.phase, progress.searching = phase, False
        run.on_progress(progress)


def _finalist_done(run: _Run, finalist: Finalist, left: int) -> None:
    outcome = (f"failed ({finalist.error})" if finalist.error else "diverged" if finalist.diverged
               else f"{run.config.search.metric} {finalist.score():.4f}")
    _announce(run, run.run_dir.name, f"finalist {finalist.rank} ({finalist.trial.trial_id}) on the full data: "
              f"{outcome}" + (f"; {left} still training" if left else ""))


def _finalist_epoch(run: _Run, rank: int, stats: EpochStats) -> None:
    metric = run.config.search.metric
    value = stats.as_dict().get(metric)  # flat, as Tune reads it: the val_* fields and the search metric's score
    _announce(run, run.run_dir.name, f"finalist {rank} on the full data: epoch {stats.epoch}/{run.config.final_epochs}"
              + (f", {metric} {value:.4f}" if isinstance(value, float) else ""))


def _recorder(study: StudyStore | None, config: ExperimentConfig) -> list[StudyRecorder]:
    if study is None:
        return []
    return [StudyRecorder(study, config.search.space, config.search.metric, config.search.mode)]


def _storage(config: ExperimentConfig, run_dir: Path) -> tuple[str, str]:
    """(storage path, experiment name) for Ray Tune: the run directory's ``tune/`` by default, else
    ``<storage_path>/<run name>``."""
    if config.storage_path is None:
        return str(run_dir), "tune"
    if is_uri(config.storage_path):
        return config.storage_path.rstrip("/"), run_dir.name
    return str(Path(config.storage_path).expanduser().resolve()), run_dir.name


def _tuner(
    config: ExperimentConfig,
    data_ref: Any,
    model: GivenModel | None,
    storage: str,
    experiment: str,
    display: str,
    *,
    resume: bool,
    phase: str,
    reserve: SpaceReserve | None,
    study: StudyStore | None,
    run_name: str,
    proxy: ProxyTask | None = None,
    cost: CostTask | None = None,
):
    """A new Tuner, or the interrupted one restored from its experiment state (``resume``). ``proxy``: the task
    choosing a shared strategy's subsets, which the trials wait for; ``cost``: the cost guard's measurement."""
    from ray import tune

    from cords_tune.tuning.search_space import to_tune_space
    from cords_tune.tuning.trainable import trial_trainable

    search = config.search
    space = to_tune_space(search.space)
    trainable = trial_trainable(config, data_ref, model, proxy.ref if proxy else None,
                                cost.ref if cost else None)
    quiet_optuna()
    if resume:
        # Trials that finished stay finished; running, pending and errored ones continue from checkpoints.
        return tune.Tuner.restore(
            f"{storage}/{experiment}", trainable, resume_unfinished=True, resume_errored=True, param_space=space
        )
    progress = ProgressCallback(
        total=search.num_trials,
        metric=search.metric,
        mode=search.mode,
        max_epochs=config.training.epochs,
        display=display,
        phase=phase,
    )
    watch = SearchWatch(max_wait_s=config.resources.max_wait_s, request=str(TrialRequest.of(config)), reserve=reserve)
    budget = [TimeBudget(display)] if search.time_budget_s is not None else []  # its stopper and a callback
    return tune.Tuner(
        trainable,
        param_space=space,
        tune_config=tune.TuneConfig(
            metric=search.metric,
            mode=search.mode,
            search_alg=build_searcher(config),
            scheduler=build_scheduler(config),
            num_samples=search.num_trials,
            max_concurrent_trials=search.max_concurrent_trials,
            reuse_actors=True,
        ),
        run_config=tune.RunConfig(
            name=experiment,
            storage_path=storage,
            verbose=0,
            stop=budget[0] if budget else None,
            callbacks=[progress, watch, *budget, *_recorder(study, config), *logger_callbacks(config, run_name, phase),
                       *([ProxyWatch(proxy)] if proxy else []), *([CostWatch(cost)] if cost else [])],
            failure_config=tune.FailureConfig(max_failures=config.fault_tolerance.max_failures),
            checkpoint_config=tune.CheckpointConfig(num_to_keep=config.fault_tolerance.keep_checkpoints),
        ),
    )


def full_data_variant(config: ExperimentConfig) -> ExperimentConfig:
    """The same search on the full data, for the baseline: strategy ``full``, the searched ``selection.*``
    parameters dropped (they mean nothing there), ASHA's first rung where the subset search has it."""
    data = config.model_dump(mode="python")
    data["selection"] = {**data["selection"], "strategy": "full", "params": {}, "warm_start_epochs": 0}
    data["search"]["space"] = {
        path: {domain.kind: domain.values}
        for path, domain in config.search.space.items()
        if not path.startswith("selection.")
    }
    data["search"]["asha"]["grace_period"] = asha_grace_period(config)
    data["baseline"] = False
    return parse_config(data, source="full-data baseline")


def _summary(
    config: ExperimentConfig,
    data: DataBundle,
    trials: list[TrialRecord],
    best: TrialRecord | None,
    best_config: ExperimentConfig | None,
    final: FinalResult | None,
    timings: dict[str, float],
    started: float,
    *,
    status: str | None = None,
    settled: Settled | None = None,
    subset_best: TrialRecord | None = None,
    slot_use: SlotUse | None = None,
) -> RunSummary:
    """The search's summary. With ``settled``, ``best`` is the finalist the full data picked and
    ``subset_best`` the subset search's own best trial. ``slot_use``: an unfinished search's so far (a finished
    one's comes with ``_Searched.finished``)."""
    return RunSummary(
        name=config.name,
        seed=config.seed,
        dataset=data.describe(),
        model=config.model.name,
        strategy=config.selection.strategy,
        fraction=config.selection.fraction,
        metric=config.search.metric,
        mode=config.search.mode,
        num_trials=config.search.num_trials,
        **trial_totals(trials),
        best_trial_selection_fallback_epoch=best.selection_fallback_epoch if best else None,
        tuning_wall_s=timings.get("tuning_wall_s"),
        best_trial_id=best.trial_id if best else None,
        best_config=best.params if best else None,
        best_metric=best.best_metric if best else None,
        best_val_accuracy=best.best_val_accuracy if best else None,
        final=final,
        finalists=settled.records() if settled else [],
        subset_best_trial_id=(subset_best or best).trial_id if (subset_best or best) else None,
        timings=Timings.from_dict(timings),
        end_to_end_wall_s=time.perf_counter() - started,
        energy=_energy(config, trials, final, settled).record(),
        status=status or ("ok" if best else "failed"),
        slot_use=slot_use,
        classes=list(data.class_labels),
    )


def _energy(
    config: ExperimentConfig, trials: list[TrialRecord], final: FinalResult | None, settled: Settled | None
) -> RunEnergy:
    """The energy of the search's trials and of its final trainings: the finalists', or the one final task
    (the baseline's best trial tested, or retrained)."""
    parts = {"trials": Energy.total(t.energy for t in trials)}
    if settled is not None:
        parts["finalists"] = settled.energy
    elif final is not None:
        parts["final"] = final.energy
    return RunEnergy(parts, config.energy)
