"""The kernels compute where their inputs are: results on the input's device, nothing moved to the host."""

from __future__ import annotations

import pytest
import torch

from cords_tune.selection.functional import (
    facility_location,
    facility_location_greedy,
    glister_greedy,
    gradient_cosine_similarity,
    gradmatch_omp,
    graph_cut,
    herding,
    kcenter_greedy,
)
from cords_tune.selection.functional._common import random_candidates


def _gradients() -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    return torch.randn(120, 9, generator=generator) + torch.randn(9, generator=generator)


KERNELS = {
    "gradmatch_omp": lambda g: gradmatch_omp(g, g.sum(0), 80, lam=0.1),  # long enough for the column-major copy
    "gradmatch_omp signed": lambda g: gradmatch_omp(g, g.sum(0), 10, nonnegative=False),
    "facility_location lazy": lambda g: facility_location(g, 12),
    "facility_location stochastic": lambda g: facility_location(g, 12, stochastic=True, generator=torch.Generator()),
    "facility_location_greedy cosine": lambda g: facility_location_greedy(gradient_cosine_similarity(g, g), 12),
    "kcenter_greedy": lambda g: (kcenter_greedy(g, 12, generator=torch.Generator()),),
    "herding": lambda g: (herding(g, 12),),
    "graph_cut": lambda g: (graph_cut(gradient_cosine_similarity(g, g), 12, diversity=2.0),),
    "glister_greedy stochastic": lambda g: (
        glister_greedy(g, 12, val_gradient=lambda delta: g.mean(0) - delta, lr=0.1, generator=torch.Generator()),
    ),
    "glister_greedy exact": lambda g: (
        glister_greedy(g, 12, val_gradient=lambda delta: g.mean(0) - delta, lr=0.1, stochastic=False),
    ),
}


@pytest.mark.parametrize("kernel", KERNELS)
def test_kernels_keep_their_results_on_the_input_device(kernel, monkeypatch):
    gradients = _gradients()

    def refuse(self, *args, **kwargs):
        raise AssertionError("a kernel moved a tensor to the host")

    monkeypatch.setattr(torch.Tensor, "cpu", refuse)
    monkeypatch.setattr(torch.Tensor, "numpy", refuse)  # (OMP's Lawson-Hanson step reads a few support positions)
    results = KERNELS[kernel](gradients)
    monkeypatch.undo()
    assert all(result.device == gradients.device for result in results)
    assert len(torch.unique(results[0])) == len(results[0]) > 0


def test_random_candidates_are_distinct_and_available_first():
    available = torch.zeros(50, dtype=torch.bool)
    available[[3, 9, 20, 41]] = True
    drawn = random_candidates(available, 10, torch.Generator().manual_seed(0))
    assert len(torch.unique(drawn)) == 10
    assert set(drawn[:4].tolist()) == {3, 9, 20, 41}
    few = random_candidates(torch.ones(50, dtype=torch.bool), 5, torch.Generator().manual_seed(1))
    again = random_candidates(torch.ones(50, dtype=torch.bool), 5, torch.Generator().manual_seed(1))
    assert len(torch.unique(few)) == 5 and torch.equal(few, again)
