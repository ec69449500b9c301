"""How well a ranking of configurations by a cheap score (trained on subsets) agrees with the ranking by
the expensive one (trained on the full data): rank correlations and top-k agreement."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

__all__ = ["rank_agreement", "best_of"]


def rank_agreement(cheap: Sequence[float], expensive: Sequence[float], *, mode: str = "max") -> dict[str, Any]:
    """Compare two scorings of the same configurations (index i is configuration i in both).

    Returns Spearman's rho and Kendall's tau-b (ties allowed; ``None`` when a scoring is constant), whether the
    top-1 agree (the cheap score's pick has the best expensive score; ``top1_tied`` when it shares that best
    with another configuration, listed first), how many of the top-3 are shared, and the regret: how much worse, by the expensive score, the configuration the cheap
    score picks is than the best one. ``topK_regret`` (K = 2, 3) is the regret when the cheap score's top K
    are settled by the expensive one (finalists, ``final.top_k``). With ``mode="min"`` lower scores are better.
    """
    import warnings

    from scipy.stats import kendalltau, spearmanr

    if len(cheap) != len(expensive):
        raise ValueError(f"both scorings must cover the same configurations; got {len(cheap)} and {len(expensive)}")
    if len(cheap) < 2:
        raise ValueError(f"ranking needs at least 2 configurations; got {len(cheap)}")
    sign = 1.0 if mode == "max" else -1.0
    order_cheap = sorted(range(len(cheap)), key=lambda i: (-sign * cheap[i], i))
    order_expensive = sorted(range(len(expensive)), key=lambda i: (-sign * expensive[i], i))
    k = min(3, len(cheap))
    picked, best = order_cheap[0], order_expensive[0]
    ties_best = expensive[picked] == expensive[best]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a constant scoring: reported as an undefined correlation below
        spearman, kendall = spearmanr(cheap, expensive).statistic, kendalltau(cheap, expensive).statistic
    return {
        "spearman": _defined(spearman),
        "kendall": _defined(kendall),
        "top1_agree": ties_best,
        "top1_tied": ties_best and picked != best,
        "top3_overlap": len(set(order_cheap[:k]) & set(order_expensive[:k])),
        "top3_agree": set(order_cheap[:k]) == set(order_expensive[:k]),
        **{f"top{top}_regret": _regret(expensive, order_expensive[0], order_cheap[:top], sign) for top in (1, 2, 3)},
    }


def best_of(scores: Sequence[float], *, mode: str = "max", among: Sequence[int] | None = None) -> int:
    """The index of the best score among the indices ``among`` (default: all, in order). A tie goes to the one
    listed first; a score that is not finite (a diverged training) loses to every finite one."""
    sign = 1.0 if mode == "max" else -1.0
    candidates = list(range(len(scores)) if among is None else among)
    if not candidates:
        raise ValueError("nothing to pick from")

    def key(listed: tuple[int, int]) -> tuple[bool, float, int]:
        position, index = listed
        finite = math.isfinite(scores[index])
        return finite, sign * scores[index] if finite else 0.0, -position

    return max(enumerate(candidates), key=key)[1]


def _regret(expensive: Sequence[float], best: int, finalists: list[int], sign: float) -> float:
    """How much worse by the expensive score the best of ``finalists`` (by that score) is than ``best``."""
    picked = best_of(expensive, mode="max" if sign > 0 else "min", among=finalists)
    return float(abs(expensive[best] - expensive[picked]))


def _defined(value: float) -> float | None:
    """A correlation is undefined (NaN) when a scoring is constant: ``None``, never a number."""
    return None if value is None or math.isnan(value) else float(value)
