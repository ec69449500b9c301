"""GLISTER's greedy with the one-step Taylor approximation of the validation loss.

Killamsetty et al., "GLISTER: Generalization based Data Subset Selection for Efficient and Robust Learning",
AAAI 2021.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from cords_tune.selection.functional._common import (
    check_generator,
    check_int,
    check_matrix,
    check_real,
    random_candidates,
    stochastic_sample_size,
)

__all__ = ["glister_greedy"]

_FUNC = "glister_greedy"


def _validation_gradient(val_gradient: Callable[[torch.Tensor], torch.Tensor], delta: torch.Tensor) -> torch.Tensor:
    value = val_gradient(delta)
    if not isinstance(value, torch.Tensor) or value.shape != delta.shape:
        got = f"shape {tuple(value.shape)}" if isinstance(value, torch.Tensor) else repr(type(value).__name__)
        raise ValueError(
            f"The 'val_gradient' parameter of {_FUNC} must return a tensor of shape {tuple(delta.shape)}. "
            f"Got {got} instead."
        )
    return value.to(device=delta.device, dtype=delta.dtype)


def glister_greedy(
    gradients: torch.Tensor,
    budget: int,
    *,
    val_gradient: Callable[[torch.Tensor], torch.Tensor],
    lr: float,
    stochastic: bool = True,
    epsilon: float = 0.01,
    generator: torch.Generator | None = None,
    chunk_size: int = 1,
) -> torch.Tensor:
    """Subset whose one-step gradient update most decreases the validation loss (GLISTER, greedy Taylor).

    GLISTER (Killamsetty et al., AAAI 2021) solves the bilevel problem

    ``max_{|S| <= budget}  -L_val(theta - lr * sum_{j in S} g_j)``

    greedily with a first-order Taylor expansion of the validation loss ``L_val`` around the current step:
    with ``S`` chosen so far and ``delta = lr * sum_{j in S} g_j``, adding ``i`` decreases the validation loss by
    about ``gain_i = lr * <g_i, v>``, ``v = grad L_val(theta - delta)``. Each step recomputes ``v`` with
    ``val_gradient`` and adds the unchosen ``i`` of largest gain, among ``ceil((n / budget) log(1 / epsilon))``
    random candidates when ``stochastic`` (stochastic greedy, Mirzasoleiman et al., AAAI 2015).

    ``chunk_size > 1`` adds that many items (the best of the candidates, ``chunk_size`` times as many when
    stochastic) per evaluation of ``val_gradient``: ``ceil(budget / chunk_size)`` evaluations instead of
    ``budget``, at the price of a coarser greedy. The default 1 is the exact greedy.

    Args:
        gradients: per-sample training gradients (n, d) at theta, float32 or float64, any device.
        budget: the number of samples to choose (clipped to n).
        val_gradient: maps a parameter step ``delta`` (d,) to the validation-loss gradient (d,) at
            ``theta - delta`` (for the last layer the caller builds it in closed form).
        lr: the step size of the inner update (> 0).
        stochastic: draw the random candidate set at each step (stochastic greedy).
        epsilon: stochastic greedy's accuracy, in (0, 1).
        generator: source of the stochastic candidates, on the input's device (the global generator when None).
        chunk_size: samples added per evaluation of ``val_gradient`` (>= 1).

    Returns:
        ``min(budget, n)`` distinct int64 indices, in the order chosen (the caller weights them uniformly).

    Raises:
        ValueError: an argument is out of its domain, or ``val_gradient`` returns a wrong shape.
    """
    gradients = check_matrix(gradients, "gradients", _FUNC)
    budget = min(check_int(budget, "budget", _FUNC, minimum=1), gradients.shape[0])
    if not callable(val_gradient):
        raise ValueError(f"The 'val_gradient' parameter of {_FUNC} must be callable. Got {val_gradient!r} instead.")
    lr = check_real(lr, "lr", _FUNC, low=0.0, low_open=True)
    if not isinstance(stochastic, bool):
        raise ValueError(f"The 'stochastic' parameter of {_FUNC} must be a bool. Got {stochastic!r} instead.")
    epsilon = check_real(epsilon, "epsilon", _FUNC, low=0.0, high=1.0, low_open=True)
    generator = check_generator(generator, _FUNC)
    chunk_size = check_int(chunk_size, "chunk_size", _FUNC, minimum=1)

    n = gradients.shape[0]
    sample_size = stochastic_sample_size(n, budget, epsilon)
    chosen = torch.zeros(n, dtype=torch.bool, device=gradients.device)
    step_sum = gradients.new_zeros(gradients.shape[1])
    picks: list[torch.Tensor] = []
    remaining = budget
    while remaining > 0:
        count = min(chunk_size, remaining)
        direction = _validation_gradient(val_gradient, lr * step_sum)
        if stochastic:  # only the candidates' gains are compared: compute just those
            candidates = random_candidates(~chosen, count * sample_size, generator)
            gains = (lr * (gradients[candidates] @ direction)).masked_fill_(chosen[candidates], -torch.inf)
            new = candidates[torch.topk(gains, count).indices]
        else:
            gains = lr * (gradients @ direction)
            new = torch.topk(gains.masked_fill(chosen, -torch.inf), count).indices
        picks.append(new)
        chosen[new] = True
        step_sum += gradients[new].sum(0)
        remaining -= count
    return torch.cat(picks)
