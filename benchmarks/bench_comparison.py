"""Subset tuning against full-data tuning, per strategy x fraction x seed: speedups, accuracy delta and
rank fidelity, as a markdown table.

Every finished measurement is appended to a JSON-lines file and skipped when the script runs again, so a
long benchmark can be stopped and continued. Per seed, the full-data search runs once (with the first
cell, through ``baseline: true``) and every cell of that seed is compared with it; each run is measured
alone on the machine. Rank fidelity trains the same sampled configurations for all epochs on every
strategy x fraction and once on the full data.

    python benchmarks/bench_comparison.py benchmarks/comparison.yaml            # measure (resumable)
    python benchmarks/bench_comparison.py benchmarks/comparison.yaml --table    # the markdown table only
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from cords_tune.config import ExperimentConfig, apply_params, load_config
from cords_tune.rank_agreement import best_of
from cords_tune.results.comparison import Comparison, build_comparison
from cords_tune.results.summary import RunSummary

RESULTS = Path(__file__).parent / "data"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiment")
    parser.add_argument("--strategies", nargs="+", default=["gradmatch", "random", "glister", "craig"])
    parser.add_argument("--fractions", nargs="+", type=float, default=[0.1, 0.05, 0.3])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--fidelity-configs", type=int, default=8, help="configurations per fidelity measurement")
    parser.add_argument("--fidelity-seeds", nargs="*", type=int, default=[0], help="none: no rank fidelity")
    parser.add_argument("--first-cells", type=int, default=2,
                        help="cells (in --strategies x --fractions order) measured for every seed before the rest")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="config override a.b=value")
    parser.add_argument("--table", action="store_true", help="print the table from the recorded results only")
    parser.add_argument("--timing-excluded", nargs="*", type=int, default=[], metavar="SEED",
                        help="seeds whose times were disturbed by other work: their speedups are shown in brackets "
                             "and left out of the medians (accuracies still count)")
    parser.add_argument("--plot", type=Path, help="also draw every run as speedup against accuracy delta (PNG)")
    parser.add_argument("--baseline-from", type=Path, metavar="RUNS_JSONL",
                        help="compare with each seed's full-data search recorded in this earlier runs file instead of "
                             "running it: its accuracies compare, its times were measured at another time")
    args = parser.parse_args(argv)

    base = load_config(args.experiment, args.overrides)
    runs_file = RESULTS / f"{base.name}-runs.jsonl"
    fidelity_file = RESULTS / f"{base.name}-fidelity.jsonl"
    if not args.table:
        cells = [(s, f) for f in args.fractions for s in args.strategies]
        first, rest = cells[: args.first_cells], cells[args.first_cells :]
        jobs = [(seed, *cell) for seed in args.seeds for cell in first]
        fidelity_done = False
        for seed in args.seeds:
            jobs += [(seed, *cell) for cell in rest]
        for index, (seed, strategy, fraction) in enumerate(jobs):
            if index == len(args.seeds) * len(first) and not fidelity_done:
                for fseed in args.fidelity_seeds:
                    _measure_fidelity(base, cells, fseed, args.fidelity_configs, fidelity_file)
                fidelity_done = True
            _measure_cell(base, seed, strategy, fraction, runs_file, args.baseline_from)
    runs = _read(runs_file)
    print(render_table(base, runs, _read(fidelity_file), " ".join(sys.argv)))
    print()
    print(render_time_table(base, runs))
    if any(len(r.get("finalists") or []) > 1 for r in runs):
        print()
        print(render_finalists_table(runs, timing_excluded=set(args.timing_excluded)))
    if args.plot:
        from cords_tune.reports.plots import plot_tradeoff

        plot_tradeoff([Comparison.from_json(run) for run in runs], args.plot,
                      title=f"{base.name}: every strategy x fraction x seed")


def _cell_config(base: ExperimentConfig, seed: int, strategy: str, fraction: float, baseline: bool) -> ExperimentConfig:
    return apply_params(
        base, {"seed": seed, "selection.strategy": strategy, "selection.fraction": fraction, "baseline": baseline}
    ).model_copy(update={"search": base.search})  # apply_params drops the search space; keep it


def _measure_cell(base: ExperimentConfig, seed: int, strategy: str, fraction: float, out: Path,
                  baseline_from: Path | None = None) -> None:
    from cords_tune.runs import run_experiment
    from cords_tune.runs import BASELINE_DIR

    rows = _read(out)
    if any((r["seed"], r["strategy"], r["fraction"]) == (seed, strategy, fraction) for r in rows):
        return
    baselines = _read(baseline_from) if baseline_from else rows
    baseline_dir = next((Path(r["run_dir"]) / BASELINE_DIR for r in baselines if r["seed"] == seed and r["has_baseline"]),
                        None)
    if baseline_from and baseline_dir is None:
        raise SystemExit(f"{baseline_from} records no full-data search for seed {seed}")
    config = _cell_config(base, seed, strategy, fraction, baseline=baseline_dir is None)
    print(f"# seed {seed}: {strategy} at {fraction}" + (" with the full-data baseline" if config.baseline else ""),
          file=sys.stderr, flush=True)
    result = run_experiment(config)
    if config.baseline:
        comparison = result.comparison
    else:
        full = RunSummary.from_json(json.loads((baseline_dir / "summary.json").read_text()))
        comparison = build_comparison(result.summary, full)
    row = {**comparison.to_json(), "seed": seed, "run_dir": str(result.run_dir), "has_baseline": config.baseline,
           "baseline_dir": str(baseline_dir) if baseline_dir else None,
           "timings_subset": result.summary.timings.as_dict(),
           "finalists": [finalist.as_dict() for finalist in result.summary.finalists], "top_k": config.final.top_k}
    _append(out, row)
    print(f"#   tuning {comparison.tuning_wall_s_subset:.1f} s vs {comparison.tuning_wall_s_full:.1f} s "
          f"({comparison.tuning_speedup:.2f}x), accuracy delta {100 * comparison.accuracy_delta:+.2f} points",
          file=sys.stderr, flush=True)


def _measure_fidelity(base: ExperimentConfig, cells: list[tuple[str, float]], seed: int, count: int, out: Path) -> None:
    import ray

    from cords_tune.preflight import load_and_check
    from cords_tune.tuning.fidelity import build_fidelity, sample_configs, train_configs
    from cords_tune.runs import full_data_variant
    from cords_tune.tuning.session import ray_session
    from cords_tune.tuning.shared_subset import shared_subset_for

    done = {(r["seed"], r["strategy"], r["fraction"]) for r in _read(out)}
    todo = [(s, f) for s, f in cells if (seed, s, f) not in done]
    if not todo:
        return
    print(f"# fidelity, seed {seed}: {count} configurations x {len(todo)} cells + the full data", file=sys.stderr, flush=True)
    configs = {f"{s}@{f}": _cell_config(base, seed, s, f, baseline=False) for s, f in todo}
    reference = next(iter(configs.values()))
    points = sample_configs(reference, count)
    with ray_session(None), tempfile.TemporaryDirectory() as folder:
        data_ref = ray.put(load_and_check(reference))
        shared = {}  # a shared strategy's one subset per cell, chosen once as a tuning run chooses it
        for label, config in configs.items():
            chosen = shared_subset_for(config, data_ref, None, Path(folder) / label)
            if chosen:
                shared[label] = chosen[0]
        results = train_configs({**configs, "full": full_data_variant(reference)}, points, data_ref,
                                shared={label: ray.put(chosen.subsets) for label, chosen in shared.items()})
    for label, config in configs.items():
        fidelity = build_fidelity(config, points, results[label], results["full"], shared.get(label))
        _append(out, fidelity.to_json())


def render_table(base: ExperimentConfig, runs: list[dict[str, Any]], fidelity: list[dict[str, Any]], command: str) -> str:
    cells = list(dict.fromkeys((r["strategy"], r["fraction"]) for r in runs))
    cells.sort(key=lambda c: (c[1], c[0]))
    lines = [
        f"Experiment `{base.name}`: {base.search.num_trials} trials, {base.training.epochs} epochs, model "
        f"{base.model.name}, dataset {base.dataset.name} {base.dataset.params}; ASHA grace "
        f"{base.search.asha.grace_period}, reduction {base.search.asha.reduction_factor:g}; "
        f"{base.resources.cpus_per_trial:g} CPU per trial.",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}. Command: `python {command}`.",
        "",
        "| strategy | fraction | seeds | full-data tuning s (median) | subset tuning s (median) | tuning speedup "
        "(median; per seed) | end-to-end speedup (median; per seed) | device-seconds saved (median; per seed) "
        "| test accuracy delta, points (mean ± sd; per seed) "
        "| Spearman | Kendall | top-1 agrees | top-3 shared |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for strategy, fraction in cells:
        rows = sorted((r for r in runs if (r["strategy"], r["fraction"]) == (strategy, fraction)), key=lambda r: r["seed"])
        deltas = [100 * r["accuracy_delta"] for r in rows]
        speedups = [r["tuning_speedup"] for r in rows]
        fid = [f for f in fidelity if (f["strategy"], f["fraction"]) == (strategy, fraction)]
        sd = f" ± {statistics.stdev(deltas):.2f}" if len(deltas) > 1 else ""
        lines.append(
            f"| {strategy} | {fraction:g} | {len(rows)} | {statistics.median(r['tuning_wall_s_full'] for r in rows):.0f} "
            f"| {statistics.median(r['tuning_wall_s_subset'] for r in rows):.1f} "
            f"| {statistics.median(speedups):.2f}x ({', '.join(f'{s:.2f}' for s in speedups)}) "
            f"| {_per_seed([r['end_to_end_speedup'] for r in rows])} "
            f"| {_per_seed([r.get('device_speedup') for r in rows])} "
            f"| {statistics.mean(deltas):+.2f}{sd} ({', '.join(f'{d:+.2f}' for d in deltas)}) "
            f"| {_mean(f['spearman'] for f in fid)} | {_mean(f['kendall'] for f in fid)} "
            f"| {sum(f['top1_agree'] for f in fid)}/{len(fid)} | {_mean(f['top3_overlap'] for f in fid)} |"
        )
    return "\n".join(lines)


def render_time_table(base: ExperimentConfig, runs: list[dict[str, Any]]) -> str:
    """Where a subset search's time goes, per cell (medians over seeds). Trial parts are summed over trials;
    the search ran ``slots`` trials at once, so ``slots x tuning wall - trial time`` is what no trial used:
    starting trial workers, Tune's own work, and slots left idle at the start and end."""
    slots = max(1, int((os.cpu_count() or 1) // base.resources.cpus_per_trial))
    lines = [
        f"Subset search time by part, medians over seeds, in seconds (trial parts summed over trials; {slots} "
        "trials at once, so slot-seconds = tuning wall-clock x slots):",
        "",
        "| strategy | fraction | tuning wall-clock | selection | training | evaluation | rest of trials (set-up, "
        "reports, checkpoints) | slot-seconds outside trials (worker start, Tune, idle slots) | final retrain |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    cells = sorted(dict.fromkeys((r["strategy"], r["fraction"]) for r in runs), key=lambda c: (c[1], c[0]))
    for strategy, fraction in cells:
        rows = [r for r in runs if (r["strategy"], r["fraction"]) == (strategy, fraction)]

        def med(get: Any) -> str:
            return f"{statistics.median(get(r) for r in rows):.1f}"

        lines.append(
            f"| {strategy} | {fraction:g} | {med(lambda r: r['tuning_wall_s_subset'])} "
            f"| {med(lambda r: r['trial_time_subset']['selection_s'])} | {med(lambda r: r['trial_time_subset']['train_s'])} "
            f"| {med(lambda r: r['trial_time_subset']['eval_s'])} | {med(lambda r: r['trial_time_subset']['other_s'])} "
            f"| {med(lambda r: slots * r['tuning_wall_s_subset'] - sum(r['trial_time_subset'].values()))} "
            f"| {med(lambda r: r['final_retrain_wall_s_subset'])} |"
        )
    full = {r["seed"]: r for r in runs}.values()
    lines.append(
        f"| full data | 1 | {statistics.median(r['tuning_wall_s_full'] for r in full):.1f} "
        f"| {statistics.median(r['trial_time_full']['selection_s'] for r in full):.1f} "
        f"| {statistics.median(r['trial_time_full']['train_s'] for r in full):.1f} "
        f"| {statistics.median(r['trial_time_full']['eval_s'] for r in full):.1f} "
        f"| {statistics.median(r['trial_time_full']['other_s'] for r in full):.1f} "
        f"| {statistics.median(slots * r['tuning_wall_s_full'] - sum(r['trial_time_full'].values()) for r in full):.1f} | - |"
    )
    return "\n".join(lines)


def finalists_at(row: dict[str, Any], k: int) -> tuple[dict[str, Any], float]:
    """What ``final.top_k = k`` gives, read from a run with more finalists: the winner among the first ``k``
    (as the run picks: best full-data score, then better subset rank) and the seconds until those ``k`` had
    finished. All finalists were submitted at once, best first, so on a machine with fewer slots than
    finalists the first ``k`` ran first; the time is an upper bound where another finalist shared the machine."""
    first = [f for f in row["finalists"] if f["rank"] <= k]
    scores = [math.nan if f.get("error") or f.get("diverged") else f["full_data_score"] for f in first]
    return first[best_of(scores, mode=row["mode"])], max(f["done_after_s"] for f in first)


def render_finalists_table(runs: list[dict[str, Any]], *, timing_excluded: set[int] = frozenset()) -> str:
    """Accuracy delta and end-to-end speedup for each ``final.top_k`` up to the finalists every run trained;
    the speedups of ``timing_excluded`` seeds are shown in brackets and left out of the medians."""
    most = min(len(r["finalists"]) for r in runs if r.get("finalists"))
    lines = [
        "Finalists settled on the full data (`final.top_k`): the winner among the subset search's top k by "
        "full-data validation score, against the full-data search's pick. End to end = subset tuning + the "
        "finalists' wall-clock, against full-data tuning (+ its retrain if ASHA had stopped its best).",
        "",
        "| strategy | fraction | top-k | test accuracy delta, points (mean ± sd; per seed) | worst seed "
        "| end-to-end speedup (median; per seed) | finalists' wall-clock s (median) | pick changed (seeds) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    cells = sorted(dict.fromkeys((r["strategy"], r["fraction"]) for r in runs if r.get("finalists")),
                   key=lambda c: (-c[1], c[0]))
    for strategy, fraction in cells:
        rows = sorted((r for r in runs if (r["strategy"], r["fraction"]) == (strategy, fraction)
                       and r.get("finalists")), key=lambda r: r["seed"])
        for k in range(1, most + 1):
            deltas, speedups, shown, walls, changed = [], [], [], [], 0
            for r in rows:
                picked, wall = finalists_at(r, k)
                deltas.append(100 * (picked["test_accuracy"] - r["test_accuracy_full"]))
                speedup = r["end_to_end_wall_s_full"] / (r["tuning_wall_s_subset"] + wall)
                if r["seed"] in timing_excluded:
                    shown.append(f"[{speedup:.2f}]")
                else:
                    speedups.append(speedup)
                    walls.append(wall)
                    shown.append(f"{speedup:.2f}")
                changed += picked["rank"] != 1
            sd = f" ± {statistics.stdev(deltas):.2f}" if len(deltas) > 1 else ""
            lines.append(
                f"| {strategy} | {fraction:g} | {k} | {statistics.mean(deltas):+.2f}{sd} "
                f"({', '.join(f'{d:+.2f}' for d in deltas)}) | {min(deltas):+.2f} "
                f"| {_median(speedups, '{:.2f}x')} ({', '.join(shown)}) "
                f"| {_median(walls, '{:.1f}')} | {changed}/{len(rows)} |"
            )
    return "\n".join(lines)


def _median(values: list[float], form: str) -> str:
    return form.format(statistics.median(values)) if values else "n/a"


def _per_seed(ratios: list[float | None]) -> str:
    """``"5.10x (4.90, 5.10, 6.00)"``; ``"n/a"`` for runs recorded before the figure was."""
    known = [r for r in ratios if r is not None]
    if not known:
        return "n/a"
    return f"{statistics.median(known):.2f}x ({', '.join(f'{r:.2f}' for r in known)})"


def _mean(values: Any) -> str:
    values = [v for v in values if v is not None]
    return f"{statistics.mean(values):.2f}" if values else "n/a"


def _read(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _append(path: Path, row: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        handle.write(json.dumps(row, default=lambda v: v.item() if hasattr(v, "item") else str(v)) + "\n")


if __name__ == "__main__":
    main()
