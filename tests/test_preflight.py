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
