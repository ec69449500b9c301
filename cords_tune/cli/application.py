"""The typer app: its global options, the options the commands share, and how an error becomes an exit code.

User mistakes (a bad config, a missing dataset) print one message and exit with code 2, never a traceback.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.markup import escape
from typer.core import TyperGroup

from cords_tune.cli.console import err, out
from cords_tune.errors import CordsTuneError


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
    """The console script's entry point: runs the command named on the command line."""
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
def user_errors() -> Iterator[None]:
    """Turn a :class:`CordsTuneError` or a Ctrl-C inside the block into one printed line and its exit code."""
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


def _interrupt_exit_code() -> int:
    """130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP (which a run turns into the same orderly stop)."""
    interrupts = sys.modules.get("cords_tune.tuning.interrupts")  # never imported: no run, so no SIGTERM handler
    signum = interrupts.terminating_signal() if interrupts is not None else None
    return 128 + signum if signum else 130


def configure_logging(verbose: bool) -> None:
    """INFO with ``--verbose``, else WARNING; Ray Tune's and Train's per-trial tracebacks only with ``--verbose``."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not verbose:
        # Tune and Train log each failed trial and storage error with a traceback; a run records them (the
        # trial's error, the progress count, one message for a full disk), so the screen stays readable.
        for name in ("ray.tune", "ray.train"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
