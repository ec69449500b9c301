"""The final models a run saves (its retrained pick and, with a baseline, the best full-data trial's) and
`cords-tune train` on the run's best_config.yaml: files, summaries, and predictions that reproduce the test
accuracy the run measured."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import cords_tune
from conftest import TINY_EXPERIMENT, saved_model_accuracy
from cords_tune.cli import app
from cords_tune.config import load_config, parse_config
from cords_tune.runs.train import train_notes

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def finished_run(compared_run) -> Path:
    """A subset search with its finalists and a full-data baseline (the session's, shared with other modules)."""
    return compared_run.run_dir


@pytest.mark.slow
def test_a_run_saves_its_final_model_and_the_baselines(finished_run):
    summary = json.loads((finished_run / "summary.json").read_text())
    baseline = json.loads((finished_run / "baseline" / "summary.json").read_text())
    assert summary["final"]["model_path"] == "model.pt" and baseline["final"]["model_path"] == "model.pt"
    assert "model" not in summary["final"]  # the weights are in the file, not the summary

    model = cords_tune.load_model(finished_run / summary["final"]["model_path"])
    assert model.model_params["hidden"] == summary["best_config"]["model.params.hidden"]
    assert saved_model_accuracy(finished_run / "model.pt", finished_run / "config.yaml") == summary["final"]["test_accuracy"]
    assert (saved_model_accuracy(finished_run / "baseline" / "model.pt", finished_run / "config.yaml")
            == baseline["final"]["test_accuracy"])
    assert cords_tune.load_model(finished_run / "baseline" / "model.pt").info["retrained"] is False


@pytest.mark.slow
def test_best_config_yaml_trains_once_without_a_baseline(finished_run):
    best_config = finished_run / "best_config.yaml"
    assert f"cords-tune train {best_config}" in best_config.read_text().splitlines()[1]
    config = load_config(best_config)
    assert config.baseline is False and not config.search.space and train_notes(config) == []

    output = finished_run.parent / "trained"
    result = CliRunner().invoke(app, ["train", str(best_config), "--output", str(output)])
    text = _ANSI.sub("", result.output)
    assert result.exit_code == 0, text
    assert "Ray: " in text, f"which Ray trains it: {text}"
    (train_dir,) = output.iterdir()
    assert train_dir.name.startswith(f"{config.name}-train-")
    assert str(train_dir / "model.pt") in text.replace("\n", "")
    summary = json.loads((train_dir / "summary.json").read_text())
    assert summary["status"] == "ok" and summary["final"]["epochs"] == config.final_epochs
    assert summary["final"]["model_path"] == "model.pt" and summary["end_to_end_wall_s"] > 0
    assert yaml.safe_load((train_dir / "config.yaml").read_text())["name"] == config.name
    # The same configuration and seed as the run's retrain: the same model.
    run_summary = json.loads((finished_run / "summary.json").read_text())
    assert summary["final"]["test_accuracy"] == run_summary["final"]["test_accuracy"]
    assert saved_model_accuracy(train_dir / "model.pt", train_dir / "config.yaml") == summary["final"]["test_accuracy"]


@pytest.mark.slow
def test_train_exits_130_on_ctrl_c_and_2_on_a_bad_config(local_ray, tmp_path, monkeypatch):
    from cords_tune.runs import train as train_once

    file = tmp_path / "experiment.yaml"
    data = copy.deepcopy(TINY_EXPERIMENT)
    data["dataset"]["data_dir"] = str(tmp_path / "data")
    file.write_text(yaml.safe_dump(data))

    bad = CliRunner().invoke(app, ["train", str(file), "--set", "training.epochs=-3", "--output", str(tmp_path / "o")])
    assert bad.exit_code == 2 and "training.epochs" in bad.output and not (tmp_path / "o").exists()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(train_once, "retrain_on_cluster", interrupted)
    result = CliRunner().invoke(app, ["train", str(file), "--output", str(tmp_path / "out")])
    assert result.exit_code == 130, result.output
    assert "search.space is ignored" in result.output  # the tiny experiment searches lr and hidden
    assert not list((tmp_path / "out").glob("*/model.pt"))


def test_train_notes_name_what_is_ignored():
    data = copy.deepcopy(TINY_EXPERIMENT)
    data["baseline"] = True
    notes = train_notes(parse_config(data))
    assert len(notes) == 2
    assert "training.lr=0.01" in notes[0] and "model.params.hidden=32" in notes[0]
    assert "baseline" in notes[1]
