"""CRAIG: per class, the medoids of the gradients, weighted by how many samples each one stands for.

Mirzasoleiman et al., "Coresets for Data-efficient Training of Machine Learning Models", ICML 2020.

Objective, per class c: max_S sum_{i in c} max_{j in S} (d_max - ||g_i - g_j||), |S| <= budget_c
(facility location, by lazy or stochastic greedy); weight of j = the size of its cluster. On a GPU the classes
are solved together by plain greedy (``facility_location_blocks``: the same picks as lazy greedy, without a
read back per pick) where their similarity matrices fit in half its free memory.
"""

from __future__ import annotations

from typing import Literal

import torch

from cords_tune.params import ParamCheck
from cords_tune.selection.registry import STRATEGIES
from cords_tune.selection.base import SelectionContext, SelectionStrategy, Subset, check_pool, select_in_pool
from cords_tune.selection.functional import facility_location, facility_location_blocks
from cords_tune.selection.partition import class_members, device_generator
from cords_tune.selection.plan import SelectionPlan

__all__ = ["CraigStrategy"]


@STRATEGIES.register("craig")
class CraigStrategy(SelectionStrategy):
    """CRAIG: per-class gradient medoids by facility location; weights are cluster sizes.

    Args:
        mode: ``"logits"`` (C values, as in CRAIG for deep networks) or ``"last_layer"`` gradients.
        stochastic: stochastic greedy instead of lazy greedy (faster for large classes).
        epsilon: stochastic greedy's accuracy parameter.
        pool: select from a seeded random share of each class (drawn anew at each reselection); below 1 the
            forward pass and the greedy see only the pool.

    Memory: one class's (n_c x n_c) distance matrix at a time; on a GPU every class's at once where they fit.
    """

    plan = SelectionPlan(reads=frozenset({"gradients"}), weighted=True)

    def __init__(
        self, *, mode: Literal["logits", "last_layer"] = "logits", stochastic: bool = False, epsilon: float = 0.01,
        pool: float = 1.0,
    ) -> None:
        check = ParamCheck("strategy", "craig")
        self.mode = check.choice("mode", mode, ("logits", "last_layer"))
        self.stochastic = check.boolean("stochastic", stochastic)
        self.epsilon = check.number("epsilon", epsilon, low=0.0, high=1.0, low_open=True, high_open=True)
        self.pool = check_pool(check, pool)

    def select(self, context: SelectionContext, budget: int) -> Subset:
        return select_in_pool(self._select, context, budget, self.pool)

    def _select(self, context: SelectionContext, budget: int) -> Subset:
        gradients = context.require_gradients("craig")
        generator = device_generator(context.generator(), context.labels.device)
        blocks = class_members(context.labels, context.num_classes, budget)
        features = [gradients.per_sample(members, mode=self.mode) for members, _ in blocks]
        if not self.stochastic and solve_together(features):
            chosen = facility_location_blocks(features, [k for _, k in blocks])
        else:
            chosen = [facility_location(f, k, stochastic=self.stochastic, epsilon=self.epsilon, generator=generator)
                      for f, (_, k) in zip(features, blocks)]
        return Subset(indices=torch.cat([members[c] for (members, _), (c, _) in zip(blocks, chosen)]),
                      weights=torch.cat([w.float() for _, w in chosen]))


def solve_together(features: list[torch.Tensor]) -> bool:
    """Whether the classes' greedy runs batched: on a GPU, where every class's (n x n) similarity, padded to the
    largest class, and a step's gains of the same size take at most half the free memory."""
    device = features[0].device
    if device.type != "cuda":
        return False
    side = max(f.shape[0] for f in features)
    needed = 2 * len(features) * side * side * features[0].element_size()
    return needed <= torch.cuda.mem_get_info(device)[0] / 2
