"""The selection-cost guard's measurement in a tuning run: one Ray task with a trial's resources measures a
selection cycle before the search (``training.cost_guard.measure_cycle_cost``), and the run keeps it in its
directory, so every trial, retry and resumed session of the run decides from the same figures."""

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
    config: ExperimentConfig, data_ref: Any, model: GivenModel | None, folder: Path
) -> CycleCost | None:
    """The run's measured selection cycle: read from ``folder`` where an earlier session of the run kept it, else
    measured now and kept there; ``None`` where the guard cannot act (``training.cost_guard.is_guarded``).

    Raises:
        RunFailedError: the measurement failed (as a trial would: the data or the model does not train).
        RunInterruptedError: Ctrl-C while it ran.
    """
    if not is_guarded(config):
        return None
    path = Path(folder) / SELECTION_COST_FILE
    if path.is_file():
        return CycleCost.load(path)
    task = as_trial_task(_measure_on_worker, config).remote(config, data_ref, model)
    try:
        cost = ray.get(task)
    except KeyboardInterrupt:
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


def _measure_on_worker(config: ExperimentConfig, data: DataBundle, model: GivenModel | None) -> CycleCost:
    from cords_tune.tuning.trainable import on_this_worker

    return measure_cycle_cost(on_this_worker(config), data, model)
