"""The Python API: what ``cords-tune run`` and ``resume`` do, callable from a script or a notebook, with
data and a model given as objects rather than named in the experiment.

    import cords_tune

    result = cords_tune.run("experiments/mnist1d.yaml")                     # as the CLI does
    result = cords_tune.run({"name": "mine", "search": {...}}, data=(x, y), model=make_net)
    print(result.summary.best_config, result.run_dir)

An experiment is a YAML path, a mapping of the same sections, or an ``ExperimentConfig``. With ``data=``,
its dataset is ``python`` (set for you when the experiment names none); with ``model=``, its model is
``python`` likewise, and ``model.params`` (fixed or searched) go to the factory. The objects reach the Ray
workers through the object store (the data) and pickled with the trial (the model factory), never by name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from cords_tune.config import ExperimentConfig, parse_config, read_experiment
from cords_tune.datasets.given import GIVEN
from cords_tune.errors import ConfigError

__all__ = ["experiment", "run", "resume", "train", "trainable"]


def experiment(
    source: str | Path | Mapping[str, Any] | ExperimentConfig,
    *,
    overrides: Sequence[str] = (),
    plugins: Sequence[str] = (),
    data: bool = False,
    model: bool = False,
) -> ExperimentConfig:
    """The validated experiment of ``source``, with ``a.b=value`` ``overrides`` and ``plugins`` added.

    Args:
        data: the data will be given from Python: the dataset becomes ``python`` unless the experiment
            names another (an error then).
        model: the model will be given from Python: likewise for the model.
    """
    if isinstance(source, ExperimentConfig):
        if not (overrides or plugins or data or model):
            return source
        raw: Any = source.to_data()
        named = {section for section in ("dataset", "model") if "name" in getattr(source, section).model_fields_set}
        where = "the ExperimentConfig"
    elif isinstance(source, (Mapping, str, Path)):
        is_file = not isinstance(source, Mapping)
        raw = read_experiment(source) if is_file else _copy(source)
        where = repr(str(source)) if is_file else "the experiment mapping"
        named = {s for s in ("dataset", "model") if isinstance(raw, dict) and isinstance(raw.get(s), Mapping)
                 and "name" in raw[s]}
    else:
        raise ConfigError(f"an experiment is a YAML file's path, a mapping of its sections or an ExperimentConfig. "
                          f"Got {type(source).__name__}")
    if isinstance(raw, dict):
        for section, given in (("dataset", data), ("model", model)):
            if given:
                raw[section] = _given_section(raw.get(section), section, section in named)
    return parse_config(raw, source=where, overrides=list(overrides), plugins=list(plugins))


def run(
    source: str | Path | Mapping[str, Any] | ExperimentConfig,
    *,
    data: Any = None,
    model: Callable[..., Any] | None = None,
    overrides: Sequence[str] = (),
    plugins: Sequence[str] = (),
    baseline: bool | None = None,
    output_dir: str | Path | None = None,
    address: str | None = None,
    on_progress: Callable[[Any], None] | None = None,
    on_notice: Callable[[str], None] | None = None,
) -> Any:
    """Tune an experiment as ``cords-tune run`` does and return its ``RunResult``: ``run_dir``, ``summary`` (a
    ``RunSummary``), ``trials`` (``TrialRecord`` each), and ``comparison`` (a ``Comparison``) with ``baseline``.

    Args:
        source: a YAML path, a mapping of the experiment's sections, or an ``ExperimentConfig``.
        data: your data instead of the experiment's dataset: a ``DataBundle``, ``(x, y)`` or ``(x_train,
            y_train, x_test, y_test)`` arrays, a mapping of those names, or a torch ``Dataset`` of (input,
            label) pairs (or a ``(train, test)`` pair of them).
        model: your network instead of the experiment's model: a function or ``nn.Module`` class called with
            those of ``input_shape``, ``num_classes`` it takes and ``model.params``; its last layer must be an
            ``nn.Linear``.
        overrides: ``a.b=value`` strings, as ``--set``.
        plugins: modules that register datasets, models or strategies, as ``--plugin``.
        baseline: also tune on the full data and compare (default: the experiment's ``baseline``).
        output_dir: where the run directory is made (default: the experiment's ``output_dir``).
        address: a Ray cluster to join (default: ``RAY_ADDRESS``, else a private local Ray; a Ray this
            process started already is used as it is).
        on_progress: called with a ``Progress`` snapshot at each trial event.
        on_notice: called with one-off lines of text (which Ray runs the trials, what they wait for).

    Raises:
        ConfigError: the experiment, the data or the model is not usable (a ``ValueError`` too).
        RunInterruptedError: Ctrl-C; ``resume(run_dir, ...)`` continues the run.
    """
    from cords_tune.runs import run_experiment

    extra = [*overrides, *([f"baseline={baseline}"] if baseline is not None else [])]
    config = experiment(source, overrides=extra, plugins=plugins, data=data is not None, model=model is not None)
    return run_experiment(config, output_dir=output_dir, on_progress=on_progress, on_notice=on_notice,
                          address=address, data=data, model=model)


def resume(
    run_dir: str | Path,
    *,
    data: Any = None,
    model: Callable[..., Any] | None = None,
    address: str | None = None,
    on_progress: Callable[[Any], None] | None = None,
    on_notice: Callable[[str], None] | None = None,
) -> Any:
    """Continue an interrupted run as ``cords-tune resume`` does; a run whose data or model was given from
    Python needs the same ``data`` / ``model`` again."""
    from cords_tune.runs import resume_experiment

    return resume_experiment(run_dir, on_progress=on_progress, on_notice=on_notice, address=address, data=data,
                             model=model)


def train(
    source: str | Path | Mapping[str, Any] | ExperimentConfig,
    *,
    data: Any = None,
    model: Callable[..., Any] | None = None,
    overrides: Sequence[str] = (),
    plugins: Sequence[str] = (),
    output_dir: str | Path | None = None,
    address: str | None = None,
    on_notice: Callable[[str], None] | None = None,
) -> Any:
    """Train one configuration once on the full data, test it and save the model, as ``cords-tune train``
    does (e.g. a run's ``best_config.yaml``, with the ``data`` and ``model`` the run was given), and return its
    ``TrainResult``: ``run_dir``, ``summary`` (a ``TrainSummary``) and ``model_path``.

    ``source``, ``data``, ``model``, ``overrides`` and ``plugins`` are as for ``run``; the search space is
    ignored (the configuration's own values are trained, for ``final.epochs``).

    Raises:
        ConfigError: the experiment, the data or the model is not usable (a ``ValueError`` too).
        RunInterruptedError: Ctrl-C; nothing is saved.
        RunFailedError: the training failed.
    """
    from cords_tune.runs.train import train_once

    config = experiment(source, overrides=overrides, plugins=plugins, data=data is not None, model=model is not None)
    return train_once(config, output_dir=output_dir, address=address, on_notice=on_notice, data=data, model=model)


def trainable(
    source: str | Path | Mapping[str, Any] | ExperimentConfig,
    *,
    data: Any = None,
    model: Callable[..., Any] | None = None,
    overrides: Sequence[str] = (),
    plugins: Sequence[str] = (),
) -> Any:
    """A Ray Tune trainable that trains the experiment on its data subsets, for your own ``tune.Tuner``.

    Each trial applies its sampled ``param_space`` entries (dotted paths such as ``"training.lr"`` or
    ``"model.params.hidden"``) to the experiment, trains epoch by epoch on subsets chosen by
    ``selection.strategy``, and reports one result per epoch (``training_iteration`` counts epochs;
    ``val_accuracy``, ``val_loss``, ``train_loss``, ``selection_s`` ...) with a checkpoint every
    ``fault_tolerance.checkpoint_every`` epochs and after the last, so schedulers that pause, stop, or clone
    trials (ASHA, HyperBand, PBT) work: a trial restored from another's checkpoint keeps its own
    hyperparameters. It asks for ``resources.cpus_per_trial`` / ``gpus_per_trial`` per trial. The data is
    loaded and checked once, here, and shared with the trials through Ray's object store. A shared strategy's
    subset (``cords-tune strategies``) is chosen here too, once, by training its proxy in this process, and
    a gradient strategy's selection cycle is measured here once for the cost guard (``selection.max_cost_share``).
    """
    from cords_tune.preflight import load_and_check
    from cords_tune.models.given import as_given
    from cords_tune.training.cost_guard import is_guarded
    from cords_tune.tuning.selection_cost import measure_in_this_process
    from cords_tune.training.proxy import is_shared, select_shared_subset
    from cords_tune.tuning.trainable import trial_trainable

    config = experiment(source, overrides=overrides, plugins=plugins, data=data is not None, model=model is not None)
    if config.training.validation == "at_decisions":
        raise ConfigError(
            "training.validation is at_decisions, which evaluates only where the experiment's own scheduler "
            "(search.asha) decides; in your own Tuner the scheduler is yours (HyperBand's brackets, PBT's "
            "perturbation interval read the metric at other epochs). Set training.validation: every_epoch",
            path="training.validation",
        )
    given = as_given(model)
    bundle = load_and_check(config, data=data, model=given)
    config = config.with_absolute_paths()
    shared = select_shared_subset(config, bundle, given) if is_shared(config) else None
    # as a trial of the config would train (device, threads); a failed measurement leaves the guard off, said once
    cost = measure_in_this_process(config, bundle, given) if is_guarded(config) else None
    return trial_trainable(config, bundle, given, shared, cost)


def _given_section(section: Any, name: str, named: bool) -> Any:
    if not named:
        return {**(section if isinstance(section, Mapping) else {}), "name": GIVEN}
    if isinstance(section, Mapping) and section.get("name") != GIVEN:
        what = "data" if name == "dataset" else "model"
        raise ConfigError(f"{what}= was given from Python, but the experiment names {name} {section.get('name')!r}. "
                          f"Remove {name}.name (or set it to python), or do not pass {what}=", path=f"{name}.name")
    return section


def _copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value
