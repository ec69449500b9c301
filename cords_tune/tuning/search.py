"""One Tune search: Optuna's TPE as the searcher and ASHA (or FIFO) as the scheduler, built here and nowhere
else; run, or restored and finished, and returned as a typed ``SearchOutcome``, or ended early with a typed
``SearchEndedEarly`` that says why and what it had finished. Writing results is the caller's."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cords_tune.config import ExperimentConfig, apply_params, parse_config
from cords_tune.datasets import DataBundle
from cords_tune.errors import CordsTuneError, ResourcesUnavailableError, RunInterruptedError
from cords_tune.models.given import GivenModel
from cords_tune.results.shared_subset import SharedSubsetRecord
from cords_tune.results.slot_use import SlotUse, over_sessions
from cords_tune.results.study import StudyStore
from cords_tune.results.summary import RunSummary
from cords_tune.results.trial import TrialRecord
from cords_tune.tuning.algorithms import asha_grace_period, build_scheduler, build_searcher, quiet_optuna
from cords_tune.tuning.budget import TimeBudget, budget_outcome, search_budget
from cords_tune.tuning.disk import SpaceReserve, disk_full_error, is_disk_full, out_of_space
from cords_tune.tuning.finalists import rank_trials
from cords_tune.tuning.interrupts import SearchWatch, StopReason, watch_search
from cords_tune.tuning.noise import forced_snapshots_unannounced
from cords_tune.tuning.prestarted_workers import trials_on_prestarted_workers
from cords_tune.tuning.progress import Progress, ProgressCallback, last_progress, progress_display
from cords_tune.tuning.resources import TrialRequest, trial_slots
from cords_tune.tuning.collect import collect_trials, search_slot_use
from cords_tune.tuning.selection_cost import CostTask, CostWatch
from cords_tune.tuning.shared_subset import ProxyTask, ProxyWatch
from cords_tune.tuning.storage import alive_nodes, is_uri
from cords_tune.tuning.tracking import StudyRecorder, logger_callbacks, study_store
from cords_tune.tuning.warm_workers import WarmWorkersInTheTail, tasks_after_search

__all__ = ["SearchSpec", "SearchTimings", "SearchOutcome", "SearchEndedEarly", "run_search", "full_data_variant",
           "earlier_session", "slots_started_together", "saved_search"]


@dataclass(frozen=True)
class SearchSpec:
    """What one search needs: the experiment it searches, the run's data, and where its files go."""

    config: ExperimentConfig
    data: DataBundle
    data_ref: Any  # the data in Ray's object store
    model: GivenModel | None  # a model given from Python
    storage: str  # Tune's storage path
    experiment: str  # Tune's experiment name under it
    folder: Path  # where the search's own files (the proxy's, the study) go
    display: str  # the progress display's key, and the budget's
    phase: str  # the search in words, for progress lines and messages
    run_dir: Path  # the run directory, named in the messages that say how to continue
    on_progress: Callable[[Progress], None] | None = None
    restore: bool = False  # continue the search Tune saved under ``storage``/``experiment``


@dataclass(frozen=True)
class SearchTimings:
    tuning_wall_s: float  # first trial to last, over every session of the search
    shared_subset_s: float | None = None  # a shared strategy's proxy and selection, within the search


@dataclass(frozen=True)
class SearchOutcome:
    """A finished search. ``ranked`` is empty where no trial is usable (``best`` and ``best_config`` are then
    ``None``)."""

    trials: list[TrialRecord]
    ranked: list[TrialRecord]  # the usable trials, best first, one per configuration
    best: TrialRecord | None
    best_config: ExperimentConfig | None
    study: StudyStore | None  # where the search's Optuna study is kept
    slot_use: SlotUse | None  # where the search's slot time went, over all its sessions
    shared_subset: SharedSubsetRecord | None  # the subsets every trial trained on, for a shared strategy
    timings: SearchTimings
    earlier_wall_s: float = 0.0  # the run's time in the sessions before this one (end to end)
    notes: tuple[str, ...] = ()  # e.g. that the time budget ended it
    grid: Any = None  # Tune's ResultGrid; None where the outcome was read back from the run directory

    def checkpoint_of(self, trial: TrialRecord) -> Any:
        """The last checkpoint Tune kept of ``trial``."""
        return self.grid[trial.index].checkpoint


