"""Fast trials on one GPU: the trainer's costs per epoch, per selection and per precision, then ``--baseline`` runs
at several GPU shares per trial with where each search's slot time went.

Part 1 (the trainer, no Ray): one full-data epoch, one subset epoch at each fraction, one validation pass, one
selection per strategy at each fraction (the median of ``--repeats`` after a warm-up), and training images/s per
precision. Part 2 (the product): ``cords-tune run EXPERIMENT --baseline`` at each ``--gpu-shares`` value (8 trials,
6 epochs, GradMatch 10% every 3 epochs unless overridden): tuning and end-to-end speedup, selection's share of the
subset trials' time, and the subset search's slot use. Three more parts on request: ``startup`` (a trial worker's
start phase by phase, ``startup_probe.py`` in one fresh process per slot at once), ``difficulty`` (the model
trained on the full data per setting of the generator's ``dataset.params``) and ``compile`` (full-data epochs
eager against ``torch.compile``, per ``--compile-batches`` size: does compiling pay at small batches, where a GPU
step is bound by kernel launches?). On a machine without CUDA it runs a
reduced version on the CPU (fewer images, 1 CPU per trial instead of GPU shares), to check the script, not to quote.

    python benchmarks/bench_gpu.py                                  # on a GPU machine
    python benchmarks/bench_gpu.py --quick                          # anywhere: the reduced version
    python benchmarks/bench_gpu.py --parts startup difficulty --difficulty prototypes=4 "" noise=0.3
    python benchmarks/bench_gpu.py --parts compile --compile-batches 128 512 --precisions bf16
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

from cords_tune.config import ExperimentConfig, apply_params, load_config, parse_overrides
from cords_tune.preflight import load_data
from cords_tune.results.comparison import Comparison
from cords_tune.training import build_trainer
from cords_tune.results.summary import RunSummary

PARTS = ("table", "runs", "startup", "difficulty", "compile")
COMPILE_MODES = ("eager", "default", "reduce-overhead")  # torch.compile's modes; reduce-overhead: CUDA graphs
SLOT_PARTS = ("work_s", "starting_s", "building_s", "reporting_s", "between_trials_s", "idle_s")
GPU_RUN = ["search.num_trials=8", "training.epochs=6", "selection.strategy=gradmatch", "selection.fraction=0.1",
           "selection.every=3", "search.asha.grace_period=2"]
CPU_REDUCTION = ["dataset.params.num_train=2000", "dataset.params.num_test=500", "model.name=lenet",
                 "training.epochs=3", "search.num_trials=4", "search.asha.grace_period=1", "selection.every=1"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", default="experiments/cifar_shaped.yaml")
    parser.add_argument("--strategies", nargs="*", default=["gradmatch", "glister", "craig", "random"])
    parser.add_argument("--fractions", nargs="+", type=float, default=[0.01, 0.1])
    parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16"])
    parser.add_argument("--gpu-shares", nargs="+", type=float, default=[1.0, 0.5, 0.25])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="config override a.b=value")
    parser.add_argument("--quick", action="store_true", help="the reduced version (the default without CUDA)")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=["table", "runs"],
                        help="table: the trainer's costs; runs: --baseline runs; startup: a trial worker's start phase "
                        "by phase, --slots processes at once; difficulty: the experiment's model trained on the full "
                        "data for --difficulty-epochs, per --difficulty setting of dataset.params; compile: "
                        "full-data epochs eager and compiled, per --compile-batches size and --precisions")
    parser.add_argument("--slots", nargs="+", type=int, default=[1, 4])
    parser.add_argument("--difficulty", nargs="+", default=[""], help="e.g. prototypes=64,noise=0.2 ('' as is)")
    parser.add_argument("--difficulty-epochs", type=int, default=6)
    parser.add_argument("--compile-batches", nargs="+", type=int, default=[128, 512])
    parser.add_argument("--output", type=Path, help="keep the runs' folders and logs here (default: a temporary one)")
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
    if "startup" in args.parts:
        startup_table(args.experiment, overrides, args.slots)
    if "difficulty" in args.parts:
        difficulty_table(base, args.difficulty, args.difficulty_epochs)
    if "compile" in args.parts:
        compile_table(base, data, args)
    if "table" in args.parts:
        trainer_table(base, data, args)
    if "runs" in args.parts:
        shares = args.gpu_shares if cuda else [0.0]
        with tempfile.TemporaryDirectory() as scratch:
            runs_table(args.experiment, overrides, shares, cuda, args.output or Path(scratch))


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


def compile_table(base: ExperimentConfig, data, args: argparse.Namespace) -> None:
    """Full-data training epochs with the model eager and through ``torch.compile`` in each of its modes: the first
    epoch (which compiles, once per batch shape) and the median of ``--repeats`` later ones. The trainer's model is
    swapped for the compiled module, which shares its parameters with the optimizer's."""
    print("\n| precision | batch | model | first epoch s | later epochs s (median) | images/s | val accuracy |")
    print("|---|---|---|---|---|---|---|")
    for precision in args.precisions:
        for batch in args.compile_batches:
            config = apply_params(base, {"selection.strategy": "full", "training.precision": precision,
                                         "training.batch_size": batch, "training.epochs": args.repeats + 1})
            for mode in COMPILE_MODES:
                torch._dynamo.reset()  # each mode compiles from scratch, as a new trial worker would
                trainer = build_trainer(config, data)
                if mode != "eager":
                    trainer.model = torch.compile(trainer.model, mode=mode)
                try:
                    first = trainer.run_epoch()
                    later = [trainer.run_epoch() for _ in range(args.repeats)]
                except Exception as error:  # e.g. no C++ compiler for the CPU backend: say so, go on
                    print(f"| {precision} | {batch} | {mode} | failed: {type(error).__name__} | | | |", flush=True)
                    continue
                train_s = statistics.median(s.train_s for s in later)
                print(f"| {precision} | {batch} | {mode} | {first.train_s + first.eval_s:.2f} | {train_s:.3f} | "
                      f"{len(data.y_train) / train_s:.0f} | {later[-1].val_accuracy:.3f} |", flush=True)


