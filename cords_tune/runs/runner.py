"""One tuning run as a sequence of phases: the subset search (Optuna + ASHA on Ray Tune), its finalists trained
on the full data (the one that validates best is kept), the final model's compression; with ``baseline``, the
same search on the full data and the comparison. Each phase marks itself complete in the run directory, and
``resume_experiment`` runs the phases that are not."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cords_tune.config import ExperimentConfig, load_config
from cords_tune.errors import ConfigError, RunFailedError, RunFinishedError, RunInterruptedError
from cords_tune.results.comparison import Comparison
from cords_tune.results.summary import RunSummary
from cords_tune.results.trial import TrialRecord
from cords_tune.runs.baseline import baseline_phase, comparison_phase
from cords_tune.runs.context import RunContext, open_existing_run, open_run, tune_storage
from cords_tune.runs.phases import compression_phase, finalists_phase, search_phase
from cords_tune.runs.run_dir import (
    BASELINE_DIR,
    Phase,
    check_output_dir,
    done_phases,
    make_run_dir,
    mark_inferred,
    phases_left,
)
from cords_tune.tuning.algorithms import asha_grace_period
from cords_tune.tuning.progress import Progress
from cords_tune.tuning.search import full_data_variant, saved_search
from cords_tune.tuning.session import probe_address
from cords_tune.tuning.tracking import check_tracking

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


@dataclass(frozen=True)
class RunResult:
    """A finished run: its directory, and what its files hold as typed objects (``to_json()`` gives each
    file's content: summary.json, the rows of trials.parquet, comparison.json)."""

    run_dir: Path
    summary: RunSummary
    trials: list[TrialRecord]
    comparison: Comparison | None = None  # with ``baseline``: subset tuning against full-data tuning


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
    made: list[Path] = []
    try:
        with open_run(config, output_dir=output_dir, address=address, on_progress=on_progress, on_notice=on_notice,
                      data=data, model=model, on_run_dir=made.append) as run:
            return _run_phases(run, done=set())
    except KeyboardInterrupt:
        if not made:
            raise  # nothing was written: there is nothing to continue
        raise _interrupted_between_phases(config, made[0]) from None


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
    them given again (``data``, ``model``). The phases a session before this one completed are not run again."""
    probe_address(address or os.environ.get("RAY_ADDRESS"))
    run_dir = Path(run_dir).expanduser().resolve()
    if not run_dir.exists():
        raise ConfigError(f"{str(run_dir)!r} does not exist. Give the run directory that `cords-tune run` printed")
    if not (run_dir / "config.yaml").is_file():
        raise ConfigError(f"{str(run_dir)!r} is not a run directory: it has no config.yaml. Give the directory "
                          "that `cords-tune run` printed")
    config = load_config(run_dir / "config.yaml")
    check_tracking(config)
    left = phases_left(config, run_dir)
    if not left:
        raise RunFinishedError(f"{run_dir} finished already; its results are in {run_dir / 'summary.json'}")
    if Phase.SEARCH in left and not saved_search(*tune_storage(config, run_dir)):
        state = "/".join(tune_storage(config, run_dir))
        raise RunFailedError(
            f"no tuning state to resume under {state}: the run stopped before its first trial "
            f"started. Start it again with: cords-tune run {run_dir / 'config.yaml'}"
        )
    try:
        with open_existing_run(config, run_dir, address=address, on_progress=on_progress, on_notice=on_notice,
                               data=data, model=model) as run:
            done = done_phases(config, run_dir)
            mark_inferred(run_dir, done)
            return _run_phases(run, done=done)
    except KeyboardInterrupt:
        raise _interrupted_between_phases(config, run_dir) from None


def _run_phases(run: RunContext, done: set[Phase]) -> RunResult:
    """The phases ``run.config`` asks for, in order, each skipped where ``done`` has it."""
    search = search_phase(run, done) if Phase.FINALISTS not in done else None
    subset = finalists_phase(run, search, done)  # type: ignore[arg-type]  # read back where FINALISTS is done
    if run.config.final.enabled and run.config.final.compress.enabled and Phase.COMPRESSION not in done:
        subset = compression_phase(run, subset)
    comparison = None
    if run.config.baseline:
        baseline = baseline_phase(run, done)
        comparison = comparison_phase(run, subset, baseline, done)
    return RunResult(run_dir=run.run_dir, summary=subset.summary, trials=subset.trials, comparison=comparison)


def _interrupted_between_phases(config: ExperimentConfig, run_dir: Path) -> RunInterruptedError:
    """A Ctrl-C that no phase turned into its own message: one that came as a search ended, while results were
    written or while Ray shut down. Every result file is written whole (``summary.json`` last) and each phase
    marks itself complete after its files, so what the run directory holds says what is left to do."""
    left = phases_left(config, run_dir)
    if not left:
        return RunInterruptedError(f"interrupted as the run ended; it had finished, and its results are in {run_dir}")
    if Phase.SEARCH in left and not saved_search(*tune_storage(config, run_dir)):
        return RunInterruptedError(f"interrupted before the first trial started; nothing is lost. Start it again "
                                   f"with: cords-tune run {run_dir / 'config.yaml'}")
    return RunInterruptedError(f"interrupted; the finished trials are kept. Continue with: cords-tune resume {run_dir}")
