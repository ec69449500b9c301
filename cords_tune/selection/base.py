"""The selection contract: ``select(context, budget) -> Subset``. A strategy never sees loaders or the model;
what it may look at (labels, and for gradient-based strategies, per-sample gradients) comes in the context.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import torch

from cords_tune.params import ParamCheck
from cords_tune.selection.features import LastLayerGradients
from cords_tune.selection.plan import SelectionPlan, legacy_flags, plan_from_flags
from cords_tune.selection.partition import candidate_pool, device_generator
from cords_tune.selection.record import SampleRecord

__all__ = ["Subset", "SelectionContext", "SelectionStrategy", "budget_for", "check_pool", "select_in_pool"]

_POOL_STREAM = 1


@dataclass(frozen=True)
class Subset:
    """The chosen training samples and their loss weights (both 1-D, same length, on the labels' device).

    ``normalized``: a batch's loss is the weighted mean ``sum(w_i l_i) / sum(w_i)`` (True), or the plain mean of
    the weighted losses ``sum(w_i l_i) / B`` (False: weights rescale the loss, as InfoBatch's do).
    """

    indices: torch.Tensor
    weights: torch.Tensor
    normalized: bool = True

    def __post_init__(self) -> None:
        if self.indices.ndim != 1 or self.indices.shape != self.weights.shape:
            raise ValueError(
                f"indices and weights must be 1-D of one length. Got {tuple(self.indices.shape)} "
                f"and {tuple(self.weights.shape)}"
            )

    def __len__(self) -> int:
        return int(self.indices.numel())


@dataclass(frozen=True)
class SelectionContext:
    """What a strategy may use to choose a subset.

    Attributes:
        labels: training labels (n,), int64, on the trial's device.
        num_classes: number of classes.
        epoch: the epoch the subset is chosen for (0-based).
        seed: the trial's seed; strategies derive their randomness from ``(seed, epoch)``.
        gradients: last-layer gradients of the current model, computed on demand; ``None`` unless the
            strategy's plan reads gradients or features.
        batch_size: the trial's training batch size (per-batch partitions use it).
        learning_rate: the optimizer's current learning rate (Glister's one-step lookahead uses it).
        epochs: the number of epochs the trial's schedule runs (InfoBatch anneals to the full data near the end).
        record: what the training passes saw of each sample (last loss, correctness, forgetting events);
            ``None`` unless the strategy's plan reads losses.
    """

    labels: torch.Tensor
    num_classes: int
    epoch: int
    seed: int
    gradients: LastLayerGradients | None = None
    batch_size: int = 32
    learning_rate: float = 0.01
    epochs: int = 1
    record: SampleRecord | None = None

    @property
    def num_samples(self) -> int:
        return int(self.labels.numel())

    def generator(self, stream: int = 0) -> torch.Generator:
        """A CPU generator seeded from ``(seed, epoch, stream)``: same trial, same epoch, same draw; another
        ``stream`` for a draw that must not repeat the strategy's own (the candidate pool's)."""
        return torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch + stream * 7_919_000_003)

    def restricted(self, index: torch.Tensor) -> SelectionContext:
        """This context for the training samples at ``index`` only (sample i of it is ``index[i]``)."""
        gradients = None if self.gradients is None else self.gradients.restricted(index)
        record = None if self.record is None else self.record.restricted(index)
        return replace(self, labels=self.labels[index], gradients=gradients, record=record)

    def require_gradients(self, strategy: str) -> LastLayerGradients:
        if self.gradients is None:
            raise ValueError(f"strategy {strategy!r} needs gradients, but the selection context has none")
        return self.gradients

    def require_record(self, strategy: str) -> SampleRecord:
        if self.record is None:
            raise ValueError(f"strategy {strategy!r} needs the training record, but the selection context has none")
        return self.record


class _Flag:
    """A capability flag of strategies written before plans (``needs_gradients`` and the like): read from the plan,
    of the class or of the instance; set on an instance (as such a strategy's constructor may), it changes that
    instance's plan, which the ``SelectionDriver`` reads."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, strategy: SelectionStrategy | None, owner: type[SelectionStrategy]) -> bool:
        return bool(getattr((owner if strategy is None else strategy).plan, self.name))

    def __set__(self, strategy: SelectionStrategy, value: bool) -> None:
        strategy.plan = plan_from_flags({self.name: value}, strategy.plan)


class SelectionStrategy(abc.ABC):
    """Base class of every strategy. Constructors are keyword-only and check their arguments at once."""

    #: when it selects, what it reads, whether its subsets are shared by a run's trials and how they are sized:
    #: the one thing code outside ``selection/`` reads of a strategy (``plan_for``). A strategy whose plan
    #: depends on its parameters sets ``self.plan`` in its constructor.
    plan: SelectionPlan = SelectionPlan()

    # The flags of earlier versions, kept readable (derived from the plan) and settable (changing it).
    needs_gradients = _Flag()
    uses_subsets = _Flag()
    needs_record = _Flag()
    shared = _Flag()
    every_epoch = _Flag()
    weighted = _Flag()
    sized_by_budget = _Flag()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        flags = {name: value for name, value in legacy_flags(vars(cls)).items() if isinstance(value, bool)}
        if flags and "plan" not in vars(cls):  # a strategy written before plans: its flags say the same
            cls.plan = plan_from_flags(flags, cls.plan)
        for name in flags:  # read from the plan from now on, in this class and those deriving from it
            delattr(cls, name)

    @abc.abstractmethod
    def select(self, context: SelectionContext, budget: int) -> Subset:
        """Choose distinct training samples and their non-negative weights: at most ``budget`` of them if the
        plan's ``sizing`` is ``"fraction"``."""


def budget_for(fraction: float, num_samples: int) -> int:
    """Number of samples a subset of ``fraction`` of ``num_samples`` holds (at least one)."""
    return max(1, min(num_samples, math.floor(fraction * num_samples + 0.5)))


def check_pool(check: ParamCheck, pool: object) -> float:
    """The ``pool`` parameter of a strategy: the share of each class its subset is chosen from."""
    if isinstance(pool, bool) or not isinstance(pool, (int, float)) or not 0.0 < pool <= 1.0:
        raise check.error(
            "pool", "a number in (0, 1]: the share of each class to select from (1 selects from all data; "
            "0.5 from a seeded random half, drawn anew at each reselection)", pool
        )
    return float(pool)


def select_in_pool(
    select: Callable[[SelectionContext, int], Subset], context: SelectionContext, budget: int, pool: float
) -> Subset:
    """``select(context, budget)`` on a seeded random ``pool`` share of each class, never fewer samples than
    the budget; the subset's indices are mapped back to the whole training set. ``pool == 1`` selects from all."""
    size = max(budget, round(pool * context.num_samples))
    if size >= context.num_samples:
        return select(context, budget)
    generator = device_generator(context.generator(_POOL_STREAM), context.labels.device)
    members = candidate_pool(context.labels, context.num_classes, size, generator)
    subset = select(context.restricted(members), budget)
    return Subset(indices=members[subset.indices], weights=subset.weights)
