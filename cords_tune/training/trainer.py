"""The epoch loop: (re)select the subset when due, train on it with per-sample loss weights, validate.

Plain torch: nothing here imports Ray, so a trial's training can be run and tested from a notebook.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F

from cords_tune.config import ExperimentConfig
from cords_tune.datasets import DataBundle
from cords_tune.errors import ConfigError
from cords_tune.models import GivenModel, build_model
from cords_tune.selection import SelectionContext, Subset, budget_for, create_strategy, uses_subsets
from cords_tune.selection.features import LastLayerGradients
from cords_tune.selection.record import SampleRecord
from cords_tune.training.device_data import DeviceSplit, resolve_device
from cords_tune.training.optim import build_optimizer, build_scheduler, scheduled_lr
from cords_tune.training.schedule import SubsetSchedule
from cords_tune.training.speed import (
    channels_last_failure,
    channels_last_refusal,
    resolve_precision,
    use_channels_last,
)

__all__ = ["EpochStats", "Trainer", "weighted_cross_entropy", "weighted_loss"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EpochStats:
    """What one epoch did, as reported to Tune (flat, numeric)."""

    epoch: int  # epochs completed, 1-based
    train_loss: float
    train_accuracy: float
    val_loss: float
    val_accuracy: float
    lr: float
    subset_size: int
    reselected: bool
    selection_fallback: bool  # selection cost too much and this trial switched to online random
    diverged: bool  # the training loss became NaN or infinite: the trial ends here
    selection_s: float
    train_s: float
    eval_s: float  # 0 where the validation split was not evaluated
    samples_seen: int  # cumulative training samples processed
    evaluated: bool  # val_loss and val_accuracy were measured this epoch; else they repeat the last measurement
    bf16: bool  # the forward passes ran in bfloat16 autocast
    fp16: bool  # ... in float16 autocast with a gradient scaler; neither: float32
    channels_last: bool  # the model and its image batches were in channels-last memory order

    def as_dict(self) -> dict[str, float | int | bool]:
        return asdict(self)


def weighted_cross_entropy(
    logits: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor, *, normalized: bool = True
) -> torch.Tensor:
    """Cross-entropy averaged with per-sample weights: sum(w_i * l_i) / sum(w_i), or with ``normalized=False``
    sum(w_i * l_i) / B (see ``weighted_loss``)."""
    return weighted_loss(F.cross_entropy(logits, labels, reduction="none"), weights, normalized=normalized)


def weighted_loss(losses: torch.Tensor, weights: torch.Tensor, *, normalized: bool = True) -> torch.Tensor:
    """A batch's loss from its per-sample losses: the weighted mean sum(w_i * l_i) / sum(w_i), or with
    ``normalized=False`` the mean of the weighted losses sum(w_i * l_i) / B (``Subset.normalized``).

    Taking the per-sample losses lets the training loop record them without a second forward pass."""
    if not normalized:
        return (weights * losses).sum() / max(1, losses.numel())
    return (weights * losses).sum() / weights.sum().clamp_min(torch.finfo(weights.dtype).tiny)


class Trainer:
    """Trains one configuration on ``data``, an epoch at a time.

    Args:
        config: the trial's experiment config (no search space left).
        data: the shared dataset bundle.
        epochs: length of the lr schedule; defaults to ``config.training.epochs``.
        full_data: train on all training data every epoch, whatever the strategy (the final retrain).
        model: a model given from Python, built in place of the experiment's named one.
        decision_epochs: with ``training.validation: at_decisions``, the epochs (1-based) whose validation
            result a decision reads, e.g. ASHA's rungs (``tuning.algorithms.decision_epochs``); the last epoch
            is always evaluated, so ``()`` means the last alone. ``None``: nothing says where decisions fall,
            so every epoch is evaluated.
        shared_subsets: for a shared strategy, the run's subsets, one per reselection round
            (``training.proxy``); without them this trainer trains its own proxy first.
        keep_record: keep the training record (``SelectionStrategy.needs_record``) whatever the strategy.
    """

    def __init__(
        self,
        config: ExperimentConfig,
        data: DataBundle,
        *,
        epochs: int | None = None,
        full_data: bool = False,
        model: GivenModel | None = None,
        decision_epochs: Collection[int] | None = None,
        shared_subsets: Sequence[Subset] | None = None,
        keep_record: bool = False,
    ) -> None:
        self.config = config
        self.epochs = epochs or config.training.epochs
        self.device = resolve_device(config.training.device)
        self.precision = resolve_precision(config.training.precision, self.device)
        self.scaler = self.precision.grad_scaler()
        # Model init and dropout draw from torch's global generators: the trainer keeps their states as its own
        # and lends them to torch only while it works (``_own_rng``), so it never changes the caller's.
        self._cpu_rng = torch.Generator().manual_seed(config.seed).get_state()
        self._cuda_rng = (torch.Generator(device=self.device).manual_seed(config.seed).get_state()
                          if self.device.type == "cuda" else None)
        self._shuffle = torch.Generator().manual_seed(config.seed)
        self._augment = torch.Generator(device=self.device).manual_seed(config.seed)

        with self._own_rng():
            self.model = build_model(
                config.model.name, config.model.params, input_shape=data.input_shape, num_classes=data.num_classes,
                given=model,
            ).to(self.device)
        augmentations = data.augmentations if config.dataset.augment else ()
        norm = {"mean": data.mean, "std": data.std}
        self.train = DeviceSplit(data.x_train, data.y_train, self.device, augmentations=augmentations, **norm)
        self.val = DeviceSplit(data.x_val, data.y_val, self.device, **norm)
        self.num_classes = data.num_classes
        self.channels_last = self._channels_last(data.input_shape)
        self.train.channels_last = self.val.channels_last = self.channels_last
        self._test_arrays = (data.x_test, data.y_test, {**norm, "channels_last": self.channels_last})
        self._decision_epochs = _decision_epochs(config, decision_epochs)
        self._last_val: tuple[float, float] | None = None  # the last measured validation loss and accuracy
        self.optimizer = build_optimizer(self.model.parameters(), config.training)
        self.scheduler = build_scheduler(self.optimizer, config.training, self.epochs)

        selection = config.selection
        is_full = full_data or not uses_subsets(selection.strategy)
        self.strategy = None if is_full else create_strategy(selection.strategy, selection.params)
        every = 1 if self.strategy is not None and self.strategy.every_epoch else selection.every
        self.schedule = SubsetSchedule(every, selection.warm_start_epochs, enabled=not is_full)
        # What each training pass saw of each sample, for a strategy that reads it (kept from the warm start on),
        # or for whoever asked (a shared strategy's proxy, whose record the strategy reads once).
        reads_record = self.strategy is not None and self.strategy.needs_record and not self.strategy.shared
        self.record = SampleRecord(len(self.train), self.device) if keep_record or reads_record else None
        self.budget = budget_for(selection.fraction, len(self.train))
        self._shared_subsets = self._shared(shared_subsets, data, model) if self.strategy and self.strategy.shared else None
        self.subset: Subset | None = None
        self.epoch = 0
        self.samples_seen = 0
        self.selection_fallback = False
        self.diverged = False
        self._random = create_strategy("random")
        self._first_selection_at: float | None = None  # when the first gradient-based selection started
        self._selection_s_since_first = 0.0

    # ------------------------------------------------------------------------------------------ epochs

    def fit(self, on_epoch: Callable[[EpochStats], None] | None = None) -> list[EpochStats]:
        """Run the remaining epochs, or until the loss diverges; ``on_epoch`` sees each epoch's stats."""
        history = []
        while self.epoch < self.epochs and not self.diverged:
            stats = self.run_epoch()
            history.append(stats)
            if on_epoch is not None:
                on_epoch(stats)
        return history

    def run_epoch(self) -> EpochStats:
        with self._own_rng():
            return self._run_epoch()

    @contextmanager
    def _own_rng(self) -> Iterator[None]:
        """torch's global generators set to this trainer's states for the block, then given back as they were."""
        cuda = [self.device] if self._cuda_rng is not None else []
        with torch.random.fork_rng(devices=cuda):
            torch.set_rng_state(self._cpu_rng)
            if cuda:
                torch.cuda.set_rng_state(self._cuda_rng, self.device)
            try:
                yield
            finally:
                self._cpu_rng = torch.get_rng_state()
                if cuda:
                    self._cuda_rng = torch.cuda.get_rng_state(self.device)

    def _run_epoch(self) -> EpochStats:
        start = time.perf_counter()
        reselected = self._update_subset()
        selected = self._sync_time()
        train_loss, train_accuracy, seen = self._train_one_epoch()
        trained = self._sync_time()
        evaluates = self._validates_at(self.epoch + 1)
        if evaluates:
            self._last_val = self.evaluate(self.val)
        val_loss, val_accuracy = self._last_val
        evaluated = self._sync_time()
        if reselected == "gradients":
            self._first_selection_at = self._first_selection_at or start
            self._selection_s_since_first += selected - start

        lr = self.optimizer.param_groups[0]["lr"]
        self.scheduler.step()
        self.epoch += 1
        self.samples_seen += seen
        return EpochStats(
            epoch=self.epoch,
            train_loss=train_loss,
            train_accuracy=train_accuracy,
            val_loss=val_loss,
            val_accuracy=val_accuracy,
            lr=lr,
            subset_size=seen,
            reselected=bool(reselected),
            selection_fallback=self.selection_fallback,
            diverged=self.diverged,
            selection_s=selected - start,
            train_s=trained - selected,
            eval_s=evaluated - trained if evaluates else 0.0,
            samples_seen=self.samples_seen,
            evaluated=evaluates,
            bf16=self.precision.name == "bf16",
            fp16=self.precision.name == "fp16",
            channels_last=self.channels_last,
        )

    def _channels_last(self, input_shape: tuple[int, ...]) -> bool:
        """Put the model in channels-last order where ``training.channels_last`` asks for it and it runs that way."""
        setting = self.config.training.channels_last
        if not use_channels_last(setting, self.device, self.model, input_shape):
            return False
        probe = torch.arange(min(2, len(self.train)), device=self.device)
        failure = channels_last_failure(self.model, self.train.batch(probe)[0])
        if failure is None:
            return True
        self.model.to(memory_format=torch.contiguous_format)
        if setting is True:
            raise ConfigError(channels_last_refusal(self.config.model.name, failure), path="training.channels_last")
        log.warning("model %r fails in channels-last memory order (%s); it trains in the default order. Set "
                    "training.channels_last: false to silence this", self.config.model.name, failure)
        return False

    def _validates_at(self, epoch: int) -> bool:
        """Whether epoch ``epoch`` (1-based, its training done) evaluates the validation split: every epoch, or
        with ``validation: at_decisions`` the decision epochs, the last, one that diverged, and the first this
        trainer runs when it holds no measurement yet (so every epoch reports a measured value)."""
        if self._decision_epochs is None:
            return True
        return (epoch in self._decision_epochs or epoch >= self.epochs or self.diverged
                or self._last_val is None)

    def _shared(self, given: Sequence[Subset] | None, data: DataBundle, model: GivenModel | None) -> list[Subset]:
        """The run's shared subsets on this trainer's device: ``given``, or chosen here after a proxy training."""
        if given is None:
            from cords_tune.training.proxy import select_shared_subset

            log.info("strategy %r shares its subsets across a run, and none were given: training its proxy here",
                     self.config.selection.strategy)
            given = select_shared_subset(self.config, data, model).subsets
        return [Subset(s.indices.to(self.device), s.weights.float().to(self.device), s.normalized) for s in given]

    def _update_subset(self) -> str:
        """(Re)select when due. Returns "" (no selection), "plain" or "gradients" (gradient-based)."""
        if self.schedule.uses_full_data(self.epoch):
            self.subset = None
            return ""
        if not self.schedule.selects_at(self.epoch) and self.subset is not None:
            return ""
        if self._shared_subsets is not None:  # chosen once for the whole run: nothing to select per trial
            self.subset = self._shared_subsets[min(self.schedule.round_at(self.epoch), len(self._shared_subsets) - 1)]
            return ""
        self._guard_selection_cost()
        strategy = self.strategy
        if strategy.needs_gradients and self.subset is None and self.schedule.warm_start_epochs == 0:
            # An untrained network's gradients say little about the data it will learn: like CORDS's
            # adaptive loaders, start from a random subset and select adaptively from the next reselection.
            strategy = self._random
        gradients = (LastLayerGradients(self.model, self.train, self.val, precision=self.precision.autocast_dtype)
                     if strategy.needs_gradients else None)
        context = SelectionContext(
            labels=self.train.y,
            num_classes=self.num_classes,
            epoch=self.epoch,
            seed=self.config.seed,
            gradients=gradients,
            batch_size=self.config.training.batch_size,
            learning_rate=self.optimizer.param_groups[0]["lr"],
            epochs=self.epochs,
            record=self.record,
        )
        self.subset = strategy.select(context, self.budget)
        log.debug("epoch %d: selected %d of %d samples", self.epoch, len(self.subset), len(self.train))
        return "gradients" if strategy.needs_gradients else "plain"

    def _guard_selection_cost(self) -> None:
        """Switch to online random if gradient-based selection has taken more than ``max_cost_share`` of the
        trial's wall-clock since its first selection (epochs, evaluation and reporting included)."""
        if self.selection_fallback or not self.strategy.needs_gradients or self._first_selection_at is None:
            return
        elapsed = time.perf_counter() - self._first_selection_at
        spent = self._selection_s_since_first
        share = self.config.selection.max_cost_share
        if spent > share * elapsed:
            log.warning(
                "selection by %r took %.3fs of the %.3fs since its first selection (%.0f%%, limit %.0f%%): this "
                "trial continues with online random subsets",
                self.config.selection.strategy, spent, elapsed, 100 * spent / elapsed, 100 * share,
            )
            self.strategy = self._random
            self.selection_fallback = True

    def _train_one_epoch(self) -> tuple[float, float, int]:
        normalized = self.subset is None or self.subset.normalized
        if self.subset is None:
            indices = torch.arange(len(self.train), device=self.device)
            weights = torch.ones(len(self.train), device=self.device)
        else:  # a subset stays on the device it was selected on; only the shuffled order comes from the host
            indices, weights = self.subset.indices.to(self.device), self.subset.weights.float().to(self.device)
        order = torch.randperm(len(indices), generator=self._shuffle).to(self.device)
        indices, weights = indices[order], weights[order]

        self.model.train()
        batch_size = self.config.training.batch_size
        if len(indices) > 1 and len(indices) % batch_size == 1:
            # BatchNorm cannot train on a last batch of one sample; a new order gives it its turn next epoch.
            indices, weights = indices[:-1], weights[:-1]
        total_loss = torch.zeros((), device=self.device)
        correct = torch.zeros((), device=self.device, dtype=torch.int64)
        for start in range(0, len(indices), batch_size):
            index = indices[start : start + batch_size]
            x, y = self.train.batch(index, train=True, generator=self._augment)
            with self.precision.autocast():
                logits = self.model(x)
            logits = logits.float()
            losses = F.cross_entropy(logits, y, reduction="none")
            loss = weighted_loss(losses, weights[start : start + batch_size], normalized=normalized)
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
            total_loss += loss.detach() * len(index)
            hits = logits.argmax(1) == y
            correct += hits.sum()
            if self.record is not None:
                self.record.update(index, losses, hits)
        n = max(1, len(indices))
        mean_loss = float(total_loss) / n
        if not math.isfinite(mean_loss):
            log.warning("epoch %d: the training loss is %s; the trial stops as diverged", self.epoch, mean_loss)
            self.diverged = True
        return mean_loss, float(correct) / n, len(indices)

    # ------------------------------------------------------------------------------------------ checkpoints

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly where this trainer is (tensors and plain values only)."""
        since_first = None if self._first_selection_at is None else time.perf_counter() - self._first_selection_at
        return {
            "epoch": self.epoch,
            "samples_seen": self.samples_seen,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "subset": None if self.subset is None else (
                self.subset.indices.cpu(), self.subset.weights.cpu(), self.subset.normalized
            ),
            "record": None if self.record is None else {k: v.cpu() for k, v in self.record.state_dict().items()},
            "selection_fallback": self.selection_fallback,
            "diverged": self.diverged,
            "cost": (since_first, self._selection_s_since_first),
            "rng": (self._cpu_rng.clone(), self._shuffle.get_state(), self._augment.get_state()),
            "cuda_rng": None if self._cuda_rng is None else self._cuda_rng.clone(),
            "scaler": self.scaler.state_dict(),  # empty unless fp16
            "last_val": self._last_val,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch = state["epoch"]
        self.samples_seen = state["samples_seen"]
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.apply_hyperparameters()
        self.subset = None if state["subset"] is None else Subset(*state["subset"])  # older ones lack normalized
        self.selection_fallback = state["selection_fallback"]
        if self.selection_fallback:
            self.strategy = self._random
        self.diverged = state["diverged"]
        since_first, self._selection_s_since_first = state["cost"]
        self._first_selection_at = None if since_first is None else time.perf_counter() - since_first
        cpu_rng, shuffle_rng, augment_rng = state["rng"]
        self._cpu_rng = cpu_rng.cpu()
        self._shuffle.set_state(shuffle_rng.cpu())
        self._augment.set_state(augment_rng.cpu())  # generator states are CPU byte tensors, CUDA generators' too
        if state.get("cuda_rng") is not None and self.device.type == "cuda":
            self._cuda_rng = state["cuda_rng"].cpu()
        # Checkpoints written before these entries lack them; a scaler's state only means something to a scaler
        # (a checkpoint of an fp16 trial continued on a CPU, where it trains in fp32, leaves it unused).
        if state.get("scaler") and self.scaler.is_enabled():
            self.scaler.load_state_dict(state["scaler"])
        if self.record is not None and state.get("record") is not None:  # else it starts empty: nothing pruned
            self.record.load_state_dict(state["record"])
        last_val = state.get("last_val")
        self._last_val = None if last_val is None else (float(last_val[0]), float(last_val[1]))

    def apply_hyperparameters(self) -> None:
        """Give the optimizer the hyperparameters of this trainer's config again, after a restore.

        Loading an optimizer's state also loads the hyperparameters it was trained with, and a checkpoint can
        come from another configuration: Population Based Training continues a trial from a better trial's
        checkpoint with changed hyperparameters, and the trial must train with its own. Momentum, weight decay,
        betas and the like are those the optimizer was built with (its ``defaults``); the lr schedule continues
        from the configured lr at the epoch reached. With the checkpoint's own config nothing changes, so an
        ordinary resume continues exactly.
        """
        settings = {key: value for key, value in self.optimizer.defaults.items() if key != "lr"}
        base_lr = self.config.training.lr
        for group in self.optimizer.param_groups:
            if group["initial_lr"] != base_lr:
                group["lr"] = scheduled_lr(self.config.training, self.epochs, self.scheduler.last_epoch)
            group.update(settings, initial_lr=base_lr)
        self.scheduler.base_lrs = [base_lr] * len(self.optimizer.param_groups)

    # ------------------------------------------------------------------------------------------ evaluation

    @torch.no_grad()
    def evaluate(self, split: DeviceSplit) -> tuple[float, float]:
        """Mean loss and accuracy on ``split`` (never augmented)."""
        self.model.eval()
        total_loss = torch.zeros((), device=self.device)
        correct = torch.zeros((), device=self.device, dtype=torch.int64)
        everything = torch.arange(len(split), device=self.device)
        for index in everything.split(self.config.training.eval_batch_size):
            x, y = split.batch(index)
            with self.precision.autocast():
                logits = self.model(x)
            total_loss += F.cross_entropy(logits.float(), y, reduction="sum")
            correct += (logits.argmax(1) == y).sum()
        n = max(1, len(split))
        return float(total_loss) / n, float(correct) / n

    def evaluate_test(self) -> tuple[float, float]:
        """Loss and accuracy on the test split (moved to the device only when asked for)."""
        x, y, layout = self._test_arrays
        return self.evaluate(DeviceSplit(x, y, self.device, **layout))

    def _sync_time(self) -> float:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return time.perf_counter()


def _decision_epochs(config: ExperimentConfig, given: Collection[int] | None) -> frozenset[int] | None:
    """The epochs to evaluate at (besides the last), or ``None`` for every epoch."""
    if config.training.validation == "every_epoch":
        return None
    if given is None:
        log.warning(
            "training.validation is at_decisions, but this trainer was not told at which epochs a scheduler "
            "decides (decision_epochs): it evaluates every epoch"
        )
        return None
    return frozenset(int(epoch) for epoch in given)
