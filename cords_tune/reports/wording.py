"""Phrases the CLI and report.md both print, so that the two say the same thing the same way."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from cords_tune.results.metrics import search_metric

if TYPE_CHECKING:
    from cords_tune.results.comparison import Comparison
    from cords_tune.results.compression import Compression
    from cords_tune.results.energy import EnergyRecord
    from cords_tune.results.fidelity import Fidelity
    from cords_tune.results.final import FinalResult
    from cords_tune.results.finalist import FinalistRecord
    from cords_tune.results.shared_subset import SharedSubsetRecord
    from cords_tune.results.slot_use import SlotUse
    from cords_tune.results.summary import RunSummary

__all__ = ["number", "seconds", "speed", "count", "slot_use_line", "shared_subset_line", "fallback_note", "finalists_table", "finalists_title",
           "finalists_note", "compression_table", "compression_note",
           "regret", "top1_agreement", "trials_outcome", "retrain_label", "tuned_test_figures", "tuned_test_rows", "energy_amount", "co2e", "energy_line",
           "energy_saving", "device_time_rows",
           "device_saving"]


def number(value: Any) -> str:
    """A table cell: ``"n/a"`` for a missing or NaN value, four significant digits for a float."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def seconds(value: Any) -> str:
    """``"12.3 s"``; ``"n/a"`` for a missing value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.1f} s"


def speed(ratio: Any) -> str:
    """A ratio of wall-clocks (baseline over ours) in words: ``"4.20x faster"``, or ``"1.04x slower"`` below 1."""
    return _ratio_in_words(ratio, "faster", "slower")


def energy_amount(kwh: Any) -> str:
    """``"0.492 Wh"`` below 1 kWh, else ``"1.23 kWh"``; ``"n/a"`` for a missing value."""
    if kwh is None or not math.isfinite(kwh):
        return "n/a"
    return f"{1000 * kwh:.3g} Wh" if kwh < 1 else f"{kwh:.3g} kWh"


def co2e(kg: Any) -> str:
    """``"0.234 g CO2e"`` below 1 kg, else ``"1.2 kg CO2e"``."""
    if kg is None or not math.isfinite(kg):
        return "n/a"
    return f"{1000 * kg:.3g} g CO2e" if kg < 1 else f"{kg:.3g} kg CO2e"


def energy_line(energy: EnergyRecord | None) -> str:
    """A summary's ``energy`` in one line: ``"0.492 Wh, 0.234 g CO2e (estimated)"``."""
    if not energy:
        return "n/a"
    return f"{energy_amount(energy.kwh)}, {co2e(energy.co2e_kg)} ({energy.source})"


def energy_saving(ratio: Any) -> str:
    """An energy ratio (baseline over ours) in words: ``"2.90x less energy"``, ``"1.10x more energy"`` below 1."""
    return _ratio_in_words(ratio, "less energy", "more energy")


def device_saving(ratio: Any) -> str:
    """A ratio of device-seconds (baseline over ours) in words: ``"2.90x less device time"``."""
    return _ratio_in_words(ratio, "less device time", "more device time")


def device_time_rows(c: Comparison) -> list[list[Any]]:
    """Both sides' device-seconds and their ratio, and each side's energy per device-second (where both sides'
    energy is estimated, the energy saving follows the device-seconds saved as far as these watts agree); none
    from summaries written before device-seconds were recorded."""
    if c.device_speedup is None:
        return []
    rows = [["tuning + final model device time (slot-seconds held)", seconds(c.device_s_subset),
             seconds(c.device_s_full), device_saving(c.device_speedup)]]
    if c.final_device_s_subset is not None and c.final_device_s_full is not None:
        rows.append(["  of which the final model (finalists; the full-data side's test or retrain)",
                     seconds(c.final_device_s_subset), seconds(c.final_device_s_full), ""])
    if c.energy_kwh_subset is not None and c.energy_kwh_full is not None:
        rows.append(["energy per device-second", _watts(c.energy_kwh_subset, c.device_s_subset),
                     _watts(c.energy_kwh_full, c.device_s_full), ""])
    return rows


def _watts(kwh: float, device_s: float | None) -> str:
    return f"{kwh * 3.6e6 / device_s:.3g} W" if device_s else "n/a"


def _ratio_in_words(ratio: Any, better: str, worse: str) -> str:
    """``ratio`` (baseline over ours) as ``"Nx <better>"``, or ``"1/N x <worse>"`` below 1; ``"n/a"`` when unusable."""
    if ratio is None or not math.isfinite(ratio) or ratio <= 0:
        return "n/a"
    return f"{ratio:.2f}x {better}" if ratio >= 1 else f"{1 / ratio:.2f}x {worse}"


