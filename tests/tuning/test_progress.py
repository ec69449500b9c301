"""Progress counts kept across a resume, as Tune saves and restores its callbacks' state."""

from __future__ import annotations

from types import SimpleNamespace

from cords_tune.tuning.progress import ProgressCallback


def _callback() -> ProgressCallback:
    return ProgressCallback(total=3, metric="val_accuracy", mode="max", max_epochs=2, display="test-progress")


def test_a_resumed_run_counts_the_trials_finished_before_and_retries_the_failed_ones():
    callback = _callback()
    done = SimpleNamespace(trial_id="a", status="TERMINATED", config={"training.lr": 0.1})
    failed = SimpleNamespace(trial_id="b", status="ERROR", config={"training.lr": 1.0})
    callback.on_trial_result(0, [done], done, {"training_iteration": 2, "val_accuracy": 0.9,
                                               "selection_fallback": True})
    callback.on_trial_complete(0, [done, failed], done)
    callback.on_trial_error(0, [done, failed], failed)
    assert (callback.progress.finished, callback.progress.errored) == (2, 1)

    restored = _callback()
    restored.set_state(callback.get_state())
    progress = restored.progress
    assert (progress.completed, progress.errored, progress.finished) == (1, 0, 1), "the failed trial runs again"
    assert progress.best_value == 0.9 and progress.best_trial == "a" and progress.fell_back == 1
    restored.on_trial_error(0, [done, failed], failed)
    assert restored.progress.finished == 2
