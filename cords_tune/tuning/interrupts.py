"""Why a Tune search ended before its trials did: Ctrl-C, SIGTERM or SIGHUP, trials that never got resources, a full disk.

Ray Tune turns the first SIGINT during ``Tuner.fit`` into a graceful stop: it saves the experiment state with the
unfinished trials still pending (so ``Tuner.restore`` continues them) but then returns as if the search had
ended, and the stopped trials look like trials that ASHA stopped early. Tune also leaves its SIGINT handler
installed after a search that was not interrupted, so the next Ctrl-C (during the final retrain) would only set
a flag nobody reads. ``watch_search`` fixes both: it notes the signal, and it puts the handlers back.

A search stopped for resources or a full disk is stopped the same graceful way, by calling Tune's handler
directly (no signal is raised). Tune's public ``Stopper.stop_all`` is no substitute: it marks every unfinished
trial terminated and the searcher finished in the saved state, so that ``resume`` would continue none of them.
The reason a search stopped is an object the search owns (``watch_search`` yields it); the watch finds it by the
search's key, since Tune pickles the watch with its experiment state and restores a copy of it.
"""

from __future__ import annotations

import os
import signal
import stat
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ray import tune

from cords_tune.tuning.disk import SpaceReserve, is_disk_full

__all__ = ["SearchWatch", "SearchStopped", "StopReason", "watch_search", "sigterm_as_interrupt", "interrupts_deferred",
           "terminated", "terminating_signal"]

_TERMINATED = threading.Event()  # a SIGTERM or SIGHUP arrived and was turned into an interrupt
_TERMINATED_BY: list[int] = []  # which of them
# Closing the terminal (SIGHUP) stops a run as `kill` (SIGTERM) does: results kept, a message, resumable.
_STOPPING_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


@dataclass
class StopReason:
    """Why the search this process runs stopped early; empty while nothing stopped it."""

    interrupted: bool = False
    waited_s: float | None = None  # no trial could run for this long: resources never became available
    waiting_for: str = ""
    disk_full: bool = False  # the disk under the trial files filled up

    @property
    def stopped(self) -> bool:
        return self.interrupted or self.waited_s is not None or self.disk_full


_WATCHED: dict[str, StopReason] = {}  # by search key: the searches this process runs now


class SearchStopped(Exception):
    """Raised from the callback to end a search run off the main thread, where no signal can stop it
    gracefully; ``StopReason`` says why."""


class SearchWatch(tune.Callback):
    """Notes a SIGINT that Tune turns into a graceful stop, and stops the search the same graceful way when no
    trial has run for ``max_wait_s`` seconds (their resources never became available), or when a trial fails on
    a full disk (``reserve`` is then released, so that Tune can save its state in one piece).

    Tune pickles its callbacks with the experiment state; this one keeps no state that matters across a resume
    (the clock starts again in the resuming process).
    """

    def __init__(self, key: str, *, max_wait_s: float | None, request: str, reserve: SpaceReserve | None = None
                 ) -> None:
        self.key = key
        self.max_wait_s = max_wait_s
        self.request = request
        self.reserve = reserve
        self._last_activity = time.monotonic()

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("key", None)  # pickled by a version that kept one stop reason per process
        self._last_activity = time.monotonic()

    @property
    def reason(self) -> StopReason:
        """The stop reason of the search this watch belongs to (a fresh one where none is watched)."""
        if self.key in _WATCHED:
            return _WATCHED[self.key]
        if len(_WATCHED) == 1:  # pickled by an earlier version, or by a session whose run directory had another name
            return next(iter(_WATCHED.values()))
        return self.__dict__.setdefault("_unwatched", StopReason())

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("_tune_stop", "_unwatched")}

    def setup(self, **info: Any) -> None:
        self._last_activity = time.monotonic()
        self._stops_by_signal = threading.current_thread() is threading.main_thread()
        if not self._stops_by_signal:
            return  # signal handlers can only be set from the main thread (Tune sets none there either)
        tune_handler = signal.getsignal(signal.SIGINT)
        self._tune_stop = tune_handler if callable(tune_handler) else None
        reason = self.reason

        def note_interrupt(signum: int, frame: Any) -> None:
            reason.interrupted = True
            if callable(tune_handler):
                tune_handler(signum, frame)  # Tune's graceful stop; it restores the handler it replaced
            else:
                raise KeyboardInterrupt

        signal.signal(signal.SIGINT, note_interrupt)

    def on_step_begin(self, iteration: int, trials: list, **info: Any) -> None:
        now = time.monotonic()
        if any(t.status == "RUNNING" for t in trials) or not any(t.status == "PENDING" for t in trials):
            self._last_activity = now
            return
        waited = now - self._last_activity
        reason = self.reason
        if self.max_wait_s is not None and waited > self.max_wait_s and reason.waited_s is None:
            reason.waited_s = waited
            reason.waiting_for = self.request
            self._stop()


    def on_trial_recover(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._check_disk(trial)

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._check_disk(trial)

    def _check_disk(self, trial: Any) -> None:
        reason = self.reason
        if self.reserve is None or reason.disk_full:
            return
        if not (self.reserve.disk_is_full() or is_disk_full(trial.get_error())):
            return  # a large checkpoint can fail while some space is left: the trial's error says so
        self.reserve.release()
        reason.disk_full = True
        self._stop()  # Tune's graceful stop, into the space the reserve held

    def _stop(self) -> None:
        """Tune's own graceful stop (its state saved, pending trials resumable), as on Ctrl-C, by calling the
        handler Tune installed for it; off the main thread, where Tune installs none, an exception ends the
        search instead."""
        tune_stop = getattr(self, "_tune_stop", None) if getattr(self, "_stops_by_signal", False) else None
        if tune_stop is None:
            raise SearchStopped()
        tune_stop(signal.SIGINT, None)


@contextmanager
def watch_search(key: str) -> Iterator[StopReason]:
    """Around one ``Tuner.fit`` of the search ``key`` (the key its ``SearchWatch`` was made with): yields why it
    stopped early (filled in when it returns), and puts back the SIGINT and SIGUSR1 handlers that were in place
    before it, whatever Tune left installed."""
    reason = _WATCHED[key] = StopReason()
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGUSR1)}
    try:
        yield reason
    finally:
        _WATCHED.pop(key, None)
        if threading.current_thread() is threading.main_thread():
            for sig, handler in saved.items():
                signal.signal(sig, handler)


