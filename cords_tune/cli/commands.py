"""The commands: `cords-tune validate | run | resume | train | predict | fidelity | strategies`.

Each imports what it runs only when called, so ``--help`` and a mistyped command answer at once.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from cords_tune.cli.application import (AddressOpt, ConfigArg, OutputOpt, PluginOpt, SetOpt, VerboseOpt, app,
                                configure_logging, user_errors)
from cords_tune.cli.console import err, notice, out, print_notes
from cords_tune.cli.progress import progress_bar, progress_display
from cords_tune.cli.display import print_fidelity, print_result, print_trained
from cords_tune.reports.wording import seconds

if TYPE_CHECKING:
    from cords_tune.selection.plan import SelectionPlan


@app.command()
def validate(config: ConfigArg, set_: SetOpt = None, plugin: PluginOpt = None) -> None:
    """Check an experiment file (and overrides) without running anything, against its data if available."""
    with user_errors():
        from cords_tune.config import load_config
        from cords_tune.errors import DatasetUnavailableError
        from cords_tune.notes import experiment_notes
        from cords_tune.preflight import load_and_check
        from cords_tune.selection import plan_for
        from cords_tune.tuning.resources import this_machine_notes

        experiment = load_config(config, set_ or [], plugin or [])
        plan = plan_for(experiment.selection)
        subsets = (f"at fraction {experiment.selection.fraction}" if plan.sized_by_budget else
                   "(sizing its own subsets)" if plan.uses_subsets else "(the full data)")
        try:
            samples = len(load_and_check(experiment, download=False).y_train)  # validating never downloads
            checked = "checked against its data"
        except DatasetUnavailableError as error:  # e.g. CIFAR-10 offline: the file itself is still valid
            if not error.missing:
                raise  # files that are there but unreadable are a problem to fix, not data still to download
            samples = None
            checked = f"not checked against its data ({experiment.dataset.name} is not on this machine yet: " \
                      "`run` downloads it and checks before Ray starts)"
            logging.getLogger(__name__).info("%s", error)
    out.print(f"[green]ok[/] {config}: experiment {experiment.name!r}, dataset {experiment.dataset.name}, "
              f"model {experiment.model.name}, strategy {experiment.selection.strategy} {subsets}, "
              f"{experiment.search.num_trials} trials over "
              f"{len(experiment.search.space)} searched parameters; {checked}", highlight=False)
    print_notes([*experiment_notes(experiment, samples), *this_machine_notes(experiment)])


@app.command()
def run(
    config: ConfigArg,
    set_: SetOpt = None,
    plugin: PluginOpt = None,
    output: OutputOpt = None,
    address: AddressOpt = None,
    storage_path: Annotated[
        Optional[str],
        typer.Option(metavar="PATH|URI",
                     help="Where trial files go: a shared path (NFS) or s3:// / gs:// URI on several nodes."),
    ] = None,
    baseline: Annotated[
        Optional[bool],
        typer.Option(
            "--baseline/--no-baseline",
            help="Also run the same search on the full data and compare: speedup, test accuracy, both best "
            "configs (comparison.json, comparison.png). Default: the config's `baseline`.",
        ),
    ] = None,
    verbose: VerboseOpt = False,
) -> None:
    """Tune on data subsets, train the top final.top_k configurations on the full data and keep the one with the
    best full-data validation score, write the results."""
    configure_logging(verbose)
    with user_errors():
        from cords_tune.config import load_config
        from cords_tune.notes import experiment_notes

        experiment = load_config(
            config, [*(set_ or []), *([f"baseline={baseline}"] if baseline is not None else [])], plugin or []
        )
        if storage_path is not None:  # a path or URI, taken verbatim (not parsed as YAML like --set values)
            experiment = experiment.model_copy(update={"storage_path": storage_path})
        print_notes(experiment_notes(experiment))
        from cords_tune.runs import run_experiment

        with progress_display() as on_progress:
            result = run_experiment(experiment, output_dir=output, on_progress=on_progress, on_notice=notice,
                                    address=address)
    print_result(result)


@app.command()
def resume(
    run_dir: Annotated[Path, typer.Argument(help="The run directory that `cords-tune run` printed.")],
    address: AddressOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Continue an interrupted run: finished trials are kept, unfinished ones continue from checkpoints."""
    configure_logging(verbose)
    with user_errors():
        from cords_tune.runs import resume_experiment

        with progress_display() as on_progress:
            result = resume_experiment(run_dir, on_progress=on_progress, on_notice=notice, address=address)
    print_result(result)


