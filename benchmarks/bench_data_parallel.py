"""The winner's full-data training on one worker against two data-parallel workers (Ray Train, gloo), side by
side in one Ray: the quickstart's data and its best configuration (experiments/mnist1d.yaml: cnn1d, 32 channels,
Adam lr 0.003, batch 64, cosine), its final 30 epochs, over seeds.

    python benchmarks/bench_data_parallel.py [--epochs 30] [--seeds 0 1] [--cpus 2]

Per variant and seed: the wall-clock seen by the driver, the time in the epochs (training, validation), the rest
(the start: a Ray task or TorchTrainer's controller and ranks, torch imported, the data read; and the test), and
the test accuracy. Variants: one worker with one thread (a finalist today), one worker with two threads (the
same two cores given to the winner alone), two workers of one thread each (data-parallel).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import replace

import ray

from cords_tune.config import load_config
from cords_tune.preflight import load_and_check
from cords_tune.tuning.retrain import retrain_job
from cords_tune.tuning.worker import run_on_cluster

BEST = {"training.lr": 0.003, "training.batch_size": 64, "model.params.channels": 32}
VARIANTS = {"1 worker x 1 thread": (1, 1), "1 worker x 2 threads": (1, 2), "2 workers x 1 thread": (2, 1)}


def _config(epochs: int, seed: int, cpus: int):
    config = load_config("experiments/mnist1d.yaml")
    return config.model_copy(update={
        "seed": seed,
        "training": config.training.model_copy(update={"lr": BEST["training.lr"], "epochs": epochs,
                                                       "batch_size": BEST["training.batch_size"]}),
        "model": config.model.model_copy(update={"params": {"channels": BEST["model.params.channels"]}}),
        "resources": config.resources.model_copy(update={"cpus_per_trial": cpus}),
        "final": config.final.model_copy(update={"epochs": epochs}),
    })


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray")
    args = parser.parse_args()
    ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    data_ref = ray.put(load_and_check(_config(args.epochs, 0, 1)))
    rows = []
    for seed in args.seeds:
        for name, (workers, threads) in VARIANTS.items():
            config = _config(args.epochs, seed, threads)
            started = time.perf_counter()
            outcome = run_on_cluster(replace(retrain_job(config, data_ref), workers=workers))
            wall = time.perf_counter() - started
            epochs_s = sum(s.train_s + s.eval_s + s.selection_s for s in outcome.history)
            rows.append({"variant": name, "seed": seed, "wall_s": round(wall, 2), "epochs_s": round(epochs_s, 2),
                         "start_and_test_s": round(wall - epochs_s, 2),
                         "test_accuracy": round(outcome.scores["test"].accuracy, 4)})
            print(json.dumps(rows[-1]), flush=True)
    print("\nmedians over seeds:")
    for name in VARIANTS:
        mine = [r for r in rows if r["variant"] == name]
        print(f"  {name:22s} " + "  ".join(
            f"{key} {statistics.median(r[key] for r in mine):.3f}"
            for key in ("wall_s", "epochs_s", "start_and_test_s", "test_accuracy")))


if __name__ == "__main__":
    main()
