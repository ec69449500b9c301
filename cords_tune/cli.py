"""`cords-tune run | resume | train | predict | fidelity | validate | strategies`.

User mistakes (a bad config, a missing dataset) print one message and exit with code 2, never a traceback.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from typer.core import TyperGroup
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from cords_tune.errors import CordsTuneError
from cords_tune.reports.wording import (co2e, compression_note, compression_table, count, energy_amount, energy_line,
                                        energy_saving, fallback_note, finalists_note, finalists_table, finalists_title,
                                        regret, retrain_label, seconds, shared_subset_line, slot_use_line, speed,
                                        top1_agreement, trials_outcome, tuned_test_figures, tuned_test_rows)

if TYPE_CHECKING:
    from cords_tune.compression import Compression
    from cords_tune.reports.comparison import Comparison
    from cords_tune.selection.plan import SelectionPlan
    from cords_tune.tuning.summary import RunSummary

class _FlagsWithoutTypes(TyperGroup):
    """Typer prints a type beside each option, ``<bool>`` even beside a flag, which takes no value: the flags of
    every command (``--help`` too) are shown without one."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _without_flag_types(super().get_params(ctx))

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            _without_flag_types(command.get_params(ctx))
        return command


def _without_flag_types(params: list[Any]) -> list[Any]:
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    return params


app = typer.Typer(
    cls=_FlagsWithoutTypes,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Tune hyperparameters on adaptively selected data subsets with Ray Tune, then train the best "
    "configurations (final.top_k) on the full data and keep the one that validates best.",
)
out = Console()
err = Console(stderr=True)

ConfigArg = Annotated[Path, typer.Argument(help="Experiment YAML file, e.g. experiments/mnist1d.yaml.")]
SetOpt = Annotated[
    Optional[list[str]],
    typer.Option("--set", "-s", metavar="FIELD=VALUE",
                 help="Override a field: --set training.lr=0.01 (repeatable; values are YAML)."),
]
PluginOpt = Annotated[
    Optional[list[str]],
    typer.Option("--plugin", "-p", metavar="MODULE",
                 help="A module that registers your own datasets, models or strategies: a module name or a .py file "
                 "(repeatable; added to the config's `plugins`, imported on every worker)."),
]
OutputOpt = Annotated[
    Optional[Path],
    typer.Option("--output", "-o", metavar="DIR",
                 help="Where the result directory is made (default: the config's output_dir)."),
]
AddressOpt = Annotated[
    Optional[str],
    typer.Option(metavar="ADDRESS", help="Ray cluster address to join (default: RAY_ADDRESS; else a private local Ray, "
                 "never one already running on this machine)."),
]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Log progress details.")]


def main() -> None:
    app()


