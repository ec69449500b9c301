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


def test_the_progress_of_a_search_an_earlier_session_finished_is_read_from_its_trials():
    # A resume that skips a finished search shows its counts and best beside the finalists, not "0 done".
    from cords_tune.results.trial import TrialRecord
    from cords_tune.tuning.progress import last_progress, recorded_progress

    def trial(trial_id, status, best, fell_back=False):
        return TrialRecord(index=0, trial_id=trial_id, status=status, params={"training.lr": best}, epochs=2,
                           best_metric=best, last_metric=best, best_val_accuracy=best, last_val_accuracy=best,
                           wall_s=1.0, selection_fallback=fell_back)

    trials = [trial("a", "completed", 0.8), trial("b", "stopped", 0.6, fell_back=True), trial("c", "out_of_time", 0.5),
              trial("d", "diverged", 0.1), trial("e", "error", float("nan"))]
    progress = recorded_progress("run-x", trials, total=6, best=trials[0])
    assert last_progress("run-x") is progress and not progress.searching
    assert (progress.completed, progress.stopped, progress.diverged, progress.errored, progress.fell_back) == (
        1, 2, 1, 1, 1)
    assert progress.finished == 5 and progress.total == 6
    assert progress.best_value == 0.8 and progress.best_trial == "a" and progress.best_params == {"training.lr": 0.8}
