"""The experiment schema: good files load, bad ones fail with one message naming the field path."""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cords_tune.config import ExperimentConfig, apply_params, load_config, parse_config, parse_overrides
from cords_tune.errors import ConfigError

EXPERIMENTS = sorted((Path(__file__).parents[1] / "experiments").glob("*.yaml"))


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.name)
def test_shipped_experiments_validate(path):
    config = load_config(path)
    assert config.search.num_trials >= 1
    assert config.search.space, "a shipped experiment should search something"


def test_defaults_fill_a_minimal_config():
    config = parse_config({"name": "x"})
    assert config.dataset.name == "mnist1d"
    assert config.search.mode == "max"  # derived from the metric
    assert parse_config({"name": "x", "search": {"metric": "val_loss"}}).search.mode == "min"
    for metric in ("val_balanced_accuracy", "val_f1_macro", "val_roc_auc"):
        assert parse_config({"name": "x", "search": {"metric": metric}}).search.mode == "max"
    assert config.final_epochs == config.training.epochs


def test_search_space_forms_normalise_to_dotted_paths(tiny_experiment):
    tiny_experiment["search"]["space"] = {
        "lr": {"loguniform": [1e-3, 1e-1]},  # bare name of a training field
        "training": {"optimizer": {"choice": ["sgd", "adam"]}},  # nested form
        "model.params.hidden": {"int": [8, 64]},
        "selection.fraction": {"uniform": [0.1, 0.5]},
    }
    space = parse_config(tiny_experiment).search.space
    assert set(space) == {"training.lr", "training.optimizer", "model.params.hidden", "selection.fraction"}
    assert space["model.params.hidden"].extremes == [8, 64]


def test_a_range_written_as_yaml_reads_it_takes_the_numbers_it_writes(tiny_experiment):
    # YAML 1.1 reads 1e-4 as text; a choice keeps text as it is (a choice of names is valid).
    tiny_experiment["search"]["space"] = yaml.safe_load(
        "{training.lr: {loguniform: [1e-4, 1e-1]}, model.params.hidden: {int: ['8', 64]}, "
        "training.weight_decay: {choice: ['1e-4', 0.0]}}")
    space = parse_config(tiny_experiment).search.space
    assert space["training.lr"].values == [1e-4, 0.1] and space["model.params.hidden"].values == [8, 64]
    assert space["training.weight_decay"].values == ["1e-4", 0.0], "a choice is taken as written"
    tiny_experiment["search"]["space"] = {"training.lr": {"loguniform": ["small", 0.1]}}
    with pytest.raises(ConfigError, match=r"bounds must be finite numbers. Got \['small', 0.1\]"):
        parse_config(tiny_experiment)


def test_apply_params_sets_values_and_revalidates(tiny_experiment):
    config = parse_config(tiny_experiment)
    trial = apply_params(config, {"training.lr": 0.02, "model.params.hidden": 16})
    assert trial.training.lr == 0.02 and trial.model.params["hidden"] == 16
    assert trial.search.space == {}  # the sample replaces the search
    assert config.training.lr == 0.01  # the original is untouched
    with pytest.raises(ConfigError, match="training.epochs"):
        apply_params(config, {"training.epochs": 0})


def test_integral_floats_are_accepted_for_int_fields(tiny_experiment):
    assert apply_params(parse_config(tiny_experiment), {"training.batch_size": 64.0}).training.batch_size == 64


def test_yaml_round_trip(tiny_experiment):
    config = parse_config(tiny_experiment)
    again = parse_config(yaml.safe_load(config.to_yaml()))
    assert again == config


def test_overrides_parse_values_as_yaml():
    assert parse_overrides(["training.lr=0.1", "search.space.training.optimizer={choice: [sgd]}", "a.b=x"]) == {
        "training.lr": 0.1,
        "search.space.training.optimizer": {"choice": ["sgd"]},
        "a.b": "x",
    }
    with pytest.raises(ConfigError, match="a.b=value"):
        parse_overrides(["training.lr"])


