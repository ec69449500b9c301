"""Fast trials on one GPU: the trainer's costs per epoch, per selection and per precision, then ``--baseline`` runs
at several GPU shares per trial with where each search's slot time went.

Part 1 (the trainer, no Ray): one full-data epoch, one subset epoch at each fraction, one validation pass, one
selection per strategy at each fraction (the median of ``--repeats`` after a warm-up), and training images/s per
precision. Part 2 (the product): ``cords-tune run EXPERIMENT --baseline`` at each ``--gpu-shares`` value (8 trials,
6 epochs, GradMatch 10% every 3 epochs unless overridden): tuning and end-to-end speedup, selection's share of the
subset trials' time, and the subset search's slot use. On a machine without CUDA it runs a reduced version on the
CPU (fewer images, 1 CPU per trial instead of GPU shares), to check the script, not to quote.

    python benchmarks/bench_gpu.py                                  # on a GPU machine
    python benchmarks/bench_gpu.py --quick                          # anywhere: the reduced version
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from cords_tune.config import ExperimentConfig, apply_params, load_config
from cords_tune.preflight import load_data
from cords_tune.reports import Comparison
from cords_tune.training import build_trainer
from cords_tune.tuning.summary import RunSummary

SLOT_PARTS = ("work_s", "starting_s", "building_s", "reporting_s", "between_trials_s", "idle_s")
GPU_RUN = ["search.num_trials=8", "training.epochs=6", "selection.strategy=gradmatch", "selection.fraction=0.1",
           "selection.every=3", "search.asha.grace_period=2"]
CPU_REDUCTION = ["dataset.params.num_train=2000", "dataset.params.num_test=500", "model.name=lenet",
                 "training.epochs=3", "search.num_trials=4", "search.asha.grace_period=1", "selection.every=1"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", default="experiments/cifar_shaped.yaml")
    parser.add_argument("--strategies", nargs="+", default=["gradmatch", "glister", "craig", "random"])
    parser.add_argument("--fractions", nargs="+", type=float, default=[0.01, 0.1])
    parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16"])
    parser.add_argument("--gpu-shares", nargs="+", type=float, default=[1.0, 0.5, 0.25])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="config override a.b=value")
    parser.add_argument("--quick", action="store_true", help="the reduced version (the default without CUDA)")
    parser.add_argument("--no-runs", action="store_true", help="part 1 only")
    args = parser.parse_args()

    cuda = torch.cuda.is_available()
    quick = args.quick or not cuda
    overrides = [*(CPU_REDUCTION if quick else []), *args.overrides]
    base = load_config(args.experiment, overrides)
    if not cuda:
        base = apply_params(base, {"training.device": "cpu", "resources.gpus_per_trial": 0.0})
    device = torch.cuda.get_device_name() if cuda else f"CPU ({os.cpu_count()} cores)"
    print(f"# bench_gpu on {device}, torch {torch.__version__}, Python {platform.python_version()}; "
          f"`python {' '.join(sys.argv)}`" + (" (reduced: not for quoting)" if quick else ""))
    data = load_data(base)
    print(f"# {base.name}: {data.describe()}; model {base.model.name}, batch {base.training.batch_size}\n")
    trainer_table(base, data, args)
    if not args.no_runs:
        runs_table(args.experiment, overrides, args.gpu_shares if cuda else [0.0], cuda)


def trainer_table(base: ExperimentConfig, data, args: argparse.Namespace) -> None:
    print("| precision | what | seconds (median) | images/s |")
    print("|---|---|---|---|")
    for precision in args.precisions:
        config = apply_params(base, {"training.precision": precision})
        full = _epochs(apply_params(config, {"selection.strategy": "full"}), data, args.repeats)
        print(f"| {precision} | full-data epoch (training) | {full['train_s']:.3f} | "
              f"{len(data.y_train) / full['train_s']:.0f} |")
        print(f"| {precision} | validation pass ({len(data.y_val)} images) | {full['eval_s']:.3f} | "
              f"{len(data.y_val) / full['eval_s']:.0f} |")
        for fraction in args.fractions:
            subset = _epochs(apply_params(config, {"selection.strategy": "random", "selection.fraction": fraction}),
                             data, args.repeats)
            print(f"| {precision} | {fraction:.0%} subset epoch (training) | {subset['train_s']:.3f} | "
                  f"{fraction * len(data.y_train) / subset['train_s']:.0f} |")
            for strategy in args.strategies:
                picked = _epochs(apply_params(config, {"selection.strategy": strategy, "selection.fraction": fraction,
                                                       "selection.every": 1, "selection.max_cost_share": 1.0}),
                                 data, args.repeats)
                print(f"| {precision} | one {strategy} selection at {fraction:.0%} | {picked['selection_s']:.3f} | |",
                      flush=True)


def _epochs(config: ExperimentConfig, data, repeats: int) -> dict[str, float]:
    """Medians over ``repeats`` epochs after a warm-up epoch (the first epoch of a subset trainer is a random
    pick: its selections from the second epoch on are the strategy's own)."""
    trainer = build_trainer(apply_params(config, {"training.epochs": repeats + 1}), data)
    trainer.run_epoch()
    stats = [trainer.run_epoch() for _ in range(repeats)]
    return {key: statistics.median(getattr(s, key) for s in stats) for key in ("selection_s", "train_s", "eval_s")}


def runs_table(experiment: str, overrides: list[str], shares: list[float], cuda: bool) -> None:
    cli = str(Path(sys.executable).with_name("cords-tune"))
    print("\n| GPU per trial | subset search s | full-data search s | tuning speedup | end-to-end speedup | "
          "selection share of subset trials | subset slot use |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as out:
        for share in shares:
            sets = [*GPU_RUN, *overrides, f"resources.gpus_per_trial={share}"]
            if not cuda:
                sets += ["training.device=cpu", "resources.cpus_per_trial=1"]
            command = [cli, "run", experiment, "--baseline", "--output", out, *[x for s in sets for x in ("--set", s)]]
            tick = time.perf_counter()
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
            newest = max(Path(out).iterdir(), key=lambda p: p.stat().st_mtime)
            comparison = Comparison.from_json(json.loads((newest / "comparison.json").read_text()))
            summary = RunSummary.from_json(json.loads((newest / "summary.json").read_text()))
            trials = summary.selection_s_total + summary.train_s_total + summary.eval_s_total
            used = summary.slot_use
            parts = ", ".join(f"{key.removesuffix('_s')} {getattr(used, key):.1f}" for key in SLOT_PARTS) if used else ""
            print(f"| {share:g} | {comparison.tuning_wall_s_subset:.1f} | {comparison.tuning_wall_s_full:.1f} | "
                  f"{comparison.tuning_speedup:.2f}x | {comparison.end_to_end_speedup:.2f}x | "
                  f"{summary.selection_s_total / trials:.0%} | {used.slots if used else '?'} slots: {parts} s "
                  f"({time.perf_counter() - tick:.0f} s in all) |", flush=True)


if __name__ == "__main__":
    main()
