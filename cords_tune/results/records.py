"""Typed records read back from the JSON forms they write: a file written by an earlier version lacks the
keys added since (their fields keep their defaults), and a key this version does not know is left out."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import MISSING, asdict, fields
from typing import Any, TypeVar

__all__ = ["DictForm", "known_fields", "number_or_none"]

T = TypeVar("T")


def known_fields(cls: type[T], data: Mapping[str, Any], **read: Any) -> dict[str, Any]:
    """The entries of ``data`` that name a field of the dataclass ``cls``, with ``read`` (fields already read
    into their types) in place of theirs; a field without a default that ``data`` lacks becomes ``None``."""
    kept: dict[str, Any] = {}
    for field in fields(cls):
        if field.name in read:
            kept[field.name] = read[field.name]
        elif field.name in data:
            kept[field.name] = data[field.name]
        elif field.default is MISSING and field.default_factory is MISSING:
            kept[field.name] = None
    return kept


def number_or_none(value: Any) -> Any:
    """``None`` for a missing number (Parquet gives NaN where a nullable column had ``None``), else the value."""
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


class DictForm:
    """For a dataclass whose dict form is its fields, nested ones too: ``as_dict`` and ``from_dict``."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls: type[T], data: Mapping[str, Any]) -> T:
        return cls(**known_fields(cls, data))
