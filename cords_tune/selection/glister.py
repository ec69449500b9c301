"""Glister: the subset whose one gradient step most reduces the validation loss.

Killamsetty et al., "GLISTER: Generalization based Data Subset Selection for Efficient and Robust
Learning", AAAI 2021.

Objective: max_S -L_val(theta - lr * sum_{i in S} g_i), |S| <= budget, by (stochastic) greedy with the
one-step Taylor gain lr * <g_i, grad L_val> and the validation gradient recomputed, exactly for the last
layer, after each pick.
"""

from __future__ import annotations

import math
from typing import Literal

import torch

from cords_tune.params import ParamCheck
from cords_tune.selection.registry import STRATEGIES
from cords_tune.selection.base import SelectionContext, SelectionStrategy, Subset, check_pool, select_in_pool
from cords_tune.selection.functional import glister_greedy
from cords_tune.selection.partition import device_generator
from cords_tune.selection.plan import SelectionPlan

__all__ = ["GlisterStrategy"]


@STRATEGIES.register("glister")
class GlisterStrategy(SelectionStrategy):
    """Glister: greedily pick samples whose gradient step most lowers the validation loss.

    Args:
        mode: ``"last_layer"`` or ``"logits"`` gradients.
        stochastic: stochastic greedy (a random candidate set per step) instead of exact greedy.
        epsilon: stochastic greedy's accuracy parameter (smaller: more candidates per step).
        lr: step size of the lookahead; default: the optimizer's current learning rate.
        pool: select from a seeded random share of each class (drawn anew at each reselection); below 1 the
            forward pass and the greedy see only the pool (the validation gradient still uses all of it).
        max_steps: the most greedy steps (validation-gradient evaluations) per selection: each step adds
            ``ceil(budget / max_steps)`` samples, the best of as many times the candidates. ``None``: one sample per
            step, ``budget`` steps (the original greedy; on a GPU each step costs about a millisecond of kernel
            launches whatever its size, so 4,500 steps at 10% of CIFAR-10 take seconds).
    """

    plan = SelectionPlan(reads=frozenset({"gradients"}))

    def __init__(
        self,
        *,
        mode: Literal["last_layer", "logits"] = "last_layer",
        stochastic: bool = True,
        epsilon: float = 0.01,
        lr: float | None = None,
        pool: float = 1.0,
        max_steps: int | None = 256,
    ) -> None:
        check = ParamCheck("strategy", "glister")
        self.mode = check.choice("mode", mode, ("last_layer", "logits"))
        self.stochastic = check.boolean("stochastic", stochastic)
        self.epsilon = check.number("epsilon", epsilon, low=0.0, high=1.0, low_open=True, high_open=True)
        self.lr = None if lr is None else check.number("lr", lr, low=0.0, low_open=True)
        self.pool = check_pool(check, pool)
        self.max_steps = None if max_steps is None else check.integer("max_steps", max_steps, low=1)

    def select(self, context: SelectionContext, budget: int) -> Subset:
        return select_in_pool(self._select, context, budget, self.pool)

    def _select(self, context: SelectionContext, budget: int) -> Subset:
        gradients = context.require_gradients("glister")
        chosen = glister_greedy(
            gradients.per_sample(mode=self.mode),
            budget,
            val_gradient=gradients.validation_gradient(mode=self.mode),
            lr=self.lr or context.learning_rate,
            stochastic=self.stochastic,
            epsilon=self.epsilon,
            generator=device_generator(context.generator(), context.labels.device),
            chunk_size=1 if self.max_steps is None else math.ceil(budget / self.max_steps),
        )
        return Subset(indices=chosen, weights=torch.ones(len(chosen), device=chosen.device))
