"""``interrupts_deferred`` with real signals sent to this process: a step such as Ray's shutdown ends before a
Ctrl-C is raised, and a second Ctrl-C still interrupts at once."""

from __future__ import annotations

import os
import signal

import pytest

from cords_tune.tuning.interrupts import interrupts_deferred


@pytest.fixture(autouse=True)
def python_sigint_handler():
    """Python's own SIGINT handler, as a process that runs cords-tune has it, whatever an earlier test left."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def _ctrl_c() -> None:
    os.kill(os.getpid(), signal.SIGINT)


def test_a_ctrl_c_waits_for_the_block_to_end_and_is_raised_after_it():
    steps = []
    with pytest.raises(KeyboardInterrupt):
        with interrupts_deferred():
            _ctrl_c()
            steps.append("after the signal")
    assert steps == ["after the signal"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_second_ctrl_c_interrupts_at_once():
    steps = []
    with pytest.raises(KeyboardInterrupt):
        with interrupts_deferred():
            _ctrl_c()
            steps.append("after the first")
            _ctrl_c()
            steps.append("after the second")
    assert steps == ["after the first"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_block_that_fails_keeps_its_own_error_and_nothing_is_raised_later():
    with pytest.raises(ValueError, match="the step failed"):
        with interrupts_deferred():
            _ctrl_c()
            raise ValueError("the step failed")
    with interrupts_deferred():
        pass  # the signal that came before is not raised here


def test_without_a_signal_the_block_ends_normally():
    with interrupts_deferred():
        value = 1
    assert value == 1 and signal.getsignal(signal.SIGINT) is signal.default_int_handler
