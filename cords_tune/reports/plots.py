"""PNG figures: a run against its full-data baseline, the speedup-accuracy trade-off of several runs (as in
CORDS's plots), and rank fidelity. Matplotlib without a display; each file is written atomically."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cords_tune.atomic import write_atomically
from cords_tune.reports.wording import device_saving, speed, top1_agreement

if TYPE_CHECKING:
    from cords_tune.results.comparison import Comparison
    from cords_tune.results.fidelity import Fidelity

__all__ = ["plot_comparison", "plot_tradeoff", "plot_fidelity"]


def _figure(rows: int, columns: int, size: tuple[float, float]) -> tuple[Any, Any]:
    """A figure and its axes, made without pyplot: no backend is chosen and no global state is touched, so
    a user's own matplotlib set-up is left as it was (and no display is needed)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=size)
    return figure, figure.subplots(rows, columns)


def _save(figure: Any, path: Path) -> None:
    figure.tight_layout()
    write_atomically(path, lambda tmp: figure.savefig(tmp, format="png", dpi=120))


def plot_comparison(comparison: Comparison, path: Path) -> None:
    """Wall-clock and test accuracy side by side, and this run as a point of speedup against accuracy."""
    c = comparison
    figure, (times, accuracy, tradeoff) = _figure(1, 3, (14, 4.2))
    labels = [f"{c.strategy} {c.fraction:g}", "full data"]
    tuning = [c.tuning_wall_s_subset, c.tuning_wall_s_full]
    extra = [c.final_retrain_wall_s_subset, c.end_to_end_wall_s_full - c.tuning_wall_s_full]
    times.bar(labels, tuning, color=["tab:blue", "tab:gray"], label="tuning")
    times.bar(labels, extra, bottom=tuning, color=["tab:cyan", "silver"], label="final retrain")
    times.set_ylabel("wall-clock (s)")
    held = "" if c.device_speedup is None else f"\n{device_saving(c.device_speedup)} (slot-seconds held)"
    times.set_title(f"tuning {speed(c.tuning_speedup)}, end to end {speed(c.end_to_end_speedup)}{held}")
    times.legend()

    values = [c.test_accuracy_subset, c.test_accuracy_full]
    accuracy.bar(labels, values, color=["tab:blue", "tab:gray"])
    low = min(values)
    accuracy.set_ylim(max(0.0, low - 0.1 * max(low, 0.1)), min(1.0, max(values) + 0.02))
    for x, value in enumerate(values):
        accuracy.annotate(f"{value:.4f}", (x, value), ha="center", va="bottom")
    accuracy.set_ylabel("test accuracy of the final model")
    accuracy.set_title(f"delta {100 * c.accuracy_delta:+.2f} points")

    _tradeoff_axes(tradeoff, [c])
    _save(figure, path)


def plot_tradeoff(rows: Sequence[Comparison], path: Path, *, title: str = "") -> None:
    """Several comparisons (strategies x fractions) as points of speedup against accuracy delta."""
    figure, axes = _figure(1, 1, (7, 5))
    _tradeoff_axes(axes, rows)
    if title:
        axes.set_title(title)
    _save(figure, path)


def _tradeoff_axes(axes: Any, rows: Sequence[Comparison]) -> None:
    markers = "osD^v<>P*X"
    strategies = list(dict.fromkeys(r.strategy for r in rows))
    for i, strategy in enumerate(strategies):
        mine = [r for r in rows if r.strategy == strategy]
        axes.scatter([r.tuning_speedup for r in mine], [100 * r.accuracy_delta for r in mine],
                     marker=markers[i % len(markers)], s=50, label=f"{strategy} (tuning)")
        axes.scatter([r.end_to_end_speedup for r in mine], [100 * r.accuracy_delta for r in mine],
                     marker=markers[i % len(markers)], s=50, facecolors="none", edgecolors="black",
                     label=f"{strategy} (end to end)")
        for r in mine:
            axes.annotate(f"{r.fraction:g}", (r.tuning_speedup, 100 * r.accuracy_delta),
                          textcoords="offset points", xytext=(4, 4), fontsize=8)
    axes.scatter([1.0], [0.0], marker="*", s=120, color="gray", label="full-data tuning")
    axes.axhline(0.0, color="gray", linewidth=0.8, linestyle="--")
    axes.set_xscale("log")
    axes.set_xlabel("speedup over full-data tuning (log)")
    axes.set_ylabel("test accuracy delta (points)")
    axes.set_title("speedup against accuracy")
    axes.legend(fontsize=7)


def plot_fidelity(fidelity: Fidelity, path: Path) -> None:
    """Each sampled configuration's validation score on subsets against on the full data."""
    figure, axes = _figure(1, 1, (6, 5.5))
    rows = fidelity.configs
    axes.scatter([r.score_full for r in rows], [r.score_subset for r in rows], s=40)
    for r in rows:
        axes.annotate(str(r.index), (r.score_full, r.score_subset), textcoords="offset points", xytext=(3, 3),
                      fontsize=7)
    metric = fidelity.metric
    axes.set_xlabel(f"{metric}, trained on the full data")
    axes.set_ylabel(f"{metric}, trained on {fidelity.strategy} subsets ({fidelity.fraction:g})")
    axes.set_title(f"Spearman {_num(fidelity.spearman)}, Kendall {_num(fidelity.kendall)}, "
                   f"top-1 agrees: {top1_agreement(fidelity)}")
    _save(figure, path)


def _num(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.3f}"
