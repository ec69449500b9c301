"""k-center greedy, herding and graph cut against their definitions on small blocks."""

from __future__ import annotations

import pytest
import torch

from cords_tune.selection.functional import facility_location_greedy, graph_cut, herding, kcenter_greedy


def _points(n: int = 60, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, 3, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_kcenter_matches_the_plain_farthest_first_traversal():
    points = _points()
    picks = kcenter_greedy(points, 10, generator=torch.Generator().manual_seed(4)).tolist()
    expected = [picks[0]]
    for _ in range(9):
        nearest = torch.cdist(points, points[expected]).min(1).values
        expected.append(int(torch.argmax(nearest)))
    assert picks == expected


def test_herding_matches_the_plain_mean_matching_greedy():
    points = _points()
    mean = points.mean(0)
    expected: list[int] = []
    for _ in range(12):
        gaps = [float("inf") if i in expected else float(torch.linalg.vector_norm(points[expected + [i]].mean(0) - mean))
                for i in range(len(points))]
        expected.append(min(range(len(points)), key=gaps.__getitem__))
    assert herding(points, 12).tolist() == expected


@pytest.mark.parametrize("diversity", [0.0, 0.5, 3.0])
def test_graph_cut_matches_the_plain_greedy_on_its_objective(diversity):
    points = _points(40)
    similarity = torch.exp(-torch.cdist(points, points))

    def objective(chosen: list[int]) -> float:
        return float(similarity[:, chosen].sum() - diversity * similarity[chosen][:, chosen].sum())

    expected: list[int] = []
    for _ in range(8):
        gains = [-float("inf") if i in expected else objective(expected + [i]) for i in range(len(points))]
        expected.append(max(range(len(points)), key=gains.__getitem__))
    assert graph_cut(similarity, 8, diversity=diversity).tolist() == expected


def test_kernels_clip_the_budget_and_refuse_bad_arguments():
    points = _points(5)
    assert sorted(kcenter_greedy(points, 9).tolist()) == [0, 1, 2, 3, 4]
    assert sorted(herding(points, 9).tolist()) == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="The 'budget' parameter of herding must be >= 1"):
        herding(points, 0)
    with pytest.raises(ValueError, match="The 'similarity' parameter of graph_cut must be square"):
        graph_cut(points, 2)
    with pytest.raises(ValueError, match="The 'diversity' parameter of graph_cut must be >= 0"):
        graph_cut(torch.eye(3), 2, diversity=-1.0)
    with pytest.raises(ValueError, match="The 'similarity' parameter of facility_location must be square"):
        facility_location_greedy(points, 2)
