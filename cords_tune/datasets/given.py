"""Data given from Python (``cords_tune.run(..., data=...)``) rather than named in the experiment.

The experiment then says ``dataset: {name: python}``; its ``params`` may set ``test_fraction`` and
``standardize`` as for ``npz``. Accepted forms:

- a ``DataBundle``, used as it is (its validation split included);
- ``(x, y)`` or ``(x_train, y_train, x_test, y_test)`` arrays (NumPy, torch tensors, lists, pandas), or a
  mapping with those names; a DataFrame ``x`` gives the saved model its feature names (``x_test`` columns
  are then taken by name);
- a torch ``Dataset`` of ``(input, label)`` pairs, or a pair ``(train_dataset, test_dataset)``: read once into
  arrays.

Arrays are checked and converted exactly as the ``npz`` loader does (``uint8`` images kept as bytes, other
inputs ``float32``, labels mapped to class indices); a mistake is a ``ConfigError`` at ``data``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from cords_tune.datasets.bundle import DataBundle, TrainTest
from cords_tune.errors import ConfigError

__all__ = ["GIVEN", "GivenData", "given_train_test", "check_given_params"]

GIVEN = "python"  # the dataset (and model) name of an experiment whose data (model) is given from Python
_PARAMS = {"test_fraction": 0.2, "standardize": True}
_NAMES = ("x_train", "y_train", "x_test", "y_test")


@dataclass(frozen=True)
class GivenData:
    """The ``ArraySource`` of data given from Python."""

    dataset: str = GIVEN

    def error(self, message: str) -> ConfigError:
        return ConfigError(f"the data given from Python {message}", path="data")


def check_given_params(params: Mapping[str, Any]) -> None:
    from cords_tune.errors import did_you_mean

    for key in params:
        if key not in _PARAMS:
            raise ConfigError(f"dataset 'python' (data given from Python) has no parameter {key!r}."
                              f"{did_you_mean(key, _PARAMS)} Its parameters are: {', '.join(_PARAMS)}.",
                              path=f"dataset.params.{key}")


def given_train_test(data: Any, *, seed: int, params: Mapping[str, Any]) -> TrainTest:
    """The train and test splits of ``data`` (any form the module lists but a ``DataBundle``)."""
    from cords_tune.datasets.npz import train_test_from_arrays
    from cords_tune.params import ParamCheck

    check_given_params(params)
    check = ParamCheck("dataset", GIVEN)
    options = {**_PARAMS, **params}
    test_fraction = check.number("test_fraction", options["test_fraction"], low=0.0, high=1.0, low_open=True,
                                 high_open=True)
    standardize = check.boolean("standardize", options["standardize"])
    names = _columns(data)
    return train_test_from_arrays(_arrays(data, names), GivenData(), seed=seed, test_fraction=test_fraction,
                                  standardize=standardize, feature_names=names)


def _columns(data: Any) -> tuple[str, ...] | None:
    """The column names of ``x_train`` where it is a pandas DataFrame (the saved model then matches its inputs
    by name), else ``None``."""
    if isinstance(data, Mapping):
        x = data.get("x_train")
    elif isinstance(data, (tuple, list)) and len(data) in (2, 4):
        x = data[0]
    else:
        return None
    return tuple(str(c) for c in x.columns) if _is_frame(x) else None


def _is_frame(value: Any) -> bool:
    return hasattr(value, "columns") and hasattr(value, "to_numpy")


def _arrays(data: Any, names: tuple[str, ...] | None = None) -> dict[str, np.ndarray]:
    if isinstance(data, DataBundle):
        raise TypeError("a DataBundle is used as it is")  # the caller takes it before converting
    if isinstance(data, Mapping):
        missing = [name for name in _NAMES[:2] if name not in data]
        unknown = [str(name) for name in data if name not in _NAMES]
        if missing or unknown or (("x_test" in data) != ("y_test" in data)):
            raise GivenData().error(f"must be a mapping with x_train and y_train, and optionally x_test and y_test. "
                                    f"Got the keys {', '.join(map(str, data)) or 'none'}")
        return {name: _array(value, name, names) for name, value in data.items()}
    if _is_dataset(data):
        return _from_datasets(data, None)
    if isinstance(data, (tuple, list)) and len(data) == 2 and all(_is_dataset(d) for d in data):
        return _from_datasets(*data)
    if isinstance(data, (tuple, list)) and len(data) in (2, 4):
        return {name: _array(value, name, names) for name, value in zip(_NAMES, data)}
    raise GivenData().error(
        "must be a DataBundle, (x, y) or (x_train, y_train, x_test, y_test) arrays, a mapping of those names, or a "
        f"torch Dataset of (input, label) pairs (or a (train, test) pair of them). Got {type(data).__name__}"
    )


def _array(value: Any, name: str, columns: tuple[str, ...] | None = None) -> np.ndarray:
    if name == "x_test" and columns is not None and _is_frame(value):  # test columns taken by name, as x_train's
        missing = [c for c in columns if c not in {str(k) for k in value.columns}]
        if missing:
            shown = ", ".join(map(repr, missing))
            raise GivenData().error(f"must have the columns of x_train in x_test. Got no {shown}")
        value = value.rename(columns=str)[list(columns)]
    if hasattr(value, "detach"):  # a torch tensor, possibly on a GPU
        value = value.detach().cpu().numpy()
    try:
        return np.asarray(value)
    except (ValueError, TypeError) as error:
        raise GivenData().error(f"must hold arrays; {name} cannot be made one ({error})") from None


def _is_dataset(value: Any) -> bool:
    try:
        from torch.utils.data import Dataset
    except ImportError:  # pragma: no cover - torch is a dependency
        return False
    return isinstance(value, Dataset)


def _from_datasets(train: Any, test: Any | None) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {}
    for split, dataset in (("train", train), ("test", test)):
        if dataset is None:
            continue
        inputs, labels = [], []
        for i in range(len(dataset)):
            item = dataset[i]
            if not (isinstance(item, (tuple, list)) and len(item) >= 2):
                raise GivenData().error(f"must give (input, label) pairs from its {split} Dataset. Got item {i}: "
                                        f"{type(item).__name__}")
            inputs.append(_array(item[0], f"x_{split}"))
            labels.append(_array(item[1], f"y_{split}"))
        if not inputs:
            raise GivenData().error(f"must hold samples. Its {split} Dataset is empty")
        shapes = sorted({x.shape for x in inputs}, key=str)
        if len(shapes) > 1:
            raise GivenData().error(f"must give inputs of one shape from its {split} Dataset. Got shapes "
                                    f"{', '.join(map(str, shapes[:5]))}: resize them in the Dataset's transform")
        if any(label.size != 1 for label in labels):
            raise GivenData().error(f"must give one class label per sample from its {split} Dataset. Got labels of "
                                    f"shape {labels[0].shape} (one-hot? give the class index)")
        arrays[f"x_{split}"] = np.stack(inputs)
        arrays[f"y_{split}"] = np.asarray([label.reshape(()) for label in labels])
    return arrays
