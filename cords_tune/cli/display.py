"""What a finished command prints: a run's summary, its finalists, its compressed models, the comparison with the
full-data baseline, a model trained once, a fidelity measurement. report.md words the same figures alike
(:mod:`cords_tune.reports.wording`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.table import Table

from cords_tune.cli.console import out, short
from cords_tune.reports.rows import summary_rows
from cords_tune.reports.wording import (co2e, compression_note, compression_table, count, device_time_rows,
                                        energy_amount, energy_saving, fallback_note, finalists_note, finalists_table,
                                        finalists_title, regret, seconds, speed, top1_agreement, tuned_test_figures,
                                        tuned_test_rows)

if TYPE_CHECKING:
    from cords_tune.results.comparison import Comparison
    from cords_tune.results.compression import Compression
    from cords_tune.results.summary import RunSummary


def print_result(result: Any) -> None:
    """A finished run (``RunResult``): its summary, the comparison if it has a baseline, where its files are."""
    print_summary(result.summary)
    if result.comparison:
        print_comparison(result.comparison)
    model = result.summary.final.model_path if result.summary.final else None
    if model:
        out.print(f"Final model: [bold]{result.run_dir / model}[/] (load it with cords_tune.load_model(path))",
                  highlight=False, soft_wrap=True)
    out.print(f"Results: [bold]{result.run_dir}[/]", highlight=False, soft_wrap=True)


def print_summary(summary: RunSummary) -> None:
    """A run's figures (trials, the final model, wall-clocks, energy, the best config), its finalists, its notes."""
    fell_back = summary.trials_selection_fallback
    title = f"{summary.name}: {summary.strategy} subsets at fraction {summary.fraction}"
    if fell_back:
        title += f" ({count(fell_back, 'trial')} fell back to random)"
    table = Table(title=title)
    table.add_column("quantity")
    table.add_column("value", justify="right")
    for name, value in summary_rows(summary):
        table.add_row(name, value)
    for key, value in (summary.best_config or {}).items():
        table.add_row(f"best {key}", short(value))
    out.print(table)
    finalists = finalists_table(summary)
    if finalists:
        header, rows = finalists
        table = Table(title=finalists_title(summary))
        for name in header:
            table.add_column(name, justify="left" if name in ("trial", "result") else "right")
        for row in rows:
            table.add_row(*(short(value) for value in row))
        out.print(table)
        out.print(f"Note: {finalists_note(summary)}.", highlight=False, markup=False, soft_wrap=True)
    for note in [*summary.notes, fallback_note(summary)]:
        if note:
            out.print(f"Note: {note}.", highlight=False, markup=False, soft_wrap=True)
    print_compression(summary.compression)


def print_compression(compression: Compression | None) -> None:
    """The compressed variants of the final model, short (report.md has every column): skipped ones as notes."""
    compressed = compression_table(compression)
    if not compressed:
        return
    header, rows = compressed
    keep = [header.index(name) for name in ("variant", "test acc.", "size on disk", "CPU latency (median)",
                                            "zero weights")]
    table = Table(title="compressed final model (final.compress)")
    for i in keep:
        table.add_column(header[i], justify="left" if i == 0 else "right", no_wrap=i == 0)
    for row in rows:
        if row[1] != "skipped":
            table.add_row(*(short(row[i]) for i in keep))
    out.print(table)
    for row in rows:
        if row[1] == "skipped":
            out.print(f"Note: {row[0]} skipped: {row[-1]}.", highlight=False, markup=False, soft_wrap=True)
    out.print(f"Note: {compression_note(compression)}.", highlight=False, markup=False, soft_wrap=True)


