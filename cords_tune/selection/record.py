"""What the training passes saw of each training sample, kept for strategies that read it (InfoBatch's
losses, forgetting events): no extra forward pass, the values come from the batches the model trained on.
"""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["SampleRecord"]


class SampleRecord:
    """Per training sample: its loss and correctness at its latest training visit, how many times it has been
    visited, and its forgetting events (correct at one visit, wrong at the next; Toneva et al., 2019).

    Tensors live on ``device``; ``update`` is called with each training batch and reads nothing back.

    Attributes:
        loss: (n,) float32, the sample's last training loss (unweighted); NaN before its first visit.
        correct: (n,) bool, classified correctly at its last visit.
        learned: (n,) bool, classified correctly at some visit.
        forgotten: (n,) int64, forgetting events so far.
        visits: (n,) int64, training visits so far.
    """

    def __init__(self, num_samples: int, device: torch.device | str = "cpu") -> None:
        self.loss = torch.full((num_samples,), float("nan"), device=device)
        self.correct = torch.zeros(num_samples, dtype=torch.bool, device=device)
        self.learned = torch.zeros(num_samples, dtype=torch.bool, device=device)
        self.forgotten = torch.zeros(num_samples, dtype=torch.int64, device=device)
        self.visits = torch.zeros(num_samples, dtype=torch.int64, device=device)

    def __len__(self) -> int:
        return int(self.loss.numel())

    @torch.no_grad()
    def update(self, index: torch.Tensor, losses: torch.Tensor, correct: torch.Tensor) -> None:
        """Record one training batch: sample ``index[i]`` had loss ``losses[i]`` and was ``correct[i]``."""
        correct = correct.to(torch.bool)
        self.forgotten[index] += (self.correct[index] & ~correct).to(torch.int64)
        self.loss[index] = losses.detach().float()
        self.correct[index] = correct
        self.learned[index] |= correct
        self.visits[index] += 1

    def restricted(self, index: torch.Tensor) -> SampleRecord:
        """The record of the samples at ``index`` only (entry i is sample ``index[i]``)."""
        view = SampleRecord.__new__(SampleRecord)
        for name, value in self.state_dict().items():
            setattr(view, name, value[index])
        return view

    def state_dict(self) -> dict[str, Any]:
        return {"loss": self.loss, "correct": self.correct, "learned": self.learned, "forgotten": self.forgotten,
                "visits": self.visits}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            current = getattr(self, name)
            setattr(self, name, value.to(device=current.device, dtype=current.dtype))
