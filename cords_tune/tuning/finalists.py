"""Settle the subset search's pick on the full data: its top-k configurations (``final.top_k``) are each
trained on the full data as Ray tasks with a trial's resources, side by side, and the one with the best
full-data validation score is the result. Subsets rank configurations well but not perfectly, and the top is
where a wrong order costs most; a handful of full-data trainings at the end is cheap next to a full-data
search."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from cords_tune.config import ExperimentConfig, apply_params
from cords_tune.tuning.retrain import FinalResult, as_trial_task, retrain_best

__all__ = ["Finalist", "Settled", "rank_trials", "pick_winner", "settle_finalists"]


@dataclass(frozen=True)
class Finalist:
    """One of the top-k configurations, trained on the full data."""

    rank: int  # 1: the subset search's best
    trial: dict[str, Any]  # its row of the subset search
    config: ExperimentConfig
    result: FinalResult
    done_after_s: float  # from submitting the finalists to this one's result

    def score(self) -> float:
        return self.result.score(self.config.search.metric)

    def as_dict(self, *, picked: bool) -> dict[str, Any]:
        """The summary's ``finalists`` entry."""
        return {
            "rank": self.rank,
            "trial_id": self.trial["trial_id"],
            "params": self.trial["params"],
            "subset_score": self.trial["best_metric"],
            "full_data_score": self.score(),
            "val_accuracy": self.result.val_accuracy,
            "val_loss": self.result.val_loss,
            "test_accuracy": self.result.test_accuracy,
            "epochs": self.result.epochs,
            "wall_s": self.result.wall_s,
            "done_after_s": self.done_after_s,
            "picked": picked,
        }


@dataclass(frozen=True)
class Settled:
    finalists: list[Finalist]  # in subset rank order
    winner: Finalist

    @property
    def changed_pick(self) -> bool:
        """The full data preferred another finalist to the subset search's best."""
        return self.winner.rank != 1

    def as_dicts(self) -> list[dict[str, Any]]:
        return [f.as_dict(picked=f is self.winner) for f in self.finalists]

    def without_models(self, final: FinalResult) -> Settled:
        """The same, with the winner's result replaced by ``final`` (its model saved) and the other models
        dropped."""
        finalists = [replace(f, result=final if f is self.winner else replace(f.result, model=None))
                     for f in self.finalists]
        return Settled(finalists, finalists[self.finalists.index(self.winner)])


def rank_trials(usable: list[dict[str, Any]], mode: str) -> list[dict[str, Any]]:
    """Usable trials best first by their subset score (earlier trials first on ties), one per configuration:
    a configuration the searcher proposed twice is one finalist."""
    sign = 1.0 if mode == "max" else -1.0
    ranked = sorted(usable, key=lambda t: (-sign * t["best_metric"], t["index"]))
    distinct: dict[str, dict[str, Any]] = {}
    for trial in ranked:
        distinct.setdefault(repr(sorted(trial["params"].items())), trial)
    return list(distinct.values())


def pick_winner(finalists: list[Finalist], mode: str) -> Finalist:
    """The finalist with the best full-data validation score; a tie goes to the better subset rank, and a
    finalist that diverged on the full data (score not finite) only wins when all did."""
    sign = 1.0 if mode == "max" else -1.0

    def key(finalist: Finalist) -> tuple[bool, float, int]:
        score = finalist.score()
        return (math.isfinite(score), sign * score if math.isfinite(score) else 0.0, -finalist.rank)

    return max(finalists, key=key)


def settle_finalists(
    config: ExperimentConfig,
    ranked: list[dict[str, Any]],
    data_ref: Any,
    *,
    on_done: Callable[[Finalist, int], None] | None = None,
) -> Settled:
    """Train the top ``config.final.top_k`` of ``ranked`` on the full data (Ray tasks, submitted best first
    so that a cluster with fewer free slots trains the likeliest winners first) and pick the winner.
    ``on_done(finalist, remaining)`` is called as each one finishes. A failed training raises its error
    after the others are cancelled."""
    import ray

    chosen = ranked[: config.final.top_k]
    configs = [apply_params(config, trial["params"]) for trial in chosen]
    started = time.perf_counter()
    pending = {as_trial_task(retrain_best, c).remote(c, data_ref): rank for rank, c in enumerate(configs, 1)}
    done: dict[int, Finalist] = {}
    try:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            rank = pending.pop(ready[0])
            result = ray.get(ready[0])
            done[rank] = Finalist(rank, chosen[rank - 1], configs[rank - 1], result, time.perf_counter() - started)
            if on_done:
                on_done(done[rank], len(pending))
    finally:
        for ref in pending:  # interrupted or failed: the others are not wanted any more
            ray.cancel(ref, force=True)
    finalists = [done[rank] for rank in sorted(done)]
    return Settled(finalists, pick_winner(finalists, config.search.mode))
