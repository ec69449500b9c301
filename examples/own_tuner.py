"""Subset training inside your own Ray Tune Tuner, with your own scheduler (HyperBand or PBT).

    python examples/own_tuner.py --scheduler hyperband
    python examples/own_tuner.py --scheduler pbt
    python examples/own_tuner.py --scheduler hyperband --quick    # a few seconds of training, for CI

``cords_tune.trainable(experiment)`` is the trainable ``cords-tune run`` itself uses: each trial applies its
sampled values (dotted paths into the experiment) and trains on GradMatch subsets, reporting once per epoch
(``training_iteration`` counts epochs) with a checkpoint every ``fault_tolerance.checkpoint_every`` epochs, so
HyperBand can pause and resume trials and PBT can continue a trial from a better one's checkpoint with new
hyperparameters.
"""

from __future__ import annotations

import argparse
import tempfile

from ray import tune
from ray.tune.schedulers import HyperBandScheduler, PopulationBasedTraining
from ray.tune.search import BasicVariantGenerator

import cords_tune


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scheduler", choices=["hyperband", "pbt"], default="hyperband")
    parser.add_argument("--quick", action="store_true", help="2 trials of 3 epochs (CI)")
    parser.add_argument("--storage", default=None, help="Tune's storage_path (default: a temp dir)")
    args = parser.parse_args()
    scheduler_name, epochs, samples = args.scheduler, (3 if args.quick else 12), (2 if args.quick else 8)
    storage = args.storage or tempfile.mkdtemp(prefix="cords-tune-tuner-")

    trainable = cords_tune.trainable({
        "name": "own-tuner",
        "dataset": {"name": "digits"},
        "model": {"name": "mlp", "params": {"hidden": 64, "depth": 1}},
        "training": {"epochs": epochs, "batch_size": 64, "optimizer": "adam", "lr": 0.01},
        "selection": {"strategy": "gradmatch", "fraction": 0.2, "every": 2},
        "resources": {"cpus_per_trial": 1},
        "fault_tolerance": {"checkpoint_every": 1},  # HyperBand pauses, PBT clones: both resume from these
    })
    if scheduler_name == "hyperband":
        scheduler = HyperBandScheduler(time_attr="training_iteration", max_t=epochs, reduction_factor=2)
    else:
        scheduler = PopulationBasedTraining(
            time_attr="training_iteration", perturbation_interval=1,
            hyperparam_mutations={"training.lr": tune.loguniform(1e-3, 1e-1)},
        )
    tuner = tune.Tuner(
        trainable,
        param_space={"training.lr": tune.loguniform(1e-3, 1e-1), "model.params.hidden": tune.choice([32, 64, 128])},
        tune_config=tune.TuneConfig(metric="val_accuracy", mode="max", scheduler=scheduler,
                                     search_alg=BasicVariantGenerator(random_state=0),  # the same samples each run
                                     num_samples=samples),
        run_config=tune.RunConfig(storage_path=storage, verbose=0),
    )
    best = tuner.fit().get_best_result()
    print(f"best: {best.config} val_accuracy {best.metrics['val_accuracy']:.4f} "
          f"after {best.metrics['training_iteration']} epochs")


if __name__ == "__main__":
    main()
