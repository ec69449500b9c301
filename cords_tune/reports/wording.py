"""Phrases the CLI and report.md both print, so that the two say the same thing the same way."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["seconds", "speed", "count", "fallback_epoch", "fallback_note"]


def seconds(value: Any) -> str:
    """``"12.3 s"``; ``"n/a"`` for a missing value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.1f} s"


def speed(ratio: Any) -> str:
    """A ratio of wall-clocks (baseline over ours) in words: ``"4.20x faster"``, or ``"1.04x slower"`` below 1."""
    if ratio is None or not math.isfinite(ratio) or ratio <= 0:
        return "n/a"
    return f"{ratio:.2f}x faster" if ratio >= 1 else f"{1 / ratio:.2f}x slower"


def count(number: int, noun: str) -> str:
    """``"1 trial"``, ``"3 trials"``."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def fallback_epoch(trial: dict[str, Any]) -> int | None:
    """The epoch a trial switched to random subsets, or ``None`` (also when read back from Parquet as NaN)."""
    epoch = trial.get("selection_fallback_epoch")
    return int(epoch) if isinstance(epoch, (int, float)) and math.isfinite(epoch) else None


def fallback_note(summary: dict[str, Any]) -> str | None:
    """How many trials the cost guard switched from the configured strategy to random subsets, and when; says
    so for the best trial too. ``None`` when none did."""
    fell_back = summary.get("trials_selection_fallback") or 0
    if not fell_back:
        return None
    epochs = summary.get("selection_fallback_epochs") or []
    when = f" (at epoch{'' if len(epochs) == 1 else 's'} {', '.join(map(str, epochs))})" if epochs else ""
    best = summary.get("best_trial_selection_fallback_epoch")
    best_note = (f"; the best trial is one of them: it trained on random subsets from epoch {best}"
                 if best is not None else "; the best trial is not one of them")
    return (f"{count(fell_back, 'trial')} of {summary.get('trials_started', summary['num_trials'])} fell back from "
            f"{summary['strategy']} to random subsets{when}, because selection took more than "
            f"selection.max_cost_share of {'its' if fell_back == 1 else 'their'} time{best_note}")
