"""Predictions for a file of the user's data (``cords_tune.predict``, ``cords-tune predict``): tables matched by
column name, .npz arrays, image folders decoded as in training, the output files, one-line errors.

The models are trained here in-process for an epoch (no Ray): what is checked is how inputs reach them."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent / "datasets"))
from file_samples import sample_features, write_image_folder  # noqa: E402

import cords_tune  # noqa: E402
from conftest import TINY_EXPERIMENT  # noqa: E402
from cords_tune.config import parse_config  # noqa: E402
from cords_tune.errors import InputError  # noqa: E402
from cords_tune.final_model import FinalModel  # noqa: E402
from cords_tune.prediction import default_output, predict_file, write_predictions  # noqa: E402
from cords_tune.preflight import load_and_check  # noqa: E402
from cords_tune.training import build_trainer  # noqa: E402
from test_cli import cli  # noqa: E402


def _trained(tmp_path: Path, dataset: dict, model: dict) -> tuple[Path, object]:
    """A model trained for an epoch on ``dataset``, saved, and its data."""
    experiment = copy.deepcopy(TINY_EXPERIMENT)
    experiment.update(dataset={**dataset, "data_dir": str(tmp_path / "cache")}, model=model)
    experiment["training"]["epochs"] = 1
    experiment["search"]["space"] = {}
    config = parse_config(experiment)
    data = load_and_check(config)
    trainer = build_trainer(config, data, full_data=True)
    trainer.fit()
    return FinalModel.from_training(trainer.model, config, data).save(tmp_path / "model.pt"), data


@pytest.fixture(scope="module")
def table_model(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    """A model trained on a CSV with string labels, and that table."""
    folder = tmp_path_factory.mktemp("table")
    x, y = sample_features()
    table = pd.DataFrame(x, columns=["a", "b", "c", "d"]).assign(kind=np.array(["x", "y", "z"])[y])
    table.to_csv(folder / "train.csv", index=False)
    path, _ = _trained(folder, {"name": "csv", "params": {"path": str(folder / "train.csv"), "label": "kind"}},
                       {"name": "mlp", "params": {"hidden": 16, "depth": 1}})
    return path, table


def test_a_table_is_matched_by_column_name_and_its_label_column_ignored(table_model, tmp_path):
    path, table = table_model
    model = cords_tune.load_model(path)
    expected = model.predict(table[["a", "b", "c", "d"]].to_numpy())
    assert set(expected.tolist()) <= {"x", "y", "z"}
    table[["kind", "d", "c", "b", "a"]].to_parquet(tmp_path / "new.parquet")  # another order, the label first
    reported = []
    predictions = predict_file(path, tmp_path / "new.parquet", on_progress=lambda done, total: reported.append(
        (done, total)))
    assert predictions.labels.tolist() == expected.tolist()
    assert reported[-1] == (60, 60)
    assert cords_tune.predict(path, table.drop(columns="kind")).tolist() == expected.tolist()

    written = write_predictions(predictions, tmp_path / "out.csv")
    assert pd.read_csv(written)["prediction"].tolist() == expected.tolist()
    assert cords_tune.predict(model, str(tmp_path / "new.parquet"), output=tmp_path / "out.pq").tolist() == \
        expected.tolist()
    assert pd.read_parquet(tmp_path / "out.pq").columns.tolist() == ["prediction"]

    table.drop(columns=["b", "d"]).to_csv(tmp_path / "partial.csv", index=False)
    with pytest.raises(InputError, match=r"without 2 of them: 'b', 'd'"):
        predict_file(path, tmp_path / "partial.csv")


def test_npz_inputs_are_read_from_x_then_x_test_then_x_train_then_the_only_array(table_model, tmp_path):
    path, table = table_model
    x = table[["a", "b", "c", "d"]].to_numpy(np.float32)
    expected = cords_tune.load_model(path).predict(x).tolist()
    for arrays, name in (({"x": x, "x_test": x[:3]}, "x"), ({"x_test": x, "y_test": x[:, 0]}, "x_test"),
                         ({"x_train": x, "y_train": x[:, 0]}, "x_train"), ({"inputs": x}, "inputs")):
        np.savez(tmp_path / "d.npz", **arrays)
        predictions = predict_file(path, tmp_path / "d.npz")
        assert predictions.labels.tolist() == expected and predictions.source == f"array {name!r} of d.npz"
    np.savez(tmp_path / "d.npz", x=np.where(x > 2, np.nan, x))
    with pytest.raises(InputError, match=r"DATA '.*d.npz' must hold finite numbers in array 'x'"):
        predict_file(path, tmp_path / "d.npz")
    np.savez(tmp_path / "d.npz", inputs=x, labels=x[:, 0])  # named otherwise: not read as an archive it is not
    with pytest.raises(InputError, match=r"DATA '.*d.npz' must hold the inputs as array 'x' \(or 'x_test', 'x_train', "
                                         r"or its only array\). Got the arrays inputs, labels"):
        predict_file(path, tmp_path / "d.npz")


def test_an_image_folder_is_decoded_at_the_training_size_and_channels(tmp_path):
    root = write_image_folder(tmp_path / "train", per_class=8, pixels=12)
    path, data = _trained(tmp_path, {"name": "image_folder", "params": {"path": str(root), "size": 8,
                                                                        "channels": 1}},
                          {"name": "lenet", "params": {"width": 0.5}})
    model = cords_tune.load_model(path)
    assert model.input_shape == (1, 8, 8) and model.classes_.tolist() == ["cat", "dog", "fox"]
    predictions = predict_file(path, root, batch_size=5)
    assert predictions.paths[:2] == ["cat/000.png", "cat/001.png"] and len(predictions.paths) == 24

    from cords_tune.datasets.image_folder import decode_image

    pixels = np.stack([decode_image(root / p, size=8, channels=1) for p in predictions.paths])
    assert predictions.labels.tolist() == model.predict(pixels).tolist()
    np.savez(tmp_path / "grey.npz", x=pixels[:, 0])  # (N, H, W) bytes: one-channel images, as the npz dataset reads
    assert predict_file(path, tmp_path / "grey.npz").labels.tolist() == predictions.labels.tolist()
    written = pd.read_csv(write_predictions(predictions, tmp_path / "images.csv"))
    assert written.columns.tolist() == ["path", "prediction"] and written["prediction"].tolist() == \
        predictions.labels.tolist()


def test_inputs_that_do_not_fit_the_model_are_input_errors(table_model, tmp_path):
    path, table = table_model
    with pytest.raises(InputError, match="folder of images, but the model was trained on inputs of shape \\(4,\\)"):
        predict_file(path, write_image_folder(tmp_path / "img", per_class=1))
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(InputError, match="Got '.*notes.txt', a .txt file"):
        predict_file(path, tmp_path / "notes.txt")
    with pytest.raises(InputError, match="MODEL must be a model.pt that cords-tune saved. Got .*torch cannot read"):
        predict_file(tmp_path / "notes.txt", tmp_path / "notes.txt")
    with pytest.raises(InputError, match="does not exist"):
        predict_file(path, tmp_path / "missing.csv")
    with pytest.raises(InputError, match=r"must end in one of .csv, .parquet, .pq.*Got 'out.json'"):
        write_predictions(predict_file(path, _csv(table, tmp_path)), "out.json")
    assert default_output("some/where/new.csv") == Path("new-predictions.csv")


def _csv(table: pd.DataFrame, folder: Path) -> Path:
    table.to_csv(folder / "t.csv", index=False)
    return folder / "t.csv"


def test_the_command_writes_the_users_labels_and_refuses_mistakes_in_one_line(table_model, tmp_path):
    path, table = table_model
    data = _csv(table, tmp_path)
    result = cli("predict", str(path), str(data), cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    written = tmp_path / "t-predictions.csv"
    assert f"60 predictions (60 rows of t.csv) written to {written}" in " ".join(result.stdout.split())
    expected = cords_tune.load_model(path).predict(table.drop(columns="kind"))
    assert pd.read_csv(written)["prediction"].tolist() == expected.tolist()

    for args, message in (((str(path), str(tmp_path / "nope.csv")), "DATA must be"),
                          ((str(tmp_path / "nope.pt"), str(data)), "MODEL must be"),
                          ((str(data), str(data)), "MODEL must be a model.pt"),
                          ((str(path), str(data), "-o", str(tmp_path / "out.txt")), "the output must end in")):
        result = cli("predict", *args, cwd=tmp_path, timeout=120)
        assert result.returncode == 2 and message in result.stderr, result.stderr
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
