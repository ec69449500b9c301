"""Test accuracy and selection cost of each strategy on an experiment's configuration, side by side.

Trains the experiment's base configuration (no search) directly with the training loop, once per
strategy x fraction x seed, and prints a markdown table: mean test accuracy over seeds, and the share of
the trial's time (selection + training + evaluation) that selection took.

    python benchmarks/bench_strategies.py experiments/mnist1d.yaml \\
        --strategies gradmatch glister craig random --fractions 0.05 0.1 --seeds 0 1 2

A shared strategy (one subset per tuning run) trains its proxy and selects once per row here; that one-off
cost is counted in its selection columns in full, though a tuning run pays it once for all its trials.

With ``--selection-only`` it instead times single selections of each strategy (fresh gradients each time, so
the forward pass is included), the median of ``--repeats``: per-trial strategies on a model trained one epoch
on the full data, shared ones on their proxy.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time

import torch

from cords_tune.config import apply_params, load_config
from cords_tune.datasets import load_dataset
import cords_tune
from cords_tune.selection import plan_of
from cords_tune.training import build_trainer
from cords_tune.training.proxy import is_shared, select_shared_subset


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiment")
    parser.add_argument("--strategies", nargs="+", default=["gradmatch", "glister", "craig", "random"])
    parser.add_argument("--fractions", nargs="+", type=float, default=[0.05, 0.1])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="config override a.b=value")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (a trial gets one per CPU)")
    parser.add_argument("--params", default="{}", help="strategy parameters, a JSON object, e.g. '{\"pool\": 0.5}'")
    parser.add_argument("--selection-only", action="store_true", help="time single selections instead of trials")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    strategy_params = json.loads(args.params)

    torch.set_num_threads(args.threads)
    base = load_config(args.experiment, args.overrides)
    data = load_dataset(
        base.dataset.name, data_dir=base.dataset.data_dir, seed=base.seed,
        val_fraction=base.dataset.val_fraction, params=base.dataset.params,
    )
    print(f"# {base.name}: {data.describe()}; model {base.model.name}; {base.training.epochs} epochs; "
          f"reselect every {base.selection.every}; torch threads {args.threads}")
    print(f"# machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
          f"torch {torch.__version__}; command: python {' '.join(sys.argv)}\n")
    if args.selection_only:
        time_selections(base, data, args)
        return
    print("| strategy | fraction | test accuracy (mean ± sd) | per seed | selection share of trial time | "
          "selection s / trial | trial s | fell back |")
    print("|---|---|---|---|---|---|---|---|")
    for fraction in args.fractions:
        for strategy in args.strategies:
            accuracies, shares, selection, totals, fallbacks = [], [], [], [], 0
            for seed in args.seeds:
                params = {"selection.strategy": strategy, "selection.fraction": fraction, "seed": seed}
                if plan_of(strategy).needs_gradients:
                    params |= {f"selection.params.{key}": value for key, value in strategy_params.items()}
                config = apply_params(base, params)
                start = time.perf_counter()
                # A shared strategy's proxy and selection, paid once per tuning run, is counted here in full.
                shared = select_shared_subset(config, data) if is_shared(config) else None
                trainer = build_trainer(config, data, shared_subsets=shared.subsets if shared else None)
                history = trainer.fit()
                _, accuracy = trainer.evaluate_test()
                sel = sum(s.selection_s for s in history) + (shared.record.wall_s if shared else 0.0)
                total = sum(s.selection_s + s.train_s + s.eval_s for s in history) + (shared.record.wall_s if shared else 0.0)
                accuracies.append(accuracy)
                shares.append(sel / total)
                selection.append(sel)
                totals.append(time.perf_counter() - start)
                fallbacks += history[-1].selection_fallback
            sd = statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0
            print(f"| {strategy} | {fraction} | {statistics.mean(accuracies):.4f} ± {sd:.4f} | "
                  f"{' '.join(f'{a:.3f}' for a in accuracies)} | {100 * statistics.median(shares):.1f}% | "
                  f"{statistics.median(selection):.3f} | {statistics.median(totals):.2f} | {fallbacks}/{len(args.seeds)} |",
                  flush=True)


def time_selections(base, data, args: argparse.Namespace) -> None:
    """One selection per strategy x fraction, timed alone (``training.measure.measure_selection_costs``)."""
    from cords_tune.training.measure import measure_selection_costs

    print(f"# one selection per strategy, median of {args.repeats}; package: {cords_tune.__file__}\n")
    print("| strategy | fraction | subset size | selection s, median |")
    print("|---|---|---|---|")
    for fraction in args.fractions:
        config = apply_params(base, {"selection.fraction": fraction, "baseline": False})
        costs = measure_selection_costs(config, data, args.strategies, repeats=args.repeats)
        for cost in costs.costs:
            print(f"| {cost.strategy} | {fraction} | {cost.size} | {cost.seconds:.4f} |", flush=True)
        print(f"\nthe shared strategies' proxy ({costs.proxy_epochs} epochs on the full data): {costs.proxy_s:.2f} s\n")


if __name__ == "__main__":
    main()
