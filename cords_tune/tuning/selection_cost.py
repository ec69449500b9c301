"""The selection-cost guard's measurement in a tuning run: a selection cycle measured once
(``training.measure.measure_cycle_cost``) where a trial trains, kept in the run directory, so every trial, retry
and resumed session of the run decides from the same figures.

Where trials train on the CPUs of a one-node Ray that is this machine, the driver measures, before the search: its
CPU is theirs, and a Ray task would first start a worker and hold one of the trials' slots while it does (seconds a
small run notices). Elsewhere (GPUs, a cluster) a Ray task with a trial's resources measures, beside the first
trials' start-up, as a shared strategy's proxy is trained (``tuning.shared_subset``): they wait for its result in
their set-up. A GPU is left to the trials: a CUDA context made in the driver would hold GPU memory all run long."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import ray
from ray import tune

from cords_tune.config import ExperimentConfig
from cords_tune.datasets import DataBundle
from cords_tune.models import GivenModel
from cords_tune.training.cost_guard import CycleCost, forecast, is_guarded
from cords_tune.training.measure import measure_cycle_cost
from cords_tune.tuning.worker import as_trial_task
from cords_tune.tuning.session import first_line

__all__ = ["SELECTION_COST_FILE", "CostTask", "CostWatch", "measure_in_this_process"]

log = logging.getLogger(__name__)

SELECTION_COST_FILE = "selection_cost.json"


class CostTask:
    """The run's measured selection cycle for one search: read from ``folder``, where an earlier session of the run
    kept it, or measured by a Ray task started here, kept in ``folder`` as soon as it is done (``poll``).
    ``ref`` is what the trials get. ``start`` returns ``None`` where the guard cannot act
    (``training.cost_guard.is_guarded``)."""

    def __init__(
        self, config: ExperimentConfig, data: DataBundle, data_ref: Any, model: GivenModel | None, folder: Path
    ) -> None:
        self._config = config
        self._path = Path(folder) / SELECTION_COST_FILE
        self.cost: CycleCost | None = CycleCost.load(self._path) if self._path.is_file() else None
        self._task = None
        if self.cost is None and measures_here(config):
            self._keep(measure_in_this_process(config, data, model))
        elif self.cost is None:
            self._task = as_trial_task(_measure_on_worker, config).remote(config, data_ref, model)
        self._done = self._task is None

    @classmethod
    def start(
        cls, config: ExperimentConfig, data: DataBundle, data_ref: Any, model: GivenModel | None, folder: Path
    ) -> CostTask | None:
        """Args: ``data``: the run's data, for a measurement here; ``data_ref``: its copy in the object store,
        for a task."""
        return cls(config, data, data_ref, model, folder) if is_guarded(config) else None

    @property
    def ref(self) -> Any:
        """What the trials get: the kept figures, or the task's result (they wait for it in their set-up)."""
        return self.cost if self._task is None else self._task

    def poll(self) -> None:
        """Keep the figures in the run directory as soon as the task is done."""
        if not self._done and ray.wait([self._task], timeout=0)[0]:
            self._collect()

    def settle(self) -> None:
        """After the search, or an interrupted one: keep the figures if the task is done, else stop it (a later
        session measures again; no trial decided without them). Never waits."""
        self.poll()
        if not self._done:
            ray.cancel(self._task, force=True)

    def _collect(self) -> None:
        self._done = True
        try:
            self._keep(ray.get(self._task))
        except Exception as error:  # noqa: BLE001 - cancelled, or its worker died: said in one line
            log.warning("measuring what a selection costs failed (%s)", first_line(error))

    def _keep(self, cost: CycleCost | None) -> None:
        self.cost = cost
        if self.cost is None:  # the trials train with the strategy as configured; a later session measures again
            return
        self.cost.save(self._path)
        guard = forecast(self._config, self.cost)
        log.log(logging.WARNING if guard.falls_back else logging.INFO,
                "selection cost guard: %s a selection, %s an epoch; at the experiment's own settings trials %s",
                f"{self.cost.selection_s:.3f}s", f"{self.cost.train_s + self.cost.eval_s:.3f}s",
                f"fall back to random subsets: {guard.reason}" if guard.falls_back else
                f"keep {self._config.selection.strategy} ({guard.selection_s:.2f}s of selection, "
                f"{100 * guard.share:.0f}% of a cycle)")


class CostWatch(tune.Callback):
    """Polls a ``CostTask`` at every step of the search, so its figures are kept as soon as they exist."""

    def __init__(self, task: CostTask | None) -> None:
        self.task = task

    def __getstate__(self) -> dict[str, Any]:
        return {"task": None}  # kept with Tune's state; a task of this session means nothing to a resumed one

    def on_step_begin(self, iteration: int, trials: list[Any], **info: Any) -> None:
        if self.task is not None:
            self.task.poll()


def measures_here(config: ExperimentConfig) -> bool:
    """Whether the driver measures: trials without GPUs, on a one-node Ray that is this machine."""
    if config.resources.gpus_per_trial:
        return False
    nodes = [node for node in ray.nodes() if node.get("Alive")]
    return len(nodes) == 1 and nodes[0].get("NodeID") == ray.get_runtime_context().get_node_id()


def measure_in_this_process(config: ExperimentConfig, data: DataBundle, model: GivenModel | None) -> CycleCost | None:
    """Measured in this process as a trial would train (on the CPU, one torch thread per CPU it is given)."""
    import torch

    threads = torch.get_num_threads()
    try:
        return _measure_on_worker(config, data, model)
    finally:
        torch.set_num_threads(threads)


def _measure_on_worker(config: ExperimentConfig, data: DataBundle, model: GivenModel | None) -> CycleCost | None:
    """The figures, or ``None`` where the measurement fails (the guard then stays off: a trial training the same
    config says what is wrong, in its own error)."""
    from cords_tune.tuning.worker import on_this_worker

    try:
        return measure_cycle_cost(on_this_worker(config), data, model)
    except Exception as error:  # noqa: BLE001
        log.warning("measuring what a selection by %s costs failed: %s; the cost guard is off for this session",
                    config.selection.strategy, first_line(error))
        return None
