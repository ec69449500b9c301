"""The finalists' tasks on worker processes that have already imported the training code.

A finalist is a Ray task. By the time it is submitted the search's trial actors are gone, and with them the
processes that had imported torch, so each finalist used to start a process that imported everything again
(torch, ``torch._dynamo`` which the first optimizer step imports, the training modules) before its first batch.
Ray keeps a task's process when the task ends and gives it to the next task of the run that asks for the same
kind of resources. So while the search's last trials run and slots go idle, light tasks with a trial's
resources import what a training needs there; the finalists then land on those processes already warm. Where
no slot goes idle before the search ends, the light tasks run as the driver ranks the trials and the
finalists wait for them rather than for a cold process: the start is never later than without them.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

from ray import tune

from cords_tune.config import ExperimentConfig

__all__ = ["WARM_IMPORTS", "WarmedWorker", "warm_workers", "warm_up", "WarmWorkersInTheTail", "tasks_after_search"]

# What a finalist's task imports before its first batch: its task's module, the race's hooks its job carries,
# the trainer, and ``torch._dynamo`` (its first optimizer step imports it).
WARM_IMPORTS = ("torch", "torch._dynamo", "cords_tune.tuning.worker", "cords_tune.tuning.race",
                "cords_tune.tuning.retrain", "cords_tune.training.factory")


@dataclass(frozen=True)
class WarmedWorker:
    """What one warm-up task did: the process it warmed and how long the imports took there."""

    pid: int
    import_s: float
    already_warm: bool  # torch was imported in that process before (a reused one)


def warm_up(plugins: tuple[str, ...] = (), data: Any = None) -> WarmedWorker:
    """Import what a training imports, in this process. ``data``, when given as a task's argument, is
    already local to this node by the time this runs (Ray fetched it); it is not read."""
    import importlib
    import sys

    already_warm = "torch" in sys.modules
    tick = time.perf_counter()
    for module in WARM_IMPORTS:
        importlib.import_module(module)
    from cords_tune.plugins import import_plugins

    import_plugins(list(plugins))
    return WarmedWorker(os.getpid(), time.perf_counter() - tick, already_warm)


def warm_workers(config: ExperimentConfig, count: int, data_ref: Any = None) -> list[Any]:
    """Submit ``count`` warm-up tasks with a trial's resources (Ray gives a process that ran a GPU task only to
    GPU tasks, and the others only to the others); their ObjectRefs, each a ``WarmedWorker``. With
    ``data_ref``, each also brings the run's data to its node's object store.

    Ray ends the process of a task that asked for a GPU once the task returns unless told otherwise (GPU
    memory a task leaves behind is not freed before); a warm-up allocates none, so its process is kept
    (``max_calls=0``), for one finalist: the finalist's own task is ended after it as before."""
    import ray

    resources = config.resources
    task = ray.remote(num_cpus=resources.cpus_per_trial, num_gpus=resources.gpus_per_trial, max_calls=0,
                      max_retries=0)(warm_up)
    extra = (data_ref,) if data_ref is not None else ()
    return [task.remote(tuple(config.plugins), *extra) for _ in range(count)]


def tasks_after_search(config: ExperimentConfig) -> int:
    """How many trainings follow the search as Ray tasks, started at once: the finalists (``final.top_k``,
    no more than the trials), none where ``final`` is off."""
    if not config.final.enabled:
        return 0
    return min(config.final.top_k, config.search.num_trials)


class WarmWorkersInTheTail(tune.Callback):
    """Starts the warm-up tasks for the trainings after the search (``count``) in the search's tail, in slots
    it leaves idle: once every trial is created and none is pending, one warm-up per slot no trial runs in (the
    slots: the most trials seen running at once), up to ``count``. A finalist that finds no warm process starts
    one of its own, as without them."""

    def __init__(self, config: ExperimentConfig, count: int, data_ref: Any = None) -> None:
        self.config, self.count, self.data_ref = config, count, data_ref
        self.slots = 0
        self.warming: list[Any] = []  # the warm-up tasks' ObjectRefs, as submitted

    def on_step_end(self, iteration: int, trials: list[Any], **info: Any) -> None:
        running = sum(trial.status == "RUNNING" for trial in trials)
        self.slots = max(self.slots, running)
        if len(self.warming) >= self.count or len(trials) < self.config.search.num_trials:
            return
        if any(trial.status == "PENDING" for trial in trials):
            return
        wanted = min(self.count, self.slots - running) - len(self.warming)
        if wanted > 0:
            self.warming += warm_workers(self.config, wanted, self.data_ref)
