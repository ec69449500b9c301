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
from dataclasses import dataclass, replace
from pathlib import Path

from project_run import Costs, Levers, Plan, Projection, plans, project, summarise, trial_epochs

from cords_tune.config import ExperimentConfig, load_config
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


def measured_costs(side: Side, full: Side, every: int) -> Costs:
    """One side's own means (per epoch over its trials, slot start per slot, build per trial), the full-data
    epoch from the baseline's trials: the machine's load may differ between the phases."""
    use = side.summary.slot_use  # seconds summed over slots
    selections = sum(len(range(every, t.epochs, every)) for t in side.trials)
    return Costs(
        full_epoch=full.per_epoch("train_s"),
        subset_epoch=side.per_epoch("train_s"),
        eval=side.per_epoch("eval_s"),
        selection=sum(t.selection_s for t in side.trials) / max(1, selections),
        slot_start=use.starting_s / use.slots,
        trial_build=(use.building_s + use.between_trials_s) / len(side.trials),
        report=use.reporting_s / side.epochs,
        test=full.summary.timings.final_wall_s or 0.0,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--orders", type=int, default=301)
    args = parser.parse_args()
    config = load_config(args.run_dir / "config.yaml")
    subset, full = Side.read(args.run_dir), Side.read(args.run_dir / "baseline")
    every = config.selection.every
    costs, full_costs = measured_costs(subset, full, every), measured_costs(full, full, every)
    slots = subset.summary.slot_use.slots
    final_epochs = config.final.epochs or config.training.epochs
    today = Levers("today", config.final.top_k)
    run_order = [t.epochs for t in sorted(subset.trials, key=lambda t: t.index)]
    full_order = [t.epochs for t in sorted(full.trials, key=lambda t: t.index)]
    models = [summarise([_both(config, costs, full_costs, slots, today, final_epochs, plan, plan)
                         for plan in plans(trial_epochs(config), order, args.orders)]) for order in ("asha", "random")]
    own = _both(config, costs, full_costs, slots, today, final_epochs, Plan(tuple(run_order)), Plan(tuple(full_order)))
    finalist_epoch = [f.wall_s / f.epochs for f in subset.summary.finalists if f.epochs]
    print(f"{args.run_dir.name}: {slots} slot(s)\nsubset side's costs {costs}\nfull side's costs {full_costs}")
    print(f"finalists' own epoch {', '.join(f'{s:.2f}' for s in finalist_epoch)} s against the mean full "
          f"epoch with validation and report {costs.full_epoch + costs.eval + costs.report:.2f} s")
    print(f"trials' epochs in the run {run_order} (subsets), {full_order} (full data) against the model's "
          f"{trial_epochs(config)}\n")
    measured = _measured(subset.summary, full.summary)
    rows = [("subset search", own.subset_search.wall_s, *(m.subset_search_s for m in models)),
            ("finalists", own.finalists.wall_s, *(m.finalists_s for m in models)),
            ("full-data search", own.full_search.wall_s, *(m.full.wall_s - full_costs.test for m in models)),
            ("subset side (search + finalists)", own.subset.wall_s, *(m.subset.wall_s for m in models)),
            ("full side (search + test)", own.full.wall_s, *(m.full.wall_s for m in models)),
            ("end-to-end speedup (phases)", own.speedup, *(m.speedup for m in models))]
    print("| phase | measured | projected: the run's trials' epochs | ASHA simulated (median) "
          "| synchronous ASHA model, shuffled (median) |")
    print("|---|---|---|---|---|")
    for (name, *projected), real in zip(rows, measured):
        cells = " | ".join(f"{value:.2f} ({value / real - 1:+.0%})" for value in projected)
        print(f"| {name} | {real:.2f} | {cells} |")


def _both(config: ExperimentConfig, costs: Costs, full_costs: Costs, slots: int, levers: Levers, final_epochs: int,
          subset_plan: Plan, full_plan: Plan) -> Projection:
    """The subset side projected with its costs and trials, the full side with its own."""
    subset = project(config, costs, slots, levers, final_epochs, subset_plan)
    full = project(config, full_costs, slots, levers, final_epochs, full_plan)
    return replace(subset, full_search=full.full_search, full=full.full)


def _measured(subset: RunSummary, full: RunSummary) -> list[float]:
    search, final = subset.timings.tuning_wall_s, subset.timings.final_wall_s
    full_search, test = full.timings.tuning_wall_s, full.timings.final_wall_s or 0.0
    return [search, final, full_search, search + final, full_search + test, (full_search + test) / (search + final)]


if __name__ == "__main__":
    main()
