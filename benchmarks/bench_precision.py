"""Training throughput (images/s) per training.precision and training.channels_last, side by side in one run.

Trains each model on cifar_shaped images on the full data with the trainer's own epoch loop (augmentation,
weighted loss, optimizer step; evaluation excluded) and prints a markdown table. The first epoch of each
setting is a warm-up and is not counted. On a CPU bf16 runs through torch's CPU autocast.

    python benchmarks/bench_precision.py --threads 2 --batch-size 128
    python benchmarks/bench_precision.py --device cuda --images 20000 --batch-size 512 \\
        --precisions fp32 bf16 fp16 --channels-last false true
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile

import torch

from cords_tune.config import parse_config
from cords_tune.datasets import load_dataset
from cords_tune.training import build_trainer

MODELS = {"lenet": {"name": "lenet"}, "resnet18": {"name": "resnet18"}}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16"], choices=["fp32", "bf16", "fp16"])
    parser.add_argument("--channels-last", nargs="+", default=["false"], choices=["false", "true"])
    parser.add_argument("--images", type=int, default=1280, help="training images per epoch")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per setting; the first is not counted")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    folder = tempfile.mkdtemp(prefix="bench-precision-")
    params = {"num_train": max(20, round(args.images / 0.9)), "num_test": 10}
    data = load_dataset("cifar_shaped", data_dir=folder, seed=0, val_fraction=0.1, params=params)
    device = torch.cuda.get_device_name() if args.device == "cuda" else platform.processor() or platform.machine()
    print(f"# {data.describe()}; batch {args.batch_size}; {args.epochs - 1} timed epochs after a warm-up")
    print(f"# machine: {device}, {torch.get_num_threads()} torch threads, torch {torch.__version__}; "
          f"command: python {' '.join(sys.argv)}\n")
    print("| model | precision | channels-last | images/s (median epoch) | vs fp32 |")
    print("|---|---|---|---|---|")
    for model in args.models:
        baseline = None
        for channels_last in args.channels_last:
            for precision in args.precisions:
                config = parse_config({
                    "name": "bench-precision", "dataset": {"name": "cifar_shaped", "params": params},
                    "model": MODELS[model], "selection": {"strategy": "full"},
                    "training": {"epochs": args.epochs, "batch_size": args.batch_size, "device": args.device,
                                 "precision": precision, "channels_last": channels_last == "true"},
                })
                trainer = build_trainer(config, data)
                history = trainer.fit()
                rate = statistics.median(s.subset_size / s.train_s for s in history[1:])
                used = "bf16" if history[-1].bf16 else "fp16" if history[-1].fp16 else "fp32"
                baseline = baseline or rate
                label = precision if used == precision else f"{precision} (ran {used})"
                print(f"| {model} | {label} | {history[-1].channels_last} | {rate:,.1f} | {rate / baseline:.2f}x |",
                      flush=True)


if __name__ == "__main__":
    main()