def _away_from_a_closed_terminal() -> None:
    """After a hangup, output to the terminal fails (EIO) and would turn the clean stop into a traceback: what
    went to it goes nowhere now. Output to a file or a pipe is kept."""
    for fd in (1, 2):
        try:
            if stat.S_ISCHR(os.fstat(fd).st_mode):  # a terminal (isatty fails on one hung up); not a file, a pipe
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, fd)
                os.close(devnull)
        except OSError:
            pass


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While the block runs, SIGTERM and SIGHUP (the terminal closed) stop the run like Ctrl-C (results kept,
    resumable), instead of Ray's native handler printing raw stack lines, or the default action killing the
    process mid-write. A SIGHUP that ``nohup`` ignores stays ignored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _TERMINATED.clear()
    _TERMINATED_BY.clear()

    def interrupt(signum: int, frame: Any) -> None:
        _TERMINATED.set()
        _TERMINATED_BY.append(signum)
        if signum == getattr(signal, "SIGHUP", None):
            _away_from_a_closed_terminal()
        if not callable(signal.getsignal(signal.SIGINT)):
            raise KeyboardInterrupt  # SIGINT ignored (a job started in the background): stop all the same
        os.kill(os.getpid(), signal.SIGINT)

    previous = {sig: signal.getsignal(sig) for sig in _STOPPING_SIGNALS}
    for sig in _STOPPING_SIGNALS:
        if previous[sig] is not signal.SIG_IGN:
            signal.signal(sig, interrupt)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    """A first Ctrl-C (or SIGTERM, which ``sigterm_as_interrupt`` turns into one) waits for the block to end: for
    a step that should not be cut short, such as Ray's shutdown. It is raised once the block has ended, unless
    the block ends on an exception anyway. A second one interrupts at once, in case the step hangs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    came: list[int] = []

    def defer(signum: int, frame: Any) -> None:
        if came:
            raise KeyboardInterrupt
        came.append(signum)

    previous = signal.signal(signal.SIGINT, defer)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if came:
        signal.raise_signal(signal.SIGINT)  # handled as if it came now


def terminated() -> bool:
    """Whether the last interrupt came from SIGTERM or SIGHUP rather than Ctrl-C."""
    return _TERMINATED.is_set()


def terminating_signal() -> int | None:
    """The signal (SIGTERM or SIGHUP) the last interrupt came from, or None for Ctrl-C: the CLI exits with
    128 + its number (143, 129) rather than 130."""
    return _TERMINATED_BY[0] if _TERMINATED_BY else None
