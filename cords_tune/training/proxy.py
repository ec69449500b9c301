"""The subsets of a shared strategy: a short proxy training on the full data, scored once, and one subset per
reselection round for every trial of a run (DeepCore's methods, shared across a search as MILO shares its
subsets).

A shared strategy's choice depends on nothing a trial tunes, so choosing it again per trial would pay the
same selection many times. Each round chooses from a fresh seeded random pool of each class
(``selection.proxy.pool``): a trial sees new samples at each reselection, as with online random subsets,
instead of one static subset all along. Plain torch: the tuning run calls ``select_shared_subset`` in one Ray task
(``tuning.shared_subset``) and keeps its result in the run directory (``SHARED_SUBSET_FILE``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from cords_tune.atomic import write_atomically
from cords_tune.config import ExperimentConfig
from cords_tune.datasets import DataBundle
from cords_tune.models import GivenModel
from cords_tune.results.shared_subset import SharedSubsetRecord
from cords_tune.selection import Subset, budget_for, create_strategy, plan_for
from cords_tune.selection.base import select_in_pool
from cords_tune.selection.schedule import SubsetSchedule
from cords_tune.training.parts import build_network_parts
from cords_tune.training.trainer import EpochStats, Trainer

__all__ = ["SHARED_SUBSET_FILE", "SharedSubset", "is_shared", "kept_shared_subset", "proxy_config",
           "select_shared_subset", "train_proxy"]

log = logging.getLogger(__name__)

_FORMAT = "cords-tune shared subset"

#: where a run directory keeps its shared subsets, so a resumed run trains on the same ones without a new proxy.
SHARED_SUBSET_FILE = "shared_subset.pt"


def is_shared(config: ExperimentConfig) -> bool:
    """Whether the experiment's strategy selects one subset per run (its plan's ``shared``)."""
    return plan_for(config.selection).shared


def kept_shared_subset(folder: str | Path) -> SharedSubset | None:
    """The shared subsets an earlier invocation of a run kept in its directory ``folder``, if any."""
    path = Path(folder) / SHARED_SUBSET_FILE
    return SharedSubset.load(path) if path.is_file() else None


@dataclass(frozen=True)
class SharedSubset:
    """The subsets every trial of a run trains on, one per reselection round (CPU tensors; see ``Subset``), and
    their ``record``."""

    indices: list[torch.Tensor] = field(repr=False)
    weights: list[torch.Tensor] = field(repr=False)
    record: SharedSubsetRecord

    @property
    def subsets(self) -> list[Subset]:
        """Round r's subset is ``subsets[r]`` (a trial longer than the rounds keeps the last)."""
        return [Subset(i, w, self.record.normalized) for i, w in zip(self.indices, self.weights)]

    def save(self, path: str | Path) -> None:
        """Write it to ``path`` atomically, so a resumed run trains on the same subsets without a new proxy."""
        payload = {"format": _FORMAT, "indices": self.indices, "weights": self.weights, **self.record.as_dict()}
        write_atomically(path, lambda temporary: torch.save(payload, temporary))

    @classmethod
    def load(cls, path: str | Path) -> SharedSubset:
        payload = torch.load(path, weights_only=True)
        if not isinstance(payload, dict) or payload.pop("format", None) != _FORMAT:
            raise ValueError(f"{str(path)!r} is not a shared subset written by cords-tune")
        indices, weights = payload.pop("indices"), payload.pop("weights")
        # Files written before the record had its rounds and size lack them.
        record = SharedSubsetRecord.from_dict({**payload, "rounds": len(indices), "size": len(indices[0])})
        return cls(indices, weights, record)


def proxy_config(config: ExperimentConfig) -> ExperimentConfig:
    """The proxy's training: the experiment's settings (the values outside its search space) with the proxy's
    model and epochs, validated once at the end."""
    proxy = config.selection.proxy
    training = config.training.model_copy(update={"epochs": proxy.epochs, "validation": "at_decisions"})
    return config.model_copy(update={"model": proxy.model or config.model, "training": training})


def train_proxy(
    config: ExperimentConfig, data: DataBundle, model: GivenModel | None = None, *, keep_record: bool = False
) -> tuple[Trainer, list[EpochStats]]:
    """The proxy of ``config`` (``proxy_config``) trained on the full data, and its epochs; ``model``: a model
    given from Python, used unless ``selection.proxy.model`` names another."""
    proxy = proxy_config(config)
    given = model if config.selection.proxy.model is None else None
    trainer = Trainer(proxy, build_network_parts(proxy, data, model=given, keep_record=keep_record),
                      decision_epochs=())
    return trainer, trainer.fit()


def select_shared_subset(
    config: ExperimentConfig, data: DataBundle, model: GivenModel | None = None
) -> SharedSubset:
    """Train the proxy of ``config`` on the full data, score the data with it, and choose the run's subsets: one
    per reselection round of a trial, each from a fresh seeded ``selection.proxy.pool`` of each class (a single
    subset with ``pool: 1``).

    Args:
        config: the experiment (a shared strategy, its fraction, ``selection.proxy``).
        data: the run's data.
        model: a model given from Python; the proxy uses it unless ``selection.proxy.model`` names another.
    """
    start = time.perf_counter()
    selection = config.selection
    strategy = create_strategy(selection.strategy, selection.params)
    trainer, history = train_proxy(config, data, model, keep_record=strategy.plan.needs_record)
    trained = time.perf_counter()
    context = trainer.selection_context(with_gradients=strategy.plan.needs_gradients, epoch=0,
                                        epochs=config.training.epochs)
    if context.gradients is not None:
        context.gradients.labels  # noqa: B018 - one forward pass over all the training data; each round's pool slices it
    budget = budget_for(selection.fraction, len(trainer.train))
    pool = selection.proxy.pool
    rounds = 1 if pool == 1 else max(1, SubsetSchedule(selection.every, selection.warm_start_epochs).rounds(
        config.training.epochs))
    # Round r selects as a trial's r-th reselection would: its own seeded pool and tie-breaking draws.
    subsets = [select_in_pool(strategy.select, replace(context, epoch=r), budget, pool) for r in range(rounds)]
    selected = time.perf_counter()
    log.info("shared subsets: %s chose %d x %d samples after a %d-epoch proxy (%.1f s training, %.1f s selection)",
             selection.strategy, rounds, len(subsets[0]), len(history), trained - start, selected - trained)
    return SharedSubset(
        indices=[subset.indices.cpu() for subset in subsets],
        weights=[subset.weights.float().cpu() for subset in subsets],
        record=SharedSubsetRecord(
            strategy=selection.strategy,
            fraction=selection.fraction,
            pool=pool,
            normalized=subsets[0].normalized,
            proxy_model=trainer.config.model.name,
            proxy_epochs=len(history),
            proxy_val_accuracy=history[-1].val_accuracy if history else float("nan"),
            train_s=trained - start,
            selection_s=selected - trained,
            wall_s=selected - start,
            rounds=len(subsets),
            size=len(subsets[0]),
        ),
    )
