"""The files of a run directory: summary.json, trials.parquet, best_config.yaml, report.md (the final model,
model.pt, is saved by the runner as soon as it is trained)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cords_tune.config import ExperimentConfig
from cords_tune.datasets.given import GIVEN
from cords_tune.reports.files import write_json_atomic, write_parquet_atomic, write_text_atomic
from cords_tune.reports.markdown import render_report
from cords_tune.results.trial import TrialRecord, trials_table

if TYPE_CHECKING:
    from cords_tune.results.summary import RunSummary

__all__ = ["write_run"]


def write_run(
    run_dir: Path,
    summary: RunSummary,
    trials: list[TrialRecord],
    best_config: ExperimentConfig | None,
) -> None:
    """Write every result file of a run, each atomically."""
    run_dir = Path(run_dir)
    write_parquet_atomic(run_dir / "trials.parquet", trials_table(trials))
    if best_config is not None:
        runnable = best_config.model_copy(deep=True)
        runnable.search.num_trials = 1
        runnable.baseline = False  # training it once is the point, not another search and comparison
        header = (
            f"# Best configuration of run {run_dir.name} ({summary.metric} = {_fmt(summary.best_metric)}).\n"
            f"# {_how_to_train(best_config, run_dir / 'best_config.yaml')}\n"
        )
        write_text_atomic(run_dir / "best_config.yaml", header + runnable.to_yaml())
    write_text_atomic(run_dir / "report.md", render_report(summary, trials))
    write_json_atomic(run_dir / "summary.json", summary.to_json())  # last: its presence means the run finished


def _how_to_train(config: ExperimentConfig, path: Path) -> str:
    """The command that trains ``config`` once: ``cords-tune train``, or from Python where the run's data or
    model was given from Python (the CLI has neither)."""
    given = {arg: what for arg, what, section in (("data", "your data", config.dataset),
                                                  ("model", "your model factory", config.model))
             if section.name == GIVEN}
    if not given:
        return f"Train it on the full data and save the model with: cords-tune train {path}"
    args = ", ".join(f"{arg}=<{what}>" for arg, what in given.items())
    return (f"Its {' and '.join(given)} came from Python: train it on the full data and save the model with "
            f"cords_tune.train({str(path)!r}, {args})")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:.4f}"
    return str(value)
