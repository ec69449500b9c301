"""The selection-cost guard's measurement in a tuning run: a selection cycle measured once before the search
(``training.cost_guard.measure_cycle_cost``) where a trial trains, kept in the run directory, so every trial,
retry and resumed session of the run decides from the same figures."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import ray

from cords_tune.config import ExperimentConfig
from cords_tune.datasets import DataBundle
from cords_tune.errors import RunFailedError, RunInterruptedError
from cords_tune.models import GivenModel
from cords_tune.training.cost_guard import CycleCost, forecast, is_guarded, measure_cycle_cost
from cords_tune.tuning.retrain import as_trial_task
from cords_tune.tuning.session import first_line

__all__ = ["SELECTION_COST_FILE", "selection_cost_for"]

log = logging.getLogger(__name__)

SELECTION_COST_FILE = "selection_cost.json"


def selection_cost_for(
    config: ExperimentConfig, data: DataBundle, data_ref: Any, model: GivenModel | None, folder: Path
) -> CycleCost | None:
    """The run's measured selection cycle: read from ``folder`` where an earlier session of the run kept it, else
    measured now (on ``data`` here, or by a Ray task on ``data_ref``, its copy in the object store) and kept there;
    ``None`` where the guard cannot act (``training.cost_guard.is_guarded``).

    Raises:
        RunFailedError: the measurement failed (as a trial would: the data or the model does not train).
        RunInterruptedError: Ctrl-C while it ran.
    """
    if not is_guarded(config):
        return None
    path = Path(folder) / SELECTION_COST_FILE
    if path.is_file():
        return CycleCost.load(path)
    task = None
    try:
        if _measures_here(config):
            cost = _measure_here(config, data, model)
        else:
            task = as_trial_task(_measure_on_worker, config).remote(config, data_ref, model)
            cost = ray.get(task)
    except KeyboardInterrupt:
        if task is not None:
            ray.cancel(task, force=True)
        raise RunInterruptedError("interrupted while measuring what a selection costs; nothing else had started. "
                                  "Run it again") from None
    except Exception as error:  # noqa: BLE001 - the task's own error, said in one line
        raise RunFailedError(f"measuring what a selection by {config.selection.strategy} costs (two subset "
                             f"epochs and two selections on a trial's resources) failed: {first_line(error)}") from None
    cost.save(path)
    guard = forecast(config, cost)
    log.log(logging.WARNING if guard.falls_back else logging.INFO,
            "selection cost guard: %s a selection, %s an epoch; at the experiment's own settings trials %s",
            f"{cost.selection_s:.3f}s", f"{cost.train_s + cost.eval_s:.3f}s",
            f"fall back to random subsets: {guard.reason(config)}" if guard.falls_back else
            f"keep {config.selection.strategy} ({guard.selection_s:.2f}s of selection, {100 * guard.share:.0f}% "
            "of a cycle)")
    return cost


def _measures_here(config: ExperimentConfig) -> bool:
    """Whether the driver measures: where trials train on CPUs of a one-node Ray that is this machine, the driver's
    CPU is theirs, and a Ray task would first start a worker (seconds a small run notices). A GPU is left to the
    trials: a CUDA context made in the driver would hold GPU memory for the whole run."""
    if config.resources.gpus_per_trial:
        return False
    nodes = [node for node in ray.nodes() if node.get("Alive")]
    return len(nodes) == 1 and nodes[0].get("NodeID") == ray.get_runtime_context().get_node_id()


def _measure_here(config: ExperimentConfig, data: DataBundle, model: GivenModel | None) -> CycleCost:
    """Measured in this process as a trial would run: on the CPU, one torch thread per CPU it is given."""
    import torch

    from cords_tune.tuning.trainable import on_this_worker

    threads = torch.get_num_threads()
    try:
        return measure_cycle_cost(on_this_worker(config), data, model)
    finally:
        torch.set_num_threads(threads)


def _measure_on_worker(config: ExperimentConfig, data: DataBundle, model: GivenModel | None) -> CycleCost:
    from cords_tune.tuning.trainable import on_this_worker

    return measure_cycle_cost(on_this_worker(config), data, model)
