"""training.validation: at_decisions evaluates the validation split at the decision epochs (and the last, a
diverged one, and the first without a measurement) and repeats the last measurement elsewhere; what it
measures is what every_epoch measures at those epochs, and checkpoints carry the last measurement."""

from __future__ import annotations

import io
import logging

import pytest
import torch

from cords_tune.config import parse_config
from cords_tune.datasets import load_dataset
from cords_tune.training import build_trainer

EPOCHS = 8


@pytest.fixture
def data(tmp_path):
    return load_dataset("synthetic", data_dir=tmp_path, seed=0, params={"num_samples": 600, "num_features": 8})


def _config(tiny_experiment, validation, **training):
    return parse_config({
        **tiny_experiment,
        "training": {**tiny_experiment["training"], "epochs": EPOCHS, "validation": validation, **training},
        "selection": {"strategy": "random", "fraction": 0.3, "every": 2},
        "search": {"space": {}},
    })


def _roundtrip(state):
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


@pytest.mark.parametrize(("decisions", "evaluated"), [
    ({3, 6, EPOCHS}, [1, 3, 6, 8]),  # the first epoch too: every report must carry a measured value
    ({1, 3, 7}, [1, 3, 7, 8]),  # the last always
    ((), [1, 8]),  # no scheduler between epochs (FIFO, a retrain)
])
def test_evaluates_exactly_at_the_decisions_and_repeats_the_last_measurement(tiny_experiment, data, decisions,
                                                                              evaluated):
    every = build_trainer(_config(tiny_experiment, "every_epoch"), data).fit()
    sparse = build_trainer(_config(tiny_experiment, "at_decisions"), data, decision_epochs=decisions).fit()

    assert [s.epoch for s in sparse if s.evaluated] == evaluated
    assert all(s.evaluated for s in every)
    last = None
    for lazy, full in zip(sparse, every, strict=True):
        assert lazy.train_loss == full.train_loss  # evaluating less changes no training
        if lazy.evaluated:
            assert (lazy.val_loss, lazy.val_accuracy) == (full.val_loss, full.val_accuracy)
            last = (lazy.val_loss, lazy.val_accuracy)
        else:
            assert (lazy.val_loss, lazy.val_accuracy) == last
            assert lazy.eval_s == 0.0
    assert sparse[-1].evaluated and sparse[-1].val_accuracy == every[-1].val_accuracy


def test_without_decision_epochs_it_evaluates_every_epoch_and_warns(tiny_experiment, data, caplog):
    with caplog.at_level(logging.WARNING):
        history = build_trainer(_config(tiny_experiment, "at_decisions"), data).fit()
    assert all(s.evaluated for s in history)
    assert any("decision_epochs" in r.getMessage() for r in caplog.records)


def test_every_epoch_ignores_decision_epochs(tiny_experiment, data):
    history = build_trainer(_config(tiny_experiment, "every_epoch"), data, decision_epochs={4}).fit()
    assert all(s.evaluated for s in history)


def test_a_diverged_epoch_is_measured(tiny_experiment, data):
    config = _config(tiny_experiment, "at_decisions", optimizer="sgd", lr=1.0e6, momentum=0.9, epochs=10)
    history = build_trainer(config, data, decision_epochs=()).fit()
    assert history[-1].diverged and len(history) < 10
    assert history[-1].evaluated


def test_a_resumed_trainer_reports_the_measurement_of_its_checkpoint(tiny_experiment, data):
    config = _config(tiny_experiment, "at_decisions")
    straight = build_trainer(config, data, decision_epochs={3}).fit()
    first = build_trainer(config, data, decision_epochs={3})
    for _ in range(4):
        first.run_epoch()
    saved = first.state_dict()
    resumed = build_trainer(config, data, decision_epochs={3})
    resumed.load_state_dict(_roundtrip(saved))
    rest = resumed.fit()
    assert [s.evaluated for s in rest] == [s.evaluated for s in straight[4:]]
    assert not rest[0].evaluated
    assert [(s.val_loss, s.val_accuracy) for s in rest] == [(s.val_loss, s.val_accuracy) for s in straight[4:]]

    older_state = _roundtrip(saved)  # a fresh copy: a loaded optimizer trains on the tensors it was given
    del older_state["last_val"]  # as in a checkpoint from before at_decisions: the first epoch measures anew
    older = build_trainer(config, data, decision_epochs={3})
    older.load_state_dict(older_state)
    resumed_epoch = older.run_epoch()
    assert resumed_epoch.epoch == 5 and resumed_epoch.evaluated
    assert resumed_epoch.train_loss == straight[4].train_loss
