"""GradMatch: a weighted subset whose summed gradient matches the full training gradient.

Killamsetty et al., "GRAD-MATCH: Gradient Matching based Data Subset Selection for Efficient Deep Model
Training", ICML 2021; per-batch selection as in AUTOMATA (Killamsetty et al., NeurIPS 2022).

Objective, per partition P: min_w ||sum_{i in S} w_i g_i - sum_{i in P} g_i||^2 + lam' ||w||^2, w >= 0,
|S| <= budget_P, solved by orthogonal matching pursuit on last-layer gradients. With ``partition="batch"``
the atoms are mini-batches (their gradient sums), and every sample of a chosen batch gets its weight.
"""

from __future__ import annotations

from typing import Literal

import torch

from cords_tune.params import ParamCheck
from cords_tune.selection.registry import STRATEGIES
from cords_tune.selection.base import SelectionContext, SelectionStrategy, Subset, check_pool, select_in_pool
from cords_tune.selection.functional import gradmatch_omp
from cords_tune.selection.partition import batch_groups, class_members, device_generator, top_up
from cords_tune.selection.plan import SelectionPlan

__all__ = ["GradMatchStrategy"]


@STRATEGIES.register("gradmatch")
class GradMatchStrategy(SelectionStrategy):
    """GradMatch: weighted subset matching the full gradient by OMP (per mini-batch by default).

    Args:
        partition: ``"batch"`` (AUTOMATA's default: atoms are mini-batches of the training batch size)
            or ``"class"`` (atoms are samples, matched class by class with class-balanced budgets).
        lam: ridge penalty relative to the mean squared norm of the atoms (scale-free).
        mode: ``"last_layer"`` (C x (d + 1) gradient values) or ``"logits"`` (C values, cheaper).
        tol: stop matching once the residual is at most ``tol`` times the target gradient's norm (CORDS's
            ``eps``, same default); the rest of the budget is filled with random candidates (``top_up``).
        pool: select from a seeded random share of each class (drawn anew at each reselection); below 1 the
            forward pass and the matching see only the pool.
    """

    plan = SelectionPlan(reads=frozenset({"gradients"}), weighted=True)

    def __init__(
        self,
        *,
        partition: Literal["batch", "class"] = "batch",
        lam: float = 0.01,
        mode: Literal["last_layer", "logits"] = "last_layer",
        tol: float = 1e-4,
        pool: float = 1.0,
    ) -> None:
        check = ParamCheck("strategy", "gradmatch")
        self.partition = check.choice("partition", partition, ("batch", "class"))
        self.lam = check.number("lam", lam, low=0.0)
        self.mode = check.choice("mode", mode, ("last_layer", "logits"))
        self.tol = check.number("tol", tol, low=0.0, high=1.0, high_open=True)
        self.pool = check_pool(check, pool)

    def select(self, context: SelectionContext, budget: int) -> Subset:
        return select_in_pool(self._select, context, budget, self.pool)

    def _select(self, context: SelectionContext, budget: int) -> Subset:
        gradients = context.require_gradients("gradmatch")
        device = context.labels.device
        generator = device_generator(context.generator(), device)
        if self.partition == "batch":
            # Batches no larger than the budget, and whole batches only as many as fit in it.
            groups = batch_groups(context.num_samples, min(context.batch_size, budget), generator, device)
            atoms = gradients.group_sums(groups, mode=self.mode)
            k = budget // groups.shape[1]
            chosen, weights = top_up(*self._match(atoms, k), len(groups), k, generator)
            return Subset(indices=groups[chosen].flatten(), weights=weights.repeat_interleave(groups.shape[1]))
        indices, weights = [], []
        for members, k in class_members(context.labels, context.num_classes, budget):
            atoms = gradients.per_sample(members, mode=self.mode)
            chosen, w = top_up(*self._match(atoms, k), len(members), k, generator)
            indices.append(members[chosen])
            weights.append(w)
        return Subset(indices=torch.cat(indices), weights=torch.cat(weights))

    def _match(self, atoms: torch.Tensor, budget: int) -> tuple[torch.Tensor, torch.Tensor]:
        # The atoms stay in float32 (half the memory traffic of each step's product); gradmatch_omp solves the
        # small support system in float64 all the same.
        mean_squared_norm = float(torch.linalg.vector_norm(atoms)) ** 2 / len(atoms)
        return gradmatch_omp(atoms, atoms.sum(0), budget, lam=self.lam * mean_squared_norm, nonnegative=True, tol=self.tol)
