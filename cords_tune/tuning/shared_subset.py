"""A shared strategy's subsets in a tuning run: chosen once (``training.proxy``), by a Ray task with a trial's
resources, kept in the run directory (a resumed run trains on the same subsets without a new proxy), and sent to
every trial through the object store. In a search the task runs beside the first trials' start-up
(``ProxyTask``): they wait for its result in their set-up, so starting their workers costs no extra wall-clock."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ray
from ray import tune

from cords_tune.config import ExperimentConfig
from cords_tune.datasets import DataBundle
from cords_tune.errors import RunFailedError, RunInterruptedError
from cords_tune.models import GivenModel
from cords_tune.training.proxy import (
    SHARED_SUBSET_FILE,
    SharedSubset,
    is_shared,
    kept_shared_subset,
    select_shared_subset,
)
from cords_tune.tuning.worker import as_trial_task
from cords_tune.tuning.session import first_line

__all__ = ["ProxyFailed", "ProxyTask", "ProxyWatch", "shared_subset_for"]


def shared_subset_for(
    config: ExperimentConfig, data_ref: Any, model: GivenModel | None, folder: Path
) -> tuple[SharedSubset, bool] | None:
    """The run's shared subsets and whether they were chosen now (``False``: read from ``folder``, where an earlier
    invocation of this run kept them), waiting for the proxy task; ``None`` when the strategy is not shared.

    Raises:
        RunFailedError: the proxy's training or the selection failed.
        RunInterruptedError: Ctrl-C while the proxy trained.
    """
    task = ProxyTask.start(config, data_ref, model, folder)
    if task is None:
        return None
    try:
        return task.result(), task.chosen_now
    except KeyboardInterrupt:
        task.cancel()
        raise RunInterruptedError(
            f"interrupted while the proxy of strategy {config.selection.strategy!r} trained; nothing else had "
            "started. Run it again"
        ) from None


class ProxyFailed(RuntimeError):
    """The proxy task of a shared strategy failed: the search cannot go on (its trials wait for the subsets)."""


class ProxyTask:
    """A shared strategy's subsets for one search, started beside it: read from ``folder``, where an earlier
    invocation of the run kept them, or chosen by a Ray task (a trial's resources) that runs while Tune starts
    the first trials. ``ref`` is what the trials get: they wait for it in their set-up.

    Call ``poll`` while the search runs (``ProxyWatch``) and ``result`` after it; ``None`` from ``start`` for a
    per-trial strategy.
    """

    def __init__(self, config: ExperimentConfig, data_ref: Any, model: GivenModel | None, folder: Path) -> None:
        self._config = config
        self._path = Path(folder) / SHARED_SUBSET_FILE
        self.failure: str | None = None
        self.chosen: SharedSubset | None = kept_shared_subset(folder)
        self.chosen_now = self.chosen is None
        self._task = (as_trial_task(_select_on_worker, config).remote(config, data_ref, model)
                      if self.chosen is None else None)
        self._ref = self._task

    @property
    def ref(self) -> Any:
        """What the trials get: the task's result, or the kept subsets put in the object store on first use."""
        if self._ref is None:
            self._ref = ray.put(self.chosen)
        return self._ref

    @classmethod
    def start(
        cls, config: ExperimentConfig, data_ref: Any, model: GivenModel | None, folder: Path
    ) -> ProxyTask | None:
        return cls(config, data_ref, model, folder) if is_shared(config) else None

    def poll(self) -> None:
        """Keep the subsets in the run directory as soon as the task is done.

        Raises:
            ProxyFailed: the task failed.
        """
        if self.chosen is None and self.failure is None and ray.wait([self._task], timeout=0)[0]:
            self._collect()

    def result(self) -> SharedSubset:
        """The subsets (waiting for the task if it is still running).

        Raises:
            RunFailedError: the proxy's training or the selection failed.
        """
        if self.chosen is None and self.failure is None:
            try:
                self._collect()
            except ProxyFailed:
                pass
        if self.failure is not None:
            raise RunFailedError(
                f"choosing the shared subsets ({self._config.selection.strategy}, a "
                f"{self._config.selection.proxy.epochs}-epoch proxy on the full data) failed: {self.failure}"
            )
        return self.chosen

    def cancel(self) -> None:
        """Stop the task if it still runs (a later invocation of the run starts it again)."""
        if self._task is not None and self.chosen is None:
            ray.cancel(self._task, force=True)

    def settle(self) -> None:
        """After an interrupted search: keep the subsets if the task has finished (a resume reads them instead
        of training the proxy again), else stop it. Never waits."""
        try:
            self.poll()
        except ProxyFailed:
            return
        self.cancel()

    def _collect(self) -> None:
        try:
            self.chosen = ray.get(self._task)
        except Exception as error:  # noqa: BLE001 - the task's own error, said in one line
            self.failure = first_line(error)
            raise ProxyFailed(self.failure) from None
        self.chosen.save(self._path)


class ProxyWatch(tune.Callback):
    """Polls a ``ProxyTask`` at every step of the search: its subsets are kept as soon as they exist, and a failed
    proxy ends the search at once (its trials would only fail one by one, waiting for it)."""

    def __init__(self, task: ProxyTask | None) -> None:
        self.task = task

    def __getstate__(self) -> dict[str, Any]:
        # Tune keeps its callbacks with the experiment's state; a task of this session means nothing to a resumed
        # one (which starts its own, or reads the kept subsets).
        return {"task": None}

    def on_step_begin(self, iteration: int, trials: list[Any], **info: Any) -> None:
        if self.task is not None:
            self.task.poll()


def _select_on_worker(config: ExperimentConfig, data: DataBundle, model: GivenModel | None) -> SharedSubset:
    from cords_tune.tuning.worker import on_this_worker

    return select_shared_subset(on_this_worker(config), data, model)
