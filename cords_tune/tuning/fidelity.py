"""Rank fidelity: do subsets rank configurations as the full data does? K configurations sampled from the
search space are each trained for the full epochs on subsets and on the full data (Ray tasks with a trial's
resources, spread over the cluster), and the two rankings of their validation scores are compared. The command
that runs it is ``cords_tune.runs.fidelity``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from cords_tune.config import ExperimentConfig, apply_params
from cords_tune.datasets import DataBundle
from cords_tune.errors import ConfigError, RunFailedError
from cords_tune.rank_agreement import rank_agreement
from cords_tune.results.fidelity import Fidelity, FidelityConfig
from cords_tune.selection import Subset, plan_for
from cords_tune.training.job import JobOutcome, TrainingJob
from cords_tune.training.proxy import SharedSubset
from cords_tune.tuning.progress import Progress
from cords_tune.tuning.session import first_line
from cords_tune.tuning.worker import run_on_worker, submit

__all__ = ["sample_configs", "fidelity_job", "scores_of", "train_to_end", "train_configs", "build_fidelity"]


def sample_configs(config: ExperimentConfig, count: int) -> list[dict[str, Any]]:
    """``count`` points of the search space, drawn at random with the experiment's seed (reproducible)."""
    from cords_tune.tuning.search_space import to_tune_space

    if not config.search.space:
        raise ConfigError("rank fidelity compares configurations, but search.space is empty: add the "
                          "parameters to search", path="search.space")
    rng = np.random.default_rng(config.seed)
    space = to_tune_space(config.search.space)
    return [{path: _plain(domain.sample(random_state=rng)) for path, domain in space.items()} for _ in range(count)]


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def fidelity_job(config: ExperimentConfig, data: Any, shared: Any = None) -> TrainingJob:
    """The job of training one configuration for all its epochs (no early stopping), validated at its last.
    ``shared``: the run's subsets, for a shared strategy (on Ray, an ObjectRef of them)."""
    return TrainingJob(config, data, decision_epochs=(), shared_subsets=shared)


def scores_of(outcome: JobOutcome, metric: str) -> dict[str, Any]:
    """A fidelity training's last epoch's validation scores (``metric``: the search metric) and its times."""
    history = outcome.history
    last = history[-1].as_dict()
    return {
        "score": last[metric],
        "val_accuracy": last["val_accuracy"],
        "epochs": len(history),
        "diverged": bool(last["diverged"]),
        "selection_s": sum(s.selection_s for s in history),
        "train_s": sum(s.train_s for s in history),
        "eval_s": sum(s.eval_s for s in history),
    }


def train_to_end(config: ExperimentConfig, data: DataBundle, shared: list[Subset] | None = None) -> dict[str, Any]:
    """``fidelity_job`` run in this process; its ``scores_of``."""
    return scores_of(run_on_worker(fidelity_job(config, data, shared)), config.search.metric)


def train_configs(
    arms: dict[str, ExperimentConfig],
    points: list[dict[str, Any]],
    data_ref: Any,
    on_progress: Callable[[Progress], None] | None = None,
    shared: dict[str, Any] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Train every point under every arm (e.g. ``{"subset": config, "full": full_data_variant(config)}``)
    as Ray tasks; return each arm's results in the order of ``points``. ``selection.*`` values of a point
    are dropped for an arm that trains on the full data. ``shared``: an arm's shared subsets (an ObjectRef of a
    list of ``Subset``), by arm, for a shared strategy."""
    import ray

    pending: dict[Any, tuple[str, int]] = {}
    for label, arm in arms.items():
        for index, point in enumerate(points):
            if not plan_for(arm.selection).uses_subsets:
                point = {k: v for k, v in point.items() if not k.startswith("selection.")}
            trial = apply_params(arm, point)
            pending[submit(fidelity_job(trial, data_ref, (shared or {}).get(label)))] = (label, index)
    results: dict[str, list[Any]] = {label: [None] * len(points) for label in arms}
    progress = Progress(total=len(pending), phase=f"fidelity: {len(points)} configurations x {len(arms)} arms")
    try:
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            label, index = pending.pop(done[0])
            try:
                results[label][index] = scores_of(ray.get(done[0]), arms[label].search.metric)
            except Exception as error:  # noqa: BLE001 - a failed training is reported, with its configuration
                raise RunFailedError(
                    f"training configuration {index} ({points[index]}) on {label} failed: {first_line(error)}"
                ) from None
            progress.completed += 1
            progress.last_event = f"configuration {index} on {label}: {results[label][index]['score']:.4f}"
            if on_progress:
                on_progress(progress)
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
    return results


def build_fidelity(
    config: ExperimentConfig,
    points: list[dict[str, Any]],
    subset: list[dict[str, Any]],
    full: list[dict[str, Any]],
    shared: SharedSubset | None = None,
) -> Fidelity:
    """fidelity.json: the agreement of the two rankings and every configuration's scores. A shared
    subset's one-off cost (its proxy and selection) counts in the subsets' training time."""
    mode = config.search.mode
    agreement = rank_agreement([r["score"] for r in subset], [r["score"] for r in full], mode=mode)
    return Fidelity(
        name=config.name,
        strategy=config.selection.strategy,
        fraction=config.selection.fraction,
        seed=config.seed,
        metric=config.search.metric,
        mode=mode,
        epochs=config.training.epochs,
        num_configs=len(points),
        **agreement,
        train_s_subset=sum(r["selection_s"] + r["train_s"] + r["eval_s"] for r in subset)
        + (shared.record.wall_s if shared else 0.0),
        shared_subset=shared.record if shared else None,
        train_s_full=sum(r["selection_s"] + r["train_s"] + r["eval_s"] for r in full),
        configs=[
            FidelityConfig(index=i, params=point, score_subset=s["score"], score_full=f["score"],
                           diverged_subset=s["diverged"], diverged_full=f["diverged"])
            for i, (point, s, f) in enumerate(zip(points, subset, full))
        ],
    )
