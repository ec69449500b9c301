"""Search-space domains of the config -> Ray Tune sampling domains (which OptunaSearch converts to Optuna's)."""

from __future__ import annotations

from typing import Any

from ray import tune

from cords_tune.config import Domain

__all__ = ["to_tune_space"]


def to_tune_space(space: dict[str, Domain]) -> dict[str, Any]:
    """``{"training.lr": Domain(loguniform, [1e-4, 0.1])}`` -> ``{"training.lr": tune.loguniform(...)}``.

    Integer bounds are inclusive in the config and exclusive above in Ray, hence ``high + 1``.
    """
    converted: dict[str, Any] = {}
    for path, domain in space.items():
        values = domain.values
        if domain.kind == "uniform":
            converted[path] = tune.uniform(values[0], values[1])
        elif domain.kind == "loguniform":
            converted[path] = tune.loguniform(values[0], values[1])
        elif domain.kind == "int":
            converted[path] = tune.randint(int(values[0]), int(values[1]) + 1)
        elif domain.kind == "logint":
            converted[path] = tune.lograndint(int(values[0]), int(values[1]) + 1)
        else:
            converted[path] = tune.choice(list(values))
    return converted
