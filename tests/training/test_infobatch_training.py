"""The epoch loop's side of InfoBatch: the training record kept from the training pass itself, unnormalised
subset losses, reselection at every epoch, a real run, and exact resumption."""

from __future__ import annotations

import io

import pytest
import torch

from cords_tune.config import parse_config
from cords_tune.datasets import load_dataset
from cords_tune.selection import SelectionPlan, Subset
from cords_tune.training import Trainer, build_parts, build_trainer, weighted_cross_entropy


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    return load_dataset("digits", data_dir=tmp_path_factory.mktemp("digits"), seed=0, val_fraction=0.2)


def _config(tiny_experiment, *, training=None, selection=None, dataset=None):
    return parse_config({
        **tiny_experiment,
        "dataset": dataset or tiny_experiment["dataset"],
        "training": {**tiny_experiment["training"], **(training or {})},
        "selection": {"strategy": "infobatch", "every": 10, **(selection or {})},
        "search": {"space": {}},
    })


def _digits_config(tiny_experiment, **training):
    return _config(tiny_experiment, dataset={"name": "digits"}, training={"epochs": 8, **training})


def _trained(n: int, batch_size: int) -> int:
    """Samples an epoch over ``n`` trains on (a last batch of one is left for the next epoch)."""
    return n - 1 if n > 1 and n % batch_size == 1 else n


def test_the_record_comes_from_the_training_pass_without_extra_forward_passes(tiny_experiment, digits):
    config = _digits_config(tiny_experiment, epochs=4)
    trainer = build_trainer(config, digits)
    calls = []
    trainer.model.register_forward_hook(lambda module, args, output: calls.append(len(args[0])))
    for _ in range(4):
        del calls[:]
        stats = trainer.run_epoch()
        # One forward call per training batch of the subset and per validation batch: nothing else.
        assert sum(calls) == stats.subset_size + len(trainer.val)
    assert trainer.record is not None
    assert int(trainer.record.visits.sum()) == stats.samples_seen
    assert not torch.isnan(trainer.record.loss).any()  # the first epoch keeps everything: all were visited
    pruned = trainer.record.visits < 4
    assert pruned.any(), "some samples were left out of some epochs"


def test_the_record_holds_each_samples_loss_at_its_last_visit(tiny_experiment, digits):
    config = _digits_config(tiny_experiment, epochs=1, optimizer="sgd", lr=1e-9)
    trainer = build_trainer(config, digits)
    trainer.run_epoch()  # all samples, one visit each, a model that barely moves
    trainer.model.train()
    with torch.no_grad():
        x, y = trainer.train.batch(torch.arange(len(trainer.train)))
        logits = trainer.model(x)
    losses = torch.nn.functional.cross_entropy(logits, y, reduction="none")
    assert torch.allclose(trainer.record.loss, losses, atol=1e-5)
    assert torch.equal(trainer.record.correct, logits.argmax(1) == y)


def test_other_strategies_keep_no_record(tiny_experiment, digits):
    assert build_trainer(_config(tiny_experiment, selection={"strategy": "random"}), digits).record is None
    assert build_trainer(_config(tiny_experiment), digits, full_data=True).record is None


class _Constant:
    """A stand-in strategy: every sample, with the given weights and normalisation."""

    plan = SelectionPlan()

    def __init__(self, weights: torch.Tensor, normalized: bool) -> None:
        self.weights, self.normalized = weights, normalized

    def select(self, context, budget):
        return Subset(torch.arange(context.num_samples), self.weights, normalized=self.normalized)


