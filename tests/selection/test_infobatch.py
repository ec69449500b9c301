"""InfoBatch's pruning on hand-made training records: which samples can be left out, how many, their weights,
the full-data tail, and its seeding."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from cords_tune.errors import ConfigError
from cords_tune.selection import SelectionContext, create_strategy, plan_of
from cords_tune.selection.record import SampleRecord

NAN = float("nan")


def _context(
    losses: list[float] | torch.Tensor, *, epoch: int = 1, epochs: int = 100, seed: int = 0
) -> SelectionContext:
    """A context whose record holds ``losses`` (NaN: never visited)."""
    losses = torch.as_tensor(losses, dtype=torch.float32)
    n = len(losses)
    record = SampleRecord(n)
    visited = torch.nonzero(~torch.isnan(losses)).flatten()
    record.update(visited, losses[visited], torch.ones(len(visited), dtype=torch.bool))
    return SelectionContext(labels=torch.arange(n) % 2, num_classes=2, epoch=epoch, seed=seed, epochs=epochs,
                            record=record)


# Visited losses average 2.0: samples 0, 1, 2 and 7 are below it (well learned), 3 and 4 above, 5 and 6 unvisited.
HAND_MADE = [0.1, 0.2, 0.3, 5.0, 6.0, NAN, NAN, 0.4]
WELL_LEARNED = {0, 1, 2, 7}


@pytest.mark.parametrize("prune_ratio", [0.5, 0.75])
def test_only_well_learned_samples_are_pruned_and_the_kept_ones_are_rescaled(prune_ratio):
    strategy = create_strategy("infobatch", {"prune_ratio": prune_ratio})
    pruned_ever = set()
    for epoch in range(20):
        subset = strategy.select(_context(HAND_MADE, epoch=epoch), budget=1)
        chosen = dict(zip(subset.indices.tolist(), subset.weights.tolist()))
        assert not subset.normalized
        assert {3: 1.0, 4: 1.0, 5: 1.0, 6: 1.0}.items() <= chosen.items(), "above-mean and unvisited always kept"
        assert all(chosen[i] == pytest.approx(1 / (1 - prune_ratio)) for i in chosen.keys() & WELL_LEARNED)
        pruned_ever |= set(range(len(HAND_MADE))) - chosen.keys()
    assert pruned_ever == WELL_LEARNED


@pytest.mark.parametrize("prune_ratio", [0.3, 0.8])
def test_the_pruned_share_of_the_well_learned_samples_is_the_prune_ratio(prune_ratio):
    n = 20_000
    losses = torch.rand(n, generator=torch.Generator().manual_seed(1_234))
    well_learned = losses < losses.mean()
    subset = create_strategy("infobatch", {"prune_ratio": prune_ratio}).select(_context(losses), budget=1)
    kept = torch.zeros(n, dtype=torch.bool)
    kept[subset.indices] = True
    assert kept[~well_learned].all()
    pruned = int((well_learned & ~kept).sum())
    expected = prune_ratio * int(well_learned.sum())
    sigma = math.sqrt(expected * (1 - prune_ratio))  # each is left out with probability r
    assert abs(pruned - expected) < 5 * sigma
    assert len(subset) == n - pruned


def test_the_last_epochs_train_on_the_full_data_at_weight_one():
    losses = torch.rand(500, generator=torch.Generator().manual_seed(9_999))
    strategy = create_strategy("infobatch", {"delta": 0.5})
    for epoch in range(10):
        subset = strategy.select(_context(losses, epoch=epoch, epochs=10), budget=1)
        if epoch < 5:
            assert len(subset) < 500 and subset.weights.max() == 2.0
        else:
            assert subset.indices.tolist() == list(range(500)) and subset.weights.tolist() == [1.0] * 500
    default = create_strategy("infobatch")  # delta 0.875: epochs [0, 7) of 8 prune
    assert len(default.select(_context(losses, epoch=6, epochs=8), 1)) < 500
    assert len(default.select(_context(losses, epoch=7, epochs=8), 1)) == 500


def test_nothing_is_pruned_without_visits_or_with_ratio_zero():
    unvisited = create_strategy("infobatch").select(_context([NAN] * 6), budget=1)
    assert unvisited.indices.tolist() == list(range(6)) and unvisited.weights.tolist() == [1.0] * 6
    none_pruned = create_strategy("infobatch", {"prune_ratio": 0.0}).select(_context(HAND_MADE), budget=1)
    assert len(none_pruned) == len(HAND_MADE) and none_pruned.weights.tolist() == [1.0] * len(HAND_MADE)


def test_the_draw_is_seeded_by_trial_and_epoch_and_ignores_the_budget():
    losses = torch.rand(500, generator=torch.Generator().manual_seed(4_321))
    strategy = create_strategy("infobatch")
    first = strategy.select(_context(losses, epoch=3, seed=7), budget=10)
    again = strategy.select(_context(losses, epoch=3, seed=7), budget=400)
    assert torch.equal(first.indices, again.indices) and torch.equal(first.weights, again.weights)
    assert not torch.equal(first.indices, strategy.select(_context(losses, epoch=4, seed=7), 10).indices)
    assert not torch.equal(first.indices, strategy.select(_context(losses, epoch=3, seed=8), 10).indices)


def test_it_needs_the_record():
    context = dataclasses.replace(_context(HAND_MADE), record=None)
    with pytest.raises(ValueError, match="'infobatch' needs the training record"):
        create_strategy("infobatch").select(context, budget=1)


def test_its_kind():
    kind = plan_of("infobatch")
    assert kind.needs_record and kind.every_epoch and kind.weighted
    assert not (kind.needs_gradients or kind.shared or kind.sized_by_budget)


def test_it_reads_nothing_back_to_the_host(monkeypatch):
    context = _context(torch.rand(300, generator=torch.Generator().manual_seed(2_468)))

    def refuse(self, *args, **kwargs):
        raise AssertionError("a selection read a tensor back to the host")

    for method in ("cpu", "numpy", "tolist", "item"):
        monkeypatch.setattr(torch.Tensor, method, refuse)
    subset = create_strategy("infobatch").select(context, budget=1)
    monkeypatch.undo()
    assert 0 < len(subset) < 300


@pytest.mark.parametrize(
    ("param", "value", "requirement"),
    [
        ("prune_ratio", 1.0, r"a number in \[0, 1\)"),
        ("prune_ratio", -0.1, r"a number in \[0, 1\)"),
        ("prune_ratio", "half", r"a number in \[0, 1\)"),
        ("delta", 0.0, r"a number in \(0, 1\]"),
        ("delta", 1.5, r"a number in \(0, 1\]"),
        ("delta", True, r"a number in \(0, 1\]"),
    ],
)
def test_bad_parameters_say_what_must_hold(param, value, requirement):
    message = rf"The '{param}' parameter of strategy 'infobatch' must be {requirement}"
    with pytest.raises(ConfigError, match=message) as error:
        create_strategy("infobatch", {param: value})
    assert error.value.path == f"selection.params.{param}"
