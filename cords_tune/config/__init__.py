"""The experiment schema: YAML -> a validated ``ExperimentConfig``, checked on the driver before Ray starts.

Every error becomes one ``ConfigError`` naming the field path, what must hold and what was given. Search
spaces are written as domains on dotted paths of the config (``training.lr: {loguniform: [1e-4, 0.1]}``)
and every bound and choice is checked by validating the config with that value in place, so a search space
cannot produce an invalid trial.

One module per concept: ``base`` (the strict model every section derives from), a module per section
(``data``, ``training``, ``selection``, ``domain`` and ``search``, ``resources``, ``final``, ``tracking``,
``energy``), ``experiment`` (the whole and its cross-section checks), ``validation`` (pydantic's findings as one
``ConfigError``), ``space`` (the search-space language, ``apply_params``) and ``loading`` (files, overrides).
Every section's class is re-exported here: a config pickled before the package was split names its classes
``cords_tune.config.<Class>``.
"""

from __future__ import annotations

from cords_tune.config.data import DatasetConfig, ModelConfig
from cords_tune.config.domain import DOMAIN_KINDS, Domain
from cords_tune.config.energy import EnergyConfig
from cords_tune.config.experiment import ExperimentConfig
from cords_tune.config.final import CompressConfig, FinalConfig
from cords_tune.config.loading import load_config, parse_config, parse_overrides, read_experiment
from cords_tune.config.resources import FaultToleranceConfig, ResourcesConfig
from cords_tune.config.search import AshaConfig, SearchConfig
from cords_tune.config.selection import ProxyConfig, SelectionConfig
from cords_tune.config.space import apply_params
from cords_tune.config.tracking import MlflowConfig, TrackingConfig, WandbConfig
from cords_tune.config.training import TrainingConfig

__all__ = [
    "DOMAIN_KINDS",
    "AshaConfig",
    "CompressConfig",
    "DatasetConfig",
    "Domain",
    "EnergyConfig",
    "ExperimentConfig",
    "FaultToleranceConfig",
    "FinalConfig",
    "MlflowConfig",
    "ModelConfig",
    "ProxyConfig",
    "ResourcesConfig",
    "SearchConfig",
    "SelectionConfig",
    "TrackingConfig",
    "TrainingConfig",
    "WandbConfig",
    "apply_params",
    "load_config",
    "parse_config",
    "parse_overrides",
    "read_experiment",
]