def test_unnormalised_weights_scale_the_batch_loss(tiny_experiment, digits):
    logits, labels = torch.randn(6, 3), torch.tensor([0, 1, 2, 0, 1, 2])
    weights = torch.tensor([2.0, 1, 1, 0, 3, 1])
    losses = torch.nn.functional.cross_entropy(logits, labels, reduction="none")
    unnormalised = weighted_cross_entropy(logits, labels, weights, normalized=False)
    assert torch.allclose(unnormalised, (weights * losses).sum() / 6)

    # One batch per epoch: the first epoch's training loss is the untrained model's batch loss.
    n = len(digits.y_train)
    weights = 1.0 + (torch.as_tensor(digits.y_train) == 0).float()  # class 0 weighs 2
    first_losses = {}
    for normalized in (True, False):
        config = _digits_config(tiny_experiment, epochs=1, batch_size=n)
        parts = build_parts(config, digits)
        parts.strategy = _Constant(weights, normalized)
        trainer = Trainer(config, parts)
        first_losses[normalized] = trainer.run_epoch().train_loss
    # sum(w l) / n against sum(w l) / sum(w)
    assert first_losses[False] / first_losses[True] == pytest.approx(float(weights.sum()) / n, rel=1e-5)


def test_infobatch_reselects_every_epoch_whatever_every_says(tiny_experiment, digits):
    history = build_trainer(_digits_config(tiny_experiment, epochs=5), digits).fit()
    assert all(s.reselected for s in history)
    warm = build_trainer(_config(tiny_experiment, dataset={"name": "digits"}, training={"epochs": 5},
                           selection={"warm_start_epochs": 2}), digits).fit()
    assert [s.reselected for s in warm] == [False, False, True, True, True]
    random = build_trainer(_config(tiny_experiment, dataset={"name": "digits"}, training={"epochs": 5},
                             selection={"strategy": "random"}), digits).fit()
    assert [s.reselected for s in random] == [True, False, False, False, False]


def test_a_short_infobatch_run_prunes_in_the_middle_and_trains_on_everything_at_the_end(tiny_experiment, digits):
    config = _digits_config(tiny_experiment)  # 8 epochs, delta 0.875: epoch 8 is the full-data tail
    trainer = build_trainer(config, digits)
    history = trainer.fit()
    full = _trained(len(digits.y_train), config.training.batch_size)
    sizes = [s.subset_size for s in history]
    assert sizes[0] == full  # nothing is recorded yet: everything is kept
    assert all(full // 2 < size < full for size in sizes[1:7]), sizes
    assert sizes[7] == full
    assert history[-1].samples_seen == sum(sizes) < 8 * full
    assert history[-1].val_accuracy > 0.8  # chance is 0.1


def _roundtrip(state):
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def test_a_restored_infobatch_trainer_continues_exactly(tiny_experiment, digits):
    config = _digits_config(tiny_experiment)
    straight_trainer = build_trainer(config, digits)
    straight = straight_trainer.fit()

    first = build_trainer(config, digits)
    for _ in range(3):
        first.run_epoch()
    state = _roundtrip(first.state_dict())
    assert state["subset"][2] is False
    torch.manual_seed(12345)
    resumed = build_trainer(config, digits)
    resumed.load_state_dict(state)
    assert resumed.subset.normalized is False
    rest = resumed.fit()

    assert [s.subset_size for s in rest] == [s.subset_size for s in straight[3:]]
    assert [s.val_loss for s in rest] == [s.val_loss for s in straight[3:]]
    assert rest[-1].samples_seen == straight[-1].samples_seen
    for name, value in straight_trainer.record.state_dict().items():
        assert torch.equal(getattr(resumed.record, name), value), name


def test_a_checkpoint_without_record_or_normalized_flag_still_loads(tiny_experiment, digits):
    trainer = build_trainer(_digits_config(tiny_experiment), digits)
    trainer.run_epoch()
    trainer.run_epoch()
    state = _roundtrip(trainer.state_dict())
    del state["record"]
    state["subset"] = state["subset"][:2]  # as written before subsets had the flag
    resumed = build_trainer(_digits_config(tiny_experiment), digits)
    resumed.load_state_dict(state)
    assert resumed.subset.normalized and torch.isnan(resumed.record.loss).all()
    assert resumed.run_epoch().epoch == 3
