"""Test accuracy and selection cost of each strategy on an experiment's configuration, side by side.

Trains the experiment's base configuration (no search) directly with the training loop, once per
strategy x fraction x seed, and prints a markdown table: mean test accuracy over seeds, and the share of
the trial's time (selection + training + evaluation) that selection took.

    python benchmarks/bench_strategies.py experiments/mnist1d.yaml \\
        --strategies gradmatch glister craig random --fractions 0.05 0.1 --seeds 0 1 2

With ``--selection-only`` it instead trains one model on the full data for ``--pretrain-epochs`` and times
single selections of each strategy on it (fresh gradients each time, so the forward pass is included), the
median of ``--repeats``. It uses only long-standing APIs, so the same script can time an older checkout of the
package (``PYTHONPATH=/old/checkout``) for a side-by-side comparison.
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
from cords_tune.selection import STRATEGIES, SelectionContext, budget_for, create_strategy
from cords_tune.selection.features import LastLayerGradients
from cords_tune.training import Trainer


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
    parser.add_argument("--pretrain-epochs", type=int, default=3)
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
        time_selections(base, data, args, strategy_params)
        return
    print("| strategy | fraction | test accuracy (mean ± sd) | per seed | selection share of trial time | "
          "selection s / trial | trial s | fell back |")
    print("|---|---|---|---|---|---|---|---|")
    for fraction in args.fractions:
        for strategy in args.strategies:
            accuracies, shares, selection, totals, fallbacks = [], [], [], [], 0
            for seed in args.seeds:
                params = {"selection.strategy": strategy, "selection.fraction": fraction, "seed": seed}
                if STRATEGIES.get(strategy).needs_gradients:
                    params |= {f"selection.params.{key}": value for key, value in strategy_params.items()}
                config = apply_params(base, params)
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


def time_selections(base, data, args: argparse.Namespace, strategy_params: dict) -> None:
    """One selection per strategy x fraction on a model pretrained on the full data, timed alone."""
    config = apply_params(base, {"selection.strategy": "full", "training.epochs": args.pretrain_epochs, "baseline": False})
    trainer = Trainer(config, data)
    trainer.fit()
    print(f"# one selection on cnn1d after {args.pretrain_epochs} full-data epochs; median (min-max) of "
          f"{args.repeats}; package: {cords_tune.__file__}; params {strategy_params}\n")
    print("| strategy | fraction | budget | selection s, median | min | max |")
    print("|---|---|---|---|---|---|")
    for fraction in args.fractions:
        budget = budget_for(fraction, len(trainer.train))
        for name in args.strategies:
            params = strategy_params if STRATEGIES.get(name).needs_gradients else {}
            strategy = create_strategy(name, params)
            times = []
            for repeat in range(args.repeats):
                start = time.perf_counter()
                gradients = LastLayerGradients(trainer.model, trainer.train, trainer.val)
                context = SelectionContext(
                    labels=trainer.train.y, num_classes=trainer.num_classes, epoch=repeat, seed=base.seed,
                    gradients=gradients if strategy.needs_gradients else None,
                    batch_size=base.training.batch_size, learning_rate=base.training.lr,
                )
                subset = strategy.select(context, budget)
                subset.indices.cpu()  # the trainer reads the subset on the host: count the wait for it
                times.append(time.perf_counter() - start)
            print(f"| {name} | {fraction} | {budget} | {statistics.median(times):.4f} | {min(times):.4f} | "
                  f"{max(times):.4f} |", flush=True)


if __name__ == "__main__":
    main()
