"""Ray Tune's ``OptunaSearch``, quiet about the epochs a continued trial reports again."""

from __future__ import annotations

import warnings
from typing import Any

from ray.tune.search.optuna import OptunaSearch

__all__ = ["ContinuedTrialsOptunaSearch"]


class ContinuedTrialsOptunaSearch(OptunaSearch):
    """``OptunaSearch`` for trials that may continue from a checkpoint older than their last report (after a
    resume or a failure): they report some epochs again. Optuna keeps the first value of each and warns once per
    epoch; here that is expected, so that warning alone is not shown."""

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"The reported value is ignored because this `step=\d+` is "
                                    "already reported", category=UserWarning)
            super().on_trial_result(trial_id, result)
