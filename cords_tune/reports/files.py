"""Atomic file writes: a crash leaves the old file or the new one, never half of one."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from cords_tune.atomic import write_atomically

__all__ = ["write_text_atomic", "write_json_atomic", "write_parquet_atomic"]


def write_text_atomic(path: Path, text: str) -> None:
    write_atomically(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def write_json_atomic(path: Path, data: Any) -> None:
    """Strict JSON: NaN and infinities become ``null``."""
    write_text_atomic(path, json.dumps(_finite(data), indent=2, default=_jsonable, allow_nan=False) + "\n")


def write_parquet_atomic(path: Path, table: pa.Table) -> None:
    write_atomically(path, lambda tmp: pq.write_table(table, tmp))


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy / torch scalars
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
