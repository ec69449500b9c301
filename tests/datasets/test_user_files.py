"""The datasets that read the user's own files: ``npz``, ``csv`` (and Parquet), ``image_folder``.

Every test writes its own small files under ``tmp_path``; nothing starts Ray or trains.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from file_samples import sample_features, write_image_folder, write_png, write_sample_files

from cords_tune.config import parse_config
from cords_tune.datasets import DATASETS, DataBundle, load_dataset
from cords_tune.datasets import image_folder as image_folder_module
from cords_tune.errors import ConfigError
from cords_tune.preflight import load_and_check


def load(name: str, tmp_path: Path, seed: int = 0, **params: Any) -> DataBundle:
    return load_dataset(name, data_dir=tmp_path / "cache", seed=seed, val_fraction=0.1, params=params)


def refused(name: str, tmp_path: Path, match: str, at: str = "dataset.params.path", **params: Any) -> ConfigError:
    """The ConfigError that loading ``name`` with ``params`` raises, checked against ``match`` and its path ``at``."""
    with pytest.raises(ConfigError, match=match) as info:
        load(name, tmp_path, **params)
    assert info.value.path == at
    return info.value


def all_inputs(bundle: DataBundle) -> np.ndarray:
    return np.concatenate([bundle.x_train, bundle.x_val, bundle.x_test])


# --- npz -------------------------------------------------------------------------------------------------------


def test_npz_without_test_arrays_draws_a_seeded_stratified_test_split(tmp_path: Path) -> None:
    x, y = sample_features()
    np.savez(tmp_path / "d.npz", x_train=x, y_train=y)
    a, b = load("npz", tmp_path, path=str(tmp_path / "d.npz")), load("npz", tmp_path, path=str(tmp_path / "d.npz"))
    c = load("npz", tmp_path, seed=1, path=str(tmp_path / "d.npz"))
    quarter = load("npz", tmp_path, path=str(tmp_path / "d.npz"), test_fraction=0.25)
    assert a.x_train.dtype == np.float32 and a.input_shape == (4,) and a.num_classes == 3
    assert len(a.y_test) == 12 and np.bincount(a.y_test).tolist() == [4, 4, 4]  # 0.2 of 60, stratified
    assert len(quarter.y_test) == 15
    assert len(a.y_train) + len(a.y_val) + len(a.y_test) == 60
    np.testing.assert_array_equal(a.x_test, b.x_test)
    assert not np.array_equal(a.x_test, c.x_test)
    assert a.augmentations == ()
    assert sorted(all_inputs(a)[:, 0].tolist()) == sorted(x[:, 0].astype(np.float32).tolist())


def test_float_features_are_standardized_with_their_training_statistics_unless_asked_not_to(tmp_path: Path) -> None:
    x, y = sample_features()
    x = x * np.array([1.0, 100.0, 1e4, 0.01]) + np.array([0.0, -50.0, 3e3, 7.0])  # scales a network chokes on
    np.savez(tmp_path / "d.npz", x_train=x, y_train=y)
    scaled = load("npz", tmp_path, path=str(tmp_path / "d.npz"))
    raw = DATASETS.build("npz", data_dir=tmp_path, seed=0, path=str(tmp_path / "d.npz"))
    np.testing.assert_allclose(scaled.mean, raw.x_train.astype(np.float64).mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(scaled.std, raw.x_train.astype(np.float64).std(axis=0), rtol=1e-5)
    from cords_tune.training.device_data import DeviceSplit

    split = DeviceSplit(raw.x_train, raw.y_train, torch.device("cpu"), mean=scaled.mean, std=scaled.std)
    inputs, _ = split.batch(torch.arange(len(split)))
    np.testing.assert_allclose(inputs.mean(0).numpy(), 0.0, atol=1e-3)
    np.testing.assert_allclose(inputs.std(0, unbiased=False).numpy(), 1.0, atol=1e-3)
    kept = load("npz", tmp_path, path=str(tmp_path / "d.npz"), standardize=False)
    assert kept.mean is None and kept.std is None


def test_npz_test_arrays_are_the_test_split_and_labels_are_mapped_together(tmp_path: Path, caplog) -> None:
    x, y = sample_features()
    names = np.array(["b", "c", "a"])  # class 0 is named "b": sorted, "a" -> 0, "b" -> 1, "c" -> 2
    np.savez(tmp_path / "d.npz", x_train=x, y_train=names[y], x_test=x[:5], y_test=names[y[:5]])
    with caplog.at_level(logging.INFO, logger="cords_tune"):
        bundle = load("npz", tmp_path, path=str(tmp_path / "d.npz"), test_fraction=0.5)  # ignored: test arrays
    np.testing.assert_array_equal(bundle.x_test, x[:5].astype(np.float32))
    np.testing.assert_array_equal(bundle.y_test, [1] * 5)  # y[:5] are class 0, named "b"
    assert len(bundle.y_train) + len(bundle.y_val) == 60
    assert "'a' -> 0, 'b' -> 1, 'c' -> 2" in caplog.text
    assert bundle.classes == ("a", "b", "c") and all(type(c) is str for c in bundle.classes)
    assert bundle.feature_names is None


@pytest.mark.parametrize(
    ("labels", "expected", "logged"),
    [
        ([3, 7, 9], [0, 1, 2], "3 -> 0, 7 -> 1, 9 -> 2"),
        ([0.0, 1.0, 2.0], [0, 1, 2], None),  # integral floats are integers
        ([2, 1, 0], [2, 1, 0], None),  # already 0..C-1: kept
        ([-1, 0, 1], [0, 1, 2], "-1 -> 0"),
    ],
)
def test_npz_labels_become_class_indices_and_are_kept(tmp_path: Path, caplog, labels, expected, logged) -> None:
    x, y = sample_features()
    np.savez(tmp_path / "d.npz", x_train=x, y_train=np.asarray(labels)[y], x_test=x[:3], y_test=np.asarray(labels))
    with caplog.at_level(logging.INFO, logger="cords_tune"):
        bundle = load("npz", tmp_path, path=str(tmp_path / "d.npz"))
    np.testing.assert_array_equal(bundle.y_test, expected)
    assert bundle.y_test.dtype == np.int64 and bundle.num_classes == 3
    assert (logged in caplog.text) if logged else "mapped" not in caplog.text
    assert bundle.classes == tuple(sorted(int(v) for v in labels)) and all(type(c) is int for c in bundle.classes)


def test_boolean_labels_are_kept_as_booleans(tmp_path: Path) -> None:
    x, y = sample_features()
    keep = y < 2
    np.savez(tmp_path / "d.npz", x_train=x[keep], y_train=y[keep] == 1)
    bundle = load("npz", tmp_path, path=str(tmp_path / "d.npz"))
    assert bundle.classes == (False, True) and all(type(c) is bool for c in bundle.classes)


def test_npz_uint8_images_stay_uint8_with_their_pixel_statistics(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    _, y = sample_features()
    rgb = rng.integers(0, 256, size=(60, 3, 6, 6), dtype=np.uint8)
    grey = rng.integers(0, 256, size=(60, 5, 5), dtype=np.uint8)
    np.savez(tmp_path / "rgb.npz", x_train=rgb, y_train=y)
    np.savez(tmp_path / "grey.npz", x_train=grey, y_train=y)
    a = load("npz", tmp_path, path=str(tmp_path / "rgb.npz"))
    b = load("npz", tmp_path, path=str(tmp_path / "grey.npz"))
    assert a.x_train.dtype == np.uint8 and a.input_shape == (3, 6, 6)
    assert b.x_train.dtype == np.uint8 and b.input_shape == (1, 5, 5)
    assert len(a.mean) == len(a.std) == 3 and len(b.mean) == 1
    raw = load_dataset("npz", data_dir=tmp_path, val_fraction=0.0001, params={"path": str(tmp_path / "rgb.npz")})
    pixels = raw.x_train.astype(np.float64) / 255
    np.testing.assert_allclose(raw.mean, pixels.mean(axis=(0, 2, 3)), atol=1e-9)
    np.testing.assert_allclose(raw.std, pixels.std(axis=(0, 2, 3)), atol=1e-9)


def test_npz_relative_path_is_read_from_the_current_directory(tmp_path: Path, monkeypatch) -> None:
    x, y = sample_features()
    (tmp_path / "sub").mkdir()
    np.savez(tmp_path / "sub" / "d.npz", x_train=x, y_train=y)
    monkeypatch.chdir(tmp_path)
    assert load("npz", tmp_path, path="sub/d.npz").num_classes == 3
    error = refused("npz", tmp_path, r"Got 'd\.npz' instead: .*d\.npz does not exist", path="d.npz")
    assert str(tmp_path / "d.npz") in str(error) and f"current directory ({tmp_path})" in str(error)


def _npz(tmp_path: Path, **arrays: Any) -> str:
    np.savez(tmp_path / "bad.npz", **arrays)
    return str(tmp_path / "bad.npz")


X, Y = sample_features()


@pytest.mark.parametrize(
    ("arrays", "match"),
    [
        ({"x": X, "y": Y}, r"must hold the arrays x_train and y_train. Got no x_train or y_train. It holds: x, y"),
        ({"x_train": X, "labels": Y}, r"Got no y_train. It holds: x_train, labels"),
        ({"x_train": X, "y_train": Y, "x_test": X}, r"both x_test and y_test or neither. Got x_test but no y_test"),
        ({"x_train": X, "y_train": Y[:-1]}, r"one label per sample. Got x_train of 60 samples and y_train of shape "
                                            r"\(59,\)"),
        ({"x_train": X, "y_train": Y[:, None]}, r"one label per sample.*shape \(60, 1\)"),
        ({"x_train": X, "y_train": Y, "x_test": X[:4, :3], "y_test": Y[:4]},
         r"test inputs like its training inputs. Got x_test of shape \(3,\)"),
        ({"x_train": X, "y_train": Y + 0.5}, r"non-integral numbers \(0\.5, 1\.5, 2\.5\)"),
        ({"x_train": X, "y_train": np.where(Y == 0, np.nan, Y)}, r"finite labels .* Got 20 NaN"),
        ({"x_train": X, "y_train": np.zeros(60)}, r"at least 2 classes. Got 1 class \(all 0\)"),
        ({"x_train": X, "y_train": Y, "x_test": X[:2], "y_test": [0, 5]},
         r"also occur in the training data .* Got 1 other value\(s\) instead: 5"),
        ({"x_train": np.where(X > 2, np.inf, X), "y_train": Y}, r"finite numbers in x_train"),
        ({"x_train": X[:, 0], "y_train": Y}, r"shape \(N, features...\). Got shape \(60,\).*reshape\(-1, 1\)"),
        ({"x_train": np.array(["a"] * 60), "y_train": Y}, r"numbers in x_train. Got an array of type <U1"),
        ({"x_train": X, "y_train": np.array(Y, dtype=object)}, r"must hold plain arrays. Got 'y_train'"),
        ({"x_train": X[[0, 1, 20, 40, 41]], "y_train": Y[[0, 1, 20, 40, 41]]},
         r"at least 2 samples of every class to draw a test split .* Got 1 sample\(s\) of class 1"),
    ],
    ids=["no-keys", "no-y_train", "x_test-alone", "length", "labels-2d", "test-shape", "fractional-labels",
         "nan-labels", "one-class", "unknown-test-label", "inf-input", "1d-input", "text-input", "object-labels",
         "singleton-class"],
)
def test_npz_mistakes_are_config_errors_at_the_path(tmp_path: Path, arrays: dict, match: str) -> None:
    error = refused("npz", tmp_path, match, path=_npz(tmp_path, **arrays))
    assert str(tmp_path / "bad.npz") in str(error)


def test_npz_path_mistakes(tmp_path: Path) -> None:
    refused("npz", tmp_path, r"must be the path of an \.npz file.*it has no default. Set dataset\.params\.path")
    refused("npz", tmp_path, r"Got 3 instead", path=3)
    refused("npz", tmp_path, r"not a directory. Got .* is a directory", path=str(tmp_path))
    (tmp_path / "text.npz").write_text("not an archive")
    refused("npz", tmp_path, r"cannot be read as an \.npz archive \(it is not one\)", path=str(tmp_path / "text.npz"))
    np.save(tmp_path / "one.npy", X)
    refused("npz", tmp_path, r"single array \(\.npy format\)", path=str(tmp_path / "one.npy"))
    error = refused("npz", tmp_path, r"'test_fraction' parameter of dataset 'npz' must be a number in \(0, 1\)",
                    at="dataset.params.test_fraction", test_fraction=1.0)
    assert "Got 1.0" in str(error)


def test_npz_unreadable_file_is_a_config_error(tmp_path: Path, monkeypatch) -> None:
    path = _npz(tmp_path, x_train=X, y_train=Y)
    monkeypatch.setattr(os, "access", lambda *args, **kwargs: False)  # as for a file of mode 000 (root reads all)
    refused("npz", tmp_path, r"may not be read by this user. Check its permissions", path=path)


# --- csv / parquet -----------------------------------------------------------------------------------------


def _table(labels: np.ndarray | None = None) -> pd.DataFrame:
    x, y = sample_features()
    table = pd.DataFrame(x, columns=["a", "b", "c", "d"])
    table["label"] = np.array(["cat", "dog", "fox"])[y] if labels is None else labels
    return table


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".pq"])
def test_table_features_are_float32_and_labels_are_mapped(tmp_path: Path, suffix: str) -> None:
    table = _table()
    file = tmp_path / f"t{suffix}"
    table.to_csv(file, index=False) if suffix == ".csv" else table.to_parquet(file)
    bundle = load("csv", tmp_path, path=str(file))
    assert bundle.x_train.dtype == np.float32 and bundle.input_shape == (4,) and bundle.num_classes == 3
    assert len(bundle.y_test) == 12
    codes = table["label"].map({"cat": 0, "dog": 1, "fox": 2}).to_numpy()
    expected = {row.tobytes(): code for row, code in zip(table[list("abcd")].to_numpy(np.float32), codes, strict=True)}
    labels = np.concatenate([bundle.y_train, bundle.y_val, bundle.y_test])
    assert [expected[row.tobytes()] for row in all_inputs(bundle)] == labels.tolist()
    assert bundle.classes == ("cat", "dog", "fox") and bundle.feature_names == ("a", "b", "c", "d")


def test_table_label_column_and_test_table(tmp_path: Path) -> None:
    table = _table(labels=sample_features()[1] * 5 + 3).rename(columns={"label": "target"})  # 3, 8, 13
    table.to_csv(tmp_path / "train.csv", index=False)
    table.iloc[:6][["target", "d", "c", "b", "a"]].to_parquet(tmp_path / "test.parquet")  # other column order
    bundle = load("csv", tmp_path, path=str(tmp_path / "train.csv"), label="target",
                  test_path=str(tmp_path / "test.parquet"))
    np.testing.assert_array_equal(bundle.x_test, table.iloc[:6][list("abcd")].to_numpy(np.float32))
    np.testing.assert_array_equal(bundle.y_test, [0] * 6)
    assert len(bundle.y_train) + len(bundle.y_val) == 60
    assert bundle.classes == (3, 8, 13) and bundle.feature_names == ("a", "b", "c", "d")  # the training order


def test_table_test_split_is_seeded(tmp_path: Path) -> None:
    _table().to_csv(tmp_path / "t.csv", index=False)
    a, b, c = (load("csv", tmp_path, seed=s, path=str(tmp_path / "t.csv")) for s in (0, 0, 1))
    np.testing.assert_array_equal(a.x_test, b.x_test)
    assert not np.array_equal(a.x_test, c.x_test)


def test_table_mistakes_are_config_errors_at_the_path(tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    _table().to_csv(good, index=False)
    path = str(good)
    refused("csv", tmp_path, r"'label' parameter .* must name a column of .*good\.csv.* Got 'lable' instead\. "
            r"Did you mean 'label'\? Its columns are: 'a', 'b', 'c', 'd', 'label'",
            at="dataset.params.label", **{"path": path, "label": "lable"})

    _table().assign(city="Paris", day=pd.Timestamp("2024-01-01")).to_csv(tmp_path / "text.csv", index=False)
    refused("csv", tmp_path, r"non-numeric column\(s\) 'city' \(\w+\), 'day' \(\w+\)",
            path=str(tmp_path / "text.csv"))

    holes = _table()
    holes.loc[[1, 2, 3], "b"] = np.nan
    holes.loc[5, "label"] = None
    holes.to_csv(tmp_path / "holes.csv", index=False)
    refused("csv", tmp_path, r"no missing values. Got missing values in column\(s\) 'b' \(3\), 'label' \(1\)",
            path=str(tmp_path / "holes.csv"))

    _table()[["label"]].to_csv(tmp_path / "labels.csv", index=False)
    refused("csv", tmp_path, r"at least one feature column", path=str(tmp_path / "labels.csv"))
    _table().iloc[:0].to_csv(tmp_path / "empty.csv", index=False)
    refused("csv", tmp_path, r"at least one row of data", path=str(tmp_path / "empty.csv"))
    (tmp_path / "t.tsv").write_text("a\tlabel\n")
    refused("csv", tmp_path, r"must end in one of \.csv, \.parquet, \.pq .* Got \.tsv", path=str(tmp_path / "t.tsv"))
    (tmp_path / "broken.parquet").write_bytes(b"not parquet at all")
    refused("csv", tmp_path, r"cannot be read as Parquet", path=str(tmp_path / "broken.parquet"))

    _table().drop(columns="d").assign(e=1.0).to_csv(tmp_path / "other.csv", index=False)
    refused("csv", tmp_path, r"must have the columns of .*good\.csv.* Got missing 'd'; extra 'e' instead",
            at="dataset.params.test_path", **{"path": path, "test_path": str(tmp_path / "other.csv")})
    refused("csv", tmp_path, r"'test_path' parameter .* Got 'absent\.csv' instead: .* does not exist",
            at="dataset.params.test_path", **{"path": path, "test_path": "absent.csv"})
    refused("csv", tmp_path, r"'label' parameter .* must be the name of the label column \(a string\). Got 3",
            at="dataset.params.label", **{"path": path, "label": 3})


# --- image_folder ------------------------------------------------------------------------------------------


def test_images_are_decoded_resized_and_labelled_by_sorted_folder_names(tmp_path: Path) -> None:
    root = write_image_folder(tmp_path / "img", classes=("zebra", "ant", "moth"), per_class=10, pixels=20)
    bundle = load("image_folder", tmp_path, path=str(root), size=16)
    assert bundle.x_train.dtype == np.uint8 and bundle.input_shape == (3, 16, 16) and bundle.num_classes == 3
    assert len(bundle.y_train) + len(bundle.y_val) + len(bundle.y_test) == 30 and len(bundle.y_test) == 6
    assert bundle.augmentations == ("crop", "flip") and len(bundle.mean) == 3
    # write_image_folder makes the k-th class given brighter: zebra < ant < moth; sorted: ant 0, moth 1, zebra 2
    labels = np.concatenate([bundle.y_train, bundle.y_val, bundle.y_test])
    brightness = [all_inputs(bundle)[labels == label].mean() for label in range(3)]
    assert brightness[2] < brightness[0] < brightness[1]
    assert bundle.classes == ("ant", "moth", "zebra") and bundle.feature_names is None

    grey = load("image_folder", tmp_path, path=str(root), size=8, channels=1)
    assert grey.input_shape == (1, 8, 8) and grey.augmentations == () and len(grey.mean) == 1


def test_image_test_folder_is_the_test_split(tmp_path: Path) -> None:
    train = write_image_folder(tmp_path / "train", per_class=6)
    test = write_image_folder(tmp_path / "test", per_class=2, seed=1)
    bundle = load("image_folder", tmp_path, path=str(train), test_path=str(test), size=10)
    assert len(bundle.y_test) == 6 and bundle.y_test.tolist() == [0, 0, 1, 1, 2, 2]
    assert len(bundle.y_train) + len(bundle.y_val) == 18


def test_decoded_images_are_cached_until_an_image_changes(tmp_path: Path, monkeypatch) -> None:
    root = write_image_folder(tmp_path / "img", per_class=4)
    first = load("image_folder", tmp_path, path=str(root), size=8)
    assert len(list((tmp_path / "cache" / "image_folder").glob("*.npz"))) == 1

    def fail(*args: Any, **kwargs: Any) -> np.ndarray:
        raise AssertionError("decoded again although the cache is up to date")

    monkeypatch.setattr(image_folder_module, "decode_image", fail)
    second = load("image_folder", tmp_path, path=str(root), size=8)
    np.testing.assert_array_equal(first.x_train, second.x_train)
    with pytest.raises(AssertionError, match="decoded again"):  # another size is another cache entry
        load("image_folder", tmp_path, path=str(root), size=9)
    write_png(root / "cat" / "new.png", np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(AssertionError, match="decoded again"):  # a new image invalidates the cache
        load("image_folder", tmp_path, path=str(root), size=8)


def test_a_damaged_cache_is_decoded_again(tmp_path: Path, caplog) -> None:
    root = write_image_folder(tmp_path / "img", per_class=4)
    first = load("image_folder", tmp_path, path=str(root), size=8)
    (cache,) = (tmp_path / "cache" / "image_folder").glob("*.npz")
    cache.write_bytes(b"garbage")
    second = load("image_folder", tmp_path, path=str(root), size=8)
    np.testing.assert_array_equal(first.x_train, second.x_train)
    assert "Ignoring unreadable image cache" in caplog.text


def test_image_folder_mistakes_are_config_errors_at_the_path(tmp_path: Path) -> None:
    loose = tmp_path / "loose"
    write_png(loose / "a.png", np.zeros((4, 4, 3), np.uint8))
    refused("image_folder", tmp_path, r"one folder per class.* Got only 1 image file\(s\) directly in it",
            path=str(loose))
    empty_class = write_image_folder(tmp_path / "empty_class", per_class=2)
    (empty_class / "owl").mkdir()
    (empty_class / "owl" / "notes.txt").write_text("no images here")
    refused("image_folder", tmp_path, r"at least one image in every class folder. Got none in 'owl'",
            path=str(empty_class))
    single = write_image_folder(tmp_path / "single", classes=("cat",), per_class=3)
    refused("image_folder", tmp_path, r"at least 2 classes. Got 1 class \(all 'cat'\)", path=str(single))
    broken = write_image_folder(tmp_path / "broken", per_class=2)
    (broken / "dog" / "bad.jpg").write_bytes(b"not a jpeg")
    refused("image_folder", tmp_path, r"Got '.*broken/dog/bad\.jpg', which cannot be decoded", path=str(broken))
    refused("image_folder", tmp_path, r"not a file. Got .* is a file", path=str(loose / "a.png"))
    write_image_folder(tmp_path / "good", per_class=2)  # cat, dog, fox
    other = write_image_folder(tmp_path / "other", classes=("cat", "dog", "owl"), per_class=2)
    refused("image_folder", tmp_path, r"class folders of .* Got missing \['fox'\]; extra \['owl'\]",
            at="dataset.params.test_path", **{"path": str(empty_class.parent / "good"), "test_path": str(other)})
    refused("image_folder", tmp_path, r"'channels' parameter .* must be one of 1, 3. Got 2",
            at="dataset.params.channels", **{"path": str(other), "channels": 2})
    refused("image_folder", tmp_path, r"'size' parameter .* must be an integer >= 1. Got 0",
            at="dataset.params.size", **{"path": str(other), "size": 0})


# --- an experiment on each ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["npz", "csv", "image_folder"])
def test_an_experiment_on_each_passes_preflight(name: str, tmp_path: Path, tiny_experiment) -> None:
    params = write_sample_files(name, tmp_path / "files")
    tiny_experiment["dataset"].update(name=name, params=params)
    if name == "image_folder":
        params["size"] = 16
        tiny_experiment["model"] = {"name": "lenet", "params": {}}
        tiny_experiment["search"]["space"].pop("model.params.hidden")
    data = load_and_check(parse_config(tiny_experiment))
    assert data.num_classes == 3
    assert data.input_shape == ((3, 16, 16) if name == "image_folder" else (4,))


# --- data given from Python ----------------------------------------------------------------------------------


def test_a_dataframe_given_from_python_keeps_its_feature_names_and_labels(tiny_experiment) -> None:
    from cords_tune.preflight import load_data

    table = _table()
    test = table.iloc[:9][["label", "d", "c", "b", "a"]]  # other order: taken by name
    config = parse_config({**tiny_experiment, "dataset": {"name": "python"}})
    bundle = load_data(config, data=(table[list("abcd")], table["label"], test[["d", "c", "b", "a"]], test["label"]))
    assert bundle.feature_names == ("a", "b", "c", "d") and bundle.classes == ("cat", "dog", "fox")
    np.testing.assert_array_equal(bundle.x_test, table.iloc[:9][list("abcd")].to_numpy(np.float32))
    with pytest.raises(ConfigError, match="columns of x_train in x_test. Got no 'a'"):
        load_data(config, data=(table[list("abcd")], table["label"], test[["d", "c", "b"]], test["label"]))
