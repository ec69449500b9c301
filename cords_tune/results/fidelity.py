"""Rank fidelity as fidelity.json records it: do subsets rank configurations as the full data does? (The
measurement is ``cords_tune.tuning.fidelity``.)"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from cords_tune.results.records import DictForm, known_fields
from cords_tune.results.shared_subset import SharedSubsetRecord

__all__ = ["Fidelity", "FidelityConfig"]


@dataclass(frozen=True)
class FidelityConfig(DictForm):
    """One sampled configuration, trained for all its epochs on subsets and on the full data."""

    index: int
    params: dict[str, Any]  # searched path -> sampled value
    score_subset: float  # the search metric at the last epoch, trained on subsets
    score_full: float  # the same, trained on the full data
    diverged_subset: bool = False
    diverged_full: bool = False


@dataclass(frozen=True)
class Fidelity:
    """fidelity.json (``to_json``, ``from_json``): the agreement of the two rankings of the sampled
    configurations (``cords_tune.rank_agreement``) and each one's scores."""

    name: str
    strategy: str
    fraction: float
    seed: int
    metric: str
    mode: str
    epochs: int
    num_configs: int
    spearman: float | None  # None: undefined (a constant scoring)
    kendall: float | None
    top1_agree: bool  # the subsets' pick is (tied for) the full data's best
    top1_tied: bool
    top3_overlap: int
    top3_agree: bool
    top1_regret: float  # the full-data score the subsets' pick gives up
    top2_regret: float  # the same with the subsets' top 2 settled on the full data (final.top_k)
    top3_regret: float
    train_s_subset: float  # every configuration's selection, training and evaluation; a shared subset's cost too
    shared_subset: SharedSubsetRecord | None
    train_s_full: float
    configs: list[FidelityConfig] = field(default_factory=list)
    wall_s: float | None = None  # the whole measurement; None (left out) until it has finished

    def to_json(self) -> dict[str, Any]:
        """fidelity.json's content."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["shared_subset"] = self.shared_subset.as_dict() if self.shared_subset else None
        data["configs"] = [config.as_dict() for config in self.configs]
        if self.wall_s is None:
            del data["wall_s"]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Fidelity:
        shared = data.get("shared_subset")
        return cls(**known_fields(
            cls, data, shared_subset=SharedSubsetRecord.from_dict(shared) if shared else None,
            configs=[FidelityConfig.from_dict(config) for config in data.get("configs") or []],
        ))
