"""The search-space language on a validated experiment: dotted paths resolved to searchable fields (``lr`` ->
``training.lr``), every domain's edge values checked by validating the config with them in place (so a search
space cannot produce an invalid trial), and a trial's sample applied to the config (``apply_params``)."""

from __future__ import annotations

import copy
from typing import Any

from cords_tune.config.domain import Domain
from cords_tune.config.experiment import ExperimentConfig
from cords_tune.config.selection import SelectionConfig
from cords_tune.config.training import TrainingConfig
from cords_tune.config.validation import validate_experiment
from cords_tune.errors import ConfigError, did_you_mean

__all__ = ["SECTIONS", "UNSEARCHABLE", "apply_params", "check_space", "set_paths"]

SECTIONS = ("dataset", "model", "training", "selection")
# Fields a trial cannot change on its own: the run is built around them.
UNSEARCHABLE = {
    "training.epochs": "the number of epochs cannot be searched: ASHA decides how long each trial trains "
    "(set training.epochs, and search.asha for the early-stopping rungs)",
    "training.device": "the device cannot be searched: it follows resources.gpus_per_trial",
    "training.eval_batch_size": "the evaluation batch size changes no result: set it, do not search it",
    "training.precision": "the precision sets how fast a trial runs, not what is tuned: set it, do not search it",
    "training.channels_last": "the memory order changes no result: set it, do not search it",
    "training.validation": "where validation runs changes no decision: set it, do not search it",
    "selection.proxy": "the proxy a shared strategy scores the data with is trained once per run, before any "
    "trial: set selection.proxy, do not search it",
}


def check_space(config: ExperimentConfig) -> ExperimentConfig:
    """``config`` with its search space's paths resolved, after checking that every path names a searchable
    field, every domain's values make a valid config, and nothing searched differs per trial where a shared
    strategy selects one subset per run."""
    config = _resolve_space_paths(config)
    _check_space_values(config)
    _check_shared_subset_space(config)
    return config


def apply_params(config: ExperimentConfig, params: dict[str, Any]) -> ExperimentConfig:
    """A new validated config with each dotted ``path: value`` of ``params`` set (a trial's sample)."""
    data = config.model_dump(mode="python")
    data["search"]["space"] = {}  # the sample replaces the search; keeps trial configs self-contained
    # With no search space, parsing it is validating it (what parse_config does with a space is check_space).
    return validate_experiment(set_paths(data, params))


def set_paths(data: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``data`` with each dotted ``path: value`` of ``values`` set, its sections made where missing."""
    data = copy.deepcopy(data)
    for path, value in values.items():
        node = data
        keys = path.split(".")
        for i, key in enumerate(keys[:-1]):
            child = node.get(key)
            if child is None:
                child = node[key] = {}
            if not isinstance(child, dict):
                raise ConfigError(f"cannot set {path!r}: {'.'.join(keys[: i + 1])!r} is not a section")
            node = child
        node[keys[-1]] = value
    return data


def _resolve_space_paths(config: ExperimentConfig) -> ExperimentConfig:
    """Give bare names (``lr``) their section, check every path names a searchable field."""
    resolved: dict[str, Domain] = {}
    written: dict[str, str] = {}
    for path, domain in config.search.space.items():
        full = _resolve_path(path, config)
        if full in resolved:
            raise ConfigError(
                f"{full!r} is searched twice: as {written[full]!r} and as {path!r}; keep one", path="search.space"
            )
        resolved[full] = domain
        written[full] = path
    config.search.space = resolved
    return config


def _resolve_path(path: str, config: ExperimentConfig) -> str:
    where = f"search.space.{path}"
    parts = path.split(".")
    if parts[0] not in SECTIONS:
        owners = [s for s in ("training", "selection") if parts[0] in type(getattr(config, s)).model_fields]
        if len(parts) == 1 and len(owners) == 1:
            return f"{owners[0]}.{path}"
        searchable = [f"training.{f}" for f in TrainingConfig.model_fields] + [
            f"selection.{f}" for f in SelectionConfig.model_fields if f != "params"
        ]
        raise ConfigError(
            f"{path!r} is not a searchable parameter.{did_you_mean(path, searchable)} Use a dotted path "
            "into the config: training.<field>, selection.<field>, model.params.<name> or "
            "selection.params.<name>",
            path=where,
        )
    section, rest = parts[0], parts[1:]
    if section == "dataset" and rest != ["augment"]:
        raise ConfigError("of the dataset only 'dataset.augment' can be searched", path=where)
    if len(rest) == 2 and rest[0] == "params" and section in ("model", "selection"):
        return path  # the value check below rejects names the builder does not take
    if path in UNSEARCHABLE:
        raise ConfigError(UNSEARCHABLE[path], path=where)
    fields = type(getattr(config, section)).model_fields
    if len(rest) != 1 or rest[0] not in fields or rest[0] == "params":
        names = [f"{section}.{f}" for f in fields if f != "params"]
        raise ConfigError(
            f"{path!r} is not a field.{did_you_mean(path, names)} Fields of {section}: {', '.join(names)}",
            path=where,
        )
    return path


def _check_space_values(config: ExperimentConfig) -> None:
    """Validate the config with each edge value of each domain in place."""
    for path, domain in config.search.space.items():
        for value in domain.probes:
            try:
                apply_params(config, {path: value})
            except ConfigError as error:
                raise ConfigError(
                    f"the value {value!r} of this domain makes an invalid config: {error}",
                    path=f"search.space.{path}",
                ) from None


def _check_shared_subset_space(config: ExperimentConfig) -> None:
    """A shared strategy selects one subset per run, before any trial: nothing of it can differ per trial."""
    from cords_tune.selection import plan_for

    searched = [path for path in config.search.space if path.startswith("selection.")]
    if searched and plan_for(config.selection).shared:
        raise ConfigError(
            f"strategy {config.selection.strategy!r} selects one subset per run, shared by every trial, so "
            f"{searched[0]!r} cannot differ between trials. Set it in selection instead of searching it, or pick "
            "a per-trial strategy (cords-tune strategies lists which are shared)",
            path=f"search.space.{searched[0]}",
        )
