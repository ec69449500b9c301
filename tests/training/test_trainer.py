"""The epoch loop on real (small) data: it learns, follows the subset schedule and uses the subset weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cords_tune.config import parse_config
from cords_tune.datasets import DataBundle, load_dataset
from cords_tune.selection import SelectionPlan, Subset
from cords_tune.training import DeviceSplit, Trainer, build_parts, build_trainer, weighted_cross_entropy


@pytest.fixture
def data(tmp_path) -> DataBundle:
    params = {"num_samples": 1200, "num_features": 10, "num_classes": 4, "class_sep": 2.0}
    return load_dataset("synthetic", data_dir=tmp_path, seed=0, val_fraction=0.2, params=params)


def _config(tiny_experiment, **sections):
    data = dict(tiny_experiment)
    for section, values in sections.items():
        data[section] = {**data.get(section, {}), **values}
    data["search"] = {"space": {}}
    return parse_config(data)


def test_learns_well_above_chance_on_random_subsets(tiny_experiment, data):
    config = _config(tiny_experiment, training={"epochs": 15}, selection={"fraction": 0.3, "every": 3})
    history = build_trainer(config, data).fit()
    assert history[-1].val_accuracy > 0.7  # chance is 0.25
    assert history[-1].val_accuracy > history[0].val_accuracy


def test_subset_schedule_with_warm_start(tiny_experiment, data):
    config = _config(
        tiny_experiment, training={"epochs": 8}, selection={"fraction": 0.25, "every": 3, "warm_start_epochs": 2}
    )
    trainer = build_trainer(config, data)
    history = trainer.fit()
    n = len(data.y_train)
    assert [s.subset_size for s in history[:2]] == [n, n]
    assert all(s.subset_size == trainer.selection.budget for s in history[2:])
    assert [s.epoch for s in history if s.reselected] == [3, 6]  # 0-based epochs 2 and 5
    assert history[-1].samples_seen == 2 * n + 6 * trainer.selection.budget


def test_full_strategy_and_full_data_flag_train_on_everything(tiny_experiment, data):
    n = len(data.y_train)
    full = build_trainer(_config(tiny_experiment, selection={"strategy": "full"}), data).fit()
    assert all(s.subset_size == n and not s.reselected for s in full)
    retrain = build_trainer(_config(tiny_experiment), data, full_data=True).fit()
    assert all(s.subset_size == n for s in retrain)


def test_same_seed_same_training(tiny_experiment, data):
    config = _config(tiny_experiment)
    first = [s.val_loss for s in build_trainer(config, data).fit()]
    again = [s.val_loss for s in build_trainer(config, data).fit()]
    other_seed = parse_config({**tiny_experiment, "seed": 1, "search": {"space": {}}})
    other = [s.val_loss for s in build_trainer(other_seed, data).fit()]
    assert first == again
    assert first != other


class _IgnoreClassZero:
    """A stand-in strategy: every sample, but class 0 weighs nothing."""

    plan = SelectionPlan()

    def select(self, context, budget):
        return Subset(indices=torch.arange(context.num_samples), weights=(context.labels != 0).float().cpu())


def test_training_leaves_torch_global_generator_alone(tiny_experiment, data):
    """A trainer draws model init and dropout from its own states: the caller's generator is untouched, and
    two trainers run in turns train as each does alone."""
    tiny_experiment["model"]["params"]["dropout"] = 0.3  # dropout draws from the generator every step
    config = _config(tiny_experiment)
    alone = [s.train_loss for s in build_trainer(config, data).fit()]

    torch.manual_seed(1234)
    before = torch.get_rng_state()
    first, second = build_trainer(config, data), build_trainer(config, data)
    turns = [(first.run_epoch().train_loss, second.run_epoch().train_loss) for _ in range(config.training.epochs)]
    assert torch.equal(torch.get_rng_state(), before)
    assert [a for a, _ in turns] == [b for _, b in turns] == alone


def test_subset_weights_reach_the_loss(tiny_experiment, data):
    config = _config(tiny_experiment, training={"epochs": 10}, selection={"every": 1})
    parts = build_parts(config, data)
    parts.strategy = _IgnoreClassZero()
    trainer = Trainer(config, parts)
    trainer.fit()
    trainer.model.eval()
    with torch.no_grad():
        x, y = trainer.val.batch(torch.arange(len(trainer.val)))
        predicted = trainer.model(x).argmax(1)
    recall_zero = float((predicted[y == 0] == 0).float().mean())
    recall_rest = float((predicted[y != 0] == y[y != 0]).float().mean())
    assert recall_zero < 0.2 < recall_rest


def test_weighted_cross_entropy():
    logits = torch.randn(6, 3)
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    plain = torch.nn.functional.cross_entropy(logits, labels)
    assert torch.allclose(weighted_cross_entropy(logits, labels, torch.ones(6)), plain)
    assert torch.allclose(weighted_cross_entropy(logits, labels, torch.full((6,), 3.0)), plain)
    only_first = torch.tensor([1.0, 0, 0, 0, 0, 0])
    assert torch.allclose(
        weighted_cross_entropy(logits, labels, only_first), torch.nn.functional.cross_entropy(logits[:1], labels[:1])
    )


def test_images_are_normalised_and_only_training_batches_augmented():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(16, 3, 8, 8), dtype=np.uint8)
    y = np.arange(16) % 2
    split = DeviceSplit(x, y, torch.device("cpu"), mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25), augmentations=("crop", "flip"))
    index = torch.arange(16)
    expected = (torch.as_tensor(x).float() / 255 - 0.5) / 0.25
    plain, labels = split.batch(index)
    assert torch.allclose(plain, expected) and torch.equal(labels, torch.as_tensor(y))
    augmented, _ = split.batch(index, train=True, generator=torch.Generator().manual_seed(0))
    assert augmented.shape == plain.shape and not torch.allclose(augmented, plain)
    assert torch.allclose(split.batch(index)[0], plain)  # evaluation batches stay untouched


def test_evaluation_ignores_augmentation(tiny_experiment, tmp_path):
    bundle = load_dataset("digits", data_dir=tmp_path, seed=0, val_fraction=0.2)
    bundle = DataBundle(**{**bundle.__dict__, "augmentations": ("flip",)})
    config = parse_config({**tiny_experiment, "dataset": {"name": "digits"}, "model": {"name": "lenet"}, "search": {}})
    trainer = build_trainer(config, bundle)
    assert trainer.evaluate(trainer.val) == trainer.evaluate(trainer.val)
    trainer.run_epoch()
    _, accuracy = trainer.evaluate_test()
    assert 0.0 <= accuracy <= 1.0


def test_a_last_batch_of_one_sample_is_left_for_the_next_epoch(tiny_experiment, tmp_path):
    bundle = load_dataset("digits", data_dir=tmp_path, seed=0, val_fraction=0.2)
    n = len(bundle.y_train)
    config = parse_config({
        **tiny_experiment, "dataset": {"name": "digits"}, "model": {"name": "resnet18", "params": {"width": 4}},
        "selection": {"strategy": "full"}, "training": {**tiny_experiment["training"], "epochs": 1,
                                                         "batch_size": n - 1}, "search": {"space": {}},
    })
    (stats,) = build_trainer(config, bundle).fit()  # resnet18 ends in a 1x1 map: BatchNorm fails on one sample
    assert stats.subset_size == n - 1
