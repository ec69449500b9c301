"""Checks against the loaded data, made by `validate` and by `run` before Ray starts."""

from __future__ import annotations

import pytest

from cords_tune.config import parse_config
from cords_tune.errors import ConfigError
from cords_tune.preflight import load_and_check


def test_a_good_experiment_passes_and_returns_its_data(tiny_experiment):
    data = load_and_check(parse_config(tiny_experiment))
    assert data.num_classes == 3 and len(data.y_val) > 0


def test_a_searched_model_parameter_is_built_at_its_edges_and_inside(tiny_experiment):
    tiny_experiment["search"]["space"] = {"model.params.hidden": {"uniform": [8, 64]}}  # 30.72 is no width
    with pytest.raises(ConfigError, match=r"search.space.model.params.hidden: the value 28.72 .*integer"):
        load_and_check(parse_config(tiny_experiment))
    tiny_experiment["search"]["space"] = {"model.params.hidden": {"int": [-4, 64]}}
    with pytest.raises(ConfigError, match=r"search.space.model.params.hidden: the value -4 "):
        load_and_check(parse_config(tiny_experiment))


def test_a_validation_split_missing_classes_is_refused(tiny_experiment):
    tiny_experiment["dataset"]["params"] = {"num_samples": 30, "num_features": 4, "num_classes": 3}
    tiny_experiment["dataset"]["val_fraction"] = 0.01
    with pytest.raises(ConfigError, match=r"dataset.val_fraction: the validation split holds 0 samples"):
        load_and_check(parse_config(tiny_experiment))


def test_validate_never_downloads(tiny_experiment, tmp_path):
    from cords_tune.errors import DatasetUnavailableError

    tiny_experiment["dataset"] = {"name": "mnist", "data_dir": str(tmp_path)}
    tiny_experiment["model"] = {"name": "mlp"}
    tiny_experiment["search"]["space"] = {}
    with pytest.raises(DatasetUnavailableError, match="mnist"):
        load_and_check(parse_config(tiny_experiment), download=False)
    assert not any(tmp_path.rglob("*.gz")), "nothing was fetched"


def test_a_validation_split_that_leaves_too_little_to_train_on_is_blamed_on_val_fraction(tiny_experiment):
    tiny_experiment["dataset"]["val_fraction"] = 0.99
    with pytest.raises(ConfigError) as info:
        load_and_check(parse_config(tiny_experiment))
    message = str(info.value)
    assert info.value.path == "dataset.val_fraction" and message.startswith("dataset.val_fraction: 0.99 keeps"), message
    assert "leaves 6 to train on" in message and "Lower dataset.val_fraction" in message, message
    tiny_experiment["dataset"]["val_fraction"] = 0.1
    tiny_experiment["selection"]["fraction"] = 0.001
    with pytest.raises(ConfigError, match=r"^selection.fraction: a subset of 0.001 of the \d+ training samples"):
        load_and_check(parse_config(tiny_experiment))


def test_infobatch_takes_any_fraction_since_it_sizes_its_subsets_itself(tiny_experiment):
    tiny_experiment["selection"] = {"strategy": "infobatch", "fraction": 0.001}
    tiny_experiment["search"]["space"]["selection.fraction"] = {"uniform": [0.001, 0.5]}
    assert load_and_check(parse_config(tiny_experiment)).num_classes == 3