@app.command()
def train(
    config: ConfigArg,
    set_: SetOpt = None,
    plugin: PluginOpt = None,
    output: OutputOpt = None,
    address: AddressOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Train a configuration once on the full data, test it and save the model (e.g. a run's best_config.yaml).

    No search runs: the config's own values are trained for final.epochs (default training.epochs) as one Ray
    task with a trial's resources. Writes model.pt, summary.json and config.yaml into
    <output>/<name>-train-<date>-<time>/.
    """
    configure_logging(verbose)
    with user_errors():
        from cords_tune.config import load_config

        experiment = load_config(config, set_ or [], plugin or [])
        from cords_tune.runs.train import train_notes, train_once

        print_notes(train_notes(experiment))
        err.print(f"training {experiment.model.name} on the full data of {experiment.dataset.name} for "
                  f"{experiment.final_epochs} epochs (one Ray task) ...", highlight=False)
        result = train_once(experiment, output_dir=output, address=address, on_notice=notice)
    print_trained(result, experiment.search.metric)


@app.command()
def predict(
    model: Annotated[Path, typer.Argument(help="A model.pt that `cords-tune run` or `train` saved.")],
    data: Annotated[Path, typer.Argument(help="A .csv / .parquet table (columns matched by name, the label column "
                                         "ignored), an .npz (its array x, else x_test, else x_train, else its "
                                         "only array) or a folder of images.")],
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="The file to write: .csv or .parquet "
                                                   "(default: <DATA name>-predictions.csv here).")] = None,
    verbose: VerboseOpt = False,
) -> None:
    """Predict the labels of DATA with a saved model, in your own labels, and write them (CSV or Parquet)."""
    configure_logging(verbose)
    with user_errors():
        import warnings

        from cords_tune.prediction import default_output, predict_file, write_predictions

        with warnings.catch_warnings(record=True) as caught, progress_bar("predicting") as on_progress:
            warnings.simplefilter("always")
            predictions = predict_file(model, data, on_progress=on_progress)
        for warning in caught:
            err.print(f"[yellow]warning:[/] {escape(str(warning.message))}", highlight=False, soft_wrap=True)
        path = write_predictions(predictions, output or default_output(data))
    out.print(f"{len(predictions.labels)} predictions ({escape(predictions.source)}) written to "
              f"[bold]{escape(str(path))}[/]", highlight=False, soft_wrap=True)


@app.command()
def fidelity(
    config: ConfigArg,
    configs: Annotated[int, typer.Option("--configs", "-k", metavar="K",
                                         help="How many configurations to sample (at least 2).")] = 10,
    set_: SetOpt = None,
    plugin: PluginOpt = None,
    output: OutputOpt = None,
    address: AddressOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Can subsets be trusted here? Train K sampled configurations for all epochs on subsets and on the full
    data; report the rank correlations of their validation scores and whether the top-1 and top-3 agree."""
    configure_logging(verbose)
    with user_errors():
        from cords_tune.config import load_config

        experiment = load_config(config, set_ or [], plugin or [])
        from cords_tune.runs.fidelity import measure_fidelity

        with progress_display() as on_progress:
            result = measure_fidelity(experiment, configs, output_dir=output, on_progress=on_progress, address=address,
                                      on_notice=notice)
    print_fidelity(result)


@app.command()
def strategies(
    plugin: PluginOpt = None,
    measure: Annotated[Optional[Path], typer.Option(
        "--measure", metavar="EXPERIMENT",
        help="Measure one selection by each strategy on this experiment's data, on this machine, "
        "instead of showing the figures measured on the quickstart data")] = None,
) -> None:
    """List the subset selection strategies: how each selects, what it needs, and what one selection costs."""
    with user_errors():
        from cords_tune.config import load_config
        from cords_tune.plugins import import_plugins
        from cords_tune.preflight import load_and_check
        from cords_tune.selection import STRATEGIES, plan_of
        from cords_tune.selection.cost import recorded_costs
        from cords_tune.training.measure import measure_selection_costs

        import_plugins(plugin or [])
        if measure is not None:
            config = load_config(measure, plugins=plugin or [])
            err.print(f"measuring one selection per strategy on {config.name}'s data (a few seconds each) ...")
            costs = measure_selection_costs(config, load_and_check(config), STRATEGIES.names())
        else:
            costs = recorded_costs()

    title = (f"one selection measured on {costs.experiment} ({costs.samples} training samples, fraction "
             f"{costs.fraction:g}); {costs.machine}" if costs else
             "one selection: not measured (cords-tune strategies --measure EXPERIMENT)")
    kinds = Table("strategy", "selects", "reads", "weighted", "one selection", title=title, box=None)
    about = Table("strategy", "description", "parameters", box=None)
    for table in (kinds, about):
        table.columns[0].no_wrap = True  # the names are what a config file needs, whole
    for name in STRATEGIES.names():
        plan = plan_of(name)
        cost = costs.cost_of(name) if costs else None
        kinds.add_row(name, _selects(plan), _reads(plan), "yes" if plan.weighted else "no",
                      "-" if cost is None else _short_time(cost.seconds))
        params = ", ".join(f"{k}={p.default!r}" for k, p in STRATEGIES.user_params(name).items())
        about.add_row(name, STRATEGIES.describe(name), params or "-")
    out.print(kinds)
    out.print()
    out.print(about)
    if costs and any(plan_of(name).shared for name in STRATEGIES.names()):
        out.print(f"A shared strategy also trains its proxy once per run, before the trials: "
                  f"{seconds(costs.proxy_s)} for {costs.proxy_epochs} epochs here (selection.proxy).",
                  highlight=False)


def _short_time(seconds: float) -> str:
    """``"4.2 ms"`` below a second, ``"1.25 s"`` above: selections range from microseconds to seconds."""
    return f"{1000 * seconds:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _selects(plan: SelectionPlan) -> str:
    """When and for whom a strategy chooses: once per run for all trials, or per trial as it trains."""
    if not plan.uses_subsets:
        return "full data"
    if plan.shared:
        return "once per run, shared by all trials"
    return "every epoch, per trial" if plan.every_epoch else "every selection.every epochs, per trial"


def _reads(plan: SelectionPlan) -> str:
    needs = [what for what, needed in (("last-layer gradients", plan.needs_gradients),
                                       ("the training record", plan.needs_record)) if needed]
    if needs and plan.shared:
        return "the proxy's " + ", ".join(what.removeprefix("the ") for what in needs)
    return ", ".join(needs) or "labels"
