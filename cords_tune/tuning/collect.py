"""Ray Tune's ResultGrid -> one ``TrialRecord`` per trial (what trials.parquet holds)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from cords_tune.config import ExperimentConfig
from cords_tune.results.energy import Energy
from cords_tune.results.slot_use import SlotUse, TrialTimeline, slot_use
from cords_tune.results.trial import TrialRecord, reported_fields

__all__ = ["collect_trials", "search_slot_use"]


def collect_trials(grid: Any, config: ExperimentConfig) -> list[TrialRecord]:
    """One record per trial (see ``TrialRecord``): ``completed`` if it ran all epochs, ``not_started`` if it
    reported none."""
    rows = []
    for index, result in enumerate(grid):
        metrics = result.metrics or {}
        frame = result.metrics_dataframe
        history = frame.to_dict("list") if frame is not None and len(frame) else {}
        reported = reported_fields(history, metrics, config.search.metric, config.search.mode)
        epochs = reported["epochs"]
        if result.error is not None:
            status = "error"
        elif metrics.get("diverged"):
            status = "diverged"
        elif epochs >= config.training.epochs:
            status = "completed"
        elif epochs == 0:  # still pending when the search was interrupted: nothing stopped it
            status = "not_started"
        else:
            status = "stopped"
        rows.append(
            TrialRecord(
                index=index,
                trial_id=metrics.get("trial_id") or Path(str(result.path)).name,
                status=status,
                params=dict(result.config or {}),
                **reported,
                **_fallback(history),
                error=_first_line(result.error),
                node=metrics.get("node_id") or metrics.get("node_ip", ""),
                **Energy.from_columns(metrics).as_columns(),  # up to its last report
            )
        )
    return rows


def search_slot_use(grid: Any, started_at: float, ended_at: float) -> SlotUse | None:
    """Where the slot time of a search that ran from ``started_at`` to ``ended_at`` (seconds since the epoch)
    went, from the trials it ran (a resumed search's earlier trials are not part of it)."""
    timelines = []
    for result in grid:
        frame = result.metrics_dataframe
        timeline = TrialTimeline.from_history(frame.to_dict("list")) if frame is not None and len(frame) else None
        if timeline is not None and timeline.started_at >= started_at:
            timelines.append(timeline)
    return slot_use(timelines, started_at, ended_at)


def _fallback(history: dict[str, list]) -> dict[str, Any]:
    """When the cost guard switched the trial to random subsets (the first epoch that reports it), and the
    share of a selection cycle its selections would have taken (the guard's forecast, from the run's measured
    costs; trials of earlier versions: the share of its epoch time selection had taken by then)."""
    flags = history.get("selection_fallback", [])
    first = next((i for i, flag in enumerate(flags) if flag), None)
    if first is None:
        return {"selection_fallback_epoch": None, "selection_share_at_fallback": None}
    epoch = int(history.get("epoch", list(range(1, len(flags) + 1)))[first])
    forecast = history.get("selection_cost_share", [])
    if len(forecast) > first and _finite(forecast[first]):
        return {"selection_fallback_epoch": epoch, "selection_share_at_fallback": float(forecast[first])}
    before = slice(0, first)  # the epochs the guard judged; the switch happens at the start of the next
    spent = sum(history.get("selection_s", [])[before])
    total = spent + sum(history.get("train_s", [])[before]) + sum(history.get("eval_s", [])[before])
    return {
        "selection_fallback_epoch": epoch,
        "selection_share_at_fallback": spent / total if total > 0 else None,
    }


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _first_line(error: BaseException | None) -> str:
    if error is None:
        return ""
    text = str(error).strip().splitlines()
    return text[-1] if text else type(error).__name__