def _show_version(wanted: bool) -> None:
    if wanted:
        from cords_tune import __version__

        out.print(f"cords-tune {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[bool, typer.Option("--version", callback=_show_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    pass


@contextmanager
def _user_errors() -> Iterator[None]:
    try:
        yield
    except CordsTuneError as error:
        if error.exit_code == 0:  # nothing went wrong, e.g. resuming a run that already finished
            out.print(str(error), highlight=False, soft_wrap=True, markup=False)
        elif error.exit_code == 130:
            err.print(f"[yellow]{escape(str(error))}[/]", highlight=False, soft_wrap=True)
            raise typer.Exit(_interrupt_exit_code()) from None
        else:  # the message is text, never markup: configs are full of [brackets]
            err.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
        raise typer.Exit(error.exit_code) from None
    except KeyboardInterrupt:
        err.print("[yellow]interrupted[/]")
        raise typer.Exit(_interrupt_exit_code()) from None


def _print_notes(notes: list[str]) -> None:
    for note in notes:
        err.print(f"[yellow]note:[/] {escape(note)}", highlight=False, soft_wrap=True)


def _interrupt_exit_code() -> int:
    """130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP (which a run turns into the same orderly stop)."""
    interrupts = sys.modules.get("cords_tune.tuning.interrupts")  # never imported: no run, so no SIGTERM handler
    signum = interrupts.terminating_signal() if interrupts is not None else None
    return 128 + signum if signum else 130


@app.command()
def validate(config: ConfigArg, set_: SetOpt = None, plugin: PluginOpt = None) -> None:
    """Check an experiment file (and overrides) without running anything, against its data if available."""
    with _user_errors():
        from cords_tune.config import load_config
        from cords_tune.errors import DatasetUnavailableError
        from cords_tune.notes import experiment_notes
        from cords_tune.preflight import load_and_check
        from cords_tune.selection import plan_of
        from cords_tune.tuning.resources import this_machine_notes

        experiment = load_config(config, set_ or [], plugin or [])
        plan = plan_of(experiment.selection.strategy)
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
    _print_notes([*experiment_notes(experiment, samples), *this_machine_notes(experiment)])


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
    _configure_logging(verbose)
    with _user_errors():
        from cords_tune.config import load_config
        from cords_tune.notes import experiment_notes

        experiment = load_config(
            config, [*(set_ or []), *([f"baseline={baseline}"] if baseline is not None else [])], plugin or []
        )
        if storage_path is not None:  # a path or URI, taken verbatim (not parsed as YAML like --set values)
            experiment = experiment.model_copy(update={"storage_path": storage_path})
        _print_notes(experiment_notes(experiment))
        from cords_tune.tuning import run_experiment

        with _progress_display() as on_progress:
            result = run_experiment(experiment, output_dir=output, on_progress=on_progress, on_notice=_notice,
                                    address=address)
    _print_result(result)


@app.command()
def resume(
    run_dir: Annotated[Path, typer.Argument(help="The run directory that `cords-tune run` printed.")],
    address: AddressOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Continue an interrupted run: finished trials are kept, unfinished ones continue from checkpoints."""
    _configure_logging(verbose)
    with _user_errors():
        from cords_tune.tuning import resume_experiment

        with _progress_display() as on_progress:
            result = resume_experiment(run_dir, on_progress=on_progress, on_notice=_notice, address=address)
    _print_result(result)


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
    _configure_logging(verbose)
    with _user_errors():
        from cords_tune.config import load_config

        experiment = load_config(config, set_ or [], plugin or [])
        from cords_tune.tuning.train_once import train_notes, train_once

        _print_notes(train_notes(experiment))
        err.print(f"training {experiment.model.name} on the full data of {experiment.dataset.name} for "
                  f"{experiment.final_epochs} epochs (one Ray task) ...", highlight=False)
        result = train_once(experiment, output_dir=output, address=address, on_notice=_notice)
    final = result.summary.final
    table = Table(title=f"{result.summary.name}: trained once on the full data")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    table.add_row("test accuracy", _short(final.test_accuracy))
    for name, value in tuned_test_figures(experiment.search.metric, final):
        table.add_row(name, _short(value))
    table.add_row("epochs", str(final.epochs))
    table.add_row("training wall-clock (Ray task)", _seconds(final.wall_s))
    table.add_row("energy (Ray task)", f"{energy_amount(final.energy.kwh)} ({final.energy.source})")
    table.add_row("end-to-end wall-clock", _seconds(result.summary.end_to_end_wall_s))
    out.print(table)
    _print_compression(result.summary.compression)
    out.print(f"Model: [bold]{result.model_path}[/] (load it with cords_tune.load_model(path))", highlight=False,
              soft_wrap=True)
    out.print(f"Results: [bold]{result.run_dir}[/]", highlight=False, soft_wrap=True)


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
    _configure_logging(verbose)
    with _user_errors():
        import warnings

        from cords_tune.prediction import default_output, predict_file, write_predictions

        with warnings.catch_warnings(record=True) as caught, _progress_bar("predicting") as on_progress:
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
    _configure_logging(verbose)
    with _user_errors():
        from cords_tune.config import load_config

        experiment = load_config(config, set_ or [], plugin or [])
        from cords_tune.tuning.fidelity import measure_fidelity

        with _progress_display() as on_progress:
            result = measure_fidelity(experiment, configs, output_dir=output, on_progress=on_progress, address=address,
                                      on_notice=_notice)
    f = result.fidelity
    table = Table(title=f"rank fidelity: {f['strategy']} subsets at {f['fraction']:g} against the full data, "
                        f"{f['num_configs']} configurations x {f['epochs']} epochs")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    table.add_row(f"Spearman correlation of {f['metric']}", _short(f["spearman"]))
    table.add_row(f"Kendall tau-b of {f['metric']}", _short(f["kendall"]))
    table.add_row("top-1 agrees", top1_agreement(f))
    table.add_row("top-3 shared", f"{f['top3_overlap']} of {min(3, f['num_configs'])}")
    table.add_row(f"regret of the subsets' pick ({f['metric']} on the full data)", _short(f["top1_regret"]))
    table.add_row("the same with the top 2 / top 3 settled on the full data (final.top_k)",
                  f"{_short(f['top2_regret'])} / {_short(f['top3_regret'])}")
    table.add_row("training time, subsets / full data", f"{_seconds(f['train_s_subset'])} / {_seconds(f['train_s_full'])}")
    out.print(table)
    out.print(f"Results: [bold]{result.run_dir}[/] (fidelity.json, fidelity.png)", highlight=False, soft_wrap=True)


@app.command()
def strategies(
    plugin: PluginOpt = None,
    measure: Annotated[Optional[Path], typer.Option(
        "--measure", metavar="EXPERIMENT",
        help="Measure one selection by each strategy on this experiment's data, on this machine, "
        "instead of showing the figures measured on the quickstart data")] = None,
) -> None:
    """List the subset selection strategies: how each selects, what it needs, and what one selection costs."""
    with _user_errors():
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
                  f"{_seconds(costs.proxy_s)} for {costs.proxy_epochs} epochs here (selection.proxy).",
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


# ---------------------------------------------------------------------------------------------- display


def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not verbose:
        # Tune and Train log each failed trial and storage error with a traceback; a run records them (the
        # trial's error, the progress count, one message for a full disk), so the screen stays readable.
        for name in ("ray.tune", "ray.train"):
            logging.getLogger(name).setLevel(logging.CRITICAL)


@contextmanager
def _progress_display() -> Iterator[Callable[[Any], None]]:
    """Yield an ``on_progress`` callback: a live table on a terminal, one line per trial in a log."""
    if err.is_terminal:
        state: dict[str, Any] = {}

        class _View:
            def __rich__(self) -> Table:
                return _progress_table(state.get("progress"))

        with Live(_View(), console=err, refresh_per_second=2, transient=True):
            yield lambda progress: state.__setitem__("progress", progress)
        return

    from cords_tune.tuning.progress import Heartbeat

    last: dict[str, Any] = {"finished": -1, "phase": "", "progress": None}
    began = time.monotonic()

    def still_running() -> None:
        progress = last["progress"]
        if progress is None:
            err.print(f"[{time.monotonic() - began:6.0f}s] starting: loading data, starting Ray and the trials' "
                      "workers ...", highlight=False)
            return
        doing = f"{progress.running} trials running, " if progress.searching else ""
        err.print(f"[{progress.elapsed_s:6.0f}s] {progress.phase}: still running ({doing}last: "
                  f"{progress.last_event or 'none yet'})", highlight=False, markup=False, soft_wrap=True)

    with Heartbeat(still_running, every_s=HEARTBEAT_S) as heartbeat:

        def log_line(progress: Any) -> None:
            last["progress"] = progress
            if progress.finished == last["finished"] and progress.phase == last["phase"]:
                return
            last.update(finished=progress.finished, phase=progress.phase)
            heartbeat.alive()
            _log_progress(progress)

        yield log_line


HEARTBEAT_S = 30.0  # with no live display (a log, a pipe), a line at least this often


def _log_progress(progress: Any) -> None:
    """One line for a log: the phase after the search, else the search's counts."""
    if not progress.searching:  # the finalists, the baseline's test: the search's counts are final
        err.print(f"[{progress.elapsed_s:6.0f}s] {progress.phase}", highlight=False, soft_wrap=True)
        return
    best = "n/a" if progress.best_value is None else f"{progress.best_value:.4f}"
    fell_back = f", {progress.fell_back} fell back to random subsets" if progress.fell_back else ""
    err.print(
        f"[{progress.elapsed_s:6.0f}s] {progress.phase}: {progress.finished}/{progress.total} trials done "
        f"({progress.completed} completed, {progress.stopped} stopped early, {progress.diverged} diverged, "
        f"{progress.errored} failed, "
        f"{progress.running} running{fell_back}), best {best}",
        highlight=False,
        soft_wrap=True,  # one line per event, whatever the width a log or pipe reports
    )


@contextmanager
def _progress_bar(description: str, *, at_least: int = 2000) -> Iterator[Callable[[int, int], None]]:
    """Yield an ``on_progress(done, total)`` callback that shows a bar on a terminal once ``total`` reaches
    ``at_least`` (smaller inputs finish before a bar would say anything)."""
    from rich.progress import Progress

    with Progress(console=err, transient=True, disable=not err.is_terminal) as bar:
        task: dict[str, Any] = {}

        def update(done: int, total: int) -> None:
            if total < at_least:
                return
            if "id" not in task:
                task["id"] = bar.add_task(description, total=total)
            bar.update(task["id"], completed=done)

        yield update


def _notice(message: str) -> None:
    """A one-off line from a run (which Ray, what trials wait for); on a terminal, above the live table."""
    err.print(message, highlight=False, markup=False, soft_wrap=True)


def _progress_table(progress: Any) -> Table:
    table = Table(title="cords-tune", box=None, show_header=False)
    if progress is None:
        table.add_row("starting", "loading data and starting Ray ...")
        return table
    best = "n/a" if progress.best_value is None else f"{progress.best_value:.4f} ({progress.best_trial})"
    table.add_row("phase", progress.phase)
    table.add_row("trials", f"{progress.finished}/{progress.total} done, {progress.running} running")
    table.add_row("", f"{progress.completed} completed, {progress.stopped} stopped early, "
                      f"{progress.diverged} diverged, {progress.errored} failed")
    if progress.fell_back:
        table.add_row("", f"{progress.fell_back} fell back to random subsets (selection cost too much)")
    table.add_row("best so far", best)
    if progress.best_params:
        table.add_row("", ", ".join(f"{k}={_short(v)}" for k, v in progress.best_params.items()))
    table.add_row("elapsed", f"{progress.elapsed_s:.0f} s")
    table.add_row("last", progress.last_event)
    return table


def _print_result(result: Any) -> None:
    """A finished run (``RunResult``): its summary, the comparison if it has a baseline, where its files are."""
    _print_summary(result.summary)
    if result.comparison:
        _print_comparison(result.comparison)
    model = result.summary.final.model_path if result.summary.final else None
    if model:
        out.print(f"Final model: [bold]{result.run_dir / model}[/] (load it with cords_tune.load_model(path))",
                  highlight=False, soft_wrap=True)
    out.print(f"Results: [bold]{result.run_dir}[/]", highlight=False, soft_wrap=True)


def _print_summary(summary: RunSummary) -> None:
    metric, final, fell_back = summary.metric, summary.final, summary.trials_selection_fallback
    title = f"{summary.name}: {summary.strategy} subsets at fraction {summary.fraction}"
    if fell_back:
        title += f" ({count(fell_back, 'trial')} fell back to random)"
    table = Table(title=title)
    table.add_column("quantity")
    table.add_column("value", justify="right")
    best_fell_back = summary.best_trial_selection_fallback_epoch
    final_wall_s = summary.timings.final_wall_s
    rows = [
        ("trials (completed / stopped early / diverged / errored)",
         trials_outcome(summary)),
        ("trials retried from a checkpoint", str(summary.trials_retried)),
        ("trials that fell back to random subsets", str(fell_back)),
        (f"{metric} of the picked config while tuning"
         + (f" (random subsets from epoch {best_fell_back})" if best_fell_back is not None else ""),
         _short(summary.best_metric)),
        ("final test accuracy (full-data retrain)", _short(final.test_accuracy if final else None)),
        *[(f"final {name} (full-data retrain)", _short(value)) for name, value in tuned_test_figures(metric, final)],
        ("tuning wall-clock", _seconds(summary.tuning_wall_s)),
        ("selection time, all trials", _seconds(summary.selection_s_total)),
        *([("shared subset (in the tuning wall-clock)", shared_subset_line(summary.shared_subset))]
          if summary.shared_subset else []),
        ("tuning slot time", slot_use_line(summary.slot_use)),
        (retrain_label(summary), _seconds(final.wall_s if final_wall_s is None and final else final_wall_s)),
        ("total wall-clock (data, Ray start, tuning, retrain)", _seconds(summary.end_to_end_wall_s)),
        ("energy of the trials and final training", energy_line(summary.energy)),
    ]
    for name, value in rows:
        table.add_row(name, value)
    for key, value in (summary.best_config or {}).items():
        table.add_row(f"best {key}", _short(value))
    out.print(table)
    finalists = finalists_table(summary)
    if finalists:
        header, rows = finalists
        table = Table(title=finalists_title(summary))
        for name in header:
            table.add_column(name, justify="left" if name in ("trial", "result") else "right")
        for row in rows:
            table.add_row(*(_short(value) for value in row))
        out.print(table)
        out.print(f"Note: {finalists_note(summary)}.", highlight=False, markup=False, soft_wrap=True)
    for note in [*summary.notes, fallback_note(summary)]:
        if note:
            out.print(f"Note: {note}.", highlight=False, markup=False, soft_wrap=True)
    _print_compression(summary.compression)


def _print_compression(compression: Compression | None) -> None:
    """The compressed variants of the final model, short (report.md has every column): skipped ones as notes."""
    compressed = compression_table(compression)
    if not compressed:
        return
    header, rows = compressed
    keep = [header.index(name) for name in ("variant", "test acc.", "size on disk", "CPU latency (median)",
                                            "zero weights")]
    table = Table(title="compressed final model (final.compress)")
    for i in keep:
        table.add_column(header[i], justify="left" if i == 0 else "right", no_wrap=i == 0)
    for row in rows:
        if row[1] != "skipped":
            table.add_row(*(_short(row[i]) for i in keep))
    out.print(table)
    for row in rows:
        if row[1] == "skipped":
            out.print(f"Note: {row[0]} skipped: {row[-1]}.", highlight=False, markup=False, soft_wrap=True)
    out.print(f"Note: {compression_note(compression)}.", highlight=False, markup=False, soft_wrap=True)


def _print_comparison(comparison: Comparison) -> None:
    c = comparison
    table = Table(title=f"compared with tuning on the full data (same search, {count(c.num_trials, 'trial')})")
    table.add_column("quantity")
    table.add_column(f"{c.strategy} {c.fraction:g}", justify="right")
    table.add_column("full data", justify="right")
    table.add_column("", justify="right")
    table.add_row("tuning wall-clock", _seconds(c.tuning_wall_s_subset), _seconds(c.tuning_wall_s_full),
                  speed(c.tuning_speedup))
    table.add_row("tuning + final model wall-clock", _seconds(c.end_to_end_wall_s_subset),
                  _seconds(c.end_to_end_wall_s_full), speed(c.end_to_end_speedup))
    if c.energy_saving is not None:
        table.add_row("tuning + final model energy", energy_amount(c.energy_kwh_subset),
                      energy_amount(c.energy_kwh_full), energy_saving(c.energy_saving))
        table.add_row("CO2e of that energy", co2e(c.co2e_kg_subset), co2e(c.co2e_kg_full), "")
    table.add_row("test accuracy of the final model", _short(c.test_accuracy_subset),
                  _short(c.test_accuracy_full), f"{100 * c.accuracy_delta:+.2f} points")
    for name, subset, full, delta in tuned_test_rows(c):
        table.add_row(name, _short(subset), _short(full), delta)
    table.add_row("regret against the full-data pick (full-data validation, test)", "", "", regret(c))
    best_subset, best_full = c.best_config_subset or {}, c.best_config_full or {}
    for key in sorted(set(best_subset) | set(best_full)):
        table.add_row(f"best {key}", _short(best_subset.get(key)), _short(best_full.get(key)), "")
    out.print(table)
    if c.energy_saving is not None:
        out.print(f"Energy: subsets {c.energy_source_subset}, full data {c.energy_source_full}.",
                  highlight=False, markup=False, soft_wrap=True)


def _short(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


_seconds = seconds


if __name__ == "__main__":
    sys.exit(main())
