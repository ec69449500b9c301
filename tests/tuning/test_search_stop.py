"""Why a search stopped is an object each search owns: a watch that gives up waiting for resources stops its own
search through the stop Tune installed for Ctrl-C (no signal is raised at the process), and says so in that
search's reason alone, also as Tune restores it from its pickled state."""

from __future__ import annotations

import pickle
import signal
from types import SimpleNamespace

from cords_tune.tuning.interrupts import SearchWatch, watch_search


def _pending():
    return [SimpleNamespace(status="PENDING", trial_id="t0")]


def test_a_watch_stops_its_own_search_through_tunes_stop_and_no_signal(monkeypatch):
    stops, raised = [], []
    monkeypatch.setattr(signal, "raise_signal", raised.append)
    before = signal.getsignal(signal.SIGINT)  # Tune leaves its own in place after a search an earlier test ran
    with watch_search("search-a") as reason_a, watch_search("search-b") as reason_b:
        signal.signal(signal.SIGINT, lambda signum, frame: stops.append(signum))  # as Tune installs its own
        watch = SearchWatch("search-a", max_wait_s=0.0, request="1 CPU")
        watch.setup()
        watch.on_step_begin(0, _pending())
    assert stops == [signal.SIGINT] and raised == []
    assert reason_a.waited_s is not None and reason_a.waiting_for == "1 CPU" and reason_a.stopped
    assert not reason_a.interrupted and not reason_b.stopped
    assert signal.getsignal(signal.SIGINT) is before  # put back as it was


def test_a_watch_restored_from_tunes_state_stops_the_search_that_restored_it():
    stops = []
    watch = pickle.loads(pickle.dumps(SearchWatch("search-a", max_wait_s=0.0, request="1 GPU")))
    with watch_search("search-a") as reason:
        signal.signal(signal.SIGINT, lambda signum, frame: stops.append(signum))
        watch.setup()
        pickle.dumps(watch)  # Tune saves its state with the watch set up: Tune's stop is not pickled with it
        watch.on_step_begin(0, _pending())
    assert stops == [signal.SIGINT] and reason.waiting_for == "1 GPU"


def test_a_user_ctrl_c_is_noted_as_an_interrupt_and_handed_to_tune():
    stops = []
    with watch_search("search-a") as reason:
        signal.signal(signal.SIGINT, lambda signum, frame: stops.append(signum))
        SearchWatch("search-a", max_wait_s=None, request="1 CPU").setup()
        signal.raise_signal(signal.SIGINT)
    assert stops == [signal.SIGINT] and reason.interrupted and reason.waited_s is None


def test_a_watch_saved_under_the_run_directorys_old_name_stops_the_one_search_this_process_runs():
    # A run directory moved or renamed between sessions: the restored watch's key names no search here.
    stops = []
    watch = pickle.loads(pickle.dumps(SearchWatch("old-name", max_wait_s=0.0, request="1 GPU")))
    with watch_search("new-name") as reason:
        signal.signal(signal.SIGINT, lambda signum, frame: stops.append(signum))
        watch.setup()
        watch.on_step_begin(0, _pending())
    assert stops == [signal.SIGINT] and reason.stopped and reason.waiting_for == "1 GPU"
