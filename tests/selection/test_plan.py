"""Every registered strategy's plan says what it does: what it reads, how its subsets are sized and weighted, and
when a trial's driver calls it. A new strategy is checked with no test edits."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from cords_tune.selection import (
    STRATEGIES,
    SelectionDriver,
    SelectionPlan,
    SelectionStrategy,
    Subset,
    create_strategy,
    plan_for,
    plan_of,
)
from cords_tune.selection.static import StaticStrategy

from test_conformance import _context

STRATEGY_NAMES = STRATEGIES.names()


@pytest.fixture(scope="module")
def context():
    return _context()


@pytest.mark.parametrize("name", STRATEGY_NAMES)
def test_a_strategy_reads_what_its_plan_says_and_nothing_else(name, context):
    plan = plan_of(name)
    for field, wanted, message in (("gradients", plan.needs_gradients, "needs gradients"),
                                   ("record", plan.needs_record, "needs the training record")):
        bare = dataclasses.replace(context, **{field: None})
        if wanted:
            with pytest.raises(ValueError, match=f"strategy {name!r} {message}"):
                create_strategy(name).select(bare, 30)
        else:
            assert len(create_strategy(name).select(bare, 30)) > 0, f"{name} without {field}"


@pytest.mark.parametrize("name", STRATEGY_NAMES)
def test_a_strategy_sizes_and_weights_its_subsets_as_its_plan_says(name, context):
    plan, strategy = plan_of(name), create_strategy(name)
    small, large = strategy.select(context, 10), strategy.select(context, 200)
    if not plan.uses_subsets:
        assert len(small) == len(large) == context.num_samples
    elif plan.sized_by_budget:
        assert len(small) <= 10 and len(large) <= 200
    else:  # it sizes them itself: the budget changes nothing
        assert torch.equal(small.indices, large.indices)
    if not plan.weighted:
        assert torch.all(small.weights == 1) and torch.all(large.weights == 1)


class _Counting:
    """A registered strategy, counting the epochs at which it is asked to select."""

    def __init__(self, strategy: SelectionStrategy) -> None:
        self.strategy, self.plan, self.epochs = strategy, strategy.plan, []

    def select(self, context, budget):
        self.epochs.append(context.epoch)
        return self.strategy.select(context, budget)


@pytest.mark.parametrize("name", STRATEGY_NAMES)
def test_a_trial_selects_when_its_strategys_plan_says(name, context):
    """Seven epochs, two of warm start, ``selection.every`` 3, after a warm start (so a gradient strategy's first
    subset is its own): the driver calls the strategy at the epochs its plan names, and a shared strategy's trial
    takes the run's subsets round by round instead."""
    counting = _Counting(create_strategy(name))
    rounds = [Subset(torch.tensor([r]), torch.ones(1)) for r in range(2)]
    driver = SelectionDriver(counting, every=3, warm_start_epochs=2, budget=30, shared_subsets=rounds)
    subsets = [driver.subset_for(epoch, lambda _: dataclasses.replace(context, epoch=epoch))[0]
               for epoch in range(7)]
    plan = counting.plan
    expected = {"every": [2, 5], "every_epoch": [2, 3, 4, 5, 6], "once": [], "never": []}[plan.when]
    assert counting.epochs == expected
    if plan.shared:
        assert [None if s is None else int(s.indices[0]) for s in subsets] == [None, None, 0, 0, 0, 1, 1]
    if not plan.uses_subsets:
        assert subsets == [None] * 7


def test_the_registry_answers_the_plan_of_a_strategy_and_of_a_configured_one():
    from cords_tune.config.selection import SelectionConfig

    configured = SelectionConfig(strategy="infobatch", params={"prune_ratio": 0.3})
    assert plan_for(configured) == create_strategy("infobatch", {"prune_ratio": 0.3}).plan == plan_of("infobatch")
    assert plan_of("gradmatch").needs_gradients and not plan_of("gradmatch").shared
    assert plan_of("forgetting").shared and plan_of("forgetting").needs_record
    assert not plan_of("full").uses_subsets and not plan_of("full").sized_by_budget


def test_a_strategy_written_with_the_flags_of_before_keeps_its_plan():
    class Flagged(SelectionStrategy):
        needs_gradients = True
        weighted = True

        def select(self, context, budget):
            raise NotImplementedError

    class Scored(StaticStrategy):  # shared, reading the record instead of the proxy's gradients
        name = "scored"
        needs_gradients = False
        needs_record = True

        def select(self, context, budget):
            raise NotImplementedError

    assert Flagged.plan == SelectionPlan(reads=frozenset({"gradients"}), weighted=True)
    assert Scored.plan == SelectionPlan(when="once", reads=frozenset({"losses"}))

    class Newer(Flagged):  # a plan declared below old flags: the flags read from it
        plan = SelectionPlan(when="once", reads=frozenset({"losses"}))

        def __init__(self) -> None:
            self.every_epoch = True  # shared wins, as the Trainer of before had it

    assert Flagged.needs_gradients and Flagged.weighted and Flagged.uses_subsets and not Flagged.shared
    assert Scored.needs_record and not Scored.needs_gradients and Scored().shared and Scored.sized_by_budget
    assert Newer.shared and Newer.needs_record and not Newer.needs_gradients and not Newer.weighted
    assert Newer().plan == Newer.plan


def test_an_old_flag_set_in_a_constructor_changes_that_strategys_plan_which_the_driver_follows(context):
    class Old(SelectionStrategy):
        def __init__(self, *, every_epoch: bool) -> None:
            self.needs_gradients = True
            self.every_epoch = every_epoch
            self.given: list[object] = []

        def select(self, context, budget):
            self.given.append(context.gradients)
            return Subset(torch.arange(budget), torch.ones(budget))

    old = Old(every_epoch=True)
    assert old.plan == SelectionPlan(when="every_epoch", reads=frozenset({"gradients"}))
    assert Old.plan == SelectionPlan() and not Old.needs_gradients and Old(every_epoch=False).needs_gradients
    driver = SelectionDriver(old, every=3, warm_start_epochs=1, budget=10)
    asked = [driver.subset_for(epoch, lambda with_gradients: context if with_gradients else
                               dataclasses.replace(context, gradients=None))[1] for epoch in range(4)]
    assert asked == ["", "gradients", "gradients", "gradients"]  # every epoch after the warm start, by gradients
    assert len(old.given) == 3 and all(g is not None for g in old.given)


def test_a_plan_refuses_what_it_cannot_mean():
    with pytest.raises(ValueError, match="The 'when' parameter of SelectionPlan must be one of"):
        SelectionPlan(when="sometimes")
    with pytest.raises(ValueError, match=r"The 'reads' parameter of SelectionPlan must hold only .* Got \['labels'\]"):
        SelectionPlan(reads=frozenset({"labels"}))