def startup_table(experiment: str, overrides: list[str], slots: list[int]) -> None:
    """``startup_probe.py`` in ``n`` fresh processes at once for each ``n`` in ``slots``: the median and the
    slowest of each phase."""
    probe = Path(__file__).with_name("startup_probe.py")
    for n in slots:
        tick = time.time()
        processes = [subprocess.Popen([sys.executable, str(probe), str(tick), experiment, *overrides],
                                      stdout=subprocess.PIPE, text=True) for _ in range(n)]
        runs = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in processes]
        print(f"\n| phase ({n} processes at once) | median s | slowest s |")
        print("|---|---|---|")
        for phase in runs[0]:
            values = [run[phase] for run in runs]
            print(f"| {phase} | {statistics.median(values):.2f} | {max(values):.2f} |")
        print(f"| all ({time.time() - tick:.1f} s wall-clock) | | |", flush=True)


def difficulty_table(base: ExperimentConfig, settings: list[str], epochs: int) -> None:
    """The experiment's model trained on the full data for ``epochs`` per setting of ``dataset.params``: how hard
    the data is (train and validation accuracy by epoch, test accuracy at the end)."""
    print(f"\n| dataset.params | train accuracy by epoch | val accuracy by epoch | test accuracy | s |")
    print("|---|---|---|---|---|")
    for setting in settings:
        params = parse_overrides([f"dataset.params.{pair}" for pair in setting.split(",") if pair])
        config = apply_params(base, {"selection.strategy": "full", "training.epochs": epochs, **params})
        tick = time.perf_counter()
        trainer = build_trainer(config, load_data(config))
        stats = trainer.fit()
        test_accuracy = trainer.evaluate_test().accuracy
        print(f"| {setting or 'defaults'} | {', '.join(f'{s.train_accuracy:.3f}' for s in stats)} | "
              f"{', '.join(f'{s.val_accuracy:.3f}' for s in stats)} | {test_accuracy:.4f} | "
              f"{time.perf_counter() - tick:.0f} |", flush=True)


def runs_table(experiment: str, overrides: list[str], shares: list[float], cuda: bool, out: Path) -> None:
    print("\n| GPU per trial | subset search s | full-data search s | tuning speedup | end-to-end speedup | "
          "selection share of subset trials | subset slot use |")
    print("|---|---|---|---|---|---|---|")
    out.mkdir(parents=True, exist_ok=True)
    for share in shares:
        sets = [*GPU_RUN, *overrides, f"resources.gpus_per_trial={share}"]
        if not cuda:
            sets += ["training.device=cpu", "resources.cpus_per_trial=1"]
        command = [sys.executable, "-m", "cords_tune.cli", "run", experiment, "--baseline", "--output", str(out),
                   *[x for s in sets for x in ("--set", s)]]
        tick = time.perf_counter()
        with open(out / f"run-gpu-{share:g}.log", "w") as log:
            subprocess.run(command, check=True, stdout=log)
        newest = max((p for p in out.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
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
