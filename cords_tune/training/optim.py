"""Optimizers and learning-rate schedules from a ``TrainingConfig``."""

from __future__ import annotations

import math

import torch

from cords_tune.config import TrainingConfig

__all__ = ["build_optimizer", "build_scheduler", "scheduled_lr"]


def build_optimizer(params, config: TrainingConfig) -> torch.optim.Optimizer:
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            params,
            lr=config.lr,
            momentum=config.momentum,
            nesterov=config.nesterov and config.momentum > 0,
            weight_decay=config.weight_decay,
        )
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)


def build_scheduler(
    optimizer: torch.optim.Optimizer, config: TrainingConfig, epochs: int
) -> torch.optim.lr_scheduler.LRScheduler:
    """A schedule stepped once per epoch over ``epochs`` epochs."""
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    if config.schedule == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=config.step_every, gamma=config.gamma)
    return torch.optim.lr_scheduler.ConstantLR(optimizer, factor=1.0, total_iters=0)


def scheduled_lr(config: TrainingConfig, epochs: int, epoch: int) -> float:
    """The lr the schedule of ``build_scheduler`` gives after ``epoch`` steps, from ``config.lr`` (closed form)."""
    if config.schedule == "cosine":
        return config.lr * (1 + math.cos(math.pi * epoch / epochs)) / 2
    if config.schedule == "step":
        return config.lr * config.gamma ** (epoch // config.step_every)
    return config.lr
