"""What a run directory's files and markers say is done, read without running anything: a run directory written
before markers existed, a driver killed between a phase's files and its marker, and a marker that records
nothing."""

from __future__ import annotations

import json

from cords_tune.config import parse_config
from cords_tune.results.summary import RunSummary
from cords_tune.runs.run_dir import Phase, done_phases, mark_done, mark_inferred, phases_left


def _summary(status: str = "ok") -> dict:
    return RunSummary(name="tiny", seed=0, dataset="synthetic", model="mlp", strategy="random", fraction=0.1,
                      metric="val_accuracy", mode="max", num_trials=2, status=status).to_json()


def _config(tiny_experiment, **changes):
    return parse_config({**tiny_experiment, **changes})


def test_a_finished_run_from_before_markers_whose_compression_was_cut_short_stays_finished(tiny_experiment, tmp_path):
    # Before markers, a Ctrl-C during the compression left summary.json ok without it, and the run went on to its
    # baseline: it was finished, and resuming it must not search on the full data again.
    config = _config(tiny_experiment, baseline=True, final={"compress": {"dynamic_int8": True}})
    (tmp_path / "summary.json").write_text(json.dumps(_summary()))
    (tmp_path / "baseline").mkdir()
    (tmp_path / "baseline" / "summary.json").write_text(json.dumps(_summary()))
    (tmp_path / "comparison.json").write_text("{}")
    assert phases_left(config, tmp_path) == []


def test_an_ok_summary_without_its_finalists_marker_means_the_finalists_finished(tiny_experiment, tmp_path):
    # The driver killed between summary.json and phases/finalists.json: the finalists are not trained again.
    config = _config(tiny_experiment)
    (tmp_path / "trials.parquet").write_bytes(b"")
    mark_done(tmp_path, Phase.SEARCH, {"tuning_wall_s": 1.0})
    (tmp_path / "summary.json").write_text(json.dumps(_summary()))
    assert done_phases(config, tmp_path) == {Phase.SEARCH, Phase.FINALISTS}


def test_a_search_marker_that_records_nothing_does_not_stand_in_for_its_search(tiny_experiment, tmp_path):
    # Markers inferred for a run written before them record nothing of the search; once its summary.json is moved
    # aside (as the message for an unreadable one says), the search must be restored from Tune's state, not
    # rebuilt from an empty record.
    config = _config(tiny_experiment)
    (tmp_path / "trials.parquet").write_bytes(b"")
    (tmp_path / "summary.json").write_text(json.dumps(_summary()))
    mark_inferred(tmp_path, done_phases(config, tmp_path))
    assert {p.name for p in (tmp_path / "phases").iterdir()} == {"search.json", "finalists.json"}
    (tmp_path / "summary.json").rename(tmp_path / "summary.json.bad")
    assert done_phases(config, tmp_path) == set()
    mark_done(tmp_path, Phase.SEARCH, {"tuning_wall_s": 1.0})  # a search this version finished records itself
    assert done_phases(config, tmp_path) == {Phase.SEARCH}
