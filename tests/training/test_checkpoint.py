"""A trainer restored from its state continues exactly as if it had never stopped; divergence ends a trial."""

from __future__ import annotations

import io

import pytest
import torch

from cords_tune.config import parse_config
from cords_tune.datasets import load_dataset
from cords_tune.training import Trainer


@pytest.fixture
def data(tmp_path):
    return load_dataset("synthetic", data_dir=tmp_path, seed=0, params={"num_samples": 600, "num_features": 8})


def _config(tiny_experiment, **selection):
    return parse_config({
        **tiny_experiment,
        "training": {**tiny_experiment["training"], "epochs": 8, "optimizer": "sgd", "schedule": "step", "step_every": 3},
        "selection": {"strategy": "gradmatch", "fraction": 0.3, "every": 2, "max_cost_share": 1.0, **selection},
        "search": {"space": {}},
    })


def _roundtrip(state):
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)  # checkpoints hold tensors and plain values only


@pytest.mark.parametrize("strategy", ["gradmatch", "random", "full"])
def test_restored_trainer_continues_exactly(tiny_experiment, data, strategy):
    config = _config(tiny_experiment, strategy=strategy)
    straight = Trainer(config, data).fit()

    first = Trainer(config, data)
    for _ in range(3):
        first.run_epoch()
    state = _roundtrip(first.state_dict())
    torch.manual_seed(12345)  # the global RNG is part of the state: disturbing it must not matter
    resumed = Trainer(config, data)
    resumed.load_state_dict(state)
    rest = resumed.fit()

    assert [s.epoch for s in rest] == [4, 5, 6, 7, 8]
    assert [s.val_loss for s in rest] == [s.val_loss for s in straight[3:]]
    assert [s.lr for s in rest] == [s.lr for s in straight[3:]]
    assert rest[-1].samples_seen == straight[-1].samples_seen


def test_fallback_state_survives_a_restore(tiny_experiment, data):
    trainer = Trainer(_config(tiny_experiment), data)
    trainer.run_epoch()
    trainer.selection_fallback, trainer.strategy = True, trainer._random
    resumed = Trainer(_config(tiny_experiment), data)
    resumed.load_state_dict(_roundtrip(trainer.state_dict()))
    assert resumed.selection_fallback and resumed.strategy is resumed._random


def test_a_diverging_loss_ends_the_trial_with_its_metrics(tiny_experiment, data):
    config = parse_config({
        **tiny_experiment,
        "training": {**tiny_experiment["training"], "epochs": 10, "optimizer": "sgd", "lr": 1.0e6, "momentum": 0.9},
        "search": {"space": {}},
    })
    history = Trainer(config, data).fit()
    assert history[-1].diverged and len(history) < 10
    assert not any(s.diverged for s in history[:-1])
    assert 0.0 <= history[-1].val_accuracy <= 1.0  # metrics are kept, not lost
