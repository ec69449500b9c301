"""benchmarks/project_run.py on cases small enough to check by hand: the list scheduler, ASHA's trial epochs, the
race's rungs and the finalists' phase with each lever."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from cords_tune.config import load_config

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("project_run", ROOT / "benchmarks" / "project_run.py")
sys.path.insert(0, str(ROOT / "benchmarks"))  # project_run imports asha_sim as a script does
project_run = sys.modules["project_run"] = importlib.util.module_from_spec(_spec)  # dataclasses look it up
_spec.loader.exec_module(project_run)
asha_sim = sys.modules["asha_sim"]

# One full-data epoch costs 1 s all told (training, validation, report), a finalist's start 2 s (1 s without
# the slot's start), so the finalists' seconds are epochs plus starts.
COSTS = project_run.Costs(full_epoch=0.9, subset_epoch=0.1, eval=0.1, selection=0.5, slot_start=1.0,
                          trial_build=1.0, report=0.0)


@pytest.fixture(scope="module")
def quickstart():
    return load_config(ROOT / "experiments" / "mnist1d.yaml")


def search_ending_at(end: float, slots: int) -> project_run.Schedule:
    """A search of two trials, the longer (so the better) ending at ``end``, the other at 1 s."""
    return project_run.Schedule(
        (project_run.Placed(0, 0.0, end), project_run.Placed(1 % slots, 0.0, 1.0)), (end, 1.0)[:slots])


def test_list_schedule_puts_each_job_on_the_first_free_slot() -> None:
    schedule = project_run.list_schedule([3.0, 2.0, 2.0], [0.0, 0.0])
    assert [(p.slot, p.start, p.end) for p in schedule.placed] == [(0, 0, 3), (1, 0, 2), (1, 2, 4)]
    assert (schedule.end, schedule.busy_s, schedule.slot_free) == (4.0, 7.0, (3.0, 4.0))
    late = project_run.list_schedule([3.0, 2.0, 2.0], [1.0, 1.0], ready=[0.0, 0.0, 5.0])
    assert late.end == 7.0  # the third job waits for its ready time, not only for a slot


def test_trial_epochs_follow_asha_rungs(quickstart) -> None:
    # 12 trials, rungs at 5 and 15 of 30 epochs, a third passing each: 8 stop at 5, 3 at 15, 1 runs 30.
    assert project_run.asha_rungs(quickstart) == [5, 15]
    assert project_run.trial_epochs(quickstart) == [5] * 8 + [15] * 3 + [30]


def test_search_pays_each_slot_start_once_and_counts_its_tail(quickstart) -> None:
    epochs = [5, 5, 30]
    search = project_run.search_schedule(quickstart, COSTS, 2, epochs, subset=False)
    trial = [project_run.trial_seconds(e, quickstart, COSTS, subset=False) for e in epochs]
    assert trial == [6.0, 6.0, 31.0]  # build + epochs
    assert search.end == 1.0 + 6.0 + 31.0  # the long trial starts once a short one is done
    assert project_run.search_device_s(search, COSTS) == 2 * 1.0 + sum(trial)


def test_race_rungs_leave_one_candidate() -> None:
    assert project_run.race_rungs(2, 30, 3) == [10, 30]
    assert project_run.race_rungs(9, 90, 3) == [10, 30, 90]
    assert project_run.race_rungs(1, 30, 3) == [30]


def test_race_of_two_over_thirty_epochs_costs_forty() -> None:
    epochs = [30, 30]
    today = project_run.finalists(search_ending_at(100.0, 1), epochs, 1, COSTS, project_run.Levers("t", 2), 30)
    race = project_run.finalists(search_ending_at(100.0, 1), epochs, 1, COSTS,
                                 project_run.Levers("r", 2, race=True), 30)
    assert (today.end, today.device_s) == (100.0 + 2 * (2 + 30), 2 * (2 + 30))
    assert (race.end, race.device_s) == (100.0 + 2 * (2 + 10) + 20, 2 * (2 + 10) + 20)
    assert race.rung_ends == (124.0, 144.0)


def test_reuse_and_data_parallel_winner_shorten_the_race() -> None:
    epochs, search = [30, 30], search_ending_at(100.0, 2)
    warm = project_run.Levers("w", 2, race=True, warm_workers=True, warm_epochs=9)
    reuse = project_run.finalists(search, epochs, 2, COSTS, warm, 30)
    assert (reuse.end, reuse.device_s) == (100.0 + 1 + 3 + 6, 2 * (1 + 3) + 6)  # rungs at 3 and 9
    spread = project_run.Levers("d", 2, race=True, warm_workers=True, dp_workers=4, dp_efficiency=0.5,
                                dp_start=2.0)
    parallel = project_run.finalists(search, epochs, 2, COSTS, spread, 30)
    # after the rung at 10 the winner's 20 epochs run on the 2 slots at half efficiency: 20 s, plus its start
    assert (parallel.end, parallel.device_s) == (100.0 + 11 + 22, 2 * 11 + 2 * 22)


def test_overlap_starts_a_safe_candidate_in_the_search_tail() -> None:
    # Three trials on two slots: slot 0 runs 0-20 then 20-25, slot 1 runs 0-60; the longest trial is ranked first.
    # For a top 2 it is safe once one trial at most is left to end (at 25); the second waits for the search's end.
    search = project_run.list_schedule([20.0, 60.0, 5.0], [0.0, 0.0])
    epochs = [20, 10, 5]
    assert project_run.candidate_ready(search, epochs, 2, overlap=True) == [25.0, 60.0]
    assert project_run.candidate_ready(search, epochs, 2, overlap=False) == [60.0, 60.0]
    # Top 3 on 2 slots, 30 epochs each (31 s with the start): the first runs 25-56 in the tail, so the three
    # end at 91 rather than 60 + 2 * 31.
    plain = project_run.finalists(search, epochs, 2, COSTS, project_run.Levers("p", 3, warm_workers=True), 30)
    early = project_run.finalists(search, epochs, 2, COSTS,
                                  project_run.Levers("o", 3, warm_workers=True, overlap=True), 30)
    assert (plain.end, early.end) == (122.0, 91.0)
    assert plain.device_s == early.device_s == 3 * 31


def test_project_on_one_slot_adds_the_sides_up(quickstart) -> None:
    epochs = project_run.trial_epochs(quickstart)
    row = project_run.project(quickstart, COSTS, 1, project_run.Levers("t", 2), 30, project_run.Plan(tuple(epochs)))
    assert row.subset.wall_s == pytest.approx(row.subset_search.wall_s + row.finalists.wall_s)
    assert row.subset.device_s == pytest.approx(row.subset.wall_s)  # one slot, never idle
    assert row.full.wall_s == pytest.approx(1.0 + sum(1.0 + e for e in epochs))
    assert row.speedup == pytest.approx(row.full.wall_s / row.subset.wall_s)


def test_asha_cutoff_interpolates_like_rays() -> None:
    assert asha_sim.cutoff([], 3) is None
    assert asha_sim.cutoff([0.4], 3) == 0.4
    assert asha_sim.cutoff([0.0, 0.3, 0.6, 0.9], 3) == pytest.approx(0.6)  # the 2/3 percentile of four


def test_asynchronous_asha_lets_the_first_trials_at_a_rung_go_on() -> None:
    # One slot, epochs of 1 s, a rung at 1 of 3 epochs, reduction factor 2. The first trial is alone at the
    # rung, so it trains 3 epochs; the second (worse) stops at 1; the third (better than the median) goes on.
    trials = asha_sim.simulate_asha(3, [1], 3, 2, 1, 0.0, lambda n: float(n), qualities=[0.1, 0.0, 0.5])
    assert [(t.start, t.end, t.epochs) for t in trials] == [(0, 3, 3), (3, 4, 1), (4, 7, 3)]
