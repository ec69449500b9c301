"""The two consoles every command prints to, and the one way a value is written in the CLI's tables."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from cords_tune.reports.wording import number

out = Console()
err = Console(stderr=True)

short = number  # a table cell, as report.md words it


def print_notes(notes: list[str]) -> None:
    """Each note on its own line of stderr, as text (configs are full of [brackets], never markup)."""
    for note in notes:
        err.print(f"[yellow]note:[/] {escape(note)}", highlight=False, soft_wrap=True)


def notice(message: str) -> None:
    """A one-off line from a run (which Ray, what trials wait for); on a terminal, above the live table."""
    err.print(message, highlight=False, markup=False, soft_wrap=True)
