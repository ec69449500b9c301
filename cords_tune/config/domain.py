"""One search dimension (``Domain``) and how a search space is written in an experiment file: nested or dotted
paths, each leaf a mapping of one domain kind to its values."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import field_validator, model_validator

from cords_tune.config.base import StrictModel
from cords_tune.errors import did_you_mean

__all__ = ["DOMAIN_KINDS", "Domain", "flatten_space", "domain_input"]

DOMAIN_KINDS = ("uniform", "loguniform", "int", "logint", "choice")


def _number_in(value: Any) -> Any:
    """``value``, or the number a text like ``"1e-4"`` writes (an int where it is whole and has no point)."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.lstrip("+-").isdigit():
        return int(text)
    try:
        return float(text)
    except ValueError:
        return value


class Domain(StrictModel):
    """One search dimension: ``{uniform|loguniform|int|logint: [low, high]}`` or ``{choice: [a, b, ...]}``.

    Bounds are inclusive for ``int`` and ``logint``.
    """

    kind: Literal["uniform", "loguniform", "int", "logint", "choice"]
    values: list[Any]

    @field_validator("values", mode="before")
    @classmethod
    def _numbers_written_as_text(cls, values: Any, info: Any) -> Any:
        # YAML 1.1 reads 1e-4 as text (it wants 1.0e-4); as a range's bound it can only mean the number.
        if info.data.get("kind") in (None, "choice") or not isinstance(values, list):
            return values
        return [_number_in(value) for value in values]

    @model_validator(mode="after")
    def _consistent(self) -> Domain:
        if self.kind == "choice":
            if not self.values:
                raise ValueError("a choice needs at least one value. Got an empty list")
            return self
        if len(self.values) != 2:
            raise ValueError(f"{self.kind} needs [low, high]. Got {self.values!r}")
        low, high = self.values
        for bound in (low, high):
            if isinstance(bound, bool) or not isinstance(bound, (int, float)) or not math.isfinite(bound):
                raise ValueError(f"{self.kind} bounds must be finite numbers. Got {self.values!r}")
        if self.kind in ("int", "logint") and not all(float(b).is_integer() for b in (low, high)):
            raise ValueError(f"{self.kind} bounds must be integers. Got {self.values!r}")
        if not low < high:
            raise ValueError(f"{self.kind} needs low < high. Got [{low}, {high}]; swap or widen them")
        if self.kind in ("loguniform", "logint") and low <= 0:
            raise ValueError(f"{self.kind} needs low > 0. Got {low}; use 'uniform' to include 0")
        return self

    @property
    def extremes(self) -> list[Any]:
        """The values a sample can take at the edges: every choice, or both bounds."""
        if self.kind in ("int", "logint"):
            return [int(v) for v in self.values]
        return list(self.values)

    @property
    def probes(self) -> list[Any]:
        """Values to validate the config with: the edges, and for a continuous domain one interior value
        that is not a whole number (a float domain on an integer field must fail here, not in a trial)."""
        if self.kind not in ("uniform", "loguniform"):
            return self.extremes
        low, high = (float(v) for v in self.values)
        interior = low + 0.37 * (high - low)
        if float(interior).is_integer():
            interior += 0.01 * (high - low)
        return [low, high, interior]


def flatten_space(raw: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested or dotted keys -> dotted paths; a leaf is a mapping whose single key is a domain kind."""
    flat: dict[str, Any] = {}
    for key, spec in raw.items():
        path = f"{prefix}{key}"
        # A section maps names to mappings; a domain maps one kind to its values (a list).
        if isinstance(spec, dict) and not (len(spec) == 1 and not isinstance(next(iter(spec.values())), dict)):
            if not spec:
                raise ValueError(f"{path!r} is empty: give it a domain such as {{choice: [...]}}")
            flat.update(flatten_space(spec, prefix=f"{path}."))
        else:
            flat[path] = spec
    return flat


def domain_input(path: str, spec: Any) -> dict[str, Any]:
    """The ``Domain`` fields a written leaf ``{kind: values}`` at ``path`` gives (a lone value is a list of one)."""
    if isinstance(spec, dict) and len(spec) == 1:
        kind, values = next(iter(spec.items()))
        if kind in DOMAIN_KINDS:
            return {"kind": kind, "values": values if isinstance(values, list) else [values]}
        raise ValueError(
            f"{path!r}: unknown domain {kind!r}.{did_you_mean(kind, DOMAIN_KINDS)} "
            f"Use one of: {', '.join(DOMAIN_KINDS)}"
        )
    raise ValueError(
        f"{path!r} must be a domain like {{loguniform: [1.0e-4, 0.1]}} or {{choice: [sgd, adam]}}. "
        f"Got {spec!r}"
    )
