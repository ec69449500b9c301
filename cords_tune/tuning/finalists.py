"""The finalists: the subset search's top-k configurations (``final.top_k``) on the full data, and the one with
the best full-data validation score as the result. Subsets rank configurations well but not perfectly, and the
top is where a wrong order costs most; a race of a handful on the full data (``cords_tune.tuning.race``) is
cheap next to a full-data search."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from cords_tune.config import ExperimentConfig
from cords_tune.rank_agreement import best_of
from cords_tune.results.energy import Energy
from cords_tune.results.final import FinalResult
from cords_tune.results.finalist import FinalistRecord, RaceRecord
from cords_tune.results.trial import TrialRecord
from cords_tune.training.trainer import EpochStats

__all__ = ["Finalist", "Settled", "FinalistsFailed", "rank_trials", "pick_winner", "epoch_score"]


@dataclass(frozen=True)
class Finalist:
    """One of the top-k configurations, trained on the full data (``result``), stopped by the race at a rung
    (``stopped_at``, no result), or whose training failed (``error``)."""

    rank: int  # 1: the subset search's best
    trial: TrialRecord  # its row of the subset search
    config: ExperimentConfig
    result: FinalResult | None
    done_after_s: float  # from the finalists' start to this one's end
    error: str | None = None
    stopped_at: int | None = None  # the rung (full-data epoch) at which the race stopped it
    device_s: float = 0.0  # slot-seconds its tasks held
    history: tuple[EpochStats, ...] = ()  # its epochs on the full data, across its segments
    spent: Energy | None = None  # what its segments used; None: its result's
    spent_wall_s: float | None = None  # its segments' wall-clock together; None: its result's

    @property
    def diverged(self) -> bool:
        """Its full-data training stopped on a loss that was not finite (the trainer ends such a training
        before its last epoch)."""
        if self.result is not None:
            return self.result.epochs < self.config.final_epochs
        return bool(self.history) and self.history[-1].diverged

    def score(self) -> float:
        """Its full-data validation score (``search.metric``): at its last epoch, or at the rung that stopped
        it; NaN where it failed or diverged."""
        if self.diverged:
            return math.nan
        if self.result is not None:
            return self.result.score(self.config.search.metric)
        if self.stopped_at is not None and self.history:
            return epoch_score(self.history[-1], self.config.search.metric)
        return math.nan

    @property
    def energy(self) -> Energy:
        if self.spent is not None:
            return self.spent
        return self.result.energy if self.result is not None else Energy()

    def record(self, *, picked: bool) -> FinalistRecord:
        """What the summary keeps of it."""
        result, last = self.result, self.history[-1] if self.history else None
        spent = self.energy if self.spent is not None or result else None
        return FinalistRecord(
            rank=self.rank,
            trial_id=self.trial.trial_id,
            params=self.trial.params,
            subset_score=self.trial.best_metric,
            full_data_score=self.score(),
            val_accuracy=result.val_accuracy if result else last.val_accuracy if last else None,
            val_loss=result.val_loss if result else last.val_loss if last else None,
            test_accuracy=result.test_accuracy if result else None,
            epochs=result.epochs if result else last.epoch if last else 0,
            wall_s=self.spent_wall_s if self.spent_wall_s is not None else result.wall_s if result else None,
            energy_j=spent.joules if spent else None,
            energy_source=spent.source if spent else None,
            done_after_s=self.done_after_s,
            diverged=self.diverged,
            error=self.error,
            picked=picked,
            stopped_at=self.stopped_at,
            device_s=self.device_s or None,
        )


class FinalistsFailed(Exception):
    """Every finalist's full-data training failed."""


@dataclass(frozen=True)
class Settled:
    finalists: list[Finalist]  # in subset rank order
    winner_rank: int
    race: RaceRecord | None = None  # how the race went (None: settled before races were recorded)

    @property
    def winner(self) -> Finalist:
        return next(f for f in self.finalists if f.rank == self.winner_rank)

    @property
    def changed_pick(self) -> bool:
        """The full data preferred another finalist to the subset search's best."""
        return self.winner_rank != 1

    @property
    def energy(self) -> Energy:
        """What the finalists' full-data trainings used (a failed task's is not known)."""
        return Energy.total(f.energy for f in self.finalists)

    def records(self) -> list[FinalistRecord]:
        return [f.record(picked=f.rank == self.winner_rank) for f in self.finalists]

    def without_models(self, final: FinalResult) -> Settled:
        """The same, with the winner's result replaced by ``final`` (its model saved) and the other models
        dropped."""
        def kept(f: Finalist) -> Finalist:
            if f.rank == self.winner_rank:
                return replace(f, result=final)
            return replace(f, result=replace(f.result, model=None)) if f.result else f

        return Settled([kept(f) for f in self.finalists], self.winner_rank, self.race)


def rank_trials(usable: list[TrialRecord], mode: str) -> list[TrialRecord]:
    """Usable trials best first by their subset score (earlier trials first on ties), one per configuration:
    a configuration the searcher proposed twice is one finalist."""
    sign = 1.0 if mode == "max" else -1.0
    ranked = sorted(usable, key=lambda t: (-sign * t.best_metric, t.index))
    distinct: dict[str, TrialRecord] = {}
    for trial in ranked:
        distinct.setdefault(repr(sorted(trial.params.items())), trial)
    return list(distinct.values())


def pick_winner(finalists: list[Finalist], mode: str) -> Finalist:
    """The finalist with the best full-data validation score; a tie goes to the better subset rank. One
    that diverged wins only where every finalist did (then the best-ranked); one that failed never wins."""
    ordered = sorted((f for f in finalists if f.result is not None), key=lambda f: f.rank)
    return ordered[best_of([f.score() for f in ordered], mode=mode)]


def epoch_score(stats: EpochStats | None, metric: str) -> float:
    """The search metric's validation value after an epoch; NaN where none was measured or the loss diverged."""
    if stats is None or stats.diverged:
        return math.nan
    value = stats.as_dict().get(metric)
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else math.nan
