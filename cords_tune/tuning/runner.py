"""One tuning run: load the data once, search with Optuna + ASHA on Ray Tune, retrain the best configuration
on the full data, write the results. The only place that starts and stops Ray."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cords_tune.config import ExperimentConfig, apply_params
from cords_tune.datasets import DataBundle, load_dataset
from cords_tune.errors import ConfigError, RunFailedError
from cords_tune.reports import write_run
from cords_tune.selection import budget_for
from cords_tune.tuning.progress import Progress, ProgressCallback
from cords_tune.tuning.results import collect_trials
from cords_tune.tuning.retrain import FinalResult, retrain_on_cluster
from cords_tune.tuning.storage import check_storage_visible, is_uri

__all__ = ["RunResult", "run_experiment", "asha_grace_period", "check_budget", "make_run_dir"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunResult:
    run_dir: Path
    summary: dict[str, Any]
    trials: list[dict[str, Any]]


def make_run_dir(output_dir: str | Path, name: str) -> Path:
    """A new directory ``<output_dir>/<name>-<YYYYmmdd-HHMMSS>`` (suffixed if it already exists)."""
    base = Path(output_dir).expanduser().resolve() / f"{name}-{datetime.now():%Y%m%d-%H%M%S}"
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    candidate.mkdir(parents=True)
    return candidate


def check_budget(config: ExperimentConfig, data: DataBundle) -> None:
    """Every subset a trial may use must hold at least one sample per class."""
    if config.selection.strategy == "full":
        return
    fractions = [config.selection.fraction]
    domain = config.search.space.get("selection.fraction")
    if domain is not None:
        fractions += [float(v) for v in domain.extremes]
    n = len(data.y_train)
    for fraction in fractions:
        budget = budget_for(fraction, n)
        if budget < data.num_classes:
            needed = data.num_classes / n
            raise ConfigError(
                f"a subset of {fraction} of the {n} training samples holds {budget} samples, fewer than the "
                f"{data.num_classes} classes. Use a fraction of at least {needed:.4g}",
                path="selection.fraction",
            )


def run_experiment(
    config: ExperimentConfig,
    *,
    output_dir: str | Path | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    address: str | None = None,
) -> RunResult:
    """Tune ``config`` on data subsets, retrain the best configuration on the full data, write the results.

    Args:
        config: a validated experiment.
        output_dir: where the run directory is made; default ``config.output_dir``.
        on_progress: receives a ``Progress`` snapshot at each trial event (on the driver).
        address: a Ray cluster to join; default: ``RAY_ADDRESS`` if set, else a local Ray.
    """
    started = time.perf_counter()
    timings: dict[str, float] = {}

    tick = time.perf_counter()
    data = load_dataset(
        config.dataset.name,
        data_dir=config.dataset.data_dir,
        seed=config.seed,
        val_fraction=config.dataset.val_fraction,
        params=config.dataset.params,
    )
    timings["data_load_s"] = time.perf_counter() - tick
    check_budget(config, data)
    log.info("dataset %s", data.describe())

    run_dir = make_run_dir(output_dir or config.output_dir, config.name)
    (run_dir / "config.yaml").write_text(config.to_yaml(), encoding="utf-8")

    import ray

    tick = time.perf_counter()
    owns_ray = _init_ray(address)
    timings["ray_start_s"] = time.perf_counter() - tick
    try:
        tick = time.perf_counter()
        data_ref = ray.put(data)
        timings["data_put_s"] = time.perf_counter() - tick

        storage, experiment = _storage(config, run_dir)
        check_storage_visible(storage)

        progress = ProgressCallback(
            total=config.search.num_trials,
            metric=config.search.metric,
            mode=config.search.mode,
            max_epochs=config.training.epochs,
            on_update=on_progress or (lambda p: None),
        )
        tick = time.perf_counter()
        grid = _build_tuner(config, data_ref, storage, experiment, progress).fit()
        timings["tuning_wall_s"] = time.perf_counter() - tick

        trials = collect_trials(grid, config)
        usable = [t for t in trials if t["status"] != "error" and t["epochs"] > 0]
        if not usable:
            write_run(run_dir, _summary(config, data, trials, None, None, None, timings, started), trials, None)
            errors = {t["error"] for t in trials if t.get("error")}
            raise RunFailedError(
                f"all {len(trials)} trials failed; nothing to retrain. First error: "
                f"{next(iter(errors), 'unknown')}. Trial logs are under {storage}/{experiment}"
            )
        best = _best(usable, config.search.mode)
        best_config = apply_params(config, best["params"])

        final = None
        if config.final.enabled:
            progress.progress.phase = "retraining best config on the full data"
            if on_progress:
                on_progress(progress.progress)
            tick = time.perf_counter()
            final = retrain_on_cluster(best_config, data_ref)
            timings["final_wall_s"] = time.perf_counter() - tick

        summary = _summary(config, data, trials, best, best_config, final, timings, started)
        write_run(run_dir, summary, trials, best_config)
        return RunResult(run_dir=run_dir, summary=summary, trials=trials)
    finally:
        if owns_ray:
            ray.shutdown()


def _init_ray(address: str | None) -> bool:
    """Start (or join) Ray unless this process already did; return whether we must shut it down."""
    import ray

    if ray.is_initialized():
        return False
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    # Tune's own console output (experiment tables, trial tracebacks) would fight our progress display;
    # the legacy reporter at verbose=0 prints nothing, and trial errors are kept in the results.
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    quiet = logging.getLogger("cords_tune").getEffectiveLevel() > logging.INFO
    ray.init(
        address=address,
        include_dashboard=False,
        log_to_driver=False,
        logging_level=logging.ERROR if quiet else logging.INFO,
    )
    return True


def _storage(config: ExperimentConfig, run_dir: Path) -> tuple[str, str]:
    """(storage path, experiment name) for Ray Tune: the run directory's ``tune/`` by default, else
    ``<storage_path>/<run name>``."""
    if config.storage_path is None:
        return str(run_dir), "tune"
    if is_uri(config.storage_path):
        return config.storage_path.rstrip("/"), run_dir.name
    return str(Path(config.storage_path).expanduser().resolve()), run_dir.name


def _build_tuner(config: ExperimentConfig, data_ref: Any, storage: str, experiment: str, progress: ProgressCallback):
    import optuna
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler
    from ray.tune.search.optuna import OptunaSearch

    from cords_tune.tuning.search_space import to_tune_space
    from cords_tune.tuning.trainable import train_trial

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    search = config.search
    space = to_tune_space(search.space)
    searcher = None
    if space:
        if search.algorithm == "tpe":
            # TPE starts from random trials; a third of the budget (3 to 10) before it models the space.
            startup = max(3, min(10, search.num_trials // 3))
            sampler = optuna.samplers.TPESampler(seed=config.seed, n_startup_trials=startup)
        else:
            sampler = optuna.samplers.RandomSampler(seed=config.seed)
        searcher = OptunaSearch(sampler=sampler)
    if search.asha.enabled:
        scheduler = ASHAScheduler(
            time_attr="training_iteration",
            max_t=config.training.epochs,
            grace_period=asha_grace_period(config),
            reduction_factor=search.asha.reduction_factor,
        )
    else:
        scheduler = FIFOScheduler()

    trainable = tune.with_resources(
        tune.with_parameters(train_trial, config=config, data=data_ref),
        {"cpu": config.resources.cpus_per_trial, "gpu": config.resources.gpus_per_trial},
    )
    return tune.Tuner(
        trainable,
        param_space=space,
        tune_config=tune.TuneConfig(
            metric=search.metric,
            mode=search.mode,
            search_alg=searcher,
            scheduler=scheduler,
            num_samples=search.num_trials,
            max_concurrent_trials=search.max_concurrent_trials,
            reuse_actors=True,
        ),
        run_config=tune.RunConfig(
            name=experiment,
            storage_path=storage,
            verbose=0,
            callbacks=[progress],
            failure_config=tune.FailureConfig(max_failures=0),
        ),
    )


def asha_grace_period(config: ExperimentConfig) -> int:
    """ASHA's first rung, moved past the full-data warm start when needed: a trial stopped during its
    warm start would have paid full-data prices and never trained on a subset."""
    warm = config.selection.warm_start_epochs
    domain = config.search.space.get("selection.warm_start_epochs")
    if domain is not None:
        warm = max([warm] + [int(v) for v in domain.extremes])
    grace = config.search.asha.grace_period
    if config.selection.strategy != "full" and grace <= warm:
        log.warning(
            "search.asha.grace_period %d is within the %d full-data warm-start epochs; using %d so that "
            "trials are compared once they have trained on subsets", grace, warm, warm + 1,
        )
        grace = warm + 1
    return min(grace, config.training.epochs)


def _best(trials: list[dict[str, Any]], mode: str) -> dict[str, Any]:
    sign = 1.0 if mode == "max" else -1.0
    return max(trials, key=lambda t: (sign * t["best_metric"], -t["index"]))


def _summary(
    config: ExperimentConfig,
    data: DataBundle,
    trials: list[dict[str, Any]],
    best: dict[str, Any] | None,
    best_config: ExperimentConfig | None,
    final: FinalResult | None,
    timings: dict[str, float],
    started: float,
) -> dict[str, Any]:
    statuses = [t["status"] for t in trials]
    totals = {key: sum(t[key] for t in trials) for key in ("selection_s", "train_s", "eval_s", "wall_s")}
    metric = config.search.metric
    return {
        "name": config.name,
        "seed": config.seed,
        "dataset": data.describe(),
        "model": config.model.name,
        "strategy": config.selection.strategy,
        "fraction": config.selection.fraction,
        "metric": metric,
        "mode": config.search.mode,
        "num_trials": len(trials),
        "trials_completed": statuses.count("completed"),
        "trials_stopped_early": statuses.count("stopped"),
        "trials_errored": statuses.count("error"),
        "trials_selection_fallback": sum(bool(t.get("selection_fallback")) for t in trials),
        "tuning_wall_s": timings.get("tuning_wall_s"),
        "selection_s_total": totals["selection_s"],
        "train_s_total": totals["train_s"],
        "eval_s_total": totals["eval_s"],
        "trial_wall_s_total": totals["wall_s"],
        "epochs_total": sum(t["epochs"] for t in trials),
        "best_trial_id": best["trial_id"] if best else None,
        "best_config": best["params"] if best else None,
        f"best_{metric}": best["best_metric"] if best else None,
        "best_val_accuracy": best["best_val_accuracy"] if best else None,
        "final": final.as_dict() if final else None,
        "timings": dict(timings),
        "nodes": len({t["node"] for t in trials if t.get("node")}),
        "end_to_end_wall_s": time.perf_counter() - started,
        "status": "ok" if best else "failed",
    }
