"""report.md: what a run found and where its time went, readable without any tool."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from cords_tune.reports.rows import summary_rows
from cords_tune.reports.wording import (compression_note, compression_table, fallback_note, finalists_note,
                                        finalists_table, finalists_title, retrain_label, seconds, shared_subset_line,
                                        slot_use_line)

if TYPE_CHECKING:
    from cords_tune.results.summary import RunSummary
    from cords_tune.results.trial import TrialRecord

__all__ = ["render_report", "markdown_table"]


def markdown_table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def render_report(
    summary: RunSummary,
    trials: list[TrialRecord],
    *,
    max_trials: int = 30,
    sections: list[str] = (),
) -> str:
    """The run's report; ``sections`` (markdown, e.g. the comparison with the full-data baseline) follow the
    result."""
    metric, timings = summary.metric, summary.timings
    parts = [
        f"# cords-tune run: {summary.name}",
        "",
        f"Dataset {summary.dataset}; model `{summary.model}`; strategy `{summary.strategy}` at "
        f"fraction {summary.fraction}; seed {summary.seed}.",
        *_classes_line(summary),
        "",
        "## Result",
        "",
        markdown_table(["quantity", "value"], [list(row) for row in summary_rows(summary)]),
        "",
        *([f"Note: {fallback_note(summary)}.", ""] if fallback_note(summary) else []),
        *_finalists_section(summary),
        *_compression_section(summary),
        *sections,
        "## Best configuration",
        "",
        markdown_table(["parameter", "value"], [[k, v] for k, v in summary.best_config.items()])
        if summary.best_config
        else "No searched parameters (or no usable trial).",
        "",
        "## Where the time went",
        "",
        markdown_table(
            ["part", "time"],
            [
                ["load data (driver)", seconds(timings.data_load_s)],
                ["start Ray", seconds(timings.ray_start_s)],
                ["put data in the object store", seconds(timings.data_put_s)],
                ["tuning (wall-clock)", seconds(timings.tuning_wall_s)],
                ["  shared subset: proxy and selection, once", shared_subset_line(summary.shared_subset)],
                ["  selection, summed over trials", seconds(summary.selection_s_total)],
                ["  training, summed over trials", seconds(summary.train_s_total)],
                ["  evaluation, summed over trials", seconds(summary.eval_s_total)],
                ["  slot time", slot_use_line(summary.slot_use)],
                [retrain_label(summary), seconds(timings.final_wall_s)],
            ],
        ),
        "",
        f"## Trials (best {max_trials} by {metric})",
        "",
        _trials_table(trials, summary.mode, max_trials),
        "",
    ]
    return "\n".join(parts)


def _classes_line(summary: RunSummary, shown: int = 20) -> list[str]:
    """The classes in the user's labels, as the final model predicts them (none in an old summary)."""
    if not summary.classes:
        return []
    names = ", ".join(f"`{c}`" for c in summary.classes[:shown])
    more = ", ..." if len(summary.classes) > shown else ""
    return [f"Classes ({len(summary.classes)}, the final model's labels): {names}{more}."]


def _finalists_section(summary: RunSummary) -> list[str]:
    table = finalists_table(summary)
    if table is None:
        return []
    return [f"## {_sentence(finalists_title(summary))}", "", markdown_table(*table), "",
            f"{_sentence(finalists_note(summary))}.", ""]


def _compression_section(summary: RunSummary) -> list[str]:
    table = compression_table(summary.compression)
    if table is None:
        return []
    return ["## Compressed final model (final.compress)", "", markdown_table(*table), "",
            f"{_sentence(compression_note(summary.compression) or '')}.", ""]


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _trials_table(trials: list[TrialRecord], mode: str, limit: int) -> str:
    if not trials:
        return "No trials ran."
    sign = -1.0 if mode == "max" else 1.0
    ranked = sorted(trials, key=lambda t: (math.isnan(t.best_metric), sign * _num(t.best_metric)))
    params = sorted({k for t in trials for k in t.params})
    header = ["trial", "status", "epochs", "best", "last", "wall", "subsets"] + params
    rows = [
        [t.trial_id, t.status, t.epochs, t.best_metric, t.last_metric, seconds(t.wall_s), _subsets(t)]
        + [t.params.get(p) for p in params]
        for t in ranked[:limit]
    ]
    return markdown_table(header, rows)


def _subsets(trial: TrialRecord) -> str:
    epoch = trial.selection_fallback_epoch
    return "as configured" if epoch is None else f"random from epoch {epoch}"


def _num(value: Any) -> float:
    return 0.0 if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _cell(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        return f"{value:.4g}" if abs(value) < 1e-2 or abs(value) >= 1e4 else f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value).replace("|", "\\|")
