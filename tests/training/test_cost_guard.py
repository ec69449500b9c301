"""A strategy whose selection costs too much of its cycle is replaced by online random for the trial."""

from __future__ import annotations

import logging
import time

import pytest
import torch

from cords_tune.config import parse_config
from cords_tune.datasets import load_dataset
from cords_tune.selection import Subset
from cords_tune.selection.random import RandomStrategy
from cords_tune.training import Trainer, build_trainer


class _Slow:
    """Picks the first samples, after ``delay`` seconds (a stand-in for an expensive selection)."""

    needs_gradients = True

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.calls = 0

    def select(self, context, budget):
        self.calls += 1
        assert context.gradients is not None  # the loop builds gradients for such strategies
        time.sleep(self.delay)
        return Subset(indices=torch.arange(budget), weights=torch.ones(budget))


@pytest.fixture
def trainer_factory(tiny_experiment, tmp_path):
    data = load_dataset("synthetic", data_dir=tmp_path, seed=0, params={"num_samples": 600, "num_features": 8})

    def make(delay: float, share: float, warm: int = 0) -> Trainer:
        config = parse_config({
            **tiny_experiment,
            "training": {**tiny_experiment["training"], "epochs": 6},
            "selection": {
                "strategy": "random", "fraction": 0.3, "every": 2, "max_cost_share": share, "warm_start_epochs": warm,
            },
            "search": {"space": {}},
        })
        trainer = build_trainer(config, data)
        trainer.strategy = _Slow(delay)
        return trainer

    return make


def test_expensive_selection_falls_back_to_random(trainer_factory, caplog):
    trainer = trainer_factory(delay=0.5, share=0.1)
    slow = trainer.strategy
    with caplog.at_level(logging.WARNING, logger="cords_tune.training.trainer"):
        history = trainer.fit()
    # epoch 0: random (untrained model); epoch 2: the slow selection; epoch 4: judged too costly, replaced
    assert slow.calls == 1
    assert isinstance(trainer.strategy, RandomStrategy)
    assert [s.selection_fallback for s in history] == [False, False, False, False, True, True]
    assert sum(s.reselected for s in history) == 3  # it still reselects, now at random
    assert "continues with online random" in caplog.text


def test_cheap_selection_is_kept(trainer_factory):
    trainer = trainer_factory(delay=0.0, share=0.9)
    slow = trainer.strategy
    history = trainer.fit()
    assert slow.calls == 2 and not any(s.selection_fallback for s in history)  # epochs 2 and 4


def test_with_a_warm_start_the_first_selection_uses_gradients(trainer_factory):
    trainer = trainer_factory(delay=0.0, share=0.9, warm=2)
    slow = trainer.strategy
    history = trainer.fit()
    assert slow.calls == 2  # epochs 2 and 4, after two full-data epochs
    assert [s.reselected for s in history] == [False, False, True, False, True, False]
