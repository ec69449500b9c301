"""A run of an experiment: the context a command opens it in, its phases (the subset search, the finalists, the
compression, the baseline, the comparison), its run directory and the markers of its completed phases.

(Not ``run/``: that would hide ``cords_tune.run``, the API's function, once imported.) Importing the package
loads none of its modules (``run_experiment`` and the others below load on first use).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cords_tune.lazy import lazy_attributes

__all__ = ["BASELINE_DIR", "RunContext", "RunResult", "full_data_variant", "open_run", "resume_experiment",
           "run_experiment"]

if TYPE_CHECKING:
    from cords_tune.runs.context import RunContext, open_run
    from cords_tune.runs.run_dir import BASELINE_DIR
    from cords_tune.runs.runner import RunResult, full_data_variant, resume_experiment, run_experiment

_LAZY = {
    "BASELINE_DIR": "cords_tune.runs.run_dir",
    "RunContext": "cords_tune.runs.context",
    "RunResult": "cords_tune.runs.runner",
    "full_data_variant": "cords_tune.runs.runner",
    "open_run": "cords_tune.runs.context",
    "resume_experiment": "cords_tune.runs.runner",
    "run_experiment": "cords_tune.runs.runner",
}

__getattr__ = lazy_attributes(__name__, _LAZY)
