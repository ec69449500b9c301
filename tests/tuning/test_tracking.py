"""Tracking: the Optuna study kept where the user can open it, and every trial logged to MLflow (a local
SQLite store) through Ray Tune's own callback."""

from __future__ import annotations

import importlib.util

import pytest

from cords_tune.config import parse_config
from cords_tune.errors import ConfigError
from cords_tune.runs import run_experiment
from cords_tune.tuning.tracking import OPTUNA_FILE, StudyRecorder, check_tracking, study_store


def test_the_default_study_store_is_a_sqlite_file_in_the_search_folder(tiny_experiment, tmp_path):
    config = parse_config(tiny_experiment)
    store = study_store(config, tmp_path / "run", "tiny-20261127-101010")
    assert store.url == f"sqlite:///{tmp_path / 'run' / OPTUNA_FILE}" and store.study_name == "tiny-20261127-101010"
    tiny_experiment["tracking"] = {"optuna_storage": None}
    assert study_store(parse_config(tiny_experiment), tmp_path, "tune") is None


@pytest.mark.parametrize("value", ["optuna.db", "mysql"])
def test_an_optuna_storage_that_is_no_url_is_refused(tiny_experiment, value):
    tiny_experiment["tracking"] = {"optuna_storage": value}
    with pytest.raises(ConfigError, match=r"tracking.optuna_storage: must be 'sqlite', an SQLAlchemy URL"):
        parse_config(tiny_experiment)


def test_a_storage_that_cannot_be_opened_says_so(tiny_experiment, tmp_path):
    tiny_experiment["tracking"] = {"optuna_storage": "nosuchdriver://host/db"}
    store = study_store(parse_config(tiny_experiment), tmp_path, "tune")
    with pytest.raises(ConfigError, match="cannot open the Optuna storage 'nosuchdriver://host/db'"):
        store.open()


def test_the_recorder_adds_each_finished_trial_once(tiny_experiment, tmp_path):
    """A resumed search reports again trials the study holds already: they are not added twice."""
    import pickle
    from types import SimpleNamespace

    import optuna

    config = parse_config(tiny_experiment)
    store = study_store(config, tmp_path, "tiny-run")
    recorder = StudyRecorder(store, config.search.space, "val_accuracy", "max")
    done = SimpleNamespace(trial_id="a", config={"training.lr": 0.01, "model.params.hidden": 16},
                           last_result={"val_accuracy": 0.75, "training_iteration": 3})
    broken = SimpleNamespace(trial_id="b", config={"training.lr": 0.02, "model.params.hidden": 32}, last_result={})
    recorder.on_trial_complete(0, [], done)
    recorder.on_trial_error(0, [], broken)
    resumed = pickle.loads(pickle.dumps(recorder))  # as Tune restores its callbacks
    resumed.on_trial_complete(0, [], done)

    study = optuna.load_study(study_name="tiny-run", storage=store.url)
    assert [(t.user_attrs["tune_trial_id"], t.state.name, t.value) for t in study.trials] == [
        ("a", "COMPLETE", 0.75), ("b", "FAIL", None)]
    assert study.best_trial.params == {"training.lr": 0.01, "model.params.hidden": 16}


@pytest.mark.skipif(importlib.util.find_spec("wandb") is not None, reason="wandb is installed here")
def test_a_tracking_backend_that_is_not_installed_stops_the_run_at_once(tiny_experiment):
    tiny_experiment["tracking"] = {"wandb": {"project": "mine"}}
    with pytest.raises(ConfigError, match=r"tracking.wandb needs the wandb package.*pip install 'cords-tune\[wandb\]'"):
        check_tracking(parse_config(tiny_experiment))


@pytest.mark.slow
def test_the_study_and_mlflow_record_every_trial(local_ray, tiny_experiment, tmp_path):
    import mlflow
    import optuna

    tracking_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tiny_experiment["tracking"] = {"mlflow": {"tracking_uri": tracking_uri}}
    tiny_experiment["final"] = {"top_k": 1}
    result = run_experiment(parse_config(tiny_experiment))

    recorded = result.summary.optuna_study
    assert recorded.as_dict() == {"storage": f"sqlite:///{result.run_dir / OPTUNA_FILE}",
                                  "study_name": result.run_dir.name}
    study = optuna.load_study(study_name=recorded.study_name, storage=recorded.url)
    assert len(study.trials) == 3
    assert {p for t in study.trials for p in t.params} == {"training.lr", "model.params.hidden"}

    mlflow.set_tracking_uri(tracking_uri)
    runs = mlflow.search_runs(experiment_names=["tiny"])
    assert len(runs) == 3 and runs["metrics.val_accuracy"].notna().all()
    assert set(runs["tags.cords_tune.run"]) == {result.run_dir.name}