class SearchEndedEarly(Exception):
    """The search stopped before its trials finished (interrupt, resources, full disk): ``error`` is what the
    user is told; ``trials`` and ``slot_use`` what it had done, ``status`` the summary's word for it."""

    def __init__(self, error: CordsTuneError, *, status: str, trials: list[TrialRecord], slot_use: SlotUse | None,
                 timings: SearchTimings, earlier_wall_s: float, disk_full: bool) -> None:
        super().__init__(str(error))
        self.error, self.status, self.trials, self.slot_use = error, status, trials, slot_use
        self.timings, self.earlier_wall_s, self.disk_full = timings, earlier_wall_s, disk_full


def run_search(spec: SearchSpec) -> SearchOutcome:
    """Run (or restore and finish) one Tune search and rank its trials. A shared strategy's subsets are chosen
    by a task started with the search; its time is in the search's.

    Raises:
        SearchEndedEarly: it stopped before its trials finished.
        RunInterruptedError: a second Ctrl-C, while Tune saved its state after the first.
    """
    config = spec.config
    tick, began = time.perf_counter(), time.time()
    earlier = earlier_session(spec.folder) if spec.restore else None
    proxy = ProxyTask.start(config, spec.data_ref, spec.model, spec.folder)
    local = not is_uri(spec.storage)
    reserve = SpaceReserve.for_search(spec.storage, spec.experiment, config.search.num_trials) if local else None
    study = study_store(config, spec.folder, spec.display)
    stopped: StopReason | None = None
    cost: CostTask | None = None
    try:
        cost = CostTask.start(config, spec.data, spec.data_ref, spec.model, spec.folder)  # a Ctrl-C here interrupts too
        if reserve:
            reserve.make()
        spent_before = (earlier.tuning_wall_s or 0.0) if earlier else 0.0  # a budget counts every session
        with progress_display(spec.display, spec.on_progress), watch_search(spec.display) as stopped, \
                slots_started_together(config), trials_on_prestarted_workers(), forced_snapshots_unannounced(), \
                search_budget(spec.display, config.search.time_budget_s, spent_before_s=spent_before) as budget:
            grid = _tuner(spec, reserve=reserve, study=study, proxy=proxy, cost=cost).fit()
    except KeyboardInterrupt:
        if proxy:
            proxy.settle()
        raise RunInterruptedError(
            f"interrupted during the {spec.phase!r} phase. Continue with: cords-tune resume {spec.run_dir}"
        ) from None
    except Exception as error:
        if proxy and proxy.failure:  # the trials were waiting for its subsets
            proxy.result()  # says what failed
        if stopped is not None and stopped.stopped:  # stopped off the main thread
            raise _early_stop_error(spec, stopped, last_progress(spec.display)) from None
        if local and (is_disk_full(error) or out_of_space(spec.storage)):  # e.g. a state file cut short
            raise disk_full_error(spec.storage, spec.run_dir) from None
        raise
    finally:
        if cost:
            cost.settle()
        if reserve:
            reserve.release()  # its space is for the files the caller writes
    elapsed = time.perf_counter() - tick
    earlier_wall_s = (earlier.end_to_end_wall_s or 0.0) if earlier else 0.0
    timings = SearchTimings(tuning_wall_s=elapsed + ((earlier.tuning_wall_s or 0.0) if earlier else 0.0))
    used = over_sessions(earlier.slot_use if earlier else None, search_slot_use(grid, began, began + elapsed))
    ended_by_budget, trials, notes = budget_outcome(budget, stopped.stopped, collect_trials(grid, config),
                                                    config.search.num_trials)
    finished = grid.num_terminated + grid.num_errors
    if stopped.stopped or (finished < config.search.num_trials and not ended_by_budget):
        if proxy:
            proxy.settle()
        raise SearchEndedEarly(
            _early_stop_error(spec, stopped, last_progress(spec.display)), trials=trials, slot_use=used,
            status="waiting_for_resources" if stopped.waited_s is not None else "interrupted", timings=timings,
            earlier_wall_s=earlier_wall_s, disk_full=stopped.disk_full,
        )
    shared = proxy.result() if proxy else None  # a failed proxy, not its waiting trials, is the error to report
    if shared:
        timings = SearchTimings(timings.tuning_wall_s, shared.record.wall_s if proxy.chosen_now else 0.0)
    ranked = rank_trials([t for t in trials if t.usable], config.search.mode)
    best = ranked[0] if ranked else None
    return SearchOutcome(trials, ranked, best, apply_params(config, best.params) if best else None, study, used,
                         shared.record if shared else None, timings, earlier_wall_s, notes, grid)


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


