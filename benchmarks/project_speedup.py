"""Project the tuning speedup of an experiment from measured per-epoch costs: which costs still matter at scale.

The search's epochs come from ASHA's rungs (``grace_period * reduction_factor**k`` below ``training.epochs``; of
``num_trials`` trials a ``1/reduction_factor`` share passes each rung), selections from ``selection.every``
(the first subset of a trial is random, as the trainer does), and the search's wall-clock is its slot-seconds
over the slots (perfect packing: the idle tail is left out on both sides). Every cost is an argument, in
seconds, so that figures measured on a GPU (``benchmarks/bench_gpu.py``) can be put in.

    python benchmarks/project_speedup.py experiments/cifar10.yaml --full-epoch 2.69 --subset-epoch 0.33 \\
        --eval 0.06 --selection 0.8 --slot-start 25 --trial-build 0.5 --report 0.02
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from cords_tune.config import ExperimentConfig, load_config


@dataclass(frozen=True)
class Costs:
    full_epoch: float  # training one epoch on the full data
    subset_epoch: float  # training one epoch on the subset
    eval: float  # one validation pass
    selection: float  # one gradient-based selection
    slot_start: float  # once per slot and search: worker start, imports, CUDA set-up
    trial_build: float  # once per trial: data to the device, model, optimizer
    report: float  # per epoch: the report to Tune and checkpoints
    eval_every_epoch: bool = True  # else only at ASHA's rungs and the last epoch


def trial_epochs(config: ExperimentConfig) -> list[int]:
    """How many epochs each trial trains under synchronous successive halving (a close model of ASHA)."""
    asha, total = config.search.asha, config.training.epochs
    rungs = sorted(r for r in _rungs(config) if r < total)
    epochs, alive = [], config.search.num_trials
    for rung in rungs:
        survivors = max(1, int(alive // asha.reduction_factor)) if alive > 1 else alive
        epochs += [rung] * (alive - survivors)
        alive = survivors
    return epochs + [total] * alive


def _rungs(config: ExperimentConfig) -> set[int]:
    asha = config.search.asha
    return {int(asha.grace_period * asha.reduction_factor**k) for k in range(12)}


def search_seconds(config: ExperimentConfig, costs: Costs, slots: int, *, subset: bool) -> float:
    every, rungs = config.selection.every, _rungs(config)
    busy = slots * costs.slot_start
    for epochs in trial_epochs(config):
        evals = epochs if costs.eval_every_epoch else len([e for e in range(1, epochs + 1) if e in rungs or e == epochs])
        busy += costs.trial_build + epochs * costs.report + evals * costs.eval
        if subset:
            busy += epochs * costs.subset_epoch + len(range(every, epochs, every)) * costs.selection
        else:
            busy += epochs * costs.full_epoch
    return busy / slots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiment")
    for name in ("full-epoch", "subset-epoch", "eval", "selection", "slot-start", "trial-build", "report"):
        parser.add_argument(f"--{name}", type=float, required=True)
    parser.add_argument("--slots", type=int, default=1)
    parser.add_argument("--eval-at-decisions", action="store_true")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()
    config = load_config(args.experiment, args.overrides)
    costs = Costs(args.full_epoch, args.subset_epoch, args.eval, args.selection, args.slot_start, args.trial_build,
                  args.report, not args.eval_at_decisions)
    subset, full = (search_seconds(config, costs, args.slots, subset=s) for s in (True, False))
    epochs = trial_epochs(config)
    print(f"{config.name}: {len(epochs)} trials, {sum(epochs)} epochs ({config.selection.fraction:.0%} subsets, "
          f"reselect every {config.selection.every}), {args.slots} slot(s)")
    print(f"subset search {subset:.0f} s, full-data search {full:.0f} s: tuning speedup {full / subset:.2f}x")


if __name__ == "__main__":
    main()
