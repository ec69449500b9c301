"""The slot-use timeline: trials' wall-clock marks -> where the search's slot-seconds went; how many slots."""

from __future__ import annotations

import os

import pytest

from cords_tune.config import parse_config
from cords_tune.tuning.resources import trial_slots
from cords_tune.tuning.search import slots_started_together
from cords_tune.results.slot_use import SlotUse, TrialTimeline, over_sessions, process_started_at, slot_use


def _history(worker: str, started: float, ready: float, epochs: list[tuple[float, float]]) -> dict[str, list]:
    """Per-epoch result columns as a trial reports them: (reported_at, work seconds split into three)."""
    n = len(epochs)
    return {
        "worker": [worker] * n, "trial_started_at": [started] * n, "trainer_ready_at": [ready] * n,
        "reported_at": [at for at, _ in epochs], "selection_s": [w / 4 for _, w in epochs],
        "train_s": [w / 2 for _, w in epochs], "eval_s": [w / 4 for _, w in epochs],
    }


def test_a_timeline_is_read_from_the_epochs_of_the_process_the_trial_ended_in():
    history = _history("n:1", 10.0, 11.0, [(12.0, 0.8), (13.0, 0.8)])
    restored = _history("n:2", 20.0, 20.5, [(21.0, 0.4)])  # the same trial, continued in another worker
    merged = {key: history[key] + restored[key] for key in history}
    timeline = TrialTimeline.from_history(merged)
    assert timeline.worker == "n:2" and timeline.started_at == 20.0 and timeline.ready_at == 20.5
    assert timeline.reported_at == (21.0,) and timeline.work_s == pytest.approx((0.4,))
    assert TrialTimeline.from_history({"epoch": [1, 2]}) is None  # files from before the marks existed


def test_slot_seconds_are_split_into_work_starting_building_reporting_gaps_and_idle():
    # Search from t=0 to t=10 on two workers; a starts its first trial at 2, b at 3.
    a1 = TrialTimeline("a", 2.0, 3.0, (4.0, 5.0), (0.9, 0.9))  # 0.1 s reporting per epoch
    a2 = TrialTimeline("a", 5.5, 5.5, (7.0,), (1.0,))  # 0.5 s after a1: between trials
    b1 = TrialTimeline("b", 3.0, 3.5, (5.5, 9.0), (2.0, 3.0))  # 0.5 s reporting
    used = slot_use([a2, b1, a1], started_at=0.0, ended_at=10.0)
    assert used.slots == 2 and used.slot_s == pytest.approx(20.0)
    assert used.work_s == pytest.approx(7.8)
    assert used.starting_s == pytest.approx(5.0)
    assert used.building_s == pytest.approx(1.5)
    assert used.reporting_s == pytest.approx(0.2 + 0.5 + 0.5)
    assert used.between_trials_s == pytest.approx(0.5)
    assert used.idle_s == pytest.approx(3.0 + 1.0)  # a idle after 7, b after 9
    parts = used.work_s + used.starting_s + used.building_s + used.reporting_s + used.between_trials_s + used.idle_s
    assert parts == pytest.approx(used.slot_s)
    assert used.overhead_share == pytest.approx(1 - 7.8 / 20)
    assert SlotUse.from_dict(used.as_dict()) == used
    assert slot_use([], 0.0, 10.0) is None


def test_a_search_over_two_sessions_adds_their_seconds_and_keeps_the_most_slots():
    interrupted = SlotUse(2, 20.0, 8.0, 5.0, 1.5, 1.0, 0.5, 4.0)
    resumed = SlotUse(1, 6.0, 4.0, 1.0, 0.2, 0.3, 0.0, 0.5)
    both = over_sessions(interrupted, resumed)
    assert both == SlotUse(2, 26.0, 12.0, 6.0, 1.7, 1.3, 0.5, 4.5)
    assert both.overhead_share == pytest.approx(1 - 12.0 / 26.0)
    assert over_sessions(None, resumed) == resumed and over_sessions(interrupted, None) == interrupted
    assert over_sessions(None, None) is None


def test_trials_run_one_after_another_make_one_slot():
    first = TrialTimeline("a", 0.0, 0.0, (1.0,), (1.0,))
    second = TrialTimeline("a", 1.0, 1.0, (2.0,), (1.0,))
    assert slot_use([first, second], 0.0, 2.0).slots == 1


def test_the_process_start_time_is_in_the_past():
    started = process_started_at()
    if started is None:
        pytest.skip("no /proc here")
    import time

    assert time.time() - 3600 * 24 * 365 < started <= time.time()


def _nodes(*sizes: tuple[float, float]) -> list[dict]:
    return [{"Resources": {"CPU": cpus, "GPU": gpus}} for cpus, gpus in sizes]


def test_slots_count_the_trials_every_node_fits_at_once(tiny_experiment):
    tiny_experiment["search"]["num_trials"] = 50
    config = parse_config(tiny_experiment)  # 1 CPU per trial
    assert trial_slots(config, _nodes((2, 0), (3, 0))) == 5
    assert trial_slots(config, []) == 1  # a cluster still waiting for nodes
    quarter = parse_config({**tiny_experiment, "resources": {"cpus_per_trial": 2, "gpus_per_trial": 0.25}})
    assert trial_slots(quarter, _nodes((16, 1), (4, 2))) == 4 + 2
    capped = parse_config({**tiny_experiment, "search": {**tiny_experiment["search"], "max_concurrent_trials": 3}})
    assert trial_slots(capped, _nodes((16, 0))) == 3
    few = parse_config({**tiny_experiment, "search": {**tiny_experiment["search"], "num_trials": 2}})
    assert trial_slots(few, _nodes((16, 0))) == 2


def test_tune_may_keep_a_trial_pending_per_slot_during_the_search_only(tiny_experiment, monkeypatch):
    monkeypatch.delenv("TUNE_MAX_PENDING_TRIALS_PG", raising=False)
    monkeypatch.setattr("cords_tune.tuning.search.alive_nodes", lambda: _nodes((3, 0)))
    config = parse_config(tiny_experiment)
    with slots_started_together(config):
        assert os.environ["TUNE_MAX_PENDING_TRIALS_PG"] == "3"
    assert "TUNE_MAX_PENDING_TRIALS_PG" not in os.environ
    monkeypatch.setenv("TUNE_MAX_PENDING_TRIALS_PG", "7")  # the user's own choice is kept
    with slots_started_together(config):
        assert os.environ["TUNE_MAX_PENDING_TRIALS_PG"] == "7"
    assert os.environ["TUNE_MAX_PENDING_TRIALS_PG"] == "7"
