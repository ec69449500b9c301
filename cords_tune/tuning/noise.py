"""What Ray Tune and Optuna say during a search that tells a cords-tune user nothing, silenced where it is said
(one message each; every other warning is kept)."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ray.tune.search.optuna import OptunaSearch

__all__ = ["ContinuedTrialsOptunaSearch", "forced_snapshots_unannounced"]

_SNAPSHOT_LOGGER = "ray.tune.execution.experiment_state"
_SNAPSHOTS_FORCED = "Experiment state snapshotting has been triggered multiple times"


class ContinuedTrialsOptunaSearch(OptunaSearch):
    """``OptunaSearch`` for trials that may continue from a checkpoint older than their last report (after a
    resume or a failure): they report some epochs again. Optuna keeps the first value of each and warns once per
    epoch; here that is expected, so that warning alone is not shown."""

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"The reported value is ignored because this `step=\d+` is "
                                    "already reported", category=UserWarning)
            super().on_trial_result(trial_id, result)


class _ForcedSnapshots(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(_SNAPSHOTS_FORCED)


@contextmanager
def forced_snapshots_unannounced() -> Iterator[None]:
    """Around a ``Tuner.fit``: Tune snapshots its state whenever a trial has saved ``keep_checkpoints``
    checkpoints (so that the state never names a deleted one), which short trials do often, and it warns each
    time that this may become a bottleneck. Snapshots that really are slow have their own warning, kept."""
    logger, quiet = logging.getLogger(_SNAPSHOT_LOGGER), _ForcedSnapshots()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)
