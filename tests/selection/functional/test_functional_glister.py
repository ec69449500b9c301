"""glister_greedy against a step-by-step brute-force greedy on a quadratic validation loss."""

from __future__ import annotations

import pytest
import torch

from cords_tune.selection.functional import glister_greedy


def _problem(n: int = 60, d: int = 6, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    gradients = torch.randn(n, d, generator=generator, dtype=torch.float64)
    root = torch.randn(d, d, generator=generator, dtype=torch.float64)
    hessian = root @ root.T  # L_val(theta) = 1/2 (theta - theta*)^T H (theta - theta*): v(delta) = v0 - H delta
    v0 = torch.randn(d, generator=generator, dtype=torch.float64)
    return gradients, hessian, v0


def _brute_force(gradients, hessian, v0, budget: int, lr: float) -> list[int]:
    chosen: list[int] = []
    for _ in range(budget):
        delta = lr * sum((gradients[j] for j in chosen), torch.zeros_like(v0))
        v = v0 - hessian @ delta
        gains = {i: lr * float(gradients[i] @ v) for i in range(len(gradients)) if i not in chosen}
        chosen.append(max(gains, key=gains.get))
    return chosen


@pytest.mark.parametrize("lr", [0.05, 0.3])
def test_greedy_equals_the_brute_force_greedy(lr):
    gradients, hessian, v0 = _problem()
    chosen = glister_greedy(gradients, 15, val_gradient=lambda delta: v0 - hessian @ delta, lr=lr, stochastic=False)
    expected = _brute_force(gradients, hessian, v0, 15, lr)
    assert chosen.tolist() == expected
    static = torch.topk(gradients @ v0, 15).indices.tolist()
    assert expected != static  # the curvature matters: re-evaluating v changes the picks


def test_stochastic_greedy_is_seeded_distinct_and_within_budget():
    gradients, hessian, v0 = _problem(n=300)

    def run(seed: int) -> torch.Tensor:
        return glister_greedy(gradients, 20, val_gradient=lambda delta: v0 - hessian @ delta, lr=0.1,
                              generator=torch.Generator().manual_seed(seed))

    first = run(4)
    assert torch.equal(first, run(4))
    assert first.dtype == torch.int64 and len(first) == 20 and len(set(first.tolist())) == 20


def test_stochastic_greedy_with_all_candidates_is_the_greedy():
    gradients, hessian, v0 = _problem(seed=1)
    val_gradient = lambda delta: v0 - hessian @ delta  # noqa: E731
    chosen = glister_greedy(gradients, 10, val_gradient=val_gradient, lr=0.1, epsilon=1e-30)
    assert chosen.tolist() == _brute_force(gradients, hessian, v0, 10, 0.1)


def test_chunks_add_the_best_gains_per_evaluation():
    gradients, hessian, v0 = _problem(seed=2)
    calls = []

    def val_gradient(delta: torch.Tensor) -> torch.Tensor:
        calls.append(delta.clone())
        return v0 - hessian @ delta

    chosen = glister_greedy(gradients, 12, val_gradient=val_gradient, lr=0.1, stochastic=False, chunk_size=5)
    assert len(calls) == 3 and len(set(chosen.tolist())) == 12
    assert set(chosen[:5].tolist()) == set(torch.topk(gradients @ v0, 5).indices.tolist())
    torch.testing.assert_close(calls[1], 0.1 * gradients[chosen[:5]].sum(0))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_budget_is_clipped_and_float32_works(dtype):
    gradients, hessian, v0 = _problem(n=8)
    def val_gradient(delta: torch.Tensor) -> torch.Tensor:
        assert delta.dtype == dtype
        return (v0 - hessian @ delta.double()).to(dtype)

    chosen = glister_greedy(gradients.to(dtype), 20, val_gradient=val_gradient, lr=0.1, stochastic=False)
    assert sorted(chosen.tolist()) == list(range(8))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"budget": 0}, r"The 'budget' parameter of glister_greedy must be >= 1\. Got 0 instead\."),
        ({"lr": 0.0}, r"The 'lr' parameter of glister_greedy must be > 0\. Got 0\.0 instead\."),
        ({"epsilon": 2.0}, r"'epsilon' parameter of glister_greedy must be in \(0, 1\)"),
        ({"chunk_size": 0}, "'chunk_size' parameter of glister_greedy must be >= 1"),
        ({"val_gradient": None}, "'val_gradient' parameter of glister_greedy must be callable"),
        ({"val_gradient": lambda delta: delta[:2]}, r"'val_gradient' parameter of glister_greedy must return .*\(3,\)"),
        ({"stochastic": None}, "'stochastic' parameter of glister_greedy must be a bool"),
        ({"gradients": torch.ones(3, 0)}, "'gradients' parameter of glister_greedy must be non-empty"),
    ],
)
def test_invalid_arguments_name_the_parameter(kwargs, message):
    arguments = {"gradients": torch.ones(4, 3), "budget": 2, "val_gradient": lambda delta: delta, "lr": 0.1} | kwargs
    with pytest.raises(ValueError, match=message):
        glister_greedy(arguments.pop("gradients"), arguments.pop("budget"), **arguments)
