"""The full data: every sample, weight one. The baseline every subset strategy is compared with."""

from __future__ import annotations

import torch

from cords_tune.selection.registry import STRATEGIES
from cords_tune.selection.base import SelectionContext, SelectionStrategy, Subset
from cords_tune.selection.plan import SelectionPlan

__all__ = ["FullStrategy"]


@STRATEGIES.register("full")
class FullStrategy(SelectionStrategy):
    """All training data, every epoch (no selection; the fraction is ignored)."""

    plan = SelectionPlan(when="never")

    def select(self, context: SelectionContext, budget: int) -> Subset:
        n, device = context.num_samples, context.labels.device
        return Subset(indices=torch.arange(n, device=device), weights=torch.ones(n, device=device))
