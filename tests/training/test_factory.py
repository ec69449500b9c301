"""The Trainer trains the objects it is given; the factory builds them from an experiment as trials need them."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from torch import nn

from cords_tune.config import parse_config
from cords_tune.datasets import DataBundle, load_dataset
from cords_tune.selection import SelectionContext, Subset
from cords_tune.selection.random import RandomStrategy
from cords_tune.training import Trainer, build_parts, build_trainer


@pytest.fixture
def data(tmp_path) -> DataBundle:
    params = {"num_samples": 600, "num_features": 10, "num_classes": 3, "class_sep": 2.0}
    return load_dataset("synthetic", data_dir=tmp_path, seed=0, val_fraction=0.2, params=params)


def _config(tiny_experiment, **training):
    experiment = {**tiny_experiment, "search": {"space": {}}}
    experiment["training"] = {**experiment.get("training", {}), **training}
    experiment["selection"] = {"strategy": "random", "fraction": 0.2, "every": 2}
    return parse_config(experiment)


class CountingRandom(RandomStrategy):
    """Random subsets, counting the selections and keeping the contexts it was asked with."""

    def __init__(self) -> None:
        super().__init__()
        self.contexts: list[SelectionContext] = []

    def select(self, context: SelectionContext, budget: int) -> Subset:
        self.contexts.append(context)
        return super().select(context, budget)


def test_a_trainer_trains_the_model_and_strategy_it_is_given(tiny_experiment, data):
    config = _config(tiny_experiment, epochs=4)
    mine = nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 3))
    before = [p.detach().clone() for p in mine.parameters()]
    strategy = CountingRandom()
    trainer = Trainer(config, replace(build_parts(config, data), model=mine, strategy=strategy))

    history = trainer.fit()

    assert all(not torch.equal(a, b) for a, b in zip(before, mine.parameters())), "it trained that network"
    assert len(strategy.contexts) == 2  # every 2 epochs of 4
    assert all(stats.subset_size == trainer.selection.budget for stats in history)
    assert history[-1].val_accuracy > 0.6  # chance is 1/3


def test_built_parts_train_as_the_factory_trainer_does(tiny_experiment, data):
    config = _config(tiny_experiment, epochs=3)
    by_factory = [s.val_loss for s in build_trainer(config, data).fit()]
    by_parts = [s.val_loss for s in Trainer(config, build_parts(config, data)).fit()]
    assert by_parts == by_factory


def test_parts_for_the_full_data_have_no_strategy_and_a_record_only_when_asked(tiny_experiment, data):
    config = _config(tiny_experiment)
    assert build_parts(config, data).strategy is not None
    full = build_parts(config, data, full_data=True)
    assert full.strategy is None and full.record is None
    assert build_parts(config, data, full_data=True, keep_record=True).record is not None


def test_the_selection_context_is_the_trainer_as_it_stands(tiny_experiment, data):
    config = _config(tiny_experiment, epochs=3)
    trainer = build_trainer(config, data, keep_record=True)
    trainer.run_epoch()

    plain = trainer.selection_context(with_gradients=False)
    assert plain.gradients is None
    assert torch.equal(plain.labels, trainer.train.y)
    assert (plain.epoch, plain.epochs, plain.seed) == (1, 3, config.seed)
    assert plain.learning_rate == trainer.optimizer.param_groups[0]["lr"]
    assert plain.record is trainer.record

    for_others = trainer.selection_context(with_gradients=True, epoch=0, epochs=20)
    assert (for_others.epoch, for_others.epochs) == (0, 20)
    assert for_others.gradients.labels.shape == trainer.train.y.shape  # per-sample gradients of its model


def test_any_network_ending_in_a_linear_layer_gets_gradient_based_subsets(tiny_experiment, data):
    experiment = {**tiny_experiment, "search": {"space": {}}}
    experiment["training"] = {**experiment["training"], "epochs": 4}
    experiment["selection"] = {"strategy": "gradmatch", "fraction": 0.2, "every": 2}
    config = parse_config(experiment)
    mine = nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 3))  # no embed(): its last Linear's input

    history = Trainer(config, replace(build_parts(config, data), model=mine)).fit()

    reselected = [s for s in history if s.reselected]
    assert len(reselected) == 2 and all(s.selection_s > 0 for s in reselected)
    assert all(s.subset_size <= 0.2 * len(data.y_train) + 3 for s in history)
    assert history[-1].val_accuracy > 0.6


def test_the_readmes_trainer_example_runs(tmp_path, monkeypatch):
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    (block,) = [b for b in re.findall(r"```python\n(.*?)```", readme, flags=re.S) if "build_trainer(" in b]
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(block, "README.md", "exec"), scope)
    assert scope["history"][-1].val_accuracy > 0.5  # 10 digits: chance is 0.1
    loss, accuracy = scope["trainer"].evaluate_test()
    assert accuracy > 0.5


class OldStyleByGradients(RandomStrategy):
    """A plugin written before plans: its constructor sets the flag the Trainer read on the instance then."""

    def __init__(self, *, by_gradients: bool = True) -> None:
        super().__init__()
        self.needs_gradients = by_gradients
        self.gradients: list[object] = []

    def select(self, context: SelectionContext, budget: int) -> Subset:
        self.gradients.append(context.gradients)
        return super().select(context, budget)


@pytest.mark.parametrize("by_gradients", [True, False])
def test_a_plugin_setting_an_old_flag_in_its_constructor_is_read_as_it_was(tiny_experiment, data, monkeypatch,
                                                                            by_gradients):
    from cords_tune.preflight import check_budget
    from cords_tune.selection import STRATEGIES, plan_for
    from cords_tune.training.cost_guard import is_guarded

    monkeypatch.setattr(STRATEGIES, "_entries", dict(STRATEGIES._entries))  # the plugin leaves with the test
    STRATEGIES.register("old_style_by_gradients")(OldStyleByGradients)
    experiment = {**tiny_experiment, "search": {"space": {}}}
    experiment["training"] = {**experiment["training"], "epochs": 4}
    experiment["selection"] = {"strategy": "old_style_by_gradients", "fraction": 0.2, "every": 2,
                               "warm_start_epochs": 1, "params": {"by_gradients": by_gradients}}
    config = parse_config(experiment)

    trainer = build_trainer(config, data)
    trainer.fit()

    strategy = trainer.selection.configured
    assert strategy.needs_gradients is by_gradients and strategy.uses_subsets
    assert len(strategy.gradients) == 2
    assert all((g is not None) is by_gradients for g in strategy.gradients)  # what its flag asked for
    # Everything outside the trial reads the plan the trial follows, its parameters included.
    assert plan_for(config.selection) == strategy.plan and is_guarded(config) is by_gradients
    check_budget(config, data)
    # Inherited flags read from the plan, on the class as on the instance.
    assert OldStyleByGradients.needs_gradients is False and OldStyleByGradients.uses_subsets is True
