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

def test_a_strategy_likely_to_fall_back_to_random_is_noted(tiny_experiment):
    """From the costs measured on the quickstart data (7199 samples): Glister's selection costs about half a
    full-data epoch, so at fraction 0.1 and every 10 epochs it would take about a third of each cycle, and on
    200,000 samples its 2 selections about 22 s, both far above what the guard allows."""
    tiny_experiment["training"]["epochs"] = 30
    tiny_experiment["selection"] = {"strategy": "glister", "fraction": 0.1, "every": 10}
    config = parse_config(tiny_experiment)
    (note,) = experiment_notes(config, samples=200_000)
    assert "selection by glister every 10 epochs" in note and "above selection.max_cost_share (10%)" in note
    assert "on 200000 samples, above selection.min_cost_s (5s)" in note and "Raise selection.max_cost_share" in note
    assert experiment_notes(config, samples=8_000) == [], "a few seconds of selection in all: below the floor"
    assert experiment_notes(config) == [], "without the data's size nothing is said"
    tiny_experiment["selection"] = {"strategy": "gradmatch", "fraction": 0.1, "every": 5}  # 17%: every 10 is enough
    (note,) = experiment_notes(parse_config(tiny_experiment), samples=200_000)
    assert "Reselect less often (selection.every: 10 keeps it under 10%)" in note
    for fine in ({"every": 10}, {"max_cost_share": 0.5}, {"min_cost_s": 60.0}, {"strategy": "random"},
                 {"strategy": "el2n"}, {"params": {"pool": 0.5}}):
        tiny_experiment["selection"] = {"strategy": "gradmatch", "fraction": 0.1, "every": 5, **fine}
        assert experiment_notes(parse_config(tiny_experiment), samples=200_000) == [], fine


def test_validate_notes_a_likely_fallback_on_the_data_it_checks(tiny_experiment, tmp_path):
    tiny_experiment["dataset"] = {**tiny_experiment["dataset"], "name": "synthetic",
                                  "params": {"num_samples": 150_000, "num_features": 4}}
    tiny_experiment["training"]["epochs"] = 30
    tiny_experiment["selection"] = {"strategy": "glister", "fraction": 0.1, "every": 10}
    file = tmp_path / "experiment.yaml"
    file.write_text(yaml.safe_dump(tiny_experiment))
    result = subprocess.run([sys.executable, "-m", "cords_tune", "validate", str(file)], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr
    assert "note: selection by glister every 10 epochs" in " ".join(result.stderr.split()), result.stderr
