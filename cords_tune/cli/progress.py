"""A run's progress on screen: a live table on a terminal; in a log or a pipe, one line per event and a heartbeat
line while nothing happens. Also the progress bar of long commands such as ``predict``."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.live import Live
from rich.table import Table

from cords_tune.cli.console import err, short

HEARTBEAT_S = 30.0  # with no live display (a log, a pipe), a line at least this often


@contextmanager
def progress_display() -> Iterator[Callable[[Any], None]]:
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
def progress_bar(description: str, *, at_least: int = 2000) -> Iterator[Callable[[int, int], None]]:
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
        table.add_row("", ", ".join(f"{k}={short(v)}" for k, v in progress.best_params.items()))
    table.add_row("elapsed", f"{progress.elapsed_s:.0f} s")
    table.add_row("last", progress.last_event)
    return table