def test_load_config_applies_overrides(tmp_path, tiny_experiment):
    file = tmp_path / "e.yaml"
    file.write_text(yaml.safe_dump(tiny_experiment))
    config = load_config(file, ["training.epochs=7", "selection.strategy=full"])
    assert config.training.epochs == 7 and config.selection.strategy == "full"
    with pytest.raises(ConfigError, match="training.epocs.*Did you mean 'epochs'"):
        load_config(file, ["training.epocs=7"])


def _error(data) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    return str(info.value)


def _with(tiny, path: str, value):
    data = copy.deepcopy(tiny)
    node = data
    *parents, last = path.split(".")
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("training.epochs", 0, r"training.epochs: Input should be greater than or equal to 1. Got 0"),
        ("training.lr", "fast", r"training.lr: .*valid number.*Got 'fast'"),
        ("training.optimizer", "adamm", r"training.optimizer: .*'sgd', 'adam' or 'adamw'.*Got 'adamm'"),
        ("training.epocs", 3, r"training.epocs: unknown key 'epocs'. Did you mean 'epochs'\?"),
        ("selection.fraction", 0, r"selection.fraction: .*greater than 0"),
        ("selection.fraction", 1.5, r"selection.fraction: .*less than or equal to 1"),
        ("selection.strategy", "randm", r"selection.strategy: unknown strategy 'randm'. Did you mean 'random'\?"),
        ("selection.params", {"class_balance": True}, r"selection.params.class_balance: .*Did you mean"),
        ("dataset.name", "mnist2d", r"dataset.name: unknown dataset 'mnist2d'. Did you mean 'mnist1d'\?"),
        ("model.name", "resnet19", r"model.name: unknown model 'resnet19'. Did you mean 'resnet18'\?"),
        ("model.params", {"hiden": 3}, r"model.params.hiden: .*Did you mean 'hidden'\?"),
        ("resources.gpus_per_trial", 1.5, r"resources.gpus_per_trial: .*whole number"),
        ("name", "has space", r"name: String should match pattern"),
        ("search.space", {"training.lr": {"loguniform": [0.1, 0.001]}}, r"low < high. Got \[0.1, 0.001\]"),
        ("search.space", {"training.lr": {"loguniform": [0, 0.1]}}, r"needs low > 0"),
        ("search.space", {"training.lr": {"logunifrom": [0.1, 1]}}, r"unknown domain 'logunifrom'. Did you mean 'loguniform'"),
        ("search.space", {"training.optimizer": {"choice": []}}, r"at least one value"),
        ("search.space", {"training.optimizer": {"choice": ["sgd", "adamm"]}}, r"search.space.training.optimizer: the value 'adamm'"),
        ("search.space", {"training.lr": 0.1}, r"must be a domain like"),
        ("search.space", {"training.rl": {"uniform": [0.1, 1]}}, r"'training.rl' is not a field. Did you mean 'training.lr'\?"),
        ("search.space", {"foo": {"uniform": [0.1, 1]}}, r"'foo' is not a searchable parameter"),
        ("search.space", {"model.params.hiden": {"choice": [8]}}, r"model.params.hiden"),
        ("search.space", {"selection.fraction": {"uniform": [0.1, 2.0]}}, r"the value 2.0 .*less than or equal to 1"),
        ("search.space", {"dataset.name": {"choice": ["digits"]}}, r"only 'dataset.augment'"),
        ("search.num_trials", -1, r"search.num_trials: .*greater than or equal to 1"),
        ("search.space", {"training.batch_size": {"uniform": [32, 128]}}, r"training.batch_size: the value 6\d\.\d+ "),
        ("search.space", {"training.epochs": {"int": [5, 10]}}, r"epochs cannot be searched: ASHA decides"),
        ("search.space", {"training.device": {"choice": ["cpu"]}}, r"device cannot be searched"),
        ("search.space", {"training.precision": {"choice": ["fp32", "bf16"]}}, r"set it, do not search it"),
        ("search.space", {"training.channels_last": {"choice": [True, False]}}, r"memory order changes no result"),
        ("search.space", {"training.validation": {"choice": ["every_epoch"]}}, r"changes no decision"),
        ("training.precision", "fp8", r"training.precision: .*'auto', 'fp32', 'bf16' or 'fp16'.*Got 'fp8'"),
        ("training.channels_last", "yes please", r"training.channels_last: must be auto, true or false. Got 'yes please'"),
        ("training.channels_last", 1, r"training.channels_last: must be auto, true or false. Got 1"),
        ("training.validation", "sometimes", r"training.validation: .*'every_epoch' or 'at_decisions'.*Got 'sometimes'"),
        ("seed", -1, r"seed: .*greater than or equal to 0"),
        ("seed", 2**40, r"seed: .*less than or equal to 4294967295"),
        ("training.device", "cuda", r"training.device: .*gpus_per_trial is 0"),
        ("training.epochs", True, r"training.epochs: must be a number, not a boolean"),
    ],
)
def test_bad_values_name_the_field_and_the_given_value(tiny_experiment, path, value, expected):
    message = _error(_with(tiny_experiment, path, value))
    assert re.search(expected, message), message


