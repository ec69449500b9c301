from __future__ import annotations

import json
import math

import pytest

from cords_tune.reports import write_json_atomic, write_text_atomic
from cords_tune.results.trial import trials_table
from cords_tune.results.trial import TrialRecord


def test_json_is_strict_and_nan_becomes_null(tmp_path):
    path = tmp_path / "s.json"
    write_json_atomic(path, {"a": math.nan, "b": [1.0, math.inf], "c": {"d": 2}})
    assert json.loads(path.read_text()) == {"a": None, "b": [1.0, None], "c": {"d": 2}}


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp_file(tmp_path):
    path = tmp_path / "summary.json"
    write_json_atomic(path, {"ok": 1})
    with pytest.raises(TypeError):
        write_json_atomic(path, {"bad": object()})
    assert json.loads(path.read_text()) == {"ok": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_written_files_are_readable_by_others(tmp_path):
    path = tmp_path / "report.md"
    write_text_atomic(path, "# hi\n")
    assert path.stat().st_mode & 0o044 == 0o044


def _trial(index, params):
    return TrialRecord.from_json({"index": index, "trial_id": f"t{index}", "status": "completed", "params": params,
                                  "best_metric": 0.5})


def test_trials_table_has_a_column_per_parameter(tmp_path):
    table = trials_table([_trial(0, {"training.lr": 0.1}), _trial(1, {"training.lr": 0.2})])
    assert table.column("param.training.lr").to_pylist() == [0.1, 0.2]


def test_trials_table_keeps_mixed_choices_as_text():
    table = trials_table([_trial(0, {"model.params.x": 3}), _trial(1, {"model.params.x": "auto"})])
    assert table.column("param.model.params.x").to_pylist() == ["3", "auto"]
