"""The only package that imports Ray and Optuna: trainable, one Tune search, search space, progress, retrain.
The run's phases that use it are in ``cords_tune.runs``.

Importing the package loads none of its modules: a trial worker imports the trainable alone, not the search and
its reports (the names below load on first use).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cords_tune.lazy import lazy_attributes

__all__ = ["Progress", "RunSummary", "TrialRecord"]

if TYPE_CHECKING:
    from cords_tune.tuning.progress import Progress
    from cords_tune.results.summary import RunSummary
    from cords_tune.results.trial import TrialRecord

_LAZY = {
    "Progress": "cords_tune.tuning.progress",
    "RunSummary": "cords_tune.results.summary",
    "TrialRecord": "cords_tune.results.trial",
}


__getattr__ = lazy_attributes(__name__, _LAZY)
