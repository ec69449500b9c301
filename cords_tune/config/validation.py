"""Plain data -> a validated ``ExperimentConfig``, and pydantic's findings as one ``ConfigError``: each line names
the field path, what must hold and what was given; an unknown key names the keys valid there."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from cords_tune.config.experiment import ExperimentConfig
from cords_tune.errors import ConfigError, did_you_mean
from cords_tune.plugins import import_plugins

__all__ = ["config_error", "validate_experiment"]


def validate_experiment(data: dict[str, Any]) -> ExperimentConfig:
    """``data`` validated into an ``ExperimentConfig`` after importing the plugins it names (first: they register
    the names the experiment uses); every problem in one ``ConfigError``. The search space is checked apart
    (``cords_tune.config.space``)."""
    import_plugins(data.get("plugins"))
    try:
        return ExperimentConfig.model_validate(data)
    except ValidationError as error:
        raise config_error(error) from None


def config_error(error: ValidationError) -> ConfigError:
    """One ``ConfigError`` for all of pydantic's findings; a validator's own ``ConfigError``, when it is the
    only finding, as it was raised (its class and field path kept)."""
    items = error.errors(include_url=False)
    raised = items[0].get("ctx", {}).get("error") if len(items) == 1 else None
    if isinstance(raised, ConfigError):
        if raised.path is None and items[0]["loc"]:
            return ConfigError(str(raised), path=".".join(str(part) for part in items[0]["loc"]))
        return raised
    return ConfigError(_format_validation_error(error))


def _format_validation_error(error: ValidationError) -> str:
    lines = []
    for item in error.errors(include_url=False):
        path = ".".join(str(part) for part in item["loc"]) or "config"
        kind, message = item["type"], item["msg"]
        raised = item.get("ctx", {}).get("error")
        if isinstance(raised, ConfigError):  # a validator's own message, which names its field already
            lines.append(str(raised) if raised.path or path == "config" else f"{path}: {raised}")
            continue
        if kind == "extra_forbidden":
            parent = item["loc"][:-1]
            fields = _fields_at(parent)
            key = str(item["loc"][-1])
            lines.append(
                f"{path}: unknown key {key!r}.{did_you_mean(key, fields)} Valid keys here: {', '.join(fields)}"
            )
            continue
        message = message.removeprefix("Value error, ")
        given = item.get("input")
        shown = "" if "Got " in message or kind == "missing" else f". Got {given!r}"
        lines.append(f"{path}: {message}{shown}")
    return "\n".join(lines)


def _fields_at(loc: tuple[Any, ...]) -> list[str]:
    model: type[BaseModel] = ExperimentConfig
    for part in loc:
        field = model.model_fields.get(str(part))
        annotation = getattr(field, "annotation", None)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)