def earlier_session(folder: Path) -> RunSummary | None:
    """What the session before this one recorded of the search kept in ``folder`` (its ``summary.json``: an
    interrupted search, or a finished one whose run stopped later, e.g. a baseline before its comparison), or
    None: none was written (a driver killed outright), or it cannot be read."""
    try:
        return RunSummary.from_json(json.loads((folder / "summary.json").read_text()))
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


def saved_search(storage: str, experiment: str) -> bool:
    """Whether Tune saved a search's state there (it does once a trial has started)."""
    from ray import tune

    return tune.Tuner.can_restore(f"{storage}/{experiment}")


@contextmanager
def slots_started_together(config: ExperimentConfig) -> Iterator[None]:
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


def _early_stop_error(spec: SearchSpec, stopped: StopReason, seen: Progress | None) -> CordsTuneError:
    """Why the search ended before its trials did, and how to continue."""
    resume_hint = f"Continue with: cords-tune resume {spec.run_dir}"
    if stopped.disk_full:
        return disk_full_error(spec.storage, spec.run_dir, cause=(
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
        f"interrupted with {done}{spec.config.search.num_trials} trials of the {spec.phase!r} phase finished; "
        f"nothing is lost. {resume_hint}"
    )


def _tuner(spec: SearchSpec, *, reserve: SpaceReserve | None, study: StudyStore | None, proxy: ProxyTask | None,
           cost: CostTask | None) -> Any:
    """A new Tuner, or the interrupted one restored from its experiment state (``spec.restore``). ``proxy``: the
    task choosing a shared strategy's subsets, which the trials wait for; ``cost``: the cost guard's measurement."""
    from ray import tune

    from cords_tune.tuning.search_space import to_tune_space
    from cords_tune.tuning.trainable import trial_trainable

    config = spec.config
    search = config.search
    space = to_tune_space(search.space)
    trainable = trial_trainable(config, spec.data_ref, spec.model, proxy.ref if proxy else None,
                                cost.ref if cost else None)
    quiet_optuna()
    if spec.restore:
        # Trials that finished stay finished; running, pending and errored ones continue from checkpoints.
        return tune.Tuner.restore(f"{spec.storage}/{spec.experiment}", trainable, resume_unfinished=True,
                                  resume_errored=True, param_space=space)
    progress = ProgressCallback(total=search.num_trials, metric=search.metric, mode=search.mode,
                                max_epochs=config.training.epochs, display=spec.display, phase=spec.phase)
    watch = SearchWatch(spec.display, max_wait_s=config.resources.max_wait_s, request=str(TrialRequest.of(config)),
                        reserve=reserve)
    budget = [TimeBudget(spec.display)] if search.time_budget_s is not None else []  # its stopper and a callback
    recorder = [StudyRecorder(study, search.space, search.metric, search.mode)] if study is not None else []
    after = tasks_after_search(config)  # the finalists' processes, warmed where the search's tail leaves slots
    warm = [WarmWorkersInTheTail(config, after, spec.data_ref)] if after else []
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
            name=spec.experiment,
            storage_path=spec.storage,
            verbose=0,
            stop=budget[0] if budget else None,
            callbacks=[progress, watch, *budget, *recorder, *logger_callbacks(config, spec.run_dir.name, spec.phase),
                       *([ProxyWatch(proxy)] if proxy else []), *([CostWatch(cost)] if cost else []), *warm],
            failure_config=tune.FailureConfig(max_failures=config.fault_tolerance.max_failures),
            checkpoint_config=tune.CheckpointConfig(num_to_keep=config.fault_tolerance.keep_checkpoints),
        ),
    )
