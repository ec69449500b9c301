"""A trainer restored from its state continues exactly as if it had never stopped, with its own config's
hyperparameters when the state came from another config; divergence ends a trial."""

from __future__ import annotations

import io

import pytest
import torch

from cords_tune.config import parse_config
from cords_tune.datasets import load_dataset
from cords_tune.selection.random import RandomStrategy
from cords_tune.training import build_trainer
from cords_tune.training.optim import build_optimizer, build_scheduler, scheduled_lr


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


@pytest.mark.parametrize("strategy", ["gradmatch", "random", "full", "infobatch"])
def test_restored_trainer_continues_exactly(tiny_experiment, data, strategy):
    config = _config(tiny_experiment, strategy=strategy)
    straight = build_trainer(config, data).fit()

    first = build_trainer(config, data)
    for _ in range(3):
        first.run_epoch()
    state = _roundtrip(first.state_dict())
    torch.manual_seed(12345)  # the global RNG is part of the state: disturbing it must not matter
    resumed = build_trainer(config, data)
    resumed.load_state_dict(state)
    rest = resumed.fit()

    assert [s.epoch for s in rest] == [4, 5, 6, 7, 8]
    assert [s.val_loss for s in rest] == [s.val_loss for s in straight[3:]]
    assert [s.lr for s in rest] == [s.lr for s in straight[3:]]
    assert rest[-1].samples_seen == straight[-1].samples_seen


def test_fallback_state_survives_a_restore(tiny_experiment, data):
    trainer = build_trainer(_config(tiny_experiment), data)
    trainer.run_epoch()
    trainer.selection.fell_back = True
    resumed = build_trainer(_config(tiny_experiment), data)
    resumed.load_state_dict(_roundtrip(trainer.state_dict()))
    assert resumed.selection.fell_back and isinstance(resumed.selection.strategy, RandomStrategy)


def test_a_diverging_loss_ends_the_trial_with_its_metrics(tiny_experiment, data):
    config = parse_config({
        **tiny_experiment,
        "training": {**tiny_experiment["training"], "epochs": 10, "optimizer": "sgd", "lr": 1.0e6, "momentum": 0.9},
        "search": {"space": {}},
    })
    history = build_trainer(config, data).fit()
    assert history[-1].diverged and len(history) < 10
    assert not any(s.diverged for s in history[:-1])
    assert 0.0 <= history[-1].val_accuracy <= 1.0  # metrics are kept, not lost


def _hyperparameter_config(tiny_experiment, schedule, **training):
    return parse_config({
        **tiny_experiment,
        "training": {
            **tiny_experiment["training"], "epochs": 6, "optimizer": "sgd", "momentum": 0.9, "weight_decay": 5.0e-4,
            "schedule": schedule, "step_every": 2, "gamma": 0.5, **training,
        },
        "search": {"space": {}},
    })


def _continued(saved_config, restored_config, data, *, epochs: int):
    """Train ``saved_config`` for ``epochs``, restore its checkpoint into a trainer of ``restored_config`` and
    train that to the end: the restored trainer and the stats of its epochs."""
    first = build_trainer(saved_config, data)
    for _ in range(epochs):
        first.run_epoch()
    restored = build_trainer(restored_config, data)
    restored.load_state_dict(_roundtrip(first.state_dict()))
    return restored, restored.fit()


@pytest.mark.parametrize("schedule", ["cosine", "step", "constant"])
def test_a_trainer_restored_from_another_config_trains_with_its_own(tiny_experiment, data, schedule):
    old = _hyperparameter_config(tiny_experiment, schedule, lr=0.01)
    new = _hyperparameter_config(tiny_experiment, schedule, lr=0.05, momentum=0.5, weight_decay=0.0, nesterov=True)
    restored, rest = _continued(old, new, data, epochs=3)
    straight = build_trainer(new, data).fit()  # the schedule of the new config from its first epoch
    assert [s.lr for s in rest] == pytest.approx([s.lr for s in straight[3:]], rel=1e-12)
    (group,) = restored.optimizer.param_groups
    assert (group["momentum"], group["weight_decay"], group["nesterov"]) == (0.5, 0.0, True)
    assert restored.scheduler.base_lrs == [0.05]


@pytest.mark.parametrize("schedule", ["cosine", "step", "constant"])
def test_a_trainer_restored_with_its_own_config_continues_exactly(tiny_experiment, data, schedule):
    config = _hyperparameter_config(tiny_experiment, schedule, lr=0.01)
    straight = build_trainer(config, data).fit()
    _, rest = _continued(config, config, data, epochs=3)
    assert [s.lr for s in rest] == [s.lr for s in straight[3:]]
    assert [s.val_loss for s in rest] == [s.val_loss for s in straight[3:]]


@pytest.mark.parametrize("schedule", ["cosine", "step", "constant"])
def test_scheduled_lr_is_the_schedule_the_trainer_steps(tiny_experiment, schedule):
    config = _hyperparameter_config(tiny_experiment, schedule, lr=0.03).training
    optimizer = build_optimizer([torch.zeros(1, requires_grad=True)], config)
    scheduler = build_scheduler(optimizer, config, epochs=6)
    stepped = []
    for _ in range(6):
        stepped.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert [scheduled_lr(config, 6, epoch) for epoch in range(6)] == pytest.approx(stepped, rel=1e-12)
