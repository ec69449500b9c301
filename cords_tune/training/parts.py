"""What a ``Trainer`` trains with (``TrainingParts``), and the part of them every training has: the model on its
device and in its memory order, the splits on that device, the precision and the generator states.

``training.factory`` adds the selection (strategy, shared subsets, record, the cost guard's decision); a
shared strategy's proxy (``training.proxy``) trains on the full data with these alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial

import torch
from torch import nn

from cords_tune.config import ExperimentConfig
from cords_tune.datasets import DataBundle
from cords_tune.errors import ConfigError
from cords_tune.models import GivenModel, build_model
from cords_tune.models.given import as_given
from cords_tune.selection import CostForecast, SelectionStrategy, Subset
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

__all__ = ["RngStates", "TrainingParts", "build_network_parts"]

log = logging.getLogger(__name__)


@dataclass
class RngStates:
    """torch's global generator states that one trainer keeps as its own (CPU, and its CUDA device's)."""

    cpu: torch.Tensor
    cuda: torch.Tensor | None = None

    @classmethod
    def seeded(cls, seed: int, device: torch.device) -> RngStates:
        cuda = torch.Generator(device=device).manual_seed(seed).get_state() if device.type == "cuda" else None
        return cls(torch.Generator().manual_seed(seed).get_state(), cuda)

    @contextmanager
    def lent(self, device: torch.device) -> Iterator[None]:
        """torch's global generators set to these states for the block; afterwards these states are where the
        block left them, and torch's are given back as they were."""
        devices = [device] if self.cuda is not None else []
        with torch.random.fork_rng(devices=devices):
            torch.set_rng_state(self.cpu)
            if devices:
                torch.cuda.set_rng_state(self.cuda, device)
            try:
                yield
            finally:
                self.cpu = torch.get_rng_state()
                if devices:
                    self.cuda = torch.cuda.get_rng_state(device)


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
        cost_forecast: the cost guard's decision for this trial, made for any strategy where the run measured its
            costs (``training.cost_guard.forecast``; ``None``: no guard); the ``SelectionDriver`` keeps it for a
            strategy that reads gradients only: whether the trial trains on random subsets instead.
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
    cost_forecast: CostForecast | None = None


def build_network_parts(
    config: ExperimentConfig,
    data: DataBundle,
    *,
    model: GivenModel | Callable[..., nn.Module] | None = None,
    keep_record: bool = False,
) -> TrainingParts:
    """The parts of a full-data trainer for ``config`` on ``data``: no strategy.

    Args:
        model: a model factory given from Python (a function or ``nn.Module`` class, as ``cords_tune.run``'s
            ``model=``), built in place of the experiment's named one.
        keep_record: keep the training record (what each training pass saw of each sample).
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
    return TrainingParts(
        model=network,
        train=train,
        val=val,
        test=partial(DeviceSplit, data.x_test, data.y_test, device, channels_last=channels_last, **norm),
        num_classes=data.num_classes,
        device=device,
        precision=resolve_precision(config.training.precision, device),
        record=SampleRecord(len(train), device) if keep_record else None,
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
