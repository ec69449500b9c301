"""Builds what a ``Trainer`` trains with from an experiment: the model on its device and in its memory order,
the splits on that device (``training.parts``), the selection strategy, its shared subsets, its training record
and the cost guard's decision.

The Trainer itself receives these objects (``TrainingParts``), so a caller with a network, a strategy or
splits of its own can hand them over instead of naming them in a config.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence

import torch
from torch import nn

from cords_tune.config import ExperimentConfig
from cords_tune.datasets import DataBundle
from cords_tune.models import GivenModel
from cords_tune.models.given import as_given
from cords_tune.selection import Subset, create_strategy
from cords_tune.selection.record import SampleRecord
from cords_tune.training.cost_guard import CycleCost, forecast
from cords_tune.training.parts import TrainingParts, build_network_parts
from cords_tune.training.proxy import select_shared_subset
from cords_tune.training.trainer import Trainer

__all__ = ["TrainingParts", "build_parts", "build_trainer"]

log = logging.getLogger(__name__)


def build_trainer(
    config: ExperimentConfig,
    data: DataBundle,
    *,
    epochs: int | None = None,
    full_data: bool = False,
    model: GivenModel | Callable[..., nn.Module] | None = None,
    decision_epochs: Collection[int] | None = None,
    shared_subsets: Sequence[Subset] | None = None,
    keep_record: bool = False,
    selection_cost: CycleCost | None = None,
) -> Trainer:
    """A ``Trainer`` for ``config`` on ``data``, with its parts built by ``build_parts``.

    Args:
        epochs: length of the lr schedule; defaults to ``config.training.epochs``.
        decision_epochs: see ``Trainer``.
        selection_cost: the run's measured selection cycle, from which the cost guard decides whether a
            gradient-based strategy's trial trains on random subsets instead (``None``: no guard).
        Others: see ``build_parts``.
    """
    parts = build_parts(config, data, full_data=full_data, model=model, shared_subsets=shared_subsets,
                        keep_record=keep_record)
    if selection_cost is not None and parts.strategy is not None:
        parts.cost_forecast = forecast(config, selection_cost)
    return Trainer(config, parts, epochs=epochs, decision_epochs=decision_epochs)


def build_parts(
    config: ExperimentConfig,
    data: DataBundle,
    *,
    full_data: bool = False,
    model: GivenModel | Callable[..., nn.Module] | None = None,
    shared_subsets: Sequence[Subset] | None = None,
    keep_record: bool = False,
) -> TrainingParts:
    """The parts of a trainer for ``config`` on ``data``.

    Args:
        full_data: train on all training data every epoch, whatever the strategy (the final retrain).
        model: a model factory given from Python (a function or ``nn.Module`` class, as ``cords_tune.run``'s
            ``model=``), built in place of the experiment's named one.
        shared_subsets: for a shared strategy, the run's subsets (``training.proxy``); without them its proxy
            is trained here first.
        keep_record: keep the training record (the plan's ``needs_record``) whatever the strategy.
    """
    model = as_given(model)
    parts = build_network_parts(config, data, model=model, keep_record=keep_record)
    selection = config.selection
    if full_data:
        return parts
    strategy = create_strategy(selection.strategy, selection.params)
    plan = strategy.plan
    if not plan.uses_subsets:
        return parts
    parts.strategy = strategy
    if plan.shared:
        parts.shared_subsets = _shared_subsets(config, data, model, shared_subsets, parts.device)
    # A shared strategy's proxy keeps its own record when asked (keep_record); the trials read its subsets.
    elif plan.needs_record and parts.record is None:
        parts.record = SampleRecord(len(parts.train), parts.device)
    return parts


def _shared_subsets(
    config: ExperimentConfig, data: DataBundle, model: GivenModel | None, given: Sequence[Subset] | None,
    device: torch.device,
) -> list[Subset]:
    """The run's shared subsets on ``device``: ``given``, or chosen here after a proxy training."""
    if given is None:
        log.info("strategy %r shares its subsets across a run, and none were given: training its proxy here",
                 config.selection.strategy)
        given = select_shared_subset(config, data, model).subsets
    return [Subset(s.indices.to(device), s.weights.float().to(device), s.normalized) for s in given]
