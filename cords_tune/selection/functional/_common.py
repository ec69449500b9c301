"""Argument checks and the random candidate draw shared by the functional selection kernels.

Errors follow scikit-learn's wording: "The 'budget' parameter of gradmatch_omp must be >= 1. Got 0 instead."
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import torch

__all__ = [
    "check_matrix",
    "check_vector",
    "check_int",
    "check_real",
    "check_generator",
    "stochastic_sample_size",
    "random_candidates",
]


def _error(func: str, name: str, requirement: str, got: object) -> ValueError:
    return ValueError(f"The '{name}' parameter of {func} must be {requirement}. Got {got} instead.")


def check_matrix(value: object, name: str, func: str) -> torch.Tensor:
    """``value`` as a non-empty 2-D floating tensor (float32 or float64, any device)."""
    if not isinstance(value, torch.Tensor) or value.ndim != 2 or not value.is_floating_point():
        got = (
            f"a tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
            if isinstance(value, torch.Tensor)
            else repr(type(value).__name__)
        )
        raise _error(func, name, "a 2-D floating tensor", got)
    if value.shape[0] == 0 or value.shape[1] == 0:
        raise _error(func, name, "non-empty", f"shape {tuple(value.shape)}")
    return value


def check_vector(value: object, name: str, func: str, *, like: torch.Tensor) -> torch.Tensor:
    """``value`` as a 1-D tensor of ``like.shape[1]`` entries, on ``like``'s device and dtype."""
    length = like.shape[1]
    if not isinstance(value, torch.Tensor) or value.shape != (length,) or not value.is_floating_point():
        got = f"shape {tuple(value.shape)}" if isinstance(value, torch.Tensor) else repr(type(value).__name__)
        raise _error(func, name, f"a 1-D floating tensor of {length} entries", got)
    if value.device != like.device:
        raise _error(func, name, f"on the device {like.device}", f"device {value.device}")
    return value.to(like.dtype)


def check_int(value: object, name: str, func: str, *, minimum: int) -> int:
    """``value`` as an ``int`` >= ``minimum`` (bools are refused)."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise _error(func, name, "an int", repr(value))
    if value < minimum:
        raise _error(func, name, f">= {minimum}", repr(value))
    return int(value)


def check_real(
    value: object,
    name: str,
    func: str,
    *,
    low: float,
    high: float = math.inf,
    low_open: bool = False,
    high_open: bool = True,
) -> float:
    """``value`` as a finite ``float`` in the interval from ``low`` to ``high`` (open ends as given)."""
    if isinstance(value, bool) or not isinstance(value, Real) or math.isnan(value):
        raise _error(func, name, "a real number", repr(value))
    value = float(value)
    too_low = value <= low if low_open else value < low
    too_high = value >= high if high_open else value > high
    if too_low or too_high:
        if high == math.inf:
            requirement = f"> {low:g}" if low_open else f">= {low:g}"
        else:
            requirement = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise _error(func, name, requirement, repr(value))
    return value


def check_generator(value: object, func: str) -> torch.Generator | None:
    """``value`` as an optional ``torch.Generator``."""
    if value is not None and not isinstance(value, torch.Generator):
        raise _error(func, "generator", "a torch.Generator or None", repr(type(value).__name__))
    return value


def stochastic_sample_size(num_samples: int, budget: int, epsilon: float) -> int:
    """Candidates per pick of stochastic greedy: ``ceil((n / budget) * log(1 / epsilon))``, within ``[1, n]``.

    Mirzasoleiman et al., "Lazier Than Lazy Greedy", AAAI 2015: with this many uniformly drawn candidates
    per step, the greedy keeps a ``1 - 1/e - epsilon`` approximation in expectation.
    """
    return max(1, min(num_samples, math.ceil(num_samples / budget * math.log(1.0 / epsilon))))


def random_candidates(available: torch.Tensor, size: int, generator: torch.Generator | None) -> torch.Tensor:
    """``min(size, n)`` distinct indices, the available ones (``available`` (n,) True) drawn uniformly first.

    The draw runs on ``available``'s device with no read back (a fixed number of candidates instead of a
    count of the available ones): when fewer than ``size`` are available, unavailable indices fill the rest,
    and callers mask them out. ``generator``, if given, must be on that device.
    """
    keys = torch.rand(available.shape, generator=generator, device=available.device)
    keys.masked_fill_(~available, 2.0)
    return torch.topk(keys, min(size, available.numel()), largest=False).indices
