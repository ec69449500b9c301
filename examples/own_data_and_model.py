"""Tune your own network on your own .npz file through the Python API.

    python examples/own_data_and_model.py            # about a minute on 2 CPU cores
    python examples/own_data_and_model.py --quick    # a few seconds of training, for CI

The data: scikit-learn's handwritten digits, saved as the .npz file a user would have (x_train, y_train).
The network: a plain torch module whose last layer is an nn.Linear; cords-tune finds that layer and takes its
input as the features GradMatch selects with. Nothing is registered: the factory goes to the Ray workers
pickled with the trials.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from torch import nn

import cords_tune


def small_net(input_shape: tuple[int, ...], num_classes: int, hidden: int = 64, dropout: float = 0.0) -> nn.Module:
    """Your network: any nn.Module whose last layer is an nn.Linear. ``hidden`` and ``dropout`` are searched."""
    width = int(np.prod(input_shape))
    return nn.Sequential(
        nn.Flatten(), nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, num_classes)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 trials of 2 epochs (CI)")
    parser.add_argument("--output", default=None, help="where the run directory is made (default: a temp dir)")
    args = parser.parse_args()
    output = Path(args.output or tempfile.mkdtemp(prefix="cords-tune-example-"))

    epochs, trials, top_k = (2, 2, 1) if args.quick else (8, 8, 2)

    x, y = load_digits(return_X_y=True)
    output.mkdir(parents=True, exist_ok=True)
    data_file = output / "digits.npz"
    np.savez(data_file, x_train=(x / 16.0).astype(np.float32), y_train=y)  # your data, as a file

    result = cords_tune.run(
        {
            "name": "own-data-and-model",
            "dataset": {"name": "npz", "params": {"path": str(data_file)}},
            "training": {"epochs": epochs, "batch_size": 64, "optimizer": "adam"},
            "selection": {"strategy": "gradmatch", "fraction": 0.2, "every": 2},
            "search": {"num_trials": trials, "space": {
                "training.lr": {"loguniform": [1.0e-3, 3.0e-2]},
                "model.params.hidden": {"choice": [32, 64, 128]},
            }},
            "resources": {"cpus_per_trial": 1},
            "final": {"top_k": top_k},
        },
        model=small_net,  # your network, given as an object: the experiment's model becomes "python"
        output_dir=output,
        on_notice=print,
    )
    summary = result.summary
    print(f"best config: {summary.best_config}")
    print(f"test accuracy of the final model: {summary.final.test_accuracy:.4f}")

    model = cords_tune.load_model(result.run_dir / "model.pt", model=small_net)  # the file holds the weights
    print(f"predictions for the first 10 digits: {model.predict((x[:10] / 16.0).astype(np.float32)).tolist()}")
    print(f"results: {result.run_dir}")


if __name__ == "__main__":
    main()
