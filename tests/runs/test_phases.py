"""A run's phases mark themselves complete in the run directory, and resume runs only the phases that are not:
a driver killed at each phase boundary (the files written up to that marker, nothing after) resumes with what
is done kept as it is; a run directory written before markers existed resumes from what its files hold, and a
baseline asked for after the run is added to it."""

from __future__ import annotations

import json
import shutil

import pytest

from cords_tune.config import load_config, parse_config
from cords_tune.errors import RunFinishedError
from cords_tune.runs import resume_experiment, run_experiment
from cords_tune.runs.run_dir import Phase, done_phases

pytestmark = pytest.mark.slow


def _drop(run_dir, *names):
    """What a driver killed earlier would not have written."""
    for name in names:
        path = run_dir / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def _mtime(path):
    return path.stat().st_mtime_ns


def _two_trials(experiment: dict) -> dict:
    """Two trials, both finalists: each search is one round of the two CPUs' trials."""
    experiment["search"]["num_trials"] = 2
    return experiment


def test_resume_after_each_phase_boundary_runs_only_what_is_left(local_ray, tiny_experiment, tmp_path):
    experiment = {**_two_trials(tiny_experiment), "baseline": True}
    first = run_experiment(parse_config(experiment), output_dir=tmp_path / "out")
    run_dir = first.run_dir
    config = load_config(run_dir / "config.yaml")
    assert {p.name for p in (run_dir / "phases").iterdir()} == {
        "search.json", "finalists.json", "baseline.json", "comparison.json"}
    assert done_phases(config, run_dir) == {Phase.SEARCH, Phase.FINALISTS, Phase.BASELINE, Phase.COMPARISON}
    with pytest.raises(RunFinishedError):
        resume_experiment(run_dir)
    trials = (run_dir / "trials.parquet").read_bytes()

    # Killed after the baseline: only the comparison is written. Neither search's Tune state is needed.
    _drop(run_dir, "comparison.json", "comparison.png", "phases/comparison.json", "tune", "tune-baseline")
    model, baseline_model = _mtime(run_dir / "model.pt"), _mtime(run_dir / "baseline" / "model.pt")
    resumed = resume_experiment(run_dir)
    assert (run_dir / "comparison.json").is_file() and (run_dir / "phases" / "comparison.json").is_file()
    assert resumed.comparison.test_accuracy_subset == first.summary.final.test_accuracy
    assert _mtime(run_dir / "model.pt") == model and _mtime(run_dir / "baseline" / "model.pt") == baseline_model
    assert "## Compared with tuning on the full data" in (run_dir / "report.md").read_text()

    # Killed after the finalists: the baseline searches again, the subset search and its finalists are kept.
    _drop(run_dir, "baseline", "comparison.json", "comparison.png", "phases/baseline.json",
          "phases/comparison.json")
    resumed = resume_experiment(run_dir)
    assert json.loads((run_dir / "baseline" / "summary.json").read_text())["status"] == "ok"
    assert _mtime(run_dir / "model.pt") == model and (run_dir / "trials.parquet").read_bytes() == trials
    assert resumed.summary.final == first.summary.final

    # Killed after the subset search: its finalists train again from what the search recorded (its Tune state
    # is gone: restoring the search would fail), then the baseline and the comparison.
    _drop(run_dir, "summary.json", "model.pt", "best_config.yaml", "report.md", "baseline", "tune-baseline",
          "comparison.json", "comparison.png", "phases/finalists.json", "phases/baseline.json",
          "phases/comparison.json")
    resumed = resume_experiment(run_dir)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "ok" and summary["resumed"] is True
    assert summary["best_config"] == first.summary.best_config  # the same configuration picked, params as typed
    assert summary["optuna_study"] == first.summary.optuna_study.as_dict()
    assert [t.trial_id for t in resumed.trials] == [t.trial_id for t in first.trials]
    assert (run_dir / "model.pt").is_file() and resumed.comparison is not None
    assert done_phases(config, run_dir) == {Phase.SEARCH, Phase.FINALISTS, Phase.BASELINE, Phase.COMPARISON}


def test_a_run_directory_from_before_the_markers_resumes_from_its_files(local_ray, tiny_experiment, tmp_path):
    """Also a baseline asked for after the run (resume adds it without running the subset search again), and a
    comparison left unwritten (the next resume writes it alone): one run serves the three."""
    first = run_experiment(parse_config(_two_trials(tiny_experiment)), output_dir=tmp_path / "out")
    run_dir = first.run_dir
    trials = (run_dir / "trials.parquet").read_bytes()
    _drop(run_dir, "phases")
    with pytest.raises(RunFinishedError):  # summary.json finished: the search and its finalists are done
        resume_experiment(run_dir)

    # Asked for a baseline now: it runs alone; the phases the files say are done get their markers first, so
    # that the next resume reads the same from them.
    config_file = run_dir / "config.yaml"
    config_file.write_text(config_file.read_text().replace("baseline: false", "baseline: true"))
    model = _mtime(run_dir / "model.pt")
    resumed = resume_experiment(run_dir)
    assert resumed.comparison is not None and _mtime(run_dir / "model.pt") == model
    assert (run_dir / "trials.parquet").read_bytes() == trials
    assert resumed.comparison.test_accuracy_subset == first.summary.final.test_accuracy
    assert json.loads((run_dir / "comparison.json").read_text())["tuning_wall_s_subset"] == pytest.approx(
        first.summary.tuning_wall_s)
    # Both searches ran whole (the subset one before, the baseline now): their times are clean measurements.
    assert not any("resumed" in note for note in resumed.comparison.notes)
    assert {p.name for p in (run_dir / "phases").iterdir()} == {
        "search.json", "finalists.json", "baseline.json", "comparison.json"}
    with pytest.raises(RunFinishedError):
        resume_experiment(run_dir)

    # Stopped after the baseline, before the comparison: the next resume writes the comparison alone, from the
    # baseline's files; its search is neither run nor restored again, and its time is the search that ran.
    (run_dir / "comparison.json").unlink()
    baseline_model = _mtime(run_dir / "baseline" / "model.pt")
    again = resume_experiment(run_dir)
    assert again.comparison.tuning_wall_s_full == pytest.approx(resumed.comparison.tuning_wall_s_full)
    assert _mtime(run_dir / "baseline" / "model.pt") == baseline_model
    assert not any("resumed" in note for note in again.comparison.notes)

    # Killed by a Ctrl-C while its finalists trained (summary.json says so): the search is restored from Tune's
    # state, and the finalists train again.
    _drop(run_dir, "phases", "baseline", "tune-baseline", "comparison.json", "comparison.png")
    summary = json.loads((run_dir / "summary.json").read_text())
    (run_dir / "summary.json").write_text(json.dumps({**summary, "status": "interrupted"}))
    assert done_phases(load_config(config_file), run_dir) == set()
    resumed = resume_experiment(run_dir)
    assert resumed.summary.ok and resumed.summary.best_config == first.summary.best_config
    assert _mtime(run_dir / "model.pt") != model
