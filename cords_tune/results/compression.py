"""Compressed variants of a final model as summary.json records them (``final.compress``; the variants are made
and measured in ``cords_tune.compression``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from cords_tune.results.records import DictForm

__all__ = ["Compression", "VariantResult", "Kind", "LATENCY_THREADS"]

LATENCY_THREADS = 1
Kind = Literal["fp32", "dynamic_int8", "static_int8", "prune"]


@dataclass(frozen=True)
class VariantResult(DictForm):
    """A variant as measured (``status`` ``"ok"``), or why it was not made (``"skipped"``, with ``reason``).

    Attributes:
        file: the saved file, relative to the folder of ``model.pt`` (``model.pt`` for the fp32 reference).
        size_bytes: that file's size on disk.
        latency_ms: median time of one forward pass over ``latency_batch`` test samples on ``threads`` threads,
            over ``latency_repeats`` timed passes.
        zero_fraction: share of the conv/linear weights that are exactly zero (``None`` for int8 variants).
    """

    name: str
    kind: Kind
    status: Literal["ok", "skipped"] = "ok"
    reason: str | None = None
    file: str | None = None
    test_accuracy: float | None = None
    size_bytes: int | None = None
    latency_ms: float | None = None
    latency_batch: int | None = None
    latency_repeats: int | None = None
    threads: int = LATENCY_THREADS
    sparsity: float | None = None
    zero_fraction: float | None = None
    finetune_epochs: int = 0


@dataclass(frozen=True)
class Compression:
    """The fp32 reference first, then every variant asked for, in the order of ``plan_variants``."""

    variants: tuple[VariantResult, ...]
    wall_s: float

    def as_dicts(self) -> list[dict[str, Any]]:
        return [variant.as_dict() for variant in self.variants]

    def summary_entries(self) -> dict[str, Any]:
        """What a summary.json holds of it: ``compression`` (the variant rows) and ``compression_wall_s``."""
        return {"compression": self.as_dicts(), "compression_wall_s": self.wall_s}

    @classmethod
    def from_summary(cls, summary: Mapping[str, Any]) -> Compression | None:
        """Back from ``summary_entries`` (``None`` when the summary has none)."""
        if "compression" not in summary:
            return None
        variants = tuple(VariantResult.from_dict(row) for row in summary["compression"] or [])
        return cls(variants=variants, wall_s=summary.get("compression_wall_s"))
