"""cords-tune: hyperparameter tuning on adaptively selected data subsets, with Ray Tune.

``cords_tune.run(experiment, data=..., model=...)`` tunes as ``cords-tune run`` does, with your own data and
network if you like; ``cords_tune.resume(run_dir)`` continues a run; ``cords_tune.train(config, data=..., model=...)`` trains one
configuration once on the full data, as ``cords-tune train`` does; ``cords_tune.trainable(experiment)`` is
subset training for your own ``tune.Tuner``; ``cords_tune.load_model(path)`` loads the final model a run or
``cords-tune train`` saved (``model.pt``) for prediction, and ``cords_tune.predict(model, data)`` predicts a
file of your data with it in your own labels, as ``cords-tune predict`` does; ``RunSummary``, ``TrialRecord``
and ``Comparison`` are a run's results, typed, and read and write its summary.json, trials.parquet and
comparison.json.
Importing the package is cheap: the names below load their modules (and torch) on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cords_tune.lazy import lazy_attributes

__version__ = "0.1.0"

__all__ = [
    "run",
    "resume",
    "train",
    "trainable",
    "experiment",
    "load_model",
    "predict",
    "FinalModel",
    "ExperimentConfig",
    "DataBundle",
    "RunResult",
    "RunSummary",
    "TrialRecord",
    "Comparison",
    "ConfigError",
    "CordsTuneError",
    "__version__",
]

if TYPE_CHECKING:
    from cords_tune.api import experiment, resume, run, train, trainable
    from cords_tune.config import ExperimentConfig
    from cords_tune.datasets.bundle import DataBundle
    from cords_tune.errors import ConfigError, CordsTuneError
    from cords_tune.final_model import FinalModel, load_model
    from cords_tune.prediction import predict
    from cords_tune.results.comparison import Comparison
    from cords_tune.runs import RunResult
    from cords_tune.results.summary import RunSummary
    from cords_tune.results.trial import TrialRecord

_LAZY = {
    "run": "cords_tune.api",
    "resume": "cords_tune.api",
    "train": "cords_tune.api",
    "trainable": "cords_tune.api",
    "experiment": "cords_tune.api",
    "FinalModel": "cords_tune.final_model",
    "load_model": "cords_tune.final_model",
    "predict": "cords_tune.prediction",
    "ExperimentConfig": "cords_tune.config",
    "DataBundle": "cords_tune.datasets.bundle",
    "RunResult": "cords_tune.runs.runner",
    "RunSummary": "cords_tune.results.summary",
    "TrialRecord": "cords_tune.results.trial",
    "Comparison": "cords_tune.results.comparison",
    "ConfigError": "cords_tune.errors",
    "CordsTuneError": "cords_tune.errors",
}


__getattr__ = lazy_attributes(__name__, _LAZY)
