"""decision_epochs names exactly the epochs at which the scheduler build_scheduler makes reads a trial's metric:
checked against Ray's own ASHA, fed one result per epoch as a trial reports them."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from cords_tune.config import parse_config
from cords_tune.tuning.algorithms import build_scheduler, decision_epochs, rung_schedule
from cords_tune.tuning.ray_compat import asha_rungs


def _config(epochs: int, grace: int = 1, factor: float = 3.0, enabled: bool = True, **selection):
    return parse_config({
        "training": {"epochs": epochs},
        "selection": {"strategy": "random", **selection},
        "search": {"asha": {"enabled": enabled, "grace_period": grace, "reduction_factor": factor}},
    })


def _epochs_ray_records(config) -> set[int]:
    """The epochs at which Ray's ASHA records a trial's metric at a rung (what it compares trials on)."""
    scheduler = build_scheduler(config)
    scheduler.set_search_properties("val_accuracy", "max")
    trial = SimpleNamespace(trial_id="t0")
    scheduler.on_trial_add(None, trial)
    recorded, epochs = 0, set()
    for epoch in range(1, config.training.epochs + 1):
        scheduler.on_trial_result(None, trial, {"training_iteration": epoch, "val_accuracy": 0.5})
        now = sum(count for _, count in asha_rungs(scheduler))
        if now > recorded:
            epochs.add(epoch)
        recorded = now
    return epochs


@pytest.mark.parametrize(("epochs", "grace", "factor"), [
    (6, 2, 3.0), (100, 10, 3.0), (20, 1, 2.0), (30, 5, 3.0), (7, 2, 2.5), (10, 1, 1.1), (3, 3, 3.0), (27, 1, 3.0),
])
def test_asha_decides_at_its_rungs_and_the_last_epoch(epochs, grace, factor):
    config = _config(epochs, grace, factor)
    assert decision_epochs(config) == _epochs_ray_records(config) | {epochs}


@pytest.mark.parametrize(("epochs", "grace", "factor"), [(6, 2, 3.0), (100, 10, 3.0), (7, 2, 2.5), (10, 1, 1.1)])
def test_the_scheduler_is_built_at_the_rungs_of_the_schedule_decision_epochs_reads(epochs, grace, factor):
    config = _config(epochs, grace, factor)
    assert [milestone for milestone, _ in asha_rungs(build_scheduler(config))] == list(rung_schedule(config).milestones)
    assert rung_schedule(config).decision_epochs() == decision_epochs(config)


def test_the_examples():
    assert decision_epochs(_config(6, 2)) == {2, 6}
    assert decision_epochs(_config(100, 10)) == {10, 30, 90, 100}  # experiments/cifar10.yaml


def test_fifo_decides_at_the_last_epoch_only():
    assert decision_epochs(_config(12, enabled=False)) == {12}
    assert rung_schedule(_config(12, enabled=False)) is None


def test_the_rungs_move_past_a_searched_warm_start():
    config = parse_config({
        "training": {"epochs": 20},
        "selection": {"strategy": "random"},
        "search": {"asha": {"grace_period": 2, "reduction_factor": 3},
                   "space": {"selection.warm_start_epochs": {"int": [0, 3]}}},
    })
    assert decision_epochs(config) == _epochs_ray_records(config) | {20} == {4, 12, 20}