def slot_use_line(used: SlotUse | None) -> str:
    """How busy the search's slots were: ``"2 slots, 61% selection, training and evaluation; the rest: ..."``."""
    if not used or not used.slot_s:
        return "not recorded"
    parts = [("starting workers", used.starting_s), ("building trials", used.building_s),
             ("reporting", used.reporting_s), ("between trials", used.between_trials_s), ("idle", used.idle_s)]
    rest = ", ".join(f"{name} {100 * value / used.slot_s:.0f}%" for name, value in parts)
    return (f"{count(used.slots, 'slot')}, {100 * (1 - used.overhead_share):.0f}% selection, training and "
            f"evaluation; {rest}")


def shared_subset_line(shared: SharedSubsetRecord | None) -> str:
    """What a shared strategy's subsets cost: ``"3 rounds of 720 samples, chosen in 8.1 s (a 5-epoch ..."``."""
    if not shared:
        return "none (each trial selects its own)"
    what = (f"{count(shared.rounds, 'round')} of {shared.size} samples, each from a random {shared.pool:g} of "
            "each class" if shared.rounds > 1 else f"{shared.size} samples")
    return (f"{what}, chosen in {seconds(shared.wall_s)} (a {shared.proxy_epochs}-epoch "
            f"{shared.proxy_model} proxy on the full data, validation accuracy {shared.proxy_val_accuracy:.3f}: "
            f"{seconds(shared.train_s)} training, {seconds(shared.selection_s)} selection)")


def trials_outcome(summary: RunSummary) -> str:
    """The value of the "trials (completed / stopped early / diverged / errored)" row: the trials asked for, or
    ``"108 of 1000"`` started where the search ended sooner (a time budget, an interrupt)."""
    started = summary.trials_started
    asked = f"{started} of {summary.num_trials}" if 0 < started < summary.num_trials else f"{summary.num_trials}"
    return (f"{asked} ({summary.trials_completed} / {summary.trials_stopped_early} / {summary.trials_diverged} / "
            f"{summary.trials_errored})")


