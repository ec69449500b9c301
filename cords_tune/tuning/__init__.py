"""The only package that imports Ray and Optuna: trainable, search space, progress, retrain, runner."""

from cords_tune.tuning.progress import Progress
from cords_tune.tuning.runner import RunResult, resume_experiment, run_experiment

__all__ = ["Progress", "RunResult", "resume_experiment", "run_experiment"]
