"""Argument checks for registry entries (datasets, models, strategies), shared so that every builder says
the same thing the same way: "The 'hidden' parameter of model 'mlp' must be an integer >= 1. Got 64.5
instead.", raised as a ``ConfigError`` whose path points at the setting (``model.params.hidden``).

Values may come from YAML or from a hyperparameter search, so integers may arrive as integral floats (64.0).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

from cords_tune.errors import ConfigError

__all__ = ["ParamCheck"]

_SECTION = {"dataset": "dataset.params", "model": "model.params", "strategy": "selection.params"}


class ParamCheck:
    """Checks the parameters of one registry entry.

    Args:
        kind: ``"dataset"``, ``"model"`` or ``"strategy"``.
        name: the entry's registered name.
    """

    def __init__(self, kind: str, name: str) -> None:
        if kind not in _SECTION:
            raise ValueError(f"kind must be one of {sorted(_SECTION)}. Got {kind!r} instead.")
        self.kind = kind
        self.name = name

    def error(self, param: str, requirement: str, value: Any) -> ConfigError:
        """The error for ``param`` not meeting ``requirement`` (e.g. "an integer >= 1")."""
        return ConfigError(
            f"The {param!r} parameter of {self.kind} {self.name!r} must be {requirement}. Got {value!r} instead.",
            path=f"{_SECTION[self.kind]}.{param}",
        )

    def integer(self, param: str, value: Any, *, low: int | None = None, high: int | None = None) -> int:
        """``value`` as an ``int`` in ``[low, high]`` (either bound optional); integral floats accepted."""
        requirement = "an integer" + _bounds(low, high, closed=(True, True))
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise self.error(param, requirement, value)
        if not isinstance(value, numbers.Integral) and not (math.isfinite(value) and float(value).is_integer()):
            raise self.error(param, requirement, value)
        result = int(value)
        if (low is not None and result < low) or (high is not None and result > high):
            raise self.error(param, requirement, value)
        return result

    def number(
        self,
        param: str,
        value: Any,
        *,
        low: float | None = None,
        high: float | None = None,
        low_open: bool = False,
        high_open: bool = False,
    ) -> float:
        """``value`` as a finite ``float`` between ``low`` and ``high`` (closed unless ``*_open``)."""
        requirement = "a number" + _bounds(low, high, closed=(not low_open, not high_open))
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise self.error(param, requirement, value)
        try:
            result = float(value)
        except OverflowError:  # an int beyond the float range, such as 10**400
            raise self.error(param, requirement, value) from None
        if not math.isfinite(result):
            raise self.error(param, requirement, value)
        if low is not None and (result < low or (low_open and result == low)):
            raise self.error(param, requirement, value)
        if high is not None and (result > high or (high_open and result == high)):
            raise self.error(param, requirement, value)
        return result

    def boolean(self, param: str, value: Any) -> bool:
        """``value`` if it is a ``bool`` (``1`` and ``"yes"`` are refused)."""
        if not isinstance(value, bool):
            raise self.error(param, "true or false", value)
        return value

    def choice(self, param: str, value: Any, choices: Sequence[Any]) -> Any:
        """``value`` if it is one of ``choices``."""
        if value not in choices:
            raise self.error(param, "one of " + ", ".join(repr(c) for c in choices), value)
        return value


def _bounds(low: float | None, high: float | None, *, closed: tuple[bool, bool]) -> str:
    if low is not None and high is not None:
        left, right = ("[" if closed[0] else "("), ("]" if closed[1] else ")")
        return f" in {left}{_show(low)}, {_show(high)}{right}"
    if low is not None:
        return f" {'>=' if closed[0] else '>'} {_show(low)}"
    if high is not None:
        return f" {'<=' if closed[1] else '<'} {_show(high)}"
    return ""


def _show(bound: float) -> str:
    """A bound as the message shows it: integers exactly (``:g`` would print 2**32 - 1 as 4.29497e+09)."""
    return str(int(bound)) if isinstance(bound, numbers.Integral) else f"{bound:g}"