def print_comparison(comparison: Comparison) -> None:
    """The subset run beside the same search on the full data: wall-clocks, energy, accuracy, regret, best configs."""
    c = comparison
    table = Table(title=f"compared with tuning on the full data (same search, {count(c.num_trials, 'trial')})")
    table.add_column("quantity")
    table.add_column(f"{c.strategy} {c.fraction:g}", justify="right")
    table.add_column("full data", justify="right")
    table.add_column("", justify="right")
    table.add_row("tuning wall-clock", seconds(c.tuning_wall_s_subset), seconds(c.tuning_wall_s_full),
                  speed(c.tuning_speedup))
    table.add_row("tuning + final model wall-clock", seconds(c.end_to_end_wall_s_subset),
                  seconds(c.end_to_end_wall_s_full), speed(c.end_to_end_speedup))
    for row in device_time_rows(c):
        table.add_row(*row)
    if c.energy_saving is not None:
        table.add_row("tuning + final model energy", energy_amount(c.energy_kwh_subset),
                      energy_amount(c.energy_kwh_full), energy_saving(c.energy_saving))
        table.add_row("CO2e of that energy", co2e(c.co2e_kg_subset), co2e(c.co2e_kg_full), "")
    table.add_row("test accuracy of the final model", short(c.test_accuracy_subset),
                  short(c.test_accuracy_full), f"{100 * c.accuracy_delta:+.2f} points")
    for name, subset, full, delta in tuned_test_rows(c):
        table.add_row(name, short(subset), short(full), delta)
    table.add_row("regret against the full-data pick (full-data validation, test)", "", "", regret(c))
    best_subset, best_full = c.best_config_subset or {}, c.best_config_full or {}
    for key in sorted(set(best_subset) | set(best_full)):
        table.add_row(f"best {key}", short(best_subset.get(key)), short(best_full.get(key)), "")
    out.print(table)
    if c.energy_saving is not None:
        out.print(f"Energy: subsets {c.energy_source_subset}, full data {c.energy_source_full}.",
                  highlight=False, markup=False, soft_wrap=True)


def print_trained(result: Any, metric: str) -> None:
    """A model that ``train`` trained once (``TrainResult``): its test figures, time, energy, where it is."""
    final = result.summary.final
    table = Table(title=f"{result.summary.name}: trained once on the full data")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    table.add_row("test accuracy", short(final.test_accuracy))
    for name, value in tuned_test_figures(metric, final):
        table.add_row(name, short(value))
    table.add_row("epochs", str(final.epochs))
    table.add_row("training wall-clock (Ray task)", seconds(final.wall_s))
    table.add_row("energy (Ray task)", f"{energy_amount(final.energy.kwh)} ({final.energy.source})")
    table.add_row("end-to-end wall-clock", seconds(result.summary.end_to_end_wall_s))
    out.print(table)
    print_compression(result.summary.compression)
    out.print(f"Model: [bold]{result.model_path}[/] (load it with cords_tune.load_model(path))", highlight=False,
              soft_wrap=True)
    out.print(f"Results: [bold]{result.run_dir}[/]", highlight=False, soft_wrap=True)


def print_fidelity(result: Any) -> None:
    """A fidelity measurement (``FidelityResult``): rank correlations, top-k agreement, regrets, training times."""
    f = result.fidelity
    table = Table(title=f"rank fidelity: {f.strategy} subsets at {f.fraction:g} against the full data, "
                        f"{f.num_configs} configurations x {f.epochs} epochs")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    table.add_row(f"Spearman correlation of {f.metric}", short(f.spearman))
    table.add_row(f"Kendall tau-b of {f.metric}", short(f.kendall))
    table.add_row("top-1 agrees", top1_agreement(f))
    table.add_row("top-3 shared", f"{f.top3_overlap} of {min(3, f.num_configs)}")
    table.add_row(f"regret of the subsets' pick ({f.metric} on the full data)", short(f.top1_regret))
    table.add_row("the same with the top 2 / top 3 settled on the full data (final.top_k)",
                  f"{short(f.top2_regret)} / {short(f.top3_regret)}")
    table.add_row("training time, subsets / full data", f"{seconds(f.train_s_subset)} / {seconds(f.train_s_full)}")
    out.print(table)
    out.print(f"Results: [bold]{result.run_dir}[/] (fidelity.json, fidelity.png)", highlight=False, soft_wrap=True)
