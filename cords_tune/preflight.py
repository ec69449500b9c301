"""Checks of an experiment against its loaded data, made by `validate` and on the driver before Ray starts:
a mistake that only the data reveals still costs seconds, not a cluster's worth of failing trials."""

from __future__ import annotations

from typing import Any

import torch

from cords_tune.config import ExperimentConfig, apply_params
from cords_tune.datasets import DATASETS, DataBundle, bundle_splits, load_dataset
from cords_tune.datasets.given import GIVEN, given_train_test
from cords_tune.errors import ConfigError
from cords_tune.models import GivenModel, build_model
from cords_tune.models.given import check_head
from cords_tune.selection import budget_for, plan_for
from cords_tune.training.speed import channels_last_applies, channels_last_failure, channels_last_refusal

__all__ = ["load_and_check", "load_data", "check_against_data", "check_budget", "check_models", "check_validation"]


def load_and_check(
    config: ExperimentConfig, *, download: bool = True, data: Any = None, model: GivenModel | None = None
) -> DataBundle:
    """Load the experiment's dataset (or take ``data`` given from Python) and check the experiment against it.

    Args:
        download: ``False`` keeps datasets that download (torchvision's) to the files already on disk.
        data: data given from Python (``cords_tune.datasets.given`` lists the forms); the experiment's
            dataset must then be ``python``.
        model: a model given from Python, checked in place of the experiment's named model.
    """
    bundle = load_data(config, download=download, data=data)
    check_against_data(config, bundle, model)
    return bundle


def check_against_data(config: ExperimentConfig, data: DataBundle, model: GivenModel | None = None) -> int:
    """Every check of the experiment against its loaded data; returns the largest model's parameter count."""
    check_budget(config, data)
    largest = check_models(config, data, model)
    check_validation(config, data)
    return largest


def load_data(config: ExperimentConfig, *, download: bool = True, data: Any = None) -> DataBundle:
    """The experiment's data: ``data`` given from Python, or its dataset loaded (nothing checked yet)."""
    if data is not None:
        return _given_bundle(config, data)
    if config.dataset.name == GIVEN:
        raise ConfigError(
            "the experiment's data is given from Python (dataset.name: python), but no data was passed. Pass it "
            "again: cords_tune.run(experiment, data=...) or cords_tune.resume(run_dir, data=...), or name a dataset",
            path="dataset.name",
        )
    params = dict(config.dataset.params)
    if not download and "download" in DATASETS.user_params(config.dataset.name):
        params["download"] = False
    return load_dataset(
        config.dataset.name,
        data_dir=config.dataset.data_dir,
        seed=config.seed,
        val_fraction=config.dataset.val_fraction,
        params=params,
    )


def _given_bundle(config: ExperimentConfig, data: Any) -> DataBundle:
    if config.dataset.name != GIVEN:
        raise ConfigError(f"data was given from Python, but the experiment names dataset {config.dataset.name!r}. "
                          "Set dataset.name: python, or pass no data", path="dataset.name")
    if isinstance(data, DataBundle):
        return data
    raw = given_train_test(data, seed=config.seed, params=config.dataset.params)
    return bundle_splits(GIVEN, raw, val_fraction=config.dataset.val_fraction, seed=config.seed)


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
    """Every subset a trial may use must hold at least one sample per class. Strategies that size their subsets
    themselves (InfoBatch) ignore ``selection.fraction``, so any fraction is accepted for them."""
    if not plan_for(config.selection).sized_by_budget:
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
            if len(data.y_val) >= n:  # the validation split took most of the data: that is what to change
                val_fraction = config.dataset.val_fraction
                raise ConfigError(
                    f"{val_fraction:g} keeps {len(data.y_val)} of the {len(data.y_val) + n} samples of the training "
                    f"data for validation and leaves {n} to train on, so a subset of {fraction} of those holds "
                    f"{budget} samples, fewer than the {data.num_classes} classes. Lower dataset.val_fraction "
                    f"(0.1 is usual), or use a selection.fraction of at least {needed:.4g}",
                    path="dataset.val_fraction",
                )
            raise ConfigError(
                f"a subset of {fraction} of the {n} training samples holds {budget} samples, fewer than the "
                f"{data.num_classes} classes. Use a fraction of at least {needed:.4g}",
                path="selection.fraction",
            )


def check_models(config: ExperimentConfig, data: DataBundle, given: GivenModel | None = None) -> int:
    """Every model a trial may build can be built for this data: the base configuration and each probe
    value of each searched ``model.*`` domain (parameter values, input shape); ``training.channels_last: true``
    only where it applies.

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
            model = build_model(trial.model.name, trial.model.params, input_shape=data.input_shape,
                                num_classes=data.num_classes, given=given)
            if given is not None:
                _check_output(model, data)
            if path is None:
                _check_channels_last(config, model, data)
        except ConfigError as error:
            if path is None:
                raise
            raise ConfigError(
                f"the value {value!r} of this domain makes a model that cannot be built: {error}",
                path=f"search.space.{path}",
            ) from None
        largest = max(largest, sum(p.numel() for p in model.parameters()))
    _check_proxy_model(config, data)
    return largest


def _check_proxy_model(config: ExperimentConfig, data: DataBundle) -> None:
    """The proxy a shared strategy trains (``selection.proxy.model``) can be built for this data."""
    proxy = config.selection.proxy.model
    if proxy is None or not plan_for(config.selection).shared:
        return
    try:
        build_model(proxy.name, proxy.params, input_shape=data.input_shape, num_classes=data.num_classes)
    except ConfigError as error:
        raise ConfigError(f"the proxy's model cannot be built: {error}", path="selection.proxy.model") from None


def _check_channels_last(config: ExperimentConfig, model: torch.nn.Module, data: DataBundle) -> None:
    if config.training.channels_last is not True:
        return
    if not channels_last_applies(model, data.input_shape):
        raise ConfigError(
            f"training.channels_last is true, but channels-last memory order applies to models with 2-D "
            f"convolutions on (C, H, W) image inputs; model {config.model.name!r} on inputs of shape "
            f"{data.input_shape} is not one. Set training.channels_last: auto (on where it applies, on a GPU) or false",
            path="training.channels_last",
        )
    failure = channels_last_failure(model, torch.as_tensor(data.x_train[:2]).float())
    if failure is not None:
        raise ConfigError(channels_last_refusal(config.model.name, failure), path="training.channels_last")


def _check_output(model: torch.nn.Module, data: DataBundle) -> None:
    """A network given from Python maps two samples of the data to (2, num_classes) logits, and they come
    from the layer taken as its head."""
    x = torch.as_tensor(data.x_train[:2]).float()
    try:
        with torch.no_grad():
            logits = model.eval()(x)
    except Exception as error:
        raise ConfigError(f"the model given from Python fails on two samples of shape {tuple(x.shape)}: "
                          f"{type(error).__name__}: {error}", path="model") from None
    if tuple(logits.shape) != (2, data.num_classes):
        raise ConfigError(f"the model given from Python must give (N, {data.num_classes}) logits for this data. "
                          f"Got shape {tuple(logits.shape)} for {tuple(x.shape)} inputs", path="model")
    check_head(model, x, "the model given from Python")
