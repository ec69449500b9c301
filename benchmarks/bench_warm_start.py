"""Finalists started from their subset trials' models against finalists trained from scratch, on the full data.

Reads a finished run's directory (its trials.parquet and Tune's checkpoints under ``tune/``), takes the
search's top ``--top`` configurations and its best trial that ASHA stopped early, and trains each on the full
data in this machine's processes (no Ray), once per seed (``config.seed``: the data order, and the
initialization of a training from scratch; the data split stays the run's):

- ``scratch``: from the model's own initialization for ``--scratch-epochs`` (the run's ``final_epochs``: what
  a finalist does today), and for each of ``--epochs`` (is it the short training or the start that helps?);
- ``warm``: from the trial's last checkpoint for each of ``--epochs``, a fresh cosine schedule at the
  config's lr times each of ``--lr-scales``;
- ``as is``: the trial's checkpoint tested without training (epoch 0).

It prints a markdown table (test accuracy mean ± sd and worst over seeds, validation accuracy, training
seconds and their ratio to the scratch training) and writes every training's figures as JSON.

    python benchmarks/bench_warm_start.py /tmp/reuse/qs/mnist1d-quickstart-<date> --seeds 0 1 2 \\
        --epochs 5 10 15 --lr-scales 1 0.3 --processes 2 --out benchmarks/results/warm_start_quickstart.json
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from cords_tune.config import apply_params, load_config
from cords_tune.preflight import load_and_check
from cords_tune.results.trial import TrialRecord, read_trials
from cords_tune.training.job import TrainingJob, run_job
from cords_tune.tuning.finalists import rank_trials
from cords_tune.tuning.warm_start import TUNE_EXPERIMENT, saved_trial_weights

_SHARED: dict[str, Any] = {}  # what the forked workers read: the config, the data, the start weights


@dataclass(frozen=True)
class Arm:
    trial_id: str
    start: str  # "scratch", "warm" or "as is"
    epochs: int
    lr_scale: float
    seed: int


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--top", type=int, default=2, help="the search's best configurations to train")
    parser.add_argument("--stopped", type=int, default=1, help="ASHA-stopped trials to add (best first)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, nargs="+", default=[5, 10, 15], help="full-data epochs, warm")
    parser.add_argument("--scratch-epochs", type=int, default=None, help="default: the run's final_epochs")
    parser.add_argument("--low-lr-epochs", type=int, nargs="*", default=[10],
                        help="warm trainings also run at the lr times --low-lr for these epochs")
    parser.add_argument("--low-lr", type=float, default=0.3)
    parser.add_argument("--short-scratch-epochs", type=int, nargs="*", default=[10],
                        help="also train from scratch for these epochs (is it the start or the short training?)")
    parser.add_argument("--processes", type=int, default=1, help="trainings side by side, one thread each")
    parser.add_argument("--out", type=Path, default=None, help="JSON lines, one per training, appended as each ends")
    parser.add_argument("--table-only", action="store_true", help="print the table of --out's trainings, train none")
    args = parser.parse_args(argv)

    config = load_config(args.run_dir / "config.yaml")
    trials = read_trials(args.run_dir / "trials.parquet")
    ranked = rank_trials([t for t in trials if t.usable], config.search.mode)
    chosen = ranked[:args.top] + [t for t in ranked if t.status == "stopped"][:args.stopped]
    scratch_epochs = args.scratch_epochs or config.final_epochs
    if args.table_only:
        rows = [json.loads(line) for line in args.out.read_text().splitlines() if line.strip()]
        print(_table(rows, chosen, scratch_epochs))
        return
    weights = {t.trial_id: saved_trial_weights(args.run_dir / TUNE_EXPERIMENT, t) for t in chosen}
    missing = [trial_id for trial_id, w in weights.items() if w is None]
    if missing:
        sys.exit(f"no readable checkpoint for trials {missing} under {args.run_dir / TUNE_EXPERIMENT}")
    top, stopped = chosen[:args.top], chosen[args.top:]
    arms = [Arm(trial.trial_id, "as is", 0, 1.0, args.seeds[0]) for trial in chosen]  # draws on no seed
    for seed in args.seeds:  # seed by seed: every comparison has as many seeds as the time allowed
        for trial in top:
            arms.append(Arm(trial.trial_id, "scratch", scratch_epochs, 1.0, seed))
            arms.extend(Arm(trial.trial_id, "warm", epochs, 1.0, seed) for epochs in args.epochs)
            arms.extend(Arm(trial.trial_id, "warm", epochs, args.low_lr, seed) for epochs in args.low_lr_epochs)
            arms.extend(Arm(trial.trial_id, "scratch", epochs, 1.0, seed) for epochs in args.short_scratch_epochs)
    for seed in args.seeds:  # an ASHA-stopped trial's start: from scratch against the middle warm length only
        for trial in stopped:
            arms.append(Arm(trial.trial_id, "scratch", scratch_epochs, 1.0, seed))
            arms.append(Arm(trial.trial_id, "warm", args.epochs[len(args.epochs) // 2], 1.0, seed))
    _SHARED.update(config=config, data=load_and_check(config), weights=weights,
                   params={t.trial_id: t.params for t in chosen})
    began = time.perf_counter()
    rows = []
    with multiprocessing.get_context("fork").Pool(args.processes) as pool:
        for row in pool.imap_unordered(_train, arms, chunksize=1):
            rows.append(row)
            if args.out:
                args.out.parent.mkdir(parents=True, exist_ok=True)
                with args.out.open("a") as file:
                    file.write(json.dumps(row) + "\n")
    print(_table(rows, chosen, scratch_epochs))
    print(f"\n{len(arms)} trainings in {time.perf_counter() - began:.0f} s, {args.processes} process(es), "
          f"{platform.processor() or platform.machine()}")


def _train(arm: Arm) -> dict[str, Any]:
    torch.set_num_threads(1)
    base = _SHARED["config"]
    params = dict(_SHARED["params"][arm.trial_id])
    config = apply_params(base, params)
    params["training.lr"] = config.training.lr * arm.lr_scale
    config = apply_params(base, {**params, "seed": arm.seed})
    weights = None if arm.start == "scratch" else _SHARED["weights"][arm.trial_id]
    job = TrainingJob(config, _SHARED["data"], epochs=max(arm.epochs, 1), full_data=True, decision_epochs=(),
                      evaluate=("test", "val"), start_weights=weights, train=arm.epochs > 0)
    outcome = run_job(job)
    return {**arm.__dict__, "test_accuracy": outcome.scores["test"].accuracy,
            "val_accuracy": outcome.scores["val"].accuracy, "train_s": outcome.train_s, "wall_s": outcome.wall_s}


def _table(rows: list[dict[str, Any]], chosen: list[TrialRecord], scratch_epochs: int) -> str:
    lines = ["| trial (subset status, epochs) | start | full-data epochs | lr x | test acc mean ± sd | worst seed | "
             "val acc mean | train s mean | train s / scratch |", "|---|---|---|---|---|---|---|---|---|"]
    for trial in chosen:
        mine = [r for r in rows if r["trial_id"] == trial.trial_id]
        full = [r["train_s"] for r in mine if r["start"] == "scratch" and r["epochs"] == scratch_epochs]
        groups: dict[tuple, list[dict[str, Any]]] = {}
        for row in mine:
            groups.setdefault((row["start"], row["epochs"], row["lr_scale"]), []).append(row)
        for (start, epochs, scale), group in groups.items():
            acc = [r["test_accuracy"] for r in group]
            sd = statistics.stdev(acc) if len(acc) > 1 else 0.0
            train = statistics.mean(r["train_s"] for r in group)
            ratio = train / statistics.mean(full) if full and epochs else 0.0
            lines.append(
                f"| {trial.trial_id} ({trial.status}, {trial.epochs}) | {start} | {epochs} | {scale:g} | "
                f"{100 * statistics.mean(acc):.2f} ± {100 * sd:.2f} | {100 * min(acc):.2f} | "
                f"{100 * statistics.mean(r['val_accuracy'] for r in group):.2f} | {train:.1f} | {ratio:.2f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
