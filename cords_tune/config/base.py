"""The base of every section of the experiment schema: unknown keys are errors, defaults are validated, and a
boolean is never taken for a number."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

__all__ = ["StrictModel"]


class StrictModel(BaseModel):
    """A section of the experiment: ``extra="forbid"``, defaults validated, no booleans for numbers."""

    model_config = ConfigDict(extra="forbid", validate_default=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_booleans_for_numbers(cls, value: Any, info: Any) -> Any:
        # YAML reads yes/no/true as booleans, and pydantic would take them as 1 and 0.
        if isinstance(value, bool) and _is_number_field(cls.model_fields[info.field_name].annotation):
            raise ValueError(f"must be a number, not a boolean. Got {value!r}")
        return value


def _is_number_field(annotation: Any) -> bool:
    optional = set(getattr(annotation, "__args__", ()))
    return annotation in (int, float) or optional in ({int, type(None)}, {float, type(None)})
