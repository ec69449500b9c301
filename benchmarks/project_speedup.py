"""Project the tuning speedup of an experiment from measured per-epoch costs, the search alone and perfectly
packed (the idle tail left out on both sides): the figures docs/benchmarks.md quotes from before issue 30.

Its successor, ``benchmarks/project_run.py``, projects the whole run (finalists included) with the trials
list-scheduled on 1..N slots, wall-clock and device-seconds; this keeps the older figures reproducible with its
model of the trials (``trial_epochs``) and costs (``Costs``, ``trial_seconds``).

    python benchmarks/project_speedup.py experiments/cifar10.yaml --full-epoch 2.69 --subset-epoch 0.33 \\
        --eval 0.06 --selection 0.8 --slot-start 25 --trial-build 0.5 --report 0.02
"""

from __future__ import annotations

import argparse

from project_run import Costs, trial_epochs, trial_seconds

from cords_tune.config import ExperimentConfig, load_config


def search_seconds(config: ExperimentConfig, costs: Costs, slots: int, *, subset: bool) -> float:
    busy = slots * costs.slot_start + sum(trial_seconds(e, config, costs, subset=subset) for e in trial_epochs(config))
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
