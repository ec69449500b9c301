"""Checks of an experiment against its loaded data, made by `validate` and on the driver before Ray starts:
a mistake that only the data reveals still costs seconds, not a cluster's worth of failing trials."""

from __future__ import annotations

from cords_tune.config import ExperimentConfig, apply_params
from cords_tune.datasets import DATASETS, DataBundle, load_dataset
from cords_tune.errors import ConfigError
from cords_tune.models import create_model
from cords_tune.selection import budget_for, uses_subsets

__all__ = ["load_and_check", "check_budget", "check_models", "check_validation"]


def load_and_check(config: ExperimentConfig, *, download: bool = True) -> DataBundle:
    """Load the experiment's dataset and check the experiment against it.

    Args:
        download: ``False`` keeps datasets that download (torchvision's) to the files already on disk.
    """
    params = dict(config.dataset.params)
    if not download and "download" in DATASETS.user_params(config.dataset.name):
        params["download"] = False
    data = load_dataset(
        config.dataset.name,
        data_dir=config.dataset.data_dir,
        seed=config.seed,
        val_fraction=config.dataset.val_fraction,
        params=params,
    )
    check_budget(config, data)
    check_models(config, data)
    check_validation(config, data)
    return data


def check_validation(config: ExperimentConfig, data: DataBundle) -> None:
    """Trials are ranked on the validation split: it must hold every class."""
    present = len(set(data.y_val.tolist()))
    if present < data.num_classes:
        raise ConfigError(
            f"the validation split holds {len(data.y_val)} samples covering {present} of the {data.num_classes} "
            f"classes, so trials cannot be ranked on it. Raise dataset.val_fraction or use more data",
            path="dataset.val_fraction",
        )


def check_budget(config: ExperimentConfig, data: DataBundle) -> None:
    """Every subset a trial may use must hold at least one sample per class."""
    if not uses_subsets(config.selection.strategy):
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


def check_models(config: ExperimentConfig, data: DataBundle) -> int:
    """Every model a trial may build can be built for this data: the base configuration and each probe
    value of each searched ``model.*`` domain (parameter values, input shape).

    Returns:
        The parameter count of the largest of these models (what a checkpoint must hold).
    """
    largest = 0
    variants: list[tuple[str | None, object]] = [(None, None)]
    for path, domain in config.search.space.items():
        if path.startswith("model."):
            variants += [(path, value) for value in domain.probes]
    for path, value in variants:
        trial = config if path is None else apply_params(config, {path: value})
        try:
            model = create_model(
                trial.model.name, input_shape=data.input_shape, num_classes=data.num_classes, params=trial.model.params
            )
        except ConfigError as error:
            if path is None:
                raise
            raise ConfigError(
                f"the value {value!r} of this domain makes a model that cannot be built: {error}",
                path=f"search.space.{path}",
            ) from None
        largest = max(largest, sum(p.numel() for p in model.parameters()))
    return largest
