"""`cords-tune run | resume | train | predict | fidelity | validate | strategies`.

``app`` (typer, with its global options and error handling) and ``main`` live in :mod:`.application`; the commands in
:mod:`.commands`; the live progress in :mod:`.progress`; what a finished command prints in :mod:`.display`.
"""

from cords_tune.cli import commands  # noqa: F401  (registers the commands on the app)
from cords_tune.cli.application import app, main

__all__ = ["app", "main"]
