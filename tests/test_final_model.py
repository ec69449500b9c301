"""The saved final model: a save/load round trip predicts exactly as the trained model, from raw inputs."""

from __future__ import annotations

import copy
import dataclasses
import logging
import warnings

import numpy as np
import pytest
import torch

import cords_tune
from conftest import TINY_EXPERIMENT
from cords_tune.config import parse_config
from cords_tune.datasets import DataBundle, load_dataset
from cords_tune.errors import InputError
from cords_tune.final_model import FinalModel, InputRangeWarning
from cords_tune.training import DeviceSplit, build_trainer


def _config(tmp_path, *, model: dict, dataset: dict, epochs: int):
    data = copy.deepcopy(TINY_EXPERIMENT)
    data.update(model=model, dataset={**dataset, "data_dir": str(tmp_path / "data")})
    data["training"]["epochs"] = epochs
    data["search"]["space"] = {}
    return parse_config(data)


def _uint8_images(seed: int = 0) -> DataBundle:
    """Image-like data kept as bytes and normalised per channel, as torchvision datasets are: the class is in
    which channel is brightest."""
    rng = np.random.default_rng(seed)

    def split(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = rng.integers(0, 3, n)
        x = rng.integers(0, 128, (n, 3, 8, 8))
        x[np.arange(n), y] += 100
        return x.astype(np.uint8), y.astype(np.int64)

    (x_train, y_train), (x_val, y_val), (x_test, y_test) = split(240), split(60), split(90)
    return DataBundle("bytes", x_train, y_train, x_val, y_val, x_test, y_test, num_classes=3,
                      mean=(0.35, 0.36, 0.37), std=(0.21, 0.22, 0.23), augmentations=("flip",))


CASES = {
    "mlp-synthetic": ({"name": "mlp", "params": {"hidden": 16, "depth": 1}}, {"name": "synthetic",
                      "params": {"num_samples": 600, "num_features": 8, "num_classes": 3}}, 2),
    "lenet-digits": ({"name": "lenet", "params": {"width": 0.5}}, {"name": "digits"}, 1),
    "lenet-uint8-normalised": ({"name": "lenet", "params": {"width": 0.5}}, None, 2),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_saved_model_predicts_as_the_trained_one(tmp_path, case):
    model, dataset, epochs = CASES[case]
    config = _config(tmp_path, model=model, dataset=dataset or {"name": "synthetic"}, epochs=epochs)
    if dataset is None:
        data = _uint8_images()
    else:
        data = load_dataset(config.dataset.name, data_dir=config.dataset.data_dir, params=config.dataset.params)
    trainer = build_trainer(config, data, full_data=True)
    trainer.fit()
    test_loss, test_accuracy = trainer.evaluate_test()

    path = FinalModel.from_training(trainer.model, config, data, test_accuracy=test_accuracy).save(tmp_path / "m.pt")
    loaded = cords_tune.load_model(path)

    assert loaded.input_shape == data.input_shape and loaded.num_classes == data.num_classes
    assert loaded.mean == data.mean and loaded.std == data.std and loaded.input_dtype == str(data.x_test.dtype)
    assert loaded.info["test_accuracy"] == test_accuracy and loaded.info["dataset"] == data.name
    assert not loaded.module.training

    # The same logits as the trained module on the inputs training prepared, from the raw test inputs.
    test = DeviceSplit(data.x_test, data.y_test, trainer.device, mean=data.mean, std=data.std)
    with torch.no_grad():
        expected = trainer.model.eval()(test.batch(torch.arange(len(test)))[0])
    assert torch.equal(loaded.logits(data.x_test), expected)
    labels = loaded.predict(data.x_test)
    assert labels.dtype == np.int64 and float((labels == data.y_test).sum()) / len(labels) == test_accuracy
    assert np.array_equal(loaded.predict(torch.as_tensor(data.x_test), batch_size=7), labels)
    probabilities = loaded.predict_proba(data.x_test[:5])
    assert probabilities.shape == (5, data.num_classes)
    assert np.allclose(probabilities.sum(1), 1.0, atol=1e-5)


def test_the_file_holds_plain_values_only(tmp_path):
    config = _config(tmp_path, model=CASES["mlp-synthetic"][0], dataset=CASES["mlp-synthetic"][1], epochs=1)
    data = load_dataset("synthetic", data_dir=tmp_path, params=config.dataset.params)
    module = torch.nn.Linear(1, 1)  # weights do not matter here; the metadata do
    model = FinalModel.from_training(module, config, data)
    payload = torch.load(model.save(tmp_path / "model.pt"), weights_only=True)
    assert payload["model_name"] == "mlp" and payload["model_params"] == {"hidden": 16, "depth": 1}
    assert payload["input_shape"] == [8] and payload["num_classes"] == 3 and payload["mean"] is None
    assert "training:" in payload["info"]["config_yaml"]
    assert not list(tmp_path.glob(".model.pt.*")), "the temporary file of the atomic write is left behind"


def test_wrong_inputs_and_files_are_refused_with_a_message(tmp_path):
    data = _uint8_images()
    config = _config(tmp_path, model=CASES["lenet-uint8-normalised"][0], dataset={"name": "synthetic"}, epochs=1)
    trainer = build_trainer(config, data, full_data=True)
    model = FinalModel.from_training(trainer.model, config, data)
    with pytest.raises(ValueError, match=r"must have shape \(N, 3, 8, 8\).*Got \(3, 8, 8\)"):
        model.predict(data.x_test[0])
    torch.save({"weights": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a model saved by cords-tune"):
        cords_tune.load_model(tmp_path / "other.pt")


def test_importing_the_package_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, cords_tune; assert 'torch' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0
    assert {"FinalModel", "load_model"} <= set(cords_tune.__all__)
    assert cords_tune.load_model is cords_tune.final_model.load_model


# --- the user's labels and feature names ------------------------------------------------------------------------


def _table_model(tmp_path, classes=("cat", "dog", "fox"), features=("a", "b", "c", "d", "e", "f", "g", "h")):
    """A model trained for one epoch on synthetic data whose classes and features the user named."""
    config = _config(tmp_path, model=CASES["mlp-synthetic"][0], dataset=CASES["mlp-synthetic"][1], epochs=1)
    data = load_dataset("synthetic", data_dir=tmp_path / "data", params=config.dataset.params)
    data = dataclasses.replace(data, classes=classes, feature_names=features)
    trainer = build_trainer(config, data, full_data=True)
    trainer.fit()
    return FinalModel.from_training(trainer.model, config, data).save(tmp_path / "model.pt"), data


def test_predictions_are_the_users_labels_and_probabilities_follow_classes_(tmp_path):
    path, data = _table_model(tmp_path)
    payload = torch.load(path, weights_only=True)
    assert payload["classes"] == ["cat", "dog", "fox"] and payload["feature_names"] == list("abcdefgh")
    model = cords_tune.load_model(path)
    assert model.classes_.tolist() == ["cat", "dog", "fox"]
    labels = model.predict(data.x_test)
    indices = model.logits(data.x_test).argmax(1).numpy()
    assert labels.tolist() == np.array(["cat", "dog", "fox"])[indices].tolist()
    assert model.classes_[model.predict_proba(data.x_test).argmax(1)].tolist() == labels.tolist()

    numbers = cords_tune.load_model(_table_model(tmp_path / "n", classes=(3, 7, 11))[0])
    predicted = numbers.predict(data.x_test)
    assert predicted.dtype == np.int64 and set(predicted.tolist()) <= {3, 7, 11}


def test_a_dataframe_is_matched_by_column_name(tmp_path):
    pd = pytest.importorskip("pandas")
    path, data = _table_model(tmp_path)
    model = cords_tune.load_model(path)
    expected = model.predict(data.x_test)
    frame = pd.DataFrame(data.x_test, columns=list("abcdefgh"))
    frame.insert(0, "label", "cat")  # the label column, text, as the user's table holds it: ignored
    frame["id"] = np.arange(len(frame))
    reordered = frame[["id", "label", *reversed("abcdefgh")]]
    assert model.predict(reordered).tolist() == expected.tolist()
    assert np.allclose(model.predict_proba(reordered), model.predict_proba(data.x_test))
    with pytest.raises(InputError, match=r"without 3 of them: 'b', 'e', 'h'"):
        model.predict(frame.drop(columns=["b", "e", "h"]))
    with pytest.raises(InputError, match="must hold numbers. Got an array of type object"):
        model.predict(np.asarray(frame))  # an array has no names: its label column makes it text


def test_a_model_saved_before_labels_were_kept_loads_with_class_indices(tmp_path, caplog):
    path, data = _table_model(tmp_path)
    payload = torch.load(path, weights_only=True)
    for key in ("classes", "feature_names", "input_range"):
        del payload[key]
    torch.save(payload, tmp_path / "old.pt")
    with caplog.at_level(logging.WARNING, logger="cords_tune"):
        old = cords_tune.load_model(tmp_path / "old.pt")
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert "did not keep the class labels: it predicts class indices 0..2" in caplog.text
    assert old.classes is None and old.classes_.tolist() == [0, 1, 2]
    new = cords_tune.load_model(path)
    indices = old.predict(data.x_test)
    assert indices.dtype == np.int64 and new.classes_[indices].tolist() == new.predict(data.x_test).tolist()


def test_float_inputs_far_outside_the_training_range_are_warned_about(tmp_path):
    data = _uint8_images()
    config = _config(tmp_path, model=CASES["lenet-uint8-normalised"][0], dataset={"name": "synthetic"}, epochs=1)
    model = FinalModel.from_training(build_trainer(config, data, full_data=True).model, config, data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # none of these warns
        model.predict(data.x_test)
        model.predict(data.x_test / np.float32(255))
    with pytest.warns(InputRangeWarning, match=r"range over \[0, 2\d\d\].*uint8 images.*divided by 255"):
        model.predict(data.x_test.astype(np.float32))  # 0-255 floats: as uint8 they would be scaled

    path, table = _table_model(tmp_path / "t")
    tabular = cords_tune.load_model(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tabular.predict(table.x_test)
    with pytest.warns(InputRangeWarning, match="far outside the training inputs"):
        tabular.predict(table.x_test * 1000)
