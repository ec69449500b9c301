"""Project a whole run, finalists included, on 1..N slots: wall-clock and device-seconds of both sides.

The subset side is the search on subsets, then the finalists on the full data, then the winner's test; the
full-data side is the same search on the full data (its best trial is already trained), then its test. The trials
are list-scheduled (each to the first free slot; a slot pays its start once, when the search begins), so the
critical path and the idle tail are counted. Which trials train how long: by default ASHA simulated as Ray runs
it (``asha_sim``), the median over seeds; or the synchronous model (``trial_epochs``) in shuffled start orders.
Device-seconds are slot-seconds held: each used slot's start plus the work it ran (a slot is given back once
nothing is left for it).

The finalists are modelled for each lever of ``final:`` (``Levers``): today's top_k trained from scratch in
parallel; a race (successive halving over the candidates, rungs at ``final_epochs / eta**i``, the losers stop
at their rung, the winner trains on); warm start (the candidates train ``warm_epochs`` full-data epochs from
their subset trial's model); a data-parallel winner (its epochs after the last rung over the free slots, at
``dp_efficiency``); overlap (a candidate whose trial can no longer leave the top-k starts in the search's idle
tail); warm workers (a finalist starts on a search worker: no slot start). Every cost is a flag, in seconds.

    python benchmarks/project_run.py experiments/cifar10.yaml --full-epoch 3.80 --subset-epoch 0.34 \\
        --eval 0.026 --selection 0.245 --slot-start 14.5 --trial-build 0.4 --report 0 --slots 1 2 4 8 16
"""

from __future__ import annotations

import argparse
import heapq
import math
import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace

from asha_sim import simulate_asha

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
    test: float = 0.0  # the chosen model's test pass, once per side
    driver: float = 0.0  # once per side: Ray start, data load and put, results written


@dataclass(frozen=True)
class Levers:
    """How the finalists are trained; each field is one option of ``final:``."""

    label: str
    candidates: int  # final.top_k
    race: bool = False  # else each candidate trains every epoch
    reduction_factor: int = 3
    warm_epochs: int | None = None  # full-data epochs from the subset trial's model; None: final_epochs from scratch
    dp_workers: int = 1  # the winner's data-parallel workers once alone, at most the slots
    dp_efficiency: float = 0.9  # the data-parallel speedup over the workers' count
    dp_start: float = 0.0  # once per data-parallel use: the worker group's start
    overlap: bool = False
    warm_workers: bool = False  # a finalist starts on a search worker (trial build only), else a new task


@dataclass(frozen=True)
class Placed:
    slot: int
    start: float
    end: float


@dataclass(frozen=True)
class Schedule:
    """Jobs placed on slots in the order given; ``slot_free`` is when each slot is next free."""

    placed: tuple[Placed, ...]
    slot_free: tuple[float, ...]

    @property
    def end(self) -> float:
        return max((p.end for p in self.placed), default=0.0)

    @property
    def busy_s(self) -> float:
        return sum(p.end - p.start for p in self.placed)


def list_schedule(durations: Sequence[float], slot_free: Sequence[float], ready: Sequence[float] = ()) -> Schedule:
    """Each job in order to the slot free first (the lowest slot on a tie), started once it is ready too."""
    heap = [(free, slot) for slot, free in enumerate(slot_free)]
    heapq.heapify(heap)
    placed = []
    for index, duration in enumerate(durations):
        free, slot = heapq.heappop(heap)
        start = max(free, ready[index] if index < len(ready) else 0.0)
        placed.append(Placed(slot, start, start + duration))
        heapq.heappush(heap, (start + duration, slot))
    slots = dict((slot, free) for free, slot in heap)
    return Schedule(tuple(placed), tuple(slots[slot] for slot in range(len(slot_free))))


def asha_rungs(config: ExperimentConfig) -> list[int]:
    asha, total = config.search.asha, config.training.epochs
    count = int(math.log(total / asha.grace_period) / math.log(asha.reduction_factor) + 1)
    return sorted({int(asha.grace_period * asha.reduction_factor**k) for k in range(count)} - {total})