def count(number: int, noun: str) -> str:
    """``"1 trial"``, ``"3 trials"``."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def fallback_note(summary: RunSummary) -> str | None:
    """How many trials the cost guard switched from the configured strategy to random subsets, and when; says
    so for the best trial too. ``None`` when none did."""
    fell_back = summary.trials_selection_fallback
    if not fell_back:
        return None
    epochs = summary.selection_fallback_epochs
    when = f" (at epoch{'' if len(epochs) == 1 else 's'} {', '.join(map(str, epochs))})" if epochs else ""
    best = summary.best_trial_selection_fallback_epoch
    best_note = (f"; the best trial is one of them: it trained on random subsets from epoch {best}"
                 if best is not None else "; the best trial is not one of them")
    return (f"{count(fell_back, 'trial')} of {summary.trials_started or summary.num_trials} fell back from "
            f"{summary.strategy} to random subsets{when}, because the run's measured costs said selection would take "
            f"more than selection.max_cost_share of {'its' if fell_back == 1 else 'their'} time and more than "
            f"selection.min_cost_s{best_note}")


def finalists_table(summary: RunSummary) -> tuple[list[str], list[list[Any]]] | None:
    """The finalists trained on the full data as (header, rows), best subset rank first: the search metric on
    subsets and on the full data, test accuracy; ``None`` with fewer than two (a single retrain is the result
    table's own row)."""
    finalists = summary.finalists
    if len(finalists) < 2:
        return None
    header = ["rank", "trial", "on subsets", "on full data", "test acc.", "wall-clock", "result"]
    rows = [[f.rank, f.trial_id, f.subset_score, f.full_data_score, f.test_accuracy, seconds(f.wall_s),
             _finalist_result(f)] for f in finalists]
    return header, rows


def _finalist_result(finalist: FinalistRecord) -> str:
    if finalist.picked:
        return "picked"
    return "" if finalist.stopped_at is None else f"stopped at epoch {finalist.stopped_at}"


def finalists_note(summary: RunSummary) -> str | None:
    """Which finalist the full data picked, and whether that changed the subset search's pick."""
    finalists = summary.finalists
    if len(finalists) < 2:
        return None
    picked = next(f for f in finalists if f.picked)
    metric = summary.metric
    said = (f"the top {len(finalists)} configurations of the subset search "
            + ("raced on the full data (each rung stopped the weaker ones); " if summary.race and summary.race.rungs
               else "were trained on the full data; "))
    if picked.rank == 1:
        said += f"the subset search's best also has the best full-data {metric}"
    else:
        said += (f"the one ranked {picked.rank} on subsets ({picked.trial_id}) has the best full-data {metric} "
                 f"and is the result, in place of {summary.subset_best_trial_id}")
    lost = [f"{f.rank} ({f.error or 'diverged'})" for f in finalists if f.error or f.diverged]
    if lost:
        said += f"; left out: finalist {', '.join(lost)}"
    return said


def tuned_test_figures(metric: str, final: FinalResult | None) -> list[tuple[str, Any]]:
    """The final model's test value of the search metric ``metric``, named: ``[("test ROC AUC", 0.91)]``, where
    it is neither accuracy nor loss (whose figures have rows of their own); else ``[]``."""
    tuned = search_metric(metric)
    if not tuned.from_logits:
        return []
    return [(f"test {tuned.title}", final.score(tuned.test_key) if final else None)]


def tuned_test_rows(c: Comparison) -> list[list[Any]]:
    """The final models' test value of the search metric, where it is neither accuracy nor loss."""
    tuned = search_metric(c.metric)
    if not tuned.from_logits:
        return []
    return [[f"test {tuned.title} of the final model", c.test_score_subset, c.test_score_full, _score_delta(c)]]


def _score_delta(c: Comparison) -> str:
    if c.test_score_subset is None or c.test_score_full is None:
        return ""
    return f"{c.test_score_subset - c.test_score_full:+.4f}"


def regret(comparison: Comparison) -> str:
    """What the subset pick gives up against the full-data pick (negative: it does better):
    ``"val_accuracy 0.0021, test +0.35 points"``."""
    val = comparison.regret_val_score
    shown = "n/a" if val is None else f"{val:.4g}"
    return f"{comparison.metric} {shown}, test {100 * comparison.regret_test_accuracy:+.2f} points"


def top1_agreement(fidelity: Fidelity) -> str:
    """Whether the subsets' pick is the full data's best: ``"yes"``, ``"yes (tied for the best on the full
    data)"`` or ``"no"``."""
    if not fidelity.top1_agree:
        return "no"
    return "yes (tied for the best on the full data)" if fidelity.top1_tied else "yes"


def compression_table(compression: Compression | None) -> tuple[list[str], list[list[Any]]] | None:
    """The final model's compressed variants next to the fp32 model as (header, rows); ``None`` when the run
    made none (``final.compress`` off)."""
    variants = compression.variants if compression else ()
    if not variants:
        return None
    fp32 = next((v for v in variants if v.kind == "fp32"), None)
    header = ["variant", "test acc.", "size on disk", "size vs fp32", "CPU latency (median)", "latency vs fp32",
              "zero weights", "fine-tune", "file"]
    rows = []
    for v in variants:
        if v.status != "ok":
            rows.append([v.name, "skipped", "", "", "", "", "", "", v.reason])
            continue
        rows.append([v.name, v.test_accuracy, _size(v.size_bytes), _ratio(v.size_bytes, fp32 and fp32.size_bytes),
                     f"{v.latency_ms:.3g} ms", _ratio(v.latency_ms, fp32 and fp32.latency_ms),
                     "n/a" if v.zero_fraction is None else f"{100 * v.zero_fraction:.1f}%",
                     count(v.finetune_epochs, "epoch") if v.finetune_epochs else "", v.file])
    return header, rows


def compression_note(compression: Compression | None) -> str | None:
    """How latency was measured, and how to load a variant."""
    variants = [v for v in (compression.variants if compression else ()) if v.status == "ok"]
    if not variants:
        return None
    v = variants[0]
    return (f"latency: median of {v.latency_repeats} forward passes over a batch of {v.latency_batch} test "
            f"samples on {count(v.threads, 'CPU thread')}, inputs prepared beforehand; files are relative to the "
            "run directory and load with cords_tune.load_model(path)")


def _size(size: int) -> str:
    return f"{size / 1024:.1f} KiB" if size < 2**20 else f"{size / 2**20:.2f} MiB"


def _ratio(value: Any, reference: Any) -> str:
    if not value or not reference:
        return "n/a"
    return f"{value / reference:.2f}x"


def finalists_title(summary: RunSummary) -> str:
    return f"finalists trained on the full data ({summary.metric} on subsets and on the full data)"


def retrain_label(summary: RunSummary) -> str:
    """The name of the final phase's wall-clock: one retrain, or the finalists'."""
    finalists = len(summary.finalists)
    return f"finalists' wall-clock ({finalists}, on the full data)" if finalists > 1 else "final retrain wall-clock"
