"""The only package that imports Ray and Optuna: trainable, search space, progress, retrain, runner.

Importing the package loads none of its modules: a trial worker imports the trainable alone, not the runner
and its reports (``run_experiment`` and the others below load on first use).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cords_tune.lazy import lazy_attributes

__all__ = ["Progress", "RunResult", "RunSummary", "TrialRecord", "resume_experiment", "run_experiment"]

if TYPE_CHECKING:
    from cords_tune.tuning.progress import Progress
    from cords_tune.tuning.runner import RunResult, resume_experiment, run_experiment
    from cords_tune.results.summary import RunSummary
    from cords_tune.results.trial import TrialRecord

_LAZY = {
    "Progress": "cords_tune.tuning.progress",
    "RunResult": "cords_tune.tuning.runner",
    "RunSummary": "cords_tune.results.summary",
    "TrialRecord": "cords_tune.results.trial",
    "resume_experiment": "cords_tune.tuning.runner",
    "run_experiment": "cords_tune.tuning.runner",
}


__getattr__ = lazy_attributes(__name__, _LAZY)
