"""Check benchmarks/project_run.py against a finished run with its baseline: the per-epoch costs measured in that
run go in, and each phase's projected wall-clock is printed next to the measured one.

The costs are the run's own means (per epoch over every trial of a side, per slot, per trial), so what is left
between the two columns is the model: the list schedule, ASHA's epochs, equal costs for every configuration.

    cords-tune run experiments/mnist1d.yaml -o /tmp/qs            # 2 slots on 2 cores
    python benchmarks/check_projection.py /tmp/qs/mnist1d-quickstart-<stamp>
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

from project_run import Costs, Levers, project, start_orders, summarise, trial_epochs

from cords_tune.config import load_config
from cords_tune.results.summary import RunSummary
from cords_tune.results.trial import TrialRecord, read_trials


@dataclass(frozen=True)
class Side:
    summary: RunSummary
    trials: list[TrialRecord]

    @classmethod
    def read(cls, run_dir: Path) -> Side:
        summary = RunSummary.from_json(json.loads((run_dir / "summary.json").read_text()))
        return cls(summary, read_trials(run_dir / "trials.parquet"))

    @property
    def epochs(self) -> int:
        return sum(t.epochs for t in self.trials)

    def per_epoch(self, seconds: str) -> float:
        return sum(getattr(t, seconds) for t in self.trials) / self.epochs


def measured_costs(subset: Side, full: Side, every: int) -> Costs:
    """The run's means: per epoch over each side's trials, slot start per slot, build per trial (both sides)."""
    uses = [side.summary.slot_use for side in (subset, full)]  # SlotUse: seconds summed over slots
    selections = sum(len(range(every, t.epochs, every)) for t in subset.trials)
    return Costs(
        full_epoch=full.per_epoch("train_s"),
        subset_epoch=subset.per_epoch("train_s"),
        eval=(subset.per_epoch("eval_s") * subset.epochs + full.per_epoch("eval_s") * full.epochs)
        / (subset.epochs + full.epochs),
        selection=sum(t.selection_s for t in subset.trials) / max(1, selections),
        slot_start=sum(u.starting_s for u in uses) / sum(u.slots for u in uses),
        trial_build=sum(u.building_s + u.between_trials_s for u in uses) / (len(subset.trials) + len(full.trials)),
        report=sum(u.reporting_s for u in uses) / (subset.epochs + full.epochs),
        test=full.summary.timings.final_wall_s or 0.0,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--orders", type=int, default=301)
    args = parser.parse_args()
    config = load_config(args.run_dir / "config.yaml")
    subset, full = Side.read(args.run_dir), Side.read(args.run_dir / "baseline")
    costs = measured_costs(subset, full, config.selection.every)
    slots = subset.summary.slot_use.slots
    final_epochs = config.final.epochs or config.training.epochs
    today = Levers("today", config.final.top_k)
    run_order = [t.epochs for t in sorted(subset.trials, key=lambda t: t.index)]
    asha = [project(config, costs, slots, today, final_epochs, order)
            for order in start_orders(trial_epochs(config), "random", args.orders)]
    own = project(config, costs, slots, today, final_epochs, run_order)
    model = summarise(asha)
    finalist_epoch = [f.wall_s / f.epochs for f in subset.summary.finalists if f.epochs]
    print(f"{args.run_dir.name}: {slots} slot(s); costs {costs}")
    print(f"finalists' own epoch {', '.join(f'{s:.2f}' for s in finalist_epoch)} s against the mean full "
          f"epoch with validation and report {costs.full_epoch + costs.eval + costs.report:.2f} s")
    print(f"trials' epochs in the run {run_order} against the model's {trial_epochs(config)}\n")
    measured = _measured(subset.summary, full.summary)
    rows = [("subset search", own.subset_search.wall_s, model.subset_search_s),
            ("finalists", own.finalists.wall_s, model.finalists_s),
            ("full-data search", own.full_search.wall_s, model.full.wall_s - costs.test),
            ("subset side (search + finalists)", own.subset.wall_s, model.subset.wall_s),
            ("full side (search + test)", own.full.wall_s, model.full.wall_s),
            ("end-to-end speedup (phases)", own.speedup, model.speedup)]
    print("| phase | measured | projected, the run's trial epochs | off | projected, ASHA model (median) | off |")
    print("|---|---|---|---|---|---|")
    for (name, mine, theirs), real in zip(rows, measured):
        print(f"| {name} | {real:.2f} | {mine:.2f} | {mine / real - 1:+.0%} | {theirs:.2f} | {theirs / real - 1:+.0%} |")


def _measured(subset: RunSummary, full: RunSummary) -> list[float]:
    search, final = subset.timings.tuning_wall_s, subset.timings.final_wall_s
    full_search, test = full.timings.tuning_wall_s, full.timings.final_wall_s or 0.0
    return [search, final, full_search, search + final, full_search + test, (full_search + test) / (search + final)]


if __name__ == "__main__":
    main()
