"""Submodular static coresets on the proxy model's last-layer gradients (DeepCore's Submodular, Guo et al.,
2022; Iyer et al., ALT 2021): facility location (the chosen gradients represent every sample) and graph cut
(represent the block, penalise redundant picks).

Similarity: DeepCore's ``0.5 + 0.5 cos`` of the gradients, computed from their factors. Per class by default,
greedy. A block above ``MAX_BLOCK`` samples is split into seeded random chunks with proportional budgets, so
memory stays one (MAX_BLOCK x MAX_BLOCK) similarity (100 MB in float32) whatever the dataset's size.
"""

from __future__ import annotations

import abc

import torch

from cords_tune.params import ParamCheck
from cords_tune.selection.base import SelectionContext, Subset
from cords_tune.selection.functional import facility_location_greedy, gradient_cosine_similarity, graph_cut
from cords_tune.selection.partition import class_members, device_generator, selection_blocks
from cords_tune.selection.plan import SelectionPlan
from cords_tune.selection.registry import STRATEGIES
from cords_tune.selection.static import StaticStrategy, unweighted

__all__ = ["MAX_BLOCK", "FacilityLocationStrategy", "GraphCutStrategy"]

MAX_BLOCK = 5000


def _chunks(members: torch.Tensor, budget: int, generator: torch.Generator) -> list[tuple[torch.Tensor, int]]:
    """``members`` as seeded random chunks of at most ``MAX_BLOCK``, each with its share of ``budget``."""
    count = -(-len(members) // MAX_BLOCK)
    if count == 1:
        return [(members, budget)]
    chunk = torch.empty_like(members)
    chunk[torch.randperm(len(members), generator=generator, device=members.device)] = (
        torch.arange(len(members), device=members.device) % count
    )
    return [(members[positions], k) for positions, k in class_members(chunk, count, budget)]


class _SubmodularStrategy(StaticStrategy):
    plan = SelectionPlan(when="once", reads=frozenset({"gradients", "features"}))

    @abc.abstractmethod
    def _maximise(self, similarity: torch.Tensor, budget: int) -> torch.Tensor:
        """Positions of ``budget`` rows of one chunk, by greedy maximisation on its similarity."""

    def select(self, context: SelectionContext, budget: int) -> Subset:
        gradients = context.require_gradients(self.name)
        errors, features = gradients.errors(), gradients.features()
        generator = device_generator(context.generator(), context.labels.device)
        chosen = []
        for members, k in selection_blocks(context.labels, context.num_classes, budget, self.class_balanced):
            for chunk, share in _chunks(members, k, generator):
                similarity = gradient_cosine_similarity(errors[chunk], features[chunk])
                chosen.append(chunk[self._maximise(similarity, share)])
        return unweighted(chosen)


@STRATEGIES.register("facility_location")
class FacilityLocationStrategy(_SubmodularStrategy):
    """Facility location: keeps the samples whose proxy gradients best represent their class's (cosine).

    Args:
        class_balanced: each class gets its share of the budget; ``false`` represents all samples at once.
    """

    name = "facility_location"

    def _maximise(self, similarity: torch.Tensor, budget: int) -> torch.Tensor:
        return facility_location_greedy(similarity, budget)[0]


@STRATEGIES.register("graph_cut")
class GraphCutStrategy(_SubmodularStrategy):
    """Graph cut: keeps the samples whose proxy gradients represent their class, penalising redundant ones.

    Maximises ``sum_{i in V, j in S} s_ij - diversity * sum_{i, j in S} s_ij`` per class.

    Args:
        class_balanced: each class gets its share of the budget; ``false`` selects among all samples at once.
        diversity: the weight of the redundancy penalty; 1 is DeepCore's default objective (its ``lam = 1``),
            0 keeps the most representative samples regardless of redundancy.
    """

    name = "graph_cut"

    def __init__(self, *, class_balanced: bool = True, diversity: float = 1.0) -> None:
        super().__init__(class_balanced=class_balanced)
        self.diversity = ParamCheck("strategy", self.name).number("diversity", diversity, low=0.0)

    def _maximise(self, similarity: torch.Tensor, budget: int) -> torch.Tensor:
        return graph_cut(similarity, budget, diversity=self.diversity)
