"""Test accuracy and selection cost of each strategy on an experiment's configuration, side by side.

Trains the experiment's base configuration (no search) directly with the training loop, once per
strategy x fraction x seed, and prints a markdown table: mean test accuracy over seeds, and the share of
the trial's time (selection + training + evaluation) that selection took.

    python benchmarks/bench_strategies.py experiments/mnist1d.yaml \\
        --strategies gradmatch glister craig random --fractions 0.05 0.1 --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time

import torch

from cords_tune.config import apply_params, load_config
from cords_tune.datasets import load_dataset
from cords_tune.training import Trainer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiment")
    parser.add_argument("--strategies", nargs="+", default=["gradmatch", "glister", "craig", "random"])
    parser.add_argument("--fractions", nargs="+", type=float, default=[0.05, 0.1])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="config override a.b=value")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (a trial gets one per CPU)")
    args = parser.parse_args(argv)

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
    print("| strategy | fraction | test accuracy (mean ± sd) | per seed | selection share of trial time | "
          "selection s / trial | trial s | fell back |")
    print("|---|---|---|---|---|---|---|---|")
    for fraction in args.fractions:
        for strategy in args.strategies:
            accuracies, shares, selection, totals, fallbacks = [], [], [], [], 0
            for seed in args.seeds:
                config = apply_params(base, {"selection.strategy": strategy, "selection.fraction": fraction, "seed": seed})
                start = time.perf_counter()
                trainer = Trainer(config, data)
                history = trainer.fit()
                _, accuracy = trainer.evaluate_test()
                sel = sum(s.selection_s for s in history)
                total = sum(s.selection_s + s.train_s + s.eval_s for s in history)
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


if __name__ == "__main__":
    main()
