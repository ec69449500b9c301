"""Plugins: the user's modules that register datasets and models, named by the experiment or --plugin."""

from __future__ import annotations

import os
import pickle
import sys

import pytest
import yaml
from typer.testing import CliRunner

from cords_tune.cli import app
from cords_tune.config import load_config, parse_config
from cords_tune.errors import ConfigError, UnknownNameError
from cords_tune.plugins import import_plugins, runtime_env_for
from cords_tune.preflight import load_and_check
from tests.plugin_samples import plugin_experiment, write_plugin


def test_a_plugin_file_registers_what_the_experiment_uses(tmp_path):
    plugin = write_plugin(tmp_path / "mine", "unit")
    config = parse_config(plugin_experiment("unit", str(plugin), tmp_path))
    data = load_and_check(config)  # the plugin's dataset loads, its model builds for the data
    assert data.num_classes == 2 and data.input_shape == (6,)
    (shipped,) = runtime_env_for(import_plugins(config.plugins))["py_modules"]
    assert shipped == str(plugin.resolve()), "a plugin file is not installed anywhere: Ray must ship it"


def test_without_the_plugin_the_names_are_unknown(tmp_path):
    experiment = plugin_experiment("absent", "unused.py", tmp_path)
    experiment.pop("plugins")
    with pytest.raises(ConfigError, match="unknown dataset 'absent_blobs'"):
        parse_config(experiment)


def test_a_relative_plugin_path_is_pinned_for_resume(tmp_path, monkeypatch):
    write_plugin(tmp_path / "mine", "pinned")
    monkeypatch.chdir(tmp_path)
    config = parse_config(plugin_experiment("pinned", "mine/pinned_plugin.py", tmp_path))
    assert config.with_absolute_paths().plugins == [str(tmp_path / "mine" / "pinned_plugin.py")]


def test_a_module_name_is_found_from_the_current_directory(tmp_path, monkeypatch):
    write_plugin(tmp_path / "pkgdir" / "userpkg", "named", module="models")
    (tmp_path / "pkgdir" / "userpkg" / "__init__.py").write_text("")
    monkeypatch.chdir(tmp_path / "pkgdir")
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", os.getcwd())])
    (plugin,) = import_plugins(["userpkg.models"])
    assert plugin.module.__name__ == "userpkg.models"
    assert plugin.ship == (tmp_path / "pkgdir" / "userpkg").resolve(), "the whole package goes to the workers"


def test_an_installed_module_is_not_shipped():
    (plugin,) = import_plugins(["yaml"])
    assert plugin.ship is None and runtime_env_for([plugin]) is None


def test_the_cli_adds_plugins(tmp_path):
    plugin = write_plugin(tmp_path / "mine", "cli")
    experiment = plugin_experiment("cli", "x.py", tmp_path)
    experiment.pop("plugins")
    file = tmp_path / "experiment.yaml"
    file.write_text(yaml.safe_dump(experiment))
    refused = CliRunner().invoke(app, ["validate", str(file)])
    assert refused.exit_code == 2 and "unknown dataset 'cli_blobs'" in refused.output
    accepted = CliRunner().invoke(app, ["validate", str(file), "--plugin", str(plugin)])
    assert accepted.exit_code == 0, accepted.output
    assert load_config(file, plugins=[str(plugin)]).plugins == [str(plugin)]


@pytest.mark.parametrize(
    ("plugins", "expect"),
    [
        ("mine.py", "plugins: must be a list of module names or .py file paths"),
        (["missing/nowhere.py"], r"plugins\[0\]: plugin file 'missing/nowhere.py' does not exist"),
        (["no_such_module_anywhere"], r"plugins\[0\]: cannot import plugin 'no_such_module_anywhere': no module"),
        (["my-models.py"], "must be a Python module name"),
    ],
)
def test_bad_plugins_are_config_errors(plugins, expect, tmp_path):
    experiment = plugin_experiment("bad", "unused.py", tmp_path)
    experiment["plugins"] = plugins
    with pytest.raises(ConfigError, match=expect):
        parse_config(experiment)


def test_a_plugin_that_raises_is_reported_with_its_line(tmp_path):
    broken = tmp_path / "broken_plugin.py"
    broken.write_text("x = 1\nraise RuntimeError('no GPU driver found')\n")
    with pytest.raises(ConfigError, match=r"RuntimeError: no GPU driver found \(at .*broken_plugin.py:2\)"):
        import_plugins([str(broken)])
    assert "broken_plugin" not in sys.modules, "a failed import leaves nothing half-imported behind"


def test_a_plugin_file_whose_name_is_taken_is_refused(tmp_path):
    clash = tmp_path / "json.py"
    clash.write_text("")
    with pytest.raises(ConfigError, match="another module of that name is already imported"):
        import_plugins([str(clash)])


def test_registering_a_taken_name_from_another_module_is_refused(tmp_path):
    first = write_plugin(tmp_path / "a", "taken", module="first_taken")
    second = write_plugin(tmp_path / "b", "taken", module="second_taken")
    import_plugins([str(first)])
    with pytest.raises(ConfigError, match="dataset 'taken_blobs' is already registered"):
        import_plugins([str(second)])


def test_config_errors_are_value_errors_and_survive_pickling():
    error = UnknownNameError("dataset", "bc", ["digits", "mnist1d"], path="dataset.name")
    assert isinstance(error, ValueError)
    copy = pickle.loads(pickle.dumps(error))  # as Ray sends a worker's error to the driver
    assert type(copy) is UnknownNameError and str(copy) == str(error)
    assert (copy.kind, copy.name, copy.path) == ("dataset", "bc", "dataset.name")


def test_a_plugin_file_that_would_hide_an_installed_module_is_refused(tmp_path):
    shadow = tmp_path / "tabnanny.py"  # the standard library's, not imported yet
    assert "tabnanny" not in sys.modules
    shadow.write_text("")
    with pytest.raises(ConfigError, match="would hide the module of that name"):
        import_plugins([str(shadow)])
