"""Reading an experiment: a YAML file (plain data only, a key given twice is an error), ``a.b=value``
overrides, plugins added from the command line, then validation and the search space's checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from cords_tune.config.experiment import ExperimentConfig
from cords_tune.config.space import check_space, set_paths
from cords_tune.config.validation import validate_experiment
from cords_tune.errors import ConfigError

__all__ = ["load_config", "parse_config", "parse_overrides", "read_experiment"]


def parse_config(
    data: Any,
    *,
    source: str = "config",
    overrides: list[str] | tuple[str, ...] = (),
    plugins: list[str] | tuple[str, ...] = (),
) -> ExperimentConfig:
    """Validate a mapping into an ``ExperimentConfig`` after applying ``a.b=value`` ``overrides`` and adding
    ``plugins``; raise one ``ConfigError`` describing all problems."""
    if overrides and isinstance(data, dict):
        data = set_paths(data, parse_overrides(overrides))
    listed = (data.get("plugins") or []) if isinstance(data, dict) else None
    if plugins and isinstance(listed, list):  # otherwise the check below reports what `plugins` holds
        data = {**data, "plugins": list(dict.fromkeys([*listed, *plugins]))}
    if data is None:
        raise ConfigError(f"{source} is empty: it must be a YAML mapping with at least a 'name'")
    if not isinstance(data, dict):
        raise ConfigError(f"{source} must be a YAML mapping of sections. Got a {type(data).__name__}")
    return check_space(validate_experiment(data))


def load_config(
    path: str | Path, overrides: list[str] | tuple[str, ...] = (), plugins: list[str] | tuple[str, ...] = ()
) -> ExperimentConfig:
    """Read a YAML experiment file, apply ``a.b=value`` overrides, validate.

    Only plain YAML is read (``yaml.safe_load``): a config executes no code besides importing the plugin
    modules it names (``plugins``, and ``plugins`` added here).
    """
    return parse_config(read_experiment(path), overrides=overrides, plugins=plugins, source=repr(str(path)))


def read_experiment(path: str | Path) -> Any:
    """The YAML of an experiment file as plain data, not yet validated."""
    file = Path(path).expanduser()
    if not file.exists():
        raise ConfigError(f"config file {str(file)!r} does not exist. Check the path (see experiments/)")
    if file.is_dir():
        raise ConfigError(f"{str(file)!r} is a directory. Give the path of a YAML experiment file in it")
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read {str(file)!r}: {error}") from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader: plain data only, never code
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(f"{str(file)!r} is not valid YAML{where}: {problem}") from None


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's SafeLoader, except that a key given twice in one mapping is an error, not a silent override."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} appears twice (lines {seen[key]} and {line}); keep one",
                    key_node.start_mark,
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def parse_overrides(overrides: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """``["training.lr=0.1", "search.num_trials=4"]`` -> ``{"training.lr": 0.1, ...}`` (values are YAML)."""
    parsed: dict[str, Any] = {}
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip() or any(not part for part in key.strip().split(".")):
            raise ConfigError(f"an override must look like 'a.b=value' (e.g. training.lr=0.1). Got {item!r}")
        try:
            parsed[key.strip()] = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            raise ConfigError(f"the value of override {item!r} is not valid YAML") from None
    return parsed
