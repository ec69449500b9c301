"""A shared strategy's subset in a tuning run: chosen once, by a Ray task with a trial's resources, kept in the
run directory (a resumed run trains on the same subset without a new proxy), and sent to every trial through
the object store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ray

from cords_tune.config import ExperimentConfig
from cords_tune.datasets import DataBundle
from cords_tune.errors import RunFailedError, RunInterruptedError
from cords_tune.models import GivenModel
from cords_tune.training.proxy import SharedSubset, is_shared, select_shared_subset
from cords_tune.tuning.retrain import as_trial_task
from cords_tune.tuning.session import first_line

__all__ = ["SHARED_SUBSET_FILE", "shared_subset_for"]

SHARED_SUBSET_FILE = "shared_subset.pt"


def shared_subset_for(
    config: ExperimentConfig, data_ref: Any, model: GivenModel | None, folder: Path
) -> tuple[SharedSubset, bool] | None:
    """The run's shared subsets and whether they were chosen now (``False``: read from ``folder``, where an earlier
    invocation of this run kept it); ``None`` when the strategy is not shared.

    Raises:
        RunFailedError: the proxy's training or the selection failed (nothing of the search has started).
        RunInterruptedError: Ctrl-C while the proxy trained.
    """
    if not is_shared(config):
        return None
    path = Path(folder) / SHARED_SUBSET_FILE
    if path.is_file():
        return SharedSubset.load(path), False
    task = as_trial_task(_select_on_worker, config).remote(config, data_ref, model)
    try:
        shared = ray.get(task)
    except KeyboardInterrupt:
        ray.cancel(task, force=True)
        raise RunInterruptedError(
            f"interrupted while the proxy of strategy {config.selection.strategy!r} trained; no trial had started. "
            "Run the experiment again"
        ) from None
    except Exception as error:  # noqa: BLE001 - the task's own error, said in one line
        raise RunFailedError(
            f"choosing the shared subsets ({config.selection.strategy}, a {config.selection.proxy.epochs}-epoch "
            f"proxy on the full data) failed: {first_line(error)}"
        ) from None
    shared.save(path)
    return shared, True


def _select_on_worker(config: ExperimentConfig, data: DataBundle, model: GivenModel | None) -> SharedSubset:
    from cords_tune.tuning.trainable import on_this_worker

    return select_shared_subset(on_this_worker(config), data, model)
