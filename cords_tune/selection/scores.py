"""Score-based static coresets (DeepCore, Guo, Zhao and Bai, 2022): rank the samples by one number each, read
from a proxy model trained briefly on the full data, and keep the highest of each class.

- EL2N and GraNd (Paul, Ganguli and Dziugaite, NeurIPS 2021): the error vector's norm and the loss
  gradient's norm, large for hard and mislabelled samples.
- Forgetting (Toneva et al., ICLR 2019): how often the proxy's training forgot a sample it had learned.
- Least confidence, entropy and margin (Coleman et al., ICLR 2020): the uncertainty of the proxy's softmax.

The scores come from one forward pass (``LastLayerGradients``) or from the training record, so a selection is
one sort per class.
"""

from __future__ import annotations

import abc

import torch
import torch.nn.functional as F

from cords_tune.selection.base import SelectionContext, Subset
from cords_tune.selection.partition import device_generator, selection_blocks
from cords_tune.selection.plan import SelectionPlan
from cords_tune.selection.registry import STRATEGIES
from cords_tune.selection.static import StaticStrategy, unweighted

__all__ = [
    "El2nStrategy",
    "EntropyStrategy",
    "ForgettingStrategy",
    "GrandStrategy",
    "LeastConfidenceStrategy",
    "MarginStrategy",
    "ScoreStrategy",
    "keep_highest",
]


def _ranked(scores: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Positions by decreasing score; equal scores in a seeded random order (a stable sort of a shuffle)."""
    shuffle = torch.randperm(len(scores), generator=generator, device=scores.device)
    return shuffle[torch.argsort(scores[shuffle], descending=True, stable=True)]


def keep_highest(scores: torch.Tensor, context: SelectionContext, budget: int, class_balanced: bool) -> Subset:
    """The ``budget`` samples of highest score, each class its share if ``class_balanced``; weights 1."""
    generator = device_generator(context.generator(), scores.device)
    return unweighted([
        members[_ranked(scores[members], generator)[:k]]
        for members, k in selection_blocks(context.labels, context.num_classes, budget, class_balanced)
    ])


class ScoreStrategy(StaticStrategy):
    """Keeps the samples of highest ``scores`` (class-balanced by default), unweighted, chosen once per run.

    Args:
        class_balanced: each class gets its share of the budget; ``false`` ranks all samples together.
    """

    @abc.abstractmethod
    def scores(self, context: SelectionContext) -> torch.Tensor:
        """One score per training sample (n,), on the labels' device; higher is kept first."""

    def select(self, context: SelectionContext, budget: int) -> Subset:
        return keep_highest(self.scores(context), context, budget, self.class_balanced)


def _probabilities(context: SelectionContext, strategy: str) -> torch.Tensor:
    """The proxy model's softmax (n, C), recovered from the logit errors ``softmax - onehot``."""
    gradients = context.require_gradients(strategy)
    errors = gradients.errors()
    return errors + F.one_hot(gradients.labels, errors.shape[1]).to(errors.dtype)


@STRATEGIES.register("el2n")
class El2nStrategy(ScoreStrategy):
    """EL2N: keeps the samples with the largest error ||softmax - onehot|| under the proxy model."""

    name = "el2n"

    def scores(self, context: SelectionContext) -> torch.Tensor:
        return torch.linalg.vector_norm(context.require_gradients(self.name).errors(), dim=1)


@STRATEGIES.register("grand")
class GrandStrategy(ScoreStrategy):
    """GraNd: keeps the samples with the largest last-layer loss-gradient norm under the proxy model."""

    name = "grand"

    def scores(self, context: SelectionContext) -> torch.Tensor:
        # The gradient e [h, 1]^T is an outer product: its norm is ||e|| * ||[h, 1]||, no (C x d) per sample.
        gradients = context.require_gradients(self.name)
        features = gradients.features()
        return torch.linalg.vector_norm(gradients.errors(), dim=1) * (features.square().sum(1) + 1).sqrt()


@STRATEGIES.register("forgetting")
class ForgettingStrategy(ScoreStrategy):
    """Forgetting: keeps the samples the proxy's training forgot most often; never-learned ones first."""

    name = "forgetting"
    plan = SelectionPlan(when="once", reads=frozenset({"losses"}))

    def scores(self, context: SelectionContext) -> torch.Tensor:
        record = context.require_record(self.name)
        # Toneva et al. count a sample never classified correctly as forgotten infinitely often. An unvisited
        # sample counts as never learned too; the full-data proxy visits every sample.
        return torch.where(record.learned, record.forgotten.to(torch.float32), torch.inf)


@STRATEGIES.register("least_confidence")
class LeastConfidenceStrategy(ScoreStrategy):
    """Least confidence: keeps the samples whose top softmax probability under the proxy is lowest."""

    name = "least_confidence"

    def scores(self, context: SelectionContext) -> torch.Tensor:
        return 1.0 - _probabilities(context, self.name).max(1).values


@STRATEGIES.register("entropy")
class EntropyStrategy(ScoreStrategy):
    """Entropy: keeps the samples whose softmax under the proxy has the highest entropy."""

    name = "entropy"

    def scores(self, context: SelectionContext) -> torch.Tensor:
        p = _probabilities(context, self.name).clamp_min(0)  # rounding of softmax - onehot + onehot
        return -torch.xlogy(p, p).sum(1)


@STRATEGIES.register("margin")
class MarginStrategy(ScoreStrategy):
    """Margin: keeps the samples whose two most probable classes under the proxy are closest."""

    name = "margin"

    def scores(self, context: SelectionContext) -> torch.Tensor:
        top = torch.topk(_probabilities(context, self.name), 2, dim=1).values
        return top[:, 1] - top[:, 0]