def trial_epochs(config: ExperimentConfig) -> list[int]:
    """How many epochs each trial trains under synchronous successive halving (a close model of ASHA), shortest
    first: the order they end in, so the longest trial starts last (the critical path a late winner gives)."""
    asha = config.search.asha
    epochs, alive = [], config.search.num_trials
    for rung in asha_rungs(config) if asha.enabled else []:
        survivors = max(1, int(alive // asha.reduction_factor)) if alive > 1 else alive
        epochs += [rung] * (alive - survivors)
        alive = survivors
    return epochs + [config.training.epochs] * alive


def trial_seconds(epochs: int, config: ExperimentConfig, costs: Costs, *, subset: bool) -> float:
    decisions = set(asha_rungs(config)) | {epochs}
    evals = epochs if costs.eval_every_epoch else len([e for e in range(1, epochs + 1) if e in decisions])
    seconds = costs.trial_build + epochs * costs.report + evals * costs.eval
    if subset:
        every = config.selection.every
        return seconds + epochs * costs.subset_epoch + len(range(every, epochs, every)) * costs.selection
    return seconds + epochs * costs.full_epoch


def search_schedule(config: ExperimentConfig, costs: Costs, slots: int, epochs: Sequence[int], *,
                    subset: bool) -> Schedule:
    used = min(slots, len(epochs))
    durations = [trial_seconds(e, config, costs, subset=subset) for e in epochs]
    return list_schedule(durations, [costs.slot_start] * used)


@dataclass(frozen=True)
class Plan:
    """Which trials train how long: ``epochs`` in start order (the ASHA model's, shuffled, or a run's), or
    ``None`` for asynchronous ASHA simulated with trial qualities drawn from ``seed`` (``asha_sim``)."""

    epochs: tuple[int, ...] | None = None
    seed: int = 0


def searched(config: ExperimentConfig, costs: Costs, slots: int, plan: Plan, *,
             subset: bool) -> tuple[Schedule, list[int]]:
    """The search's schedule and each trial's epochs, in start order."""
    if plan.epochs is not None:
        return search_schedule(config, costs, slots, plan.epochs, subset=subset), list(plan.epochs)
    asha = config.search.asha
    trials = simulate_asha(config.search.num_trials, asha_rungs(config) if asha.enabled else [],
                           config.training.epochs, asha.reduction_factor, slots, costs.slot_start,
                           lambda n: trial_seconds(n, config, costs, subset=subset), plan.seed)
    free = {t.slot: t.end for t in trials}
    placed = tuple(Placed(t.slot, t.start, t.end) for t in trials)
    return Schedule(placed, tuple(free[slot] for slot in sorted(free))), [t.epochs for t in trials]


def search_device_s(search: Schedule, costs: Costs) -> float:
    return len(search.slot_free) * costs.slot_start + search.busy_s


def race_rungs(candidates: int, epochs: int, reduction_factor: int) -> list[int]:
    """Full-data epochs at which the race compares its candidates, the last being ``epochs``: as many rungs as
    it takes to leave one (keeping ``alive // reduction_factor``, at least one), at ``epochs / eta**i``."""
    count, alive = 0, candidates
    while alive > 1:
        alive, count = max(1, alive // reduction_factor), count + 1
    rungs = [max(1, epochs // reduction_factor**i) for i in range(count, 0, -1)]
    return sorted(set(rungs) - {epochs}) + [epochs]


def candidate_ready(search: Schedule, epochs: Sequence[int], candidates: int, overlap: bool) -> list[float]:
    """When each candidate (the longest trials, the earlier end ranked first) may start: at the search's end, or with
    overlap once its trial has ended and too few trials still run to push it out of the top-k."""
    ends = sorted(p.end for p in search.placed)
    ranked = sorted(range(len(epochs)), key=lambda i: (-epochs[i], search.placed[i].end))[:candidates]
    if not overlap:
        return [search.end] * len(ranked)
    return [max(search.placed[i].end, ends[len(ends) - candidates + rank]) for rank, i in enumerate(ranked)]


@dataclass(frozen=True)
class Finalists:
    end: float  # wall-clock when the winner's training ends
    device_s: float
    rung_ends: tuple[float, ...]  # when each rung's comparison can be made, the last being the winner's end


def epoch_seconds(costs: Costs) -> float:
    return costs.full_epoch + costs.eval + costs.report


def finalists(search: Schedule, epochs: Sequence[int], slots: int, costs: Costs, levers: Levers,
              final_epochs: int) -> Finalists:
    """The finalists' phase as segments between rungs, each rung list-scheduled after the previous one's last
    segment; a candidate's first segment pays its start, the winner (the subset search's best) goes on in place,
    and once alone its epochs may spread over ``dp_workers`` slots."""
    total = levers.warm_epochs or final_epochs
    k = min(levers.candidates, len(epochs))
    rungs = race_rungs(k, total, levers.reduction_factor) if levers.race else [total]
    start = costs.trial_build + (0.0 if levers.warm_workers else costs.slot_start)
    ready = candidate_ready(search, epochs, k, levers.overlap)
    free = list(search.slot_free if levers.overlap else [search.end] * slots)
    free += [search.end] * (slots - len(free))
    alive, done, device, rung_ends = k, 0, 0.0, []
    for index, rung in enumerate(rungs):
        first = start if index == 0 else 0.0
        if alive == 1 and levers.dp_workers > 1 and slots > 1:
            at = max([*ready, search.end]) if index == 0 else rung_ends[-1]
            workers = min(levers.dp_workers, slots)
            seconds = first + levers.dp_start + (total - done) * epoch_seconds(costs) / (workers * levers.dp_efficiency)
            return Finalists(at + seconds, device + workers * seconds, (*rung_ends, at + seconds))
        phase = list_schedule([first + (rung - done) * epoch_seconds(costs)] * alive, free, ready if index == 0 else ())
        device += phase.busy_s
        rung_ends.append(phase.end)
        free, ready = [phase.end] * slots, ()
        done = rung
        alive = max(1, alive // levers.reduction_factor) if levers.race else alive
    return Finalists(rung_ends[-1], device, tuple(rung_ends))


@dataclass(frozen=True)
class Side:
    wall_s: float
    device_s: float


@dataclass(frozen=True)
class Projection:
    slots: int
    levers: Levers
    subset_search: Side
    finalists: Side
    subset: Side  # search, finalists, test, driver
    full_search: Side
    full: Side  # search, test, driver

    @property
    def speedup(self) -> float:
        return self.full.wall_s / self.subset.wall_s

    @property
    def device_saved(self) -> float:
        return self.full.device_s / self.subset.device_s

    @property
    def finalists_share(self) -> float:
        """The finalists' share of the subset side's device-seconds."""
        return self.finalists.device_s / self.subset.device_s


def project(config: ExperimentConfig, costs: Costs, slots: int, levers: Levers, final_epochs: int,
            plan: Plan) -> Projection:
    subset, epochs = searched(config, costs, slots, plan, subset=True)
    full, _ = searched(config, costs, slots, plan, subset=False)
    final = finalists(subset, epochs, slots, costs, levers, final_epochs)
    after = costs.test + costs.driver
    subset_search = Side(subset.end, search_device_s(subset, costs))
    full_search = Side(full.end, search_device_s(full, costs))
    return Projection(
        slots, levers, subset_search, Side(final.end - subset.end, final.device_s),
        Side(final.end + after, subset_search.device_s + final.device_s + costs.test),
        full_search, Side(full.end + after, full_search.device_s + costs.test),
    )


def plans(epochs: Sequence[int], order: str, count: int) -> list[Plan]:
    """``count`` simulations of asynchronous ASHA (``asha``), or the ASHA model's ``epochs`` in ``count`` seeded
    shuffles (``random``: which trial turns out best, so trains longest, is not known when it starts), as
    given, or longest first."""
    if order == "asha":
        return [Plan(seed=seed) for seed in range(count)]
    if order == "given":
        return [Plan(tuple(epochs))]
    if order == "longest-first":
        return [Plan(tuple(sorted(epochs, reverse=True)))]
    rng = random.Random(0)
    return [Plan(tuple(rng.sample(list(epochs), len(epochs)))) for _ in range(count)]


@dataclass(frozen=True)
class Row:
    """The median of each figure over the start orders, and the end-to-end speedup's 10th-90th percentiles."""

    label: str
    subset_search_s: float
    finalists_s: float
    subset: Side
    full: Side
    speedup: float
    speedup_low: float
    speedup_high: float
    device_saved: float
    finalists_share: float


def summarise(projections: Sequence[Projection]) -> Row:
    def median(values: Sequence[float]) -> float:
        return statistics.median(values)

    speedups = sorted(p.speedup for p in projections)
    low, high = (speedups[min(len(speedups) - 1, int(q * len(speedups)))] for q in (0.1, 0.9))
    return Row(
        projections[0].levers.label,
        median([p.subset_search.wall_s for p in projections]), median([p.finalists.wall_s for p in projections]),
        Side(median([p.subset.wall_s for p in projections]), median([p.subset.device_s for p in projections])),
        Side(median([p.full.wall_s for p in projections]), median([p.full.device_s for p in projections])),
        median(speedups), low, high, median([p.device_saved for p in projections]),
        median([p.finalists_share for p in projections]),
    )


def lever_rows(top_k: int, race_candidates: int, reduction_factor: int, warm_epochs: int, dp_workers: int,
               dp_efficiency: float, dp_start: float) -> list[Levers]:
    """Today's finalists, then the race with each lever added: the combinations worth quoting."""
    race = Levers(f"race of {race_candidates}", race_candidates, race=True, reduction_factor=reduction_factor)
    warm = replace(race, label=f"{race.label}, warm workers", warm_workers=True)
    reuse = replace(warm, label=f"{warm.label}, reuse ({warm_epochs} ep)", warm_epochs=warm_epochs)
    dp = dict(dp_workers=dp_workers, dp_efficiency=dp_efficiency, dp_start=dp_start)
    return [
        Levers(f"today: top {top_k} from scratch", top_k),
        Levers(f"top {top_k} from scratch, warm workers", top_k, warm_workers=True),
        race, warm, reuse,
        replace(warm, label=f"{warm.label}, data-parallel winner", **dp),
        replace(reuse, label=f"{reuse.label}, data-parallel winner", **dp),
        replace(reuse, label=f"{reuse.label}, data-parallel winner, overlap", overlap=True, **dp),
    ]


def table(rows: Sequence[Row]) -> str:
    lines = ["| finalists | subset search s | finalists s | subset side s / device-s | full side s / device-s "
             "| end to end (p10-p90) | device-s saved | finalists' share of subset device-s |", "|---" * 8 + "|"]
    for row in rows:
        lines.append(
            f"| {row.label} | {row.subset_search_s:.0f} | {row.finalists_s:.0f} "
            f"| {row.subset.wall_s:.0f} / {row.subset.device_s:.0f} | {row.full.wall_s:.0f} / {row.full.device_s:.0f} "
            f"| {row.speedup:.2f}x ({row.speedup_low:.2f}-{row.speedup_high:.2f}) | {row.device_saved:.2f}x "
            f"| {row.finalists_share:.0%} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiment")
    for name in ("full-epoch", "subset-epoch", "eval", "selection", "slot-start", "trial-build", "report"):
        parser.add_argument(f"--{name}", type=float, required=True)
    parser.add_argument("--test", type=float, default=0.0, help="the chosen model's test pass (each side)")
    parser.add_argument("--driver", type=float, default=0.0, help="each side's fixed cost: Ray start, data")
    parser.add_argument("--eval-at-decisions", action="store_true")
    parser.add_argument("--slots", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--trial-epochs", type=int, nargs="+", help="each trial's epochs in start order "
                        "(e.g. a real run's), instead of the ASHA model")
    parser.add_argument("--order", choices=("asha", "random", "given", "longest-first"), default="asha",
                        help="which trials train how long: asynchronous ASHA simulated (--orders seeds, the "
                        "default), the synchronous model's epochs in --orders shuffles, as given (shortest first, "
                        "or --trial-epochs), or longest first")
    parser.add_argument("--orders", type=int, default=301)
    parser.add_argument("--final-epochs", type=int, help="default: final.epochs, else training.epochs")
    parser.add_argument("--top-k", type=int, help="today's finalists; default: final.top_k")
    parser.add_argument("--race-candidates", type=int, help="the race's candidates; default: the top-k")
    parser.add_argument("--reduction-factor", type=int, help="the race's; default: final.reduction_factor")
    parser.add_argument("--warm-epochs", type=int, help="full-data epochs with reuse; default: a third")
    parser.add_argument("--dp-workers", type=int, help="the winner's workers once alone; default: every slot")
    parser.add_argument("--dp-efficiency", type=float, default=0.9)
    parser.add_argument("--dp-start", type=float, help="a data-parallel group's start; default: --slot-start")
    args = parser.parse_args()
    config = load_config(args.experiment, args.overrides)
    costs = Costs(args.full_epoch, args.subset_epoch, args.eval, args.selection, args.slot_start, args.trial_build,
                  args.report, not args.eval_at_decisions, args.test, args.driver)
    final_epochs = args.final_epochs or config.final.epochs or config.training.epochs
    top_k = args.top_k or config.final.top_k
    epochs = args.trial_epochs or trial_epochs(config)
    order = "given" if args.trial_epochs and args.order == "asha" else args.order
    orders = plans(epochs, order, args.orders)
    print(f"{config.name}: {len(epochs)} trials, {sum(epochs)} epochs "
          f"{'as given' if args.trial_epochs else 'in the synchronous model'} "
          f"({config.selection.fraction:.0%} subsets, "
          f"reselect every {config.selection.every}); finalists {final_epochs} full-data epochs each; start order: "
          f"{order}{f' (median of {len(orders)})' if len(orders) > 1 else ''}")
    for slots in args.slots:
        levers = lever_rows(
            top_k, args.race_candidates or top_k, args.reduction_factor or config.final.reduction_factor,
            args.warm_epochs or max(1, final_epochs // 3), args.dp_workers or slots, args.dp_efficiency,
            args.slot_start if args.dp_start is None else args.dp_start)
        print(f"\n{slots} slot(s):\n")
        print(table([summarise([project(config, costs, slots, lever, final_epochs, order) for order in orders])
                     for lever in levers]))


if __name__ == "__main__":
    main()
