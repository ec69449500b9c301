"""selection.rung_fractions: the subset grows once a trial passes each of ASHA's rungs, a new subset is chosen
where it grows, a fraction of 1 trains on the full data, a checkpoint continues on the same schedule, and the
config says what must hold."""

from __future__ import annotations

import io

import pytest
import torch

from cords_tune.config import parse_config
from cords_tune.datasets import load_dataset
from cords_tune.errors import ConfigError
from cords_tune.selection import budget_for
from cords_tune.training import build_trainer
from cords_tune.training.schedule import FractionSchedule
from cords_tune.tuning.algorithms import decision_epochs, fraction_schedule
from cords_tune.tuning.runner import full_data_variant

EPOCHS = 7


@pytest.fixture
def data(tmp_path):
    return load_dataset("synthetic", data_dir=tmp_path, seed=0, params={"num_samples": 600, "num_features": 8})


def _config(tiny_experiment, strategy="random", **selection):
    return parse_config({
        **tiny_experiment,
        "training": {**tiny_experiment["training"], "epochs": EPOCHS},
        "selection": {"strategy": strategy, "fraction": 0.1, "every": 3, **selection},
        "search": {**tiny_experiment["search"], "asha": {"grace_period": 2, "reduction_factor": 2}},
    })


def test_the_schedule_follows_every_rung_passed_and_the_last_value_holds():
    schedule = FractionSchedule(0.1, rungs=(2, 4, 6), fractions=(0.3, 1.0))
    assert [schedule.at(epoch) for epoch in range(8)] == [0.1, 0.1, 0.3, 0.3, 1.0, 1.0, 1.0, 1.0]
    assert [epoch for epoch in range(8) if schedule.grows_at(epoch)] == [2, 4]
    assert FractionSchedule(0.2).at(5) == 0.2 and not FractionSchedule(0.2).grows_at(5)


def test_the_rungs_are_asha_s(tiny_experiment):
    config = _config(tiny_experiment, rung_fractions=[0.3, 0.6])
    assert decision_epochs(config) == {2, 4, EPOCHS}
    assert fraction_schedule(config) == FractionSchedule(0.1, rungs=(2, 4), fractions=(0.3, 0.6))
    assert fraction_schedule(_config(tiny_experiment)) is None
    assert full_data_variant(config).selection.rung_fractions == []  # the baseline trains on everything


@pytest.mark.parametrize("strategy", ["random", "gradmatch"])
def test_the_subset_grows_at_each_rung_with_a_new_selection_then_the_full_data(tiny_experiment, data, strategy):
    config = _config(tiny_experiment, strategy, rung_fractions=[0.3, 1.0], max_cost_share=1.0)
    trainer = build_trainer(config, data, fractions=fraction_schedule(config))
    history = trainer.fit()
    n = len(trainer.train)
    sizes = [stats.subset_size for stats in history]
    # epochs 1-2 at 10%, 3-4 at 30% (a new subset at epoch 3, where every: 3 is not due; at 4 it is), then all
    assert sizes[4:] == [n] * 3
    assert [stats.reselected for stats in history] == [True, False, True, True, False, False, False]
    if strategy == "random":  # exact sizes; GradMatch picks whole batches
        assert sizes[:4] == [budget_for(0.1, n)] * 2 + [budget_for(0.3, n)] * 2
    else:
        assert max(sizes[:2]) < min(sizes[2:4]) < n
    assert history[-1].samples_seen == sum(sizes)


def test_a_checkpoint_continues_on_the_same_schedule(tiny_experiment, data):
    config = _config(tiny_experiment, rung_fractions=[0.3, 0.6])
    fractions = fraction_schedule(config)
    whole = build_trainer(config, data, fractions=fractions).fit()

    first = build_trainer(config, data, fractions=fractions)
    for _ in range(3):  # past the first rung
        first.run_epoch()
    buffer = io.BytesIO()
    torch.save(first.state_dict(), buffer)
    buffer.seek(0)
    resumed = build_trainer(config, data, fractions=fractions)
    resumed.load_state_dict(torch.load(buffer, weights_only=True))
    rest = resumed.fit()
    assert [s.subset_size for s in rest] == [s.subset_size for s in whole[3:]]
    assert [s.train_loss for s in rest] == pytest.approx([s.train_loss for s in whole[3:]])


@pytest.mark.parametrize(("selection", "search", "message"), [
    ({"rung_fractions": [0.05]}, {}, r"must grow from selection.fraction \(0.1\)"),
    ({"rung_fractions": [0.5, 0.3]}, {}, "must grow"),
    ({"rung_fractions": [1.5]}, {}, "up to at most 1"),
    ({"rung_fractions": [0.5]}, {"asha": {"enabled": False}}, "no rungs"),
    ({"rung_fractions": [0.5], "strategy": "full"}, {}, "trains on the full data"),
    ({"rung_fractions": [0.5], "strategy": "herding"}, {}, "once per run"),
    ({"rung_fractions": [0.5], "strategy": "infobatch"}, {}, "reads no fraction"),
])
def test_rung_fractions_that_cannot_apply_are_refused(tiny_experiment, selection, search, message):
    raw = {**tiny_experiment, "selection": {"fraction": 0.1, **selection},
           "search": {**tiny_experiment["search"], **search}}
    with pytest.raises(ConfigError, match=message) as error:
        parse_config(raw)
    assert error.value.path == "selection.rung_fractions"


def test_more_values_than_rungs_are_reported_unused(tiny_experiment, caplog):
    config = _config(tiny_experiment, rung_fractions=[0.3, 0.6, 0.9])
    with caplog.at_level("WARNING", logger="cords_tune"):
        assert fraction_schedule(config).fractions == (0.3, 0.6, 0.9)
    assert "has 3 values, but ASHA has 2 rungs" in caplog.text and "[0.9] are never used" in caplog.text
