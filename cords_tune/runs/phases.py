"""The subset side of a run: the search, its finalists on the full data, the final model's compression. Each phase
takes the run context, returns its typed result and marks itself complete; a completed one is read back."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

from cords_tune.compression import compress_run
from cords_tune.config import ExperimentConfig, apply_params
from cords_tune.errors import RunFailedError, RunInterruptedError
from cords_tune.reports import write_run
from cords_tune.reports.files import write_parquet_atomic
from cords_tune.results.shared_subset import SharedSubsetRecord
from cords_tune.results.slot_use import SlotUse
from cords_tune.results.study import StudyStore
from cords_tune.results.summary import RunSummary, Timings
from cords_tune.results.trial import TrialRecord, read_trials, trials_table
from cords_tune.runs.context import RunContext
from cords_tune.runs.run_dir import Phase, finished_summary, mark_done, phase_record
from cords_tune.runs.summary import SummaryInputs, build_summary
from cords_tune.training import EpochStats
from cords_tune.tuning.disk import is_disk_full
from cords_tune.results.finalist import RungRecord
from cords_tune.tuning.finalists import Finalist, rank_trials
from cords_tune.tuning.race import WeightsFor, race_rungs, settle_finalists
from cords_tune.tuning.progress import Progress, last_progress, recorded_progress
from cords_tune.tuning.retrain import keep_model
from cords_tune.tuning.search import (
    SearchEndedEarly,
    SearchOutcome,
    SearchSpec,
    SearchTimings,
    earlier_session,
    run_search,
)
from cords_tune.tuning.session import first_line

__all__ = ["SubsetResult", "search_phase", "finalists_phase", "compression_phase", "searched", "announce",
           "start_timings"]


@dataclass(frozen=True)
class SubsetResult:
    """The subset search's results as summary.json and trials.parquet hold them, with the configuration that
    won (``None`` where no trial was usable)."""

    summary: RunSummary
    trials: list[TrialRecord]
    best_config: ExperimentConfig | None


def search_phase(run: RunContext, done: set[Phase]) -> SearchOutcome:
    """The subset search (run, or restored and finished); once complete, read back from its marker."""
    if Phase.SEARCH in done:
        return _recorded_search(run)
    spec = SearchSpec(run.config, run.data, run.data_ref, run.model, run.storage, run.experiment, folder=run.run_dir,
                      display=run.run_dir.name, phase="tuning", run_dir=run.run_dir, on_progress=run.on_progress,
                      restore=run.resume)
    outcome = searched(run, spec, start_timings(run), if_none_usable="nothing to retrain")
    write_parquet_atomic(run.run_dir / "trials.parquet", trials_table(outcome.trials))  # read back on resume
    mark_done(run.run_dir, Phase.SEARCH, _search_record(outcome))
    return outcome


def searched(run: RunContext, spec: SearchSpec, timings: Timings, *, if_none_usable: str) -> SearchOutcome:
    """``spec``'s search, finished with a usable trial. If it stopped early or no trial is usable, its files are
    written into ``spec.folder`` first (``timings``: the run's before it); ``if_none_usable`` says what is lost."""
    try:
        outcome = run_search(spec)
    except SearchEndedEarly as ended:
        summary = build_summary(SummaryInputs(spec.config, run.data, ended.trials, run.started - ended.earlier_wall_s,
                                              _with(timings, ended.timings), status=ended.status,
                                              slot_use=ended.slot_use))
        try:
            write_run(spec.folder, summary, ended.trials, None)
        except OSError as error:
            if not (ended.disk_full and is_disk_full(error)):
                raise  # on a full disk the summary may not fit: the message below says what to do
        raise ended.error from None
    if outcome.best is None:
        trials = outcome.trials
        write_run(spec.folder, build_summary(SummaryInputs(
            spec.config, run.data, trials, run.started - outcome.earlier_wall_s, _with(timings, outcome.timings),
            slot_use=outcome.slot_use)), trials, None)
        errors = {t.error for t in trials if t.error}
        raise RunFailedError(
            f"all {len(trials)} trials failed or diverged; {if_none_usable}. First error: "
            f"{next(iter(errors), 'none (diverged)')}. Trial logs are under {spec.storage}/{spec.experiment}"
        )
    return outcome


def finalists_phase(run: RunContext, search: SearchOutcome, done: set[Phase]) -> SubsetResult:
    """The search's top ``final.top_k`` configurations trained on the full data, the one that validates best
    kept as ``model.pt``; then the run's files (summary.json last). Once complete, read back from them."""
    config, run_dir = run.config, run.run_dir
    if Phase.FINALISTS in done:
        summary = finished_summary(run_dir)
        assert summary is not None, "a completed finalists phase wrote summary.json"
        best_config = apply_params(config, summary.best_config) if summary.best_config is not None else None
        return SubsetResult(summary, read_trials(run_dir / "trials.parquet"), best_config)
    best, best_config, started = search.best, search.best_config, run.started - search.earlier_wall_s
    timings = _with(start_timings(run), search.timings)
    final, settled = None, None
    if config.final.enabled:
        count = min(config.final.top_k, len(search.ranked))
        announce(run, run_dir.name, _finalists_start(config, count))
        tick = time.perf_counter()
        try:
            settled = settle_finalists(config, search.ranked, run.data_ref, count, model=run.model,
                                       on_done=lambda finalist, left: _finalist_done(run, finalist, left),
                                       on_epoch=lambda rank, stats: _finalist_epoch(run, rank, stats),
                                       on_rung=lambda rung: _rung_decided(run, rung),
                                       start_weights_for=_start_weights(run, search))
        except BaseException as error:  # the trials are paid for: keep them whatever stops the retrain
            interrupted = isinstance(error, KeyboardInterrupt)
            write_run(run_dir, build_summary(SummaryInputs(
                config, run.data, search.trials, started, timings, best=best,
                status="interrupted" if interrupted else "retrain_failed", slot_use=search.slot_use,
            )), search.trials, best_config)
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
        timings = replace(timings, final_wall_s=time.perf_counter() - tick)
    summary = build_summary(SummaryInputs(config, run.data, search.trials, started, timings, best=best, final=final,
                                          settled=settled, subset_best=search.best, search=search,
                                          resumed=run.resume))
    write_run(run_dir, summary, search.trials, best_config)
    mark_done(run_dir, Phase.FINALISTS)
    return SubsetResult(summary, search.trials, best_config)


def compression_phase(run: RunContext, subset: SubsetResult) -> SubsetResult:
    """The final model compressed as ``final.compress`` asks, after the run's files (compressing never loses
    them); summary.json then records it."""
    result = subset
    if subset.summary.final and subset.best_config and subset.best_config.final.compress.enabled:
        compression = compress_run(run.run_dir, run.data, subset.best_config, run.model)
        result = replace(subset, summary=replace(subset.summary, compression=compression))
        write_run(run.run_dir, result.summary, result.trials, result.best_config)
    mark_done(run.run_dir, Phase.COMPRESSION)
    return result


def start_timings(run: RunContext) -> Timings:
    """The run's start, as summary.json's timings have it."""
    return Timings(data_load_s=run.timings.data_load_s, ray_start_s=run.timings.ray_start_s,
                   data_put_s=run.timings.data_put_s)


def announce(run: RunContext, display: str, phase: str) -> None:
    """Show ``phase`` as what the run does now, under the progress of the search ``display``."""
    if run.on_progress:
        progress = last_progress(display) or Progress(total=run.config.search.num_trials)
        progress.phase, progress.searching = phase, False
        run.on_progress(progress)


def _with(timings: Timings, search: SearchTimings) -> Timings:
    return replace(timings, tuning_wall_s=search.tuning_wall_s, shared_subset_s=search.shared_subset_s)


def _start_weights(run: RunContext, search: SearchOutcome) -> WeightsFor | None:
    """What each finalist starts from with ``final.warm_start``: its subset trial's model (``None``: from
    scratch)."""
    if not run.config.final.warm_start:
        return None
    from cords_tune.tuning.warm_start import finalist_start_weights

    return lambda trial: finalist_start_weights(search, trial, run.run_dir)


def _finalists_start(config: ExperimentConfig, count: int) -> str:
    if count == 1:
        return "retraining the best config on the full data"
    rungs = race_rungs(config.final_epochs, count, config.final.reduction_factor, config.final.rungs)
    if not rungs:
        return f"training the top {count} configs on the full data (finalists)"
    return (f"training the top {count} configs on the full data (finalists, raced: the weaker stop at epoch "
            f"{', '.join(map(str, rungs))} of {config.final_epochs})")


def _rung_decided(run: RunContext, rung: RungRecord) -> None:
    """One line per finalist the rung stopped: its score against the weakest that trains on."""
    metric, maximized = run.config.search.metric, run.config.search.mode == "max"
    scores = dict(zip(rung.ranks, rung.scores))
    weakest = min((scores[r] for r in rung.kept), key=lambda s: s if maximized else -s)
    for rank in rung.ranks:
        if rank not in rung.kept:
            score = scores[rank]
            why = "diverged" if math.isnan(score) else f"{metric} {score:.4f} {'<' if maximized else '>'} {weakest:.4f}"
            announce(run, run.run_dir.name, f"finalist {rank} stopped at epoch {rung.epoch} ({why})")


def _finalist_done(run: RunContext, finalist: Finalist, left: int) -> None:
    if finalist.stopped_at is not None:
        return  # announced with its rung
    outcome = (f"failed ({finalist.error})" if finalist.error else "diverged" if finalist.diverged
               else f"{run.config.search.metric} {finalist.score():.4f}")
    announce(run, run.run_dir.name, f"finalist {finalist.rank} ({finalist.trial.trial_id}) on the full data: "
             f"{outcome}" + (f"; {left} still training" if left else ""))


def _finalist_epoch(run: RunContext, rank: int, stats: EpochStats) -> None:
    metric = run.config.search.metric
    value = stats.as_dict().get(metric)  # flat, as Tune reads it: the val_* fields and the search metric's score
    announce(run, run.run_dir.name, f"finalist {rank} on the full data: epoch {stats.epoch}/{run.config.final_epochs}"
             + (f", {metric} {value:.4f}" if isinstance(value, float) else ""))


def _search_record(outcome: SearchOutcome) -> dict:
    """What a later session needs of a finished search. Its trials go to trials.parquet; their searched values
    are kept here as well, with their JSON types (parquet may have widened a choice's)."""
    return {
        "tuning_wall_s": outcome.timings.tuning_wall_s,
        "shared_subset_s": outcome.timings.shared_subset_s,
        "study": outcome.study.as_dict() if outcome.study else None,
        "slot_use": outcome.slot_use.as_dict() if outcome.slot_use else None,
        "shared_subset": outcome.shared_subset.as_dict() if outcome.shared_subset else None,
        "notes": list(outcome.notes),
        "params": {t.trial_id: t.params for t in outcome.trials},
    }


def _recorded_search(run: RunContext) -> SearchOutcome:
    """A search a session before this one finished, as its marker and trials.parquet keep it."""
    record = phase_record(run.run_dir, Phase.SEARCH) or {}
    params = record.get("params") or {}
    trials = [replace(t, params=params.get(t.trial_id, t.params)) for t in read_trials(run.run_dir / "trials.parquet")]
    ranked = rank_trials([t for t in trials if t.usable], run.config.search.mode)
    recorded_progress(run.run_dir.name, trials, run.config.search.num_trials, ranked[0])
    earlier = earlier_session(run.run_dir)  # the summary of the session that stopped after the search
    return SearchOutcome(
        trials, ranked, ranked[0], apply_params(run.config, ranked[0].params),
        study=StudyStore.from_dict(record["study"]) if record.get("study") else None,
        slot_use=SlotUse.from_dict(record["slot_use"]) if record.get("slot_use") else None,
        shared_subset=SharedSubsetRecord.from_dict(record["shared_subset"]) if record.get("shared_subset") else None,
        timings=SearchTimings(record.get("tuning_wall_s") or 0.0, record.get("shared_subset_s")),
        earlier_wall_s=(earlier.end_to_end_wall_s or 0.0) if earlier else 0.0,
        notes=tuple(record.get("notes") or ()),
    )

