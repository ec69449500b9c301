"""Notes on experiments that are valid but would do less than meant: what `validate` and `run` warn about."""

from __future__ import annotations

import subprocess
import sys

import yaml

from cords_tune.config import parse_config
from cords_tune.notes import experiment_notes


def test_a_search_with_nothing_to_search_is_noted(tiny_experiment):
    tiny_experiment["search"]["space"] = {}
    (note,) = experiment_notes(parse_config(tiny_experiment))
    assert "search.space is empty" in note and "cords-tune train" in note
    tiny_experiment["search"]["num_trials"] = 1
    assert experiment_notes(parse_config(tiny_experiment)) == [], "one trial of a fixed configuration is a choice"


def test_a_gradient_strategy_that_would_never_select_is_noted(tiny_experiment):
    tiny_experiment["training"]["epochs"] = 6
    tiny_experiment["selection"] = {"strategy": "gradmatch", "fraction": 0.1, "every": 6}
    (note,) = experiment_notes(parse_config(tiny_experiment))
    assert "selection.every (6) is not below training.epochs (6)" in note and "gradmatch" in note
    for fine in ({"every": 5}, {"warm_start_epochs": 1}, {"strategy": "random"}, {"strategy": "el2n"}):
        tiny_experiment["selection"] = {"strategy": "gradmatch", "fraction": 0.1, "every": 6, **fine}
        assert experiment_notes(parse_config(tiny_experiment)) == [], fine
    tiny_experiment["selection"] = {"strategy": "gradmatch", "fraction": 0.1, "every": 6}
    tiny_experiment["search"]["space"]["selection.every"] = {"choice": [3, 6]}
    assert experiment_notes(parse_config(tiny_experiment)) == [], "each trial's own value decides"


def test_validate_prints_the_notes_and_still_succeeds(tiny_experiment, tmp_path):
    tiny_experiment["search"]["space"] = {}
    file = tmp_path / "experiment.yaml"
    file.write_text(yaml.safe_dump(tiny_experiment))
    result = subprocess.run([sys.executable, "-m", "cords_tune", "validate", str(file)], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr
    assert "note: search.space is empty" in result.stderr, result.stderr


def test_a_searched_fraction_that_the_strategy_ignores_is_noted(tiny_experiment):
    tiny_experiment["selection"] = {"strategy": "infobatch", "fraction": 0.3}
    assert experiment_notes(parse_config(tiny_experiment)) == [], "a fixed fraction is simply ignored"
    tiny_experiment["search"]["space"]["selection.fraction"] = {"uniform": [0.1, 0.5]}
    (note,) = experiment_notes(parse_config(tiny_experiment))
    assert "searches selection.fraction, which infobatch ignores" in note and "selection.params" in note
    tiny_experiment["selection"]["strategy"] = "random"
    assert experiment_notes(parse_config(tiny_experiment)) == []
