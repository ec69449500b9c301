"""``csv``: the user's own table, one sample per row: a ``.csv`` file, or Parquet (``.parquet``, ``.pq``).

One column holds the labels (``label``); every other column is a feature and must be numeric (booleans
count as 0 and 1). Missing values are refused, naming the columns that have them. Features become
``float32`` of shape (N, F) in the table's column order. A second table (``test_path``, same columns in any
order) is the test split; without one, a stratified test split of ``test_fraction`` is drawn with the
experiment seed. Labels are mapped to class indices as ``cords_tune.datasets.files`` describes.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from cords_tune.datasets.registry import DATASETS
from cords_tune.datasets.bundle import TrainTest
from cords_tune.datasets.files import UserPath, encode_labels, resolve_path, split_or_keep
from cords_tune.errors import ConfigError, did_you_mean
from cords_tune.params import ParamCheck

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["csv", "read_table"]

logger = logging.getLogger(__name__)

_NAME = "csv"
_FORMATS = {".csv": "CSV", ".parquet": "Parquet", ".pq": "Parquet"}
_WHAT = "a table of samples (.csv, .parquet or .pq)"
_SHOWN = 10  # columns a message lists at most


@DATASETS.register(_NAME)
def csv(
    *,
    data_dir: Path,
    seed: int,
    path: str | None = None,
    label: str = "label",
    test_path: str | None = None,
    test_fraction: float = 0.2,
    standardize: bool = True,
) -> TrainTest:
    """Your own table (.csv or Parquet): numeric feature columns and a label column.

    Args:
        data_dir: unused (the files are read where they are); part of the loader contract.
        seed: seeds the stratified train/test split when there is no ``test_path``.
        path: the training table (required): ``.csv``, ``.parquet`` or ``.pq``; relative to the current
            directory.
        label: the name of the column that holds the labels.
        test_path: a test table with the same columns, or ``None`` to draw the test split from ``path``.
        test_fraction: share of the rows held out as the test split, in (0, 1); used only without
            ``test_path``.
        standardize: normalise every feature with its training mean and std (on the device and in the
            saved model, so predictions take raw rows); ``False`` feeds the features as they are.

    Returns:
        ``float32`` features (N, F), int64 labels in ``[0, num_classes)``.

    Raises:
        ConfigError: a bad parameter, a missing or unreadable file, a missing label column, non-numeric
            feature columns, missing values, test columns that differ from the training columns, bad labels.
    """
    check = ParamCheck("dataset", _NAME)
    test_fraction = check.number("test_fraction", test_fraction, low=0.0, high=1.0, low_open=True, high_open=True)
    standardize = check.boolean("standardize", standardize)
    if not isinstance(label, str) or not label:
        raise check.error("label", "the name of the label column (a string)", label)
    source = resolve_path(_NAME, "path", path, kind="file", what=_WHAT)
    test_source = None if test_path is None else resolve_path(_NAME, "test_path", test_path, kind="file", what=_WHAT)

    table = read_table(source)
    if label not in table.columns:
        columns = [str(c) for c in table.columns]
        shown = ", ".join(repr(c) for c in columns[:_SHOWN]) + (", ..." if len(columns) > _SHOWN else "")
        raise ConfigError(
            f"The 'label' parameter of dataset {_NAME!r} must name a column of {source}. Got {label!r} instead."
            f"{did_you_mean(label, columns)} Its columns are: {shown}",
            path="dataset.params.label",
        )
    features = [c for c in table.columns if c != label]
    x_train = _features(table, features, label, source)
    y_raw_train = table[label].to_numpy()
    x_test = y_raw_test = None
    if test_source is not None:
        test = read_table(test_source)
        missing = [c for c in table.columns if c not in test.columns]
        extra = [c for c in test.columns if c not in table.columns]
        if missing or extra:
            parts = [f"missing {_names(missing)}" if missing else "", f"extra {_names(extra)}" if extra else ""]
            raise test_source.error(f"must have the columns of {source}. Got {'; '.join(p for p in parts if p)} "
                                    "instead")
        x_test = _features(test, features, label, test_source)
        y_raw_test = test[label].to_numpy()
    y_train, y_test, classes = encode_labels(
        y_raw_train, source, y_raw_test, test_source, what=f"labels (column {label!r})"
    )
    raw = split_or_keep(
        source, x_train, y_train, x_test, y_test, classes=classes, test_fraction=test_fraction, seed=seed,
        standardize=standardize, feature_names=tuple(str(c) for c in features),
    )
    logger.debug("csv: %d train / %d test rows, %d features from %s", len(raw.y_train), len(raw.y_test),
                 x_train.shape[1], source.path)
    return raw


def read_table(source: UserPath) -> pd.DataFrame:
    """The table at ``source``, read with pandas (Parquet through pyarrow), by its suffix.

    Raises:
        ConfigError: an unknown suffix, a file pandas cannot parse, or a table with no rows.
    """
    import pandas as pd  # deferred: importing pandas takes a second

    suffix = source.path.suffix.lower()
    kind = _FORMATS.get(suffix)
    if kind is None:
        raise source.error(f"must end in one of {', '.join(_FORMATS)} (the format is read from the suffix). "
                           f"Got {suffix or 'no suffix'} instead")
    try:
        table = pd.read_csv(source.path) if kind == "CSV" else pd.read_parquet(source.path)
    except (OSError, ValueError, ImportError) as exc:  # pandas' parser errors are ValueErrors, pyarrow's too
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise source.error(f"cannot be read as {kind} ({type(exc).__name__}: {reason})") from None
    if len(table) == 0:
        raise source.error(f"must hold at least one row of data. Got {kind} with columns {_names(table.columns)} "
                           "but no rows")
    return table


def _features(table: pd.DataFrame, features: list, label: str, source: UserPath) -> np.ndarray:
    """The feature columns of ``table`` as a ``float32`` (N, F) array, checked."""
    from pandas.api.types import is_complex_dtype, is_numeric_dtype

    if not features:
        raise source.error(f"must hold at least one feature column besides the label column {label!r}. Got none")
    text = [c for c in features if not is_numeric_dtype(table[c]) or is_complex_dtype(table[c])]
    if text:
        kinds = ", ".join(f"{c!r} ({table[c].dtype})" for c in text[:_SHOWN]) + (", ..." if len(text) > _SHOWN else "")
        raise source.error(
            f"must hold numbers in every column but the label column {label!r}. Got non-numeric column(s) {kinds} "
            "instead. Drop them or encode them as numbers, or set dataset.params.label if one of them is the label"
        )
    counts = table[[*features, label]].isna().sum()
    counts = counts[counts > 0]
    if len(counts):
        shown = ", ".join(f"{c!r} ({int(n)})" for c, n in list(counts.items())[:_SHOWN])
        raise source.error(f"must have no missing values. Got missing values in column(s) {shown} (count in "
                           "brackets). Fill them in or drop those rows")
    x = table[features].to_numpy(dtype=np.float32)
    bad = ~np.isfinite(x)
    if bad.any():
        columns = [features[i] for i in np.flatnonzero(bad.any(axis=0))]
        raise source.error(f"must hold finite numbers. Got infinite values (as float32) in column(s) "
                           f"{_names(columns)}")
    return x


def _names(columns: object) -> str:
    names = [repr(str(c)) for c in columns]  # type: ignore[attr-defined]
    return ", ".join(names[:_SHOWN]) + (", ..." if len(names) > _SHOWN else "")
