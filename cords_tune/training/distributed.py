"""A data-parallel rank's training: its share of each epoch's full-data order, its model wrapped in
``DistributedDataParallel`` (the gradients averaged over the ranks), its epoch's figures summed over them.

Plain torch (``torch.distributed``): the process group is set up by whoever starts the ranks
(``cords_tune.tuning.data_parallel`` with Ray Train). The config's batch size stays the global batch: each of
``world`` ranks trains on ``batch_size / world`` samples of every global batch, so a step sees the same samples,
and the same mean gradient, as one worker's step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from cords_tune.config import ExperimentConfig
from cords_tune.training.parts import TrainingParts
from cords_tune.training.trainer import Trainer

__all__ = ["Shard", "ShardedTrainer", "per_rank_config", "shard_order", "usable_workers"]


@dataclass(frozen=True)
class Shard:
    """Which rank of how many this process is."""

    rank: int
    world: int

    @property
    def lead(self) -> bool:
        """Rank 0: the rank that reports its epochs and hands back the model."""
        return self.rank == 0


def usable_workers(batch_size: int, slots: int) -> int:
    """The most data-parallel workers, at most ``slots``, that split a global batch of ``batch_size`` evenly."""
    return max(w for w in range(1, max(1, slots) + 1) if batch_size % w == 0)


def per_rank_config(config: ExperimentConfig, world: int, *, full_data: bool) -> ExperimentConfig:
    """``config`` as one of ``world`` ranks trains it on the full data: its batch size the global batch's share.
    Raises a one-line ``ValueError`` where it cannot: a trial's subsets, or a batch the ranks cannot split."""
    if not full_data:
        raise ValueError(f"A data-parallel training trains on the full data: a job of {world} workers must have "
                         f"full_data=True (a finalist's); a trial's subsets train on one worker.")
    batch_size = config.training.batch_size
    if batch_size % world:
        raise ValueError(f"A data-parallel training splits each batch evenly over its workers: training.batch_size "
                         f"must be a multiple of the {world} workers. Got {batch_size}; use "
                         f"{usable_workers(batch_size, world)} workers or a batch size divisible by {world}.")
    return config.model_copy(update={"training": config.training.model_copy(
        update={"batch_size": batch_size // world})})


def shard_order(indices: torch.Tensor, weights: torch.Tensor, batch_size: int,
                shard: Shard) -> tuple[torch.Tensor, torch.Tensor]:
    """Rank ``shard.rank``'s share of an epoch's order: of each global batch of ``batch_size * world`` samples,
    its ``batch_size`` (per-rank) slice; of the last, shorter one, its ``1/world``. The order is cut to a multiple
    of ``world`` (at most ``world - 1`` samples wait for the next epoch's shuffle), so every rank takes the same
    number of steps: a collective ``backward`` on one rank alone would wait for ever."""
    world, rank = shard.world, shard.rank
    usable = len(indices) - len(indices) % world
    whole = usable - usable % (batch_size * world)

    def share(values: torch.Tensor) -> torch.Tensor:
        head = values[:whole].view(-1, world, batch_size)[:, rank].reshape(-1)
        return torch.cat((head, values[whole:usable].view(world, -1)[rank]))

    return share(indices), share(weights)


class ShardedTrainer(Trainer):
    """A ``Trainer`` that is rank ``shard.rank`` of a data-parallel training (full data only). Built with the
    per-rank config (``per_rank_config``); every rank starts from the same weights (seeded alike, then
    broadcast from rank 0 by ``DistributedDataParallel``) and shuffles alike, so the ranks never disagree on
    when to stop: the epoch's loss, accuracy and divergence are the ranks' sums."""

    def __init__(self, config: ExperimentConfig, parts: TrainingParts, shard: Shard, **kwargs) -> None:
        super().__init__(config, parts, **kwargs)
        self.shard = shard
        device_ids = [self.device] if self.device.type == "cuda" else None
        self._replicated = DistributedDataParallel(self.model, device_ids=device_ids)

    def _epoch_order(self) -> tuple[torch.Tensor, torch.Tensor]:
        indices, weights = super()._epoch_order()
        return shard_order(indices, weights, self.config.training.batch_size, self.shard)

    def _train_one_epoch(self) -> tuple[float, float, int]:
        plain, self.model = self.model, self._replicated  # the training steps go through DDP's forward
        try:
            loss, accuracy, seen = super()._train_one_epoch()
        finally:
            self.model = plain
        totals = torch.tensor([loss * seen, accuracy * seen, float(seen)], dtype=torch.float64, device=self.device)
        dist.all_reduce(totals)
        summed_loss, hits, seen_all = totals.tolist()
        mean_loss = summed_loss / max(1.0, seen_all)
        self.diverged = not math.isfinite(mean_loss)
        return mean_loss, hits / max(1.0, seen_all), int(seen_all)
