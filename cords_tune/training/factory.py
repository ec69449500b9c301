"""Builds what a ``Trainer`` trains with from an experiment: the model on its device and in its memory order,
the splits on that device, the selection strategy, its shared subsets and its training record.

The Trainer itself receives these objects (``TrainingParts``), so a caller with a network, a strategy or
splits of its own can hand them over instead of naming them in a config.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from functools import partial

import torch
from torch import nn

from cords_tune.config import ExperimentConfig
from cords_tune.datasets import DataBundle
from cords_tune.errors import ConfigError
from cords_tune.models import GivenModel, build_model
from cords_tune.models.given import as_given
from cords_tune.selection import SelectionStrategy, Subset, create_strategy, uses_subsets
from cords_tune.selection.record import SampleRecord
from cords_tune.training.device_data import DeviceSplit, resolve_device
from cords_tune.training.speed import (
    Precision,
    channels_last_failure,
    channels_last_refusal,
    resolve_precision,
    use_channels_last,
    use_cudnn_benchmark,
)
from cords_tune.training.cost_guard import CycleCost
from cords_tune.training.trainer import RngStates, Trainer

__all__ = ["TrainingParts", "build_parts", "build_trainer"]

log = logging.getLogger(__name__)


@dataclass
class TrainingParts:
    """The built objects one ``Trainer`` trains with.

    Attributes:
        model: the network, on ``device`` (in channels-last order where ``channels_last``).
        train, val: the splits on ``device``, normalised (and for ``train`` augmented) as the data asks.
        test: makes the test split on ``device`` when the final model is tested (not before: it is used once).
        num_classes: the number of classes the labels count.
        device, precision: where and in which precision the network runs.
        strategy: chooses the subsets; ``None`` trains on all training data every epoch.
        shared_subsets: for a shared strategy, the run's subsets on ``device``, one per reselection round.
        record: what each training pass saw of each sample, for a strategy that reads it (or a proxy).
        rng: torch's generator states after the model was initialised, which the trainer keeps as its own.
        channels_last: the model and its image batches are in channels-last memory order.
        selection_cost: the run's measured selection cycle, from which the cost guard decides whether a
            gradient-based strategy's trial trains on random subsets instead (``None``: no guard).
    """

    model: nn.Module
    train: DeviceSplit
    val: DeviceSplit
    test: Callable[[], DeviceSplit]
    num_classes: int
    device: torch.device
    precision: Precision
    strategy: SelectionStrategy | None = None
    shared_subsets: list[Subset] | None = None
    record: SampleRecord | None = None
    rng: RngStates | None = None
    channels_last: bool = False
    selection_cost: CycleCost | None = None


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
        selection_cost: see ``TrainingParts``.
        Others: see ``build_parts``.
    """
    parts = build_parts(config, data, full_data=full_data, model=model, shared_subsets=shared_subsets,
                        keep_record=keep_record)
    parts.selection_cost = selection_cost
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
        keep_record: keep the training record (``SelectionStrategy.needs_record``) whatever the strategy.
    """
    model = as_given(model)
    device = resolve_device(config.training.device)
    use_cudnn_benchmark(config.training.cudnn_benchmark, device)
    rng = RngStates.seeded(config.seed, device)
    with rng.lent(device):  # model init draws from torch's global generators
        network = build_model(config.model.name, config.model.params, input_shape=data.input_shape,
                              num_classes=data.num_classes, given=model).to(device)
    augmentations = data.augmentations if config.dataset.augment else ()
    norm = {"mean": data.mean, "std": data.std}
    train = DeviceSplit(data.x_train, data.y_train, device, augmentations=augmentations, **norm)
    val = DeviceSplit(data.x_val, data.y_val, device, **norm)
    channels_last = _channels_last(config, network, train, data.input_shape, device)
    train.channels_last = val.channels_last = channels_last

    selection = config.selection
    is_full = full_data or not uses_subsets(selection.strategy)
    strategy = None if is_full else create_strategy(selection.strategy, selection.params)
    # A shared strategy's proxy keeps its own record when asked (keep_record); the trials read its subsets.
    reads_record = strategy is not None and strategy.needs_record and not strategy.shared
    shared = (_shared_subsets(config, data, model, shared_subsets, device)
              if strategy is not None and strategy.shared else None)
    return TrainingParts(
        model=network,
        train=train,
        val=val,
        test=partial(DeviceSplit, data.x_test, data.y_test, device, channels_last=channels_last, **norm),
        num_classes=data.num_classes,
        device=device,
        precision=resolve_precision(config.training.precision, device),
        strategy=strategy,
        shared_subsets=shared,
        record=SampleRecord(len(train), device) if keep_record or reads_record else None,
        rng=rng,
        channels_last=channels_last,
    )


def _channels_last(
    config: ExperimentConfig, model: nn.Module, train: DeviceSplit, input_shape: tuple[int, ...], device: torch.device
) -> bool:
    """Put the model in channels-last order where ``training.channels_last`` asks for it and it runs that way."""
    setting = config.training.channels_last
    if not use_channels_last(setting, device, model, input_shape):
        return False
    probe = torch.arange(min(2, len(train)), device=device)
    failure = channels_last_failure(model, train.batch(probe)[0])
    if failure is None:
        return True
    model.to(memory_format=torch.contiguous_format)
    if setting is True:
        raise ConfigError(channels_last_refusal(config.model.name, failure), path="training.channels_last")
    log.warning("model %r fails in channels-last memory order (%s); it trains in the default order. Set "
                "training.channels_last: false to silence this", config.model.name, failure)
    return False


def _shared_subsets(
    config: ExperimentConfig, data: DataBundle, model: GivenModel | None, given: Sequence[Subset] | None,
    device: torch.device,
) -> list[Subset]:
    """The run's shared subsets on ``device``: ``given``, or chosen here after a proxy training."""
    if given is None:
        from cords_tune.training.proxy import select_shared_subset

        log.info("strategy %r shares its subsets across a run, and none were given: training its proxy here",
                 config.selection.strategy)
        given = select_shared_subset(config, data, model).subsets
    return [Subset(s.indices.to(device), s.weights.float().to(device), s.normalized) for s in given]
