"""Live progress of a tuning run, from Ray Tune's callback hooks on the driver.

The library only builds ``Progress`` snapshots; the CLI decides how to show them (a live table on a
terminal, a line per finished trial in a log). Tune pickles its callbacks with the experiment state, so the
callback holds only the run's key and finds the display registered for it in this process: a callback
restored by ``resume`` reports to the resuming process's display.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ray import tune

from cords_tune.results.summary import trial_totals
from cords_tune.results.trial import TrialRecord

__all__ = ["Progress", "ProgressCallback", "progress_display", "last_progress", "recorded_progress", "Heartbeat"]

_DISPLAYS: dict[str, Callable[["Progress"], None]] = {}
_LAST: dict[str, "Progress"] = {}


@contextmanager
def progress_display(key: str, on_progress: Callable[["Progress"], None] | None) -> Iterator[None]:
    """Send the progress of run ``key`` to ``on_progress`` while the block runs."""
    _DISPLAYS[key] = on_progress or _ignore
    try:
        yield
    finally:
        _DISPLAYS.pop(key, None)


def last_progress(key: str) -> "Progress | None":
    """The last snapshot run ``key`` reported in this process."""
    return _LAST.get(key)


def recorded_progress(key: str, trials: Sequence[TrialRecord], total: int, best: TrialRecord | None) -> Progress:
    """The progress of search ``key`` that a session before this one finished, from its recorded trials, kept as
    its last snapshot: the phases after it show its counts and best, as after a search run in this process."""
    totals = trial_totals(trials)
    out_of_time = sum(t.status == "out_of_time" for t in trials)  # the live display counts them as stopped early
    progress = Progress(
        total=total, searching=False, completed=totals["trials_completed"],
        stopped=totals["trials_stopped_early"] + out_of_time, diverged=totals["trials_diverged"],
        errored=totals["trials_errored"], fell_back=totals["trials_selection_fallback"],
        best_value=best.best_metric if best else None, best_trial=best.trial_id if best else None,
        best_params=dict(best.params) if best else {},
    )
    _LAST[key] = progress
    return progress


@dataclass
class Progress:
    """Counts of trials by state, the best result so far, and the last event."""

    total: int
    started_at: float = field(default_factory=time.monotonic)
    phase: str = "tuning"
    completed: int = 0
    stopped: int = 0  # stopped early by ASHA
    diverged: int = 0
    errored: int = 0
    running: int = 0
    fell_back: int = 0  # trials whose costly selection switched to random subsets (the cost guard)
    searching: bool = True  # False once the search has ended: ``phase`` then says what the run does after it
    best_value: float | None = None
    best_trial: str | None = None
    best_params: dict[str, Any] = field(default_factory=dict)
    last_event: str = ""

    @property
    def finished(self) -> int:
        return self.completed + self.stopped + self.diverged + self.errored

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started_at


class ProgressCallback(tune.Callback):
    """Keeps a ``Progress`` up to date and hands it to ``on_update`` at each trial event.

    Args:
        total: number of trials the search will run.
        metric, mode: what "best" means.
        max_epochs: epochs of a trial that runs to the end; fewer means ASHA stopped it.
        display: the run's key in the display registry (see ``progress_display``).
        phase: what the display calls this search.
    """

    def __init__(
        self, *, total: int, metric: str, mode: str, max_epochs: int, display: str, phase: str = "tuning"
    ) -> None:
        self.progress = Progress(total=total, phase=phase)
        self.metric = metric
        self.sign = 1.0 if mode == "max" else -1.0
        self.max_epochs = max_epochs
        self.display = display
        self._epochs: dict[str, int] = {}
        self._finished: set[str] = set()
        self._diverged: set[str] = set()
        self._fell_back: set[str] = set()
        self._errored: set[str] = set()

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Restored by `resume` in a new process: its clock starts now.
        state.setdefault("_fell_back", set())  # saved by an older version
        state.setdefault("_errored", set())
        self.__dict__.update(state)
        self.progress.started_at = time.monotonic()
        _LAST[self.display] = self.progress  # what later phases show, even where no trial is left to report

    _COUNTS = ("completed", "stopped", "diverged", "fell_back", "best_value", "best_trial", "best_params")

    def get_state(self) -> dict[str, Any]:
        """Saved by Tune with its experiment state, so that a resumed run counts the trials finished before."""
        return {
            "counts": {name: getattr(self.progress, name) for name in self._COUNTS},
            "epochs": dict(self._epochs),
            "finished": set(self._finished),
            "errored": set(self._errored),
            "diverged": set(self._diverged),
            "fell_back": set(self._fell_back),
        }

    def set_state(self, state: dict[str, Any]) -> None:
        for name, value in state["counts"].items():
            setattr(self.progress, name, value)
        # A resume runs the failed trials again (resume_errored): they count as failed only if they fail again.
        self._epochs, self._finished = state["epochs"], state["finished"] - state["errored"]
        self._diverged, self._fell_back = state["diverged"], state["fell_back"]
        _LAST[self.display] = self.progress

    def _refresh(self, trials: list, event: str) -> None:
        # Tune's trial list lags its hooks (a trial is still RUNNING in on_trial_complete), and with reused
        # actors on_trial_start is not called for every trial: RUNNING in the list and not seen finishing.
        self.progress.running = sum(t.status == "RUNNING" and t.trial_id not in self._finished for t in trials)
        self.progress.last_event = event
        _LAST[self.display] = self.progress
        _DISPLAYS.get(self.display, _ignore)(self.progress)

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._refresh(trials, f"{trial.trial_id} started")

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
        self._epochs[trial.trial_id] = int(result.get("training_iteration", 0))
        if result.get("diverged"):
            self._diverged.add(trial.trial_id)
        if result.get("selection_fallback") and trial.trial_id not in self._fell_back:
            self._fell_back.add(trial.trial_id)
            self.progress.fell_back = len(self._fell_back)
        value = result.get(self.metric)
        best = self.progress.best_value
        if value is not None and (best is None or self.sign * value > self.sign * best):
            self.progress.best_value = float(value)
            self.progress.best_trial = trial.trial_id
            self.progress.best_params = dict(trial.config)
        self._refresh(trials, f"{trial.trial_id} epoch {result.get('training_iteration')}")

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._finished.add(trial.trial_id)
        epochs = self._epochs.get(trial.trial_id, 0)
        if trial.trial_id in self._diverged:
            self.progress.diverged += 1
            self._refresh(trials, f"{trial.trial_id} diverged after {epochs} epochs")
        elif epochs >= self.max_epochs:
            self.progress.completed += 1
            self._refresh(trials, f"{trial.trial_id} completed {epochs} epochs")
        else:
            self.progress.stopped += 1
            self._refresh(trials, f"{trial.trial_id} stopped early after {epochs} epochs")

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._finished.add(trial.trial_id)
        self._errored.add(trial.trial_id)
        self.progress.errored += 1
        self._refresh(trials, f"{trial.trial_id} failed")


class Heartbeat:
    """Calls ``beat`` from a thread of its own whenever ``every_s`` seconds have passed without a sign of life
    (``alive()``, or the last beat): a log or a pipe, which shows no live display, then still hears from a run
    whose trials or finalists take long.

    Use it as a context manager; the thread ends with the block.
    """

    def __init__(self, beat: Callable[[], None], every_s: float) -> None:
        self.beat = beat
        self.every_s = every_s
        self._last = time.monotonic()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="progress-heartbeat", daemon=True)

    def alive(self) -> None:
        """Something was shown just now: the next beat is due ``every_s`` from now."""
        with self._lock:
            self._last = time.monotonic()

    def __enter__(self) -> Heartbeat:
        self.alive()
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(min(1.0, self.every_s / 4)):
            with self._lock:
                due = time.monotonic() - self._last >= self.every_s
            if due:
                self.beat()
                self.alive()


def _ignore(progress: Progress) -> None:
    """The display of a run nobody watches."""