def test_every_problem_is_reported_in_one_message(tiny_experiment):
    data = _with(_with(tiny_experiment, "training.epochs", 0), "training.batch_size", "big")
    message = _error(data)
    assert "training.epochs" in message and "training.batch_size" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: [unclosed\n", r"not valid YAML at line 2"),
        ("", r"is empty"),
        ("- a\n- b\n", r"must be a YAML mapping"),
        ("name: x\n!!python/object/apply:os.system ['echo pwned']\n", r"not valid YAML"),
        ("name: !!python/object/apply:os.system ['echo pwned']\n", r"not valid YAML"),
    ],
)
def test_bad_files(tmp_path, text, expected):
    file = tmp_path / "bad.yaml"
    file.write_text(text)
    with pytest.raises(ConfigError, match=expected):
        load_config(file)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path)


def test_config_is_a_plain_picklable_model(tiny_experiment):
    import pickle

    config = parse_config(tiny_experiment)
    assert pickle.loads(pickle.dumps(config)) == config
    assert isinstance(config, ExperimentConfig)


def test_a_config_pickled_when_the_schema_was_one_module_still_loads(tiny_experiment):
    # A config pickled before cords_tune.config became a package names every class cords_tune.config.<Class>
    # (in a Tune experiment's state, say); protocol 0 writes those names as text, as that module did.
    import pickle

    config = parse_config(tiny_experiment)
    as_one_module = re.sub(rb"ccords_tune\.config\.\w+\n", b"ccords_tune.config\n", pickle.dumps(config, protocol=0))
    assert b"ccords_tune.config\nDatasetConfig\n" in as_one_module
    assert pickle.loads(as_one_module) == config


def test_the_schema_imports_neither_torch_nor_ray_and_validating_needs_no_training_or_tuning():
    # cords_tune.training, cords_tune.tuning and cords_tune.selection.cost import the config: importing them
    # back would be a cycle.
    script = (
        "import sys; import cords_tune.config as c; loaded = set(sys.modules); "
        "c.parse_config({'selection': {'strategy': 'gradmatch'}, 'search': {'space': {'lr': {'loguniform': "
        "[0.001, 0.1]}}}}); "
        "print(sorted(m for m in loaded if m.split('.')[0] in ('torch', 'ray') or m == 'cords_tune.selection')); "
        "print(sorted(m for m in sys.modules if m.startswith(('cords_tune.training', 'cords_tune.tuning', "
        "'cords_tune.selection.cost'))))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).parents[1])
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == ["[]", "[]"], done.stdout


def test_a_run_pins_relative_paths_to_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = parse_config({
        "dataset": {"name": "csv", "params": {"path": "data/train.csv", "test_path": "data/test.csv", "label": "y"},
                    "data_dir": "cache"},
        "storage_path": "trials",
    }).with_absolute_paths()
    assert config.dataset.params == {"path": str(tmp_path / "data/train.csv"),
                                     "test_path": str(tmp_path / "data/test.csv"), "label": "y"}
    assert config.dataset.data_dir == str(tmp_path / "cache") and config.storage_path == str(tmp_path / "trials")
    assert parse_config({"storage_path": "s3://bucket/runs"}).with_absolute_paths().storage_path == "s3://bucket/runs"
    home = parse_config({}).with_absolute_paths().dataset.data_dir
    assert "~" not in home and home.endswith("cords-tune/data")
