"""Geometry-based static coresets on the proxy model's penultimate embeddings (DeepCore, Guo et al., 2022).

- k-center greedy (Sener and Savarese, "Active Learning for Convolutional Neural Networks: A Core-Set
  Approach", ICLR 2018): cover the embedding space, every sample near a chosen one.
- Herding (Welling, ICML 2009; Chen, Welling and Smola, UAI 2010): match the class's mean embedding.

Per class by default; each block costs O(budget * n * d) time and O(n * d) memory (no distance matrix).
"""

from __future__ import annotations

import abc

import torch

from cords_tune.selection.base import SelectionContext, Subset
from cords_tune.selection.functional import herding, kcenter_greedy
from cords_tune.selection.partition import device_generator, selection_blocks
from cords_tune.selection.plan import SelectionPlan
from cords_tune.selection.registry import STRATEGIES
from cords_tune.selection.static import StaticStrategy, unweighted

__all__ = ["HerdingStrategy", "KCenterStrategy"]


class _EmbeddingStrategy(StaticStrategy):
    plan = SelectionPlan(when="once", reads=frozenset({"features"}))

    @abc.abstractmethod
    def _choose(self, embeddings: torch.Tensor, budget: int, generator: torch.Generator) -> torch.Tensor:
        """Positions of ``budget`` rows of one block's embeddings."""

    def select(self, context: SelectionContext, budget: int) -> Subset:
        embeddings = context.require_gradients(self.name).features()
        generator = device_generator(context.generator(), context.labels.device)
        return unweighted([
            members[self._choose(embeddings[members], k, generator)]
            for members, k in selection_blocks(context.labels, context.num_classes, budget, self.class_balanced)
        ])


@STRATEGIES.register("kcenter")
class KCenterStrategy(_EmbeddingStrategy):
    """k-center greedy: keeps the samples that cover each class's proxy embeddings, farthest first.

    Args:
        class_balanced: each class gets its share of the budget; ``false`` covers all samples at once.
    """

    name = "kcenter"

    def _choose(self, embeddings: torch.Tensor, budget: int, generator: torch.Generator) -> torch.Tensor:
        return kcenter_greedy(embeddings, budget, generator=generator)


@STRATEGIES.register("herding")
class HerdingStrategy(_EmbeddingStrategy):
    """Herding: keeps the samples whose mean proxy embedding tracks their class's mean most closely.

    Args:
        class_balanced: each class gets its share of the budget; ``false`` matches the mean of all samples.
    """

    name = "herding"

    def _choose(self, embeddings: torch.Tensor, budget: int, generator: torch.Generator) -> torch.Tensor:
        return herding(embeddings, budget)
