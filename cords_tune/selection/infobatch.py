"""InfoBatch: each epoch, leave out a random share of the well-learned samples and rescale the rest.

Qin et al., "InfoBatch: Lossless Training Speed-up by Unbiased Dynamic Data Pruning", ICLR 2024.

A sample is well learned when its loss at its latest training visit is below the mean of those losses. Each
epoch a random share ``prune_ratio`` (r) of the well-learned samples is left out, and the kept ones weigh
1 / (1 - r) in a batch loss that is not renormalised (``Subset.normalized = False``), so the expected gradient
is the full data's. From epoch ``int(delta * epochs)`` on, the full data trains at weight one (the paper's
annealing: the last epochs remove what bias the rescaling leaves). The losses come from the training passes
(``SampleRecord``): a pruned sample keeps the loss of its last visit, and one never visited is always kept.
"""

from __future__ import annotations

import torch

from cords_tune.params import ParamCheck
from cords_tune.selection.base import SelectionContext, SelectionStrategy, Subset
from cords_tune.selection.partition import device_generator
from cords_tune.selection.plan import SelectionPlan
from cords_tune.selection.registry import STRATEGIES

__all__ = ["InfoBatchStrategy"]


@STRATEGIES.register("infobatch")
class InfoBatchStrategy(SelectionStrategy):
    """InfoBatch: prune a random share of the below-mean-loss samples each epoch, rescale the kept ones.

    The subset's size follows ``prune_ratio`` and the losses; ``selection.fraction`` is ignored.

    Args:
        prune_ratio: the share of the well-learned (below-mean-loss) samples left out each epoch, in [0, 1).
        delta: the share of the epochs that prune; the rest train on the full data, in (0, 1].
    """

    plan = SelectionPlan(when="every_epoch", reads=frozenset({"losses"}), sizing="itself", weighted=True)

    def __init__(self, *, prune_ratio: float = 0.5, delta: float = 0.875) -> None:
        check = ParamCheck("strategy", "infobatch")
        self.prune_ratio = check.number("prune_ratio", prune_ratio, low=0.0, high=1.0, high_open=True)
        self.delta = check.number("delta", delta, low=0.0, high=1.0, low_open=True)

    def select(self, context: SelectionContext, budget: int) -> Subset:
        record = context.require_record("infobatch")
        device = context.labels.device
        everything = torch.arange(context.num_samples, device=device)
        if context.epoch >= int(self.delta * context.epochs):
            return Subset(indices=everything, weights=torch.ones(context.num_samples, device=device), normalized=False)
        loss = record.loss.to(device)
        # Unvisited samples (NaN) are neither well learned nor in the mean; with none visited, nothing is pruned.
        well_learned = loss < torch.nanmean(loss)
        # Each well-learned sample is left out with probability r, as in the paper's code: its kept weight
        # 1 / (1 - r) is then exactly the inverse of its chance to be kept.
        generator = device_generator(context.generator(), device)
        draw = torch.rand(context.num_samples, generator=generator, device=device)
        kept = ~(well_learned & (draw < self.prune_ratio))
        weights = torch.where(well_learned, 1.0 / (1.0 - self.prune_ratio), 1.0)
        return Subset(indices=everything[kept], weights=weights[kept], normalized=False)
