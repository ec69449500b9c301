"""The epoch loop: (re)select the subset when due, train on it with per-sample loss weights, validate.

Plain torch: nothing here imports Ray, so a trial's training can be run and tested from a notebook.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import torch
import torch.nn.functional as F

from cords_tune.config import ExperimentConfig
from cords_tune.metrics import Evaluation, compute
from cords_tune.results.metrics import search_metric
from cords_tune.models.given import as_classifier
from cords_tune.selection import SelectionContext, SelectionDriver, Subset, budget_for
from cords_tune.selection.features import LastLayerGradients
from cords_tune.training.device_data import DeviceSplit
from cords_tune.training.optim import build_optimizer, build_scheduler, scheduled_lr
from cords_tune.training.parts import RngStates, TrainingParts

__all__ = ["EpochStats", "RngStates", "Trainer", "weighted_cross_entropy", "weighted_loss"]

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
    selection_fallback: bool  # selection would cost too much (the cost guard): this trial trains on online random
    diverged: bool  # the training loss became NaN or infinite: the trial ends here
    selection_s: float
    train_s: float
    eval_s: float  # 0 where the validation split was not evaluated
    samples_seen: int  # cumulative training samples processed
    evaluated: bool  # the val_* values were measured this epoch; else they repeat the last measurement
    bf16: bool  # the forward passes ran in bfloat16 autocast
    fp16: bool  # ... in float16 autocast with a gradient scaler; neither: float32
    channels_last: bool  # the model and its image batches were in channels-last memory order
    # The search metric where it is computed from the logits (``cords_tune.metrics``), e.g. {"val_roc_auc": 0.9}
    val_scores: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, float | int | bool]:
        """Flat: ``val_scores`` as entries of their own, as Tune reads the search metric."""
        data = asdict(self)
        return {**data, **data.pop("val_scores")}


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
    """Trains one configuration, an epoch at a time, with the built ``parts`` (``training.factory.build_parts``
    builds them from an experiment; ``build_trainer`` builds both).

    Args:
        config: the trial's experiment config (no search space left): the training, selection and seed
            settings. Its model, dataset and strategy names are not read: ``parts`` holds those, built.
        parts: the model, the splits, the strategy and what it reads (``TrainingParts``). The model is any
            network whose logits come out of an ``nn.Linear`` (its input is taken as the penultimate features).
        epochs: length of the lr schedule; defaults to ``config.training.epochs``.
        decision_epochs: with ``training.validation: at_decisions``, the epochs (1-based) whose validation
            result a decision reads, e.g. ASHA's rungs (``tuning.algorithms.decision_epochs``); the last epoch
            is always evaluated, so ``()`` means the last alone. ``None``: nothing says where decisions fall,
            so every epoch is evaluated.
    """

    def __init__(self, config: ExperimentConfig, parts: TrainingParts, *, epochs: int | None = None,
                 decision_epochs: Collection[int] | None = None) -> None:
        self.config = config
        self.epochs = epochs or config.training.epochs
        self.device = parts.device
        self.precision = parts.precision
        self.scaler = self.precision.grad_scaler()
        # Model init and dropout draw from torch's global generators: the trainer keeps their states as its own
        # and lends them to torch only while it works (``_own_rng``), so it never changes the caller's.
        self._rng = replace(parts.rng) if parts.rng else RngStates.seeded(config.seed, self.device)  # a copy: its own
        self._shuffle = torch.Generator().manual_seed(config.seed)
        self._augment = torch.Generator(device=self.device).manual_seed(config.seed)

        # Any network whose last layer is a Linear, on the parts' device and memory order (a model of the caller's
        # replacing the built one may not be yet).
        self.model = as_classifier(parts.model, parts.num_classes).to(
            self.device, memory_format=torch.channels_last if parts.channels_last else torch.preserve_format)
        self.train = parts.train
        self.val = parts.val
        self._test_split = parts.test
        self.num_classes = parts.num_classes
        self.channels_last = parts.channels_last
        self._decision_epochs = _decision_epochs(config, decision_epochs)
        self._last_val: Evaluation | None = None  # the last measurement of the validation split
        metric = search_metric(config.search.metric)
        self._scored = (metric,) if metric.from_logits else ()  # what evaluations compute besides loss, accuracy
        self.optimizer = build_optimizer(self.model.parameters(), config.training)
        self.scheduler = build_scheduler(self.optimizer, config.training, self.epochs)

        self.record = parts.record  # what each training pass saw of each sample, for a strategy or a proxy
        selection = config.selection
        # The subsets, epoch by epoch: the strategy on its plan's schedule, with the cost guard's decision
        # (``parts.cost_forecast``, made from the run's measured costs, never from a clock).
        self.selection = SelectionDriver(
            parts.strategy, every=selection.every, warm_start_epochs=selection.warm_start_epochs,
            budget=budget_for(selection.fraction, len(self.train)), shared_subsets=parts.shared_subsets,
            forecast=parts.cost_forecast)
        self.epoch = 0
        self.samples_seen = 0
        self.diverged = False

    @property
    def subset(self) -> Subset | None:
        """The subset the last epoch trained on (``None``: the full data)."""
        return self.selection.subset

    # ------------------------------------------------------------------------------------------ epochs

    def fit(self, on_epoch: Callable[[EpochStats], None] | None = None, *, until: int | None = None) -> list[EpochStats]:
        """Run the remaining epochs (to ``until``; the schedule spans ``epochs``) or until the loss diverges."""
        history = []
        last = self.epochs if until is None else min(until, self.epochs)
        while self.epoch < last and not self.diverged:
            stats = self.run_epoch()
            history.append(stats)
            if on_epoch is not None:
                on_epoch(stats)
        return history

    def run_epoch(self) -> EpochStats:
        with self._own_rng():
            return self._run_epoch()

    def _own_rng(self) -> contextlib.AbstractContextManager[None]:
        """torch's global generators set to this trainer's states for the block, then given back as they were."""
        return self._rng.lent(self.device)

    def _run_epoch(self) -> EpochStats:
        start = time.perf_counter()
        _, reselected = self.selection.subset_for(
            self.epoch, lambda with_gradients: self.selection_context(with_gradients=with_gradients))
        selected = self._sync_time()
        train_loss, train_accuracy, seen = self._train_one_epoch()
        trained = self._sync_time()
        evaluates = self._validates_at(self.epoch + 1)
        if evaluates:
            self._last_val = self.evaluate(self.val)
        val = self._last_val
        evaluated = self._sync_time()

        lr = self.optimizer.param_groups[0]["lr"]
        self.scheduler.step()
        self.epoch += 1
        self.samples_seen += seen
        return EpochStats(
            epoch=self.epoch,
            train_loss=train_loss,
            train_accuracy=train_accuracy,
            val_loss=val.loss,
            val_accuracy=val.accuracy,
            lr=lr,
            subset_size=seen,
            reselected=bool(reselected),
            selection_fallback=self.selection.fell_back,
            diverged=self.diverged,
            selection_s=selected - start,
            train_s=trained - selected,
            eval_s=evaluated - trained if evaluates else 0.0,
            samples_seen=self.samples_seen,
            evaluated=evaluates,
            bf16=self.precision.name == "bf16",
            fp16=self.precision.name == "fp16",
            channels_last=self.channels_last,
            val_scores=val.keyed("val"),
        )

    def _validates_at(self, epoch: int) -> bool:
        """Whether epoch ``epoch`` (1-based, its training done) evaluates the validation split: every epoch, or
        with ``validation: at_decisions`` the decision epochs, the last, one that diverged, and the first this
        trainer runs when it holds no measurement yet (so every epoch reports a measured value)."""
        if self._decision_epochs is None:
            return True
        return (epoch in self._decision_epochs or epoch >= self.epochs or self.diverged
                or self._last_val is None)

    def selection_context(
        self, *, with_gradients: bool, epoch: int | None = None, epochs: int | None = None
    ) -> SelectionContext:
        """What a strategy selects from as this trainer stands: the training labels, the last-layer gradients
        of its model (``with_gradients``; computed when first read), its lr and its training record.

        Args:
            epoch: the epoch the selection is for (seeds its draws); default this trainer's.
            epochs: the trial's length; default this trainer's (a proxy selects for trials of another length).
        """
        gradients = (LastLayerGradients(self.model, self.train, self.val, precision=self.precision.autocast_dtype)
                     if with_gradients else None)
        return SelectionContext(
            labels=self.train.y,
            num_classes=self.num_classes,
            epoch=self.epoch if epoch is None else epoch,
            seed=self.config.seed,
            gradients=gradients,
            batch_size=self.config.training.batch_size,
            learning_rate=self.optimizer.param_groups[0]["lr"],
            epochs=epochs or self.epochs,
            record=self.record,
        )

    def _epoch_order(self) -> tuple[torch.Tensor, torch.Tensor]:
        """This epoch's samples and their loss weights, shuffled (a data-parallel rank takes its share of them)."""
        if self.subset is None:
            indices = torch.arange(len(self.train), device=self.device)
            weights = torch.ones(len(self.train), device=self.device)
        else:  # a subset stays on the device it was selected on; only the shuffled order comes from the host
            indices, weights = self.subset.indices.to(self.device), self.subset.weights.float().to(self.device)
        order = torch.randperm(len(indices), generator=self._shuffle).to(self.device)
        return indices[order], weights[order]

    def _train_one_epoch(self) -> tuple[float, float, int]:
        normalized = self.subset is None or self.subset.normalized
        indices, weights = self._epoch_order()
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
            "selection_fallback": self.selection.fell_back,
            "diverged": self.diverged,
            "rng": (self._rng.cpu.clone(), self._shuffle.get_state(), self._augment.get_state()),
            "cuda_rng": None if self._rng.cuda is None else self._rng.cuda.clone(),
            "scaler": self.scaler.state_dict(),  # empty unless fp16
            "last_val": None if self._last_val is None else (
                self._last_val.loss, self._last_val.accuracy, dict(self._last_val.scores)),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch = state["epoch"]
        self.samples_seen = state["samples_seen"]
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.apply_hyperparameters()
        subset = None if state["subset"] is None else Subset(*state["subset"])  # older ones lack normalized
        self.selection.restore(subset, state["selection_fallback"])
        self.diverged = state["diverged"]
        cpu_rng, shuffle_rng, augment_rng = state["rng"]
        self._rng.cpu = cpu_rng.cpu()
        self._shuffle.set_state(shuffle_rng.cpu())
        self._augment.set_state(augment_rng.cpu())  # generator states are CPU byte tensors, CUDA generators' too
        if state.get("cuda_rng") is not None and self.device.type == "cuda":
            self._rng.cuda = state["cuda_rng"].cpu()
        # Checkpoints written before these entries lack them; a scaler's state only means something to a scaler
        # (a checkpoint of an fp16 trial continued on a CPU, where it trains in fp32, leaves it unused).
        if state.get("scaler") and self.scaler.is_enabled():
            self.scaler.load_state_dict(state["scaler"])
        if self.record is not None and state.get("record") is not None:  # else it starts empty: nothing pruned
            self.record.load_state_dict(state["record"])
        last_val = state.get("last_val")
        # Checkpoints written before the scores hold (loss, accuracy) alone.
        self._last_val = None if last_val is None else Evaluation(
            float(last_val[0]), float(last_val[1]), dict(last_val[2]) if len(last_val) > 2 else {})

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
    def evaluate(self, split: DeviceSplit) -> Evaluation:
        """Mean loss and accuracy on ``split`` (never augmented), and the search metric where it is computed
        from the logits: they are then kept, on the device, until the split is done."""
        self.model.eval()
        total_loss = torch.zeros((), device=self.device)
        correct = torch.zeros((), device=self.device, dtype=torch.int64)
        kept: list[tuple[torch.Tensor, torch.Tensor]] = []
        everything = torch.arange(len(split), device=self.device)
        for index in everything.split(self.config.training.eval_batch_size):
            x, y = split.batch(index)
            with self.precision.autocast():
                logits = self.model(x)
            logits = logits.float()
            total_loss += F.cross_entropy(logits, y, reduction="sum")
            correct += (logits.argmax(1) == y).sum()
            if self._scored:
                kept.append((logits, y))
        n = max(1, len(split))
        scores = {}
        if kept:
            logits, labels = torch.cat([k[0] for k in kept]), torch.cat([k[1] for k in kept])
            scores = {metric.name: compute(metric, logits, labels) for metric in self._scored}
        return Evaluation(float(total_loss) / n, float(correct) / n, scores)

    def evaluate_test(self) -> Evaluation:
        """``evaluate`` on the test split (moved to the device only when asked for)."""
        return self.evaluate(self._test_split())

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
