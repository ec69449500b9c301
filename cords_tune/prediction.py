"""Predictions of a saved model for a file of the user's data: ``cords-tune predict MODEL DATA`` and
``cords_tune.predict(model, data)``.

    import cords_tune

    labels = cords_tune.predict("results/wine-20261207-101500/model.pt", "new_wines.csv")
    cords_tune.predict(model, "photos/", output="photos-predictions.parquet")   # also writes a file

``data`` is one of:

- a table (``.csv``, ``.parquet``, ``.pq``): its columns are matched by name to the model's feature names,
  so their order does not matter and other columns (the label's, an id) are ignored; for a model trained on
  other data than a table, every column is an input, in the table's order;
- an ``.npz`` archive (``np.savez``): its array ``x``, else ``x_test``, else ``x_train``, else its only array,
  converted as the ``npz`` dataset converts its inputs (``uint8`` (N, H, W) are one-channel images);
- a folder of images (sub-folders are searched too, so class folders may stay; their names are not read):
  every image is decoded as the ``image_folder`` dataset decodes its images, resized to the model's training
  size and converted to its channels, for a model trained on ``uint8`` images of shape (C, S, S);
- from Python also the inputs themselves: a NumPy array, a torch tensor or a pandas DataFrame.

Predictions are the user's own labels (``FinalModel.classes_``). They are written as CSV or Parquet, by the
output's suffix: one row per input in the order read, the column ``prediction``, and for images the column
``path`` (the image's path relative to the folder) before it.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cords_tune.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from cords_tune.final_model import FinalModel

__all__ = ["Predictions", "predict", "predict_file", "write_predictions", "default_output", "OUTPUT_FORMATS"]

OUTPUT_FORMATS = {".csv": "CSV", ".parquet": "Parquet", ".pq": "Parquet"}
_TABLES = (".csv", ".parquet", ".pq")
_NPZ_ARRAYS = ("x", "x_test", "x_train")  # read in this order (the npz dataset's names); else its only array
_IMAGE_BATCH = 256  # images decoded at a time

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Predictions:
    """What ``predict_file`` returns.

    Attributes:
        labels: the predicted label of each input (N,), in the user's labels.
        source: what was read, for messages (e.g. ``"array 'x_test' of data.npz"``).
        paths: the image files, relative to the folder, for a folder of images; else ``None``.
    """

    labels: np.ndarray
    source: str
    paths: list[str] | None = None

    def table(self) -> pd.DataFrame:
        """The predictions as written: ``path`` (images only) and ``prediction``."""
        import pandas as pd

        columns: dict[str, Any] = {} if self.paths is None else {"path": self.paths}
        return pd.DataFrame({**columns, "prediction": self.labels})


def predict(
    model: str | Path | FinalModel,
    data: Any,
    *,
    output: str | Path | None = None,
    device: str = "cpu",
    batch_size: int = 1024,
    on_progress: Progress | None = None,
) -> np.ndarray:
    """The predicted labels of ``data`` by a saved model, as ``cords-tune predict`` makes them.

    Args:
        model: a ``model.pt`` path or a loaded ``FinalModel`` (for a network given from Python, load it with
            ``load_model(path, model=factory)`` and pass that).
        data: a table, ``.npz`` or image folder path (the module says how each is read), or the inputs
            themselves (array, tensor, DataFrame).
        output: also write the predictions there (``.csv``, ``.parquet`` or ``.pq``).
        device: where a model given as a path is loaded and run.
        batch_size: inputs per forward pass.
        on_progress: called with ``(done, total)`` inputs as batches finish.

    Returns:
        The predicted labels (N,), of the type of the training labels.

    Raises:
        InputError: a path that names nothing readable, a file that is no model, inputs that do not fit the
            model (shape, columns, type), an output of an unknown format.
    """
    loaded = _model(model, device)
    if isinstance(data, (str, Path)):
        predictions = predict_file(loaded, data, batch_size=batch_size, on_progress=on_progress)
    else:
        predictions = Predictions(loaded.predict(data, batch_size=batch_size, on_progress=on_progress), "inputs")
    if output is not None:
        write_predictions(predictions, output)
    return predictions.labels


def predict_file(
    model: str | Path | FinalModel, data: str | Path, *, batch_size: int = 1024, on_progress: Progress | None = None
) -> Predictions:
    """The predictions of ``model`` for the file or folder ``data`` (the module says how each is read)."""
    loaded = _model(model, "cpu")
    path = _existing(data, "DATA", "a .csv, .parquet, .pq or .npz file, or a folder of images")
    if path.is_dir():
        return _predict_images(loaded, path, batch_size, on_progress)
    suffix = path.suffix.lower()
    if suffix in _TABLES:
        from cords_tune.datasets.tabular import read_table

        table = read_table(_DataFile(path, str(data)))
        labels = loaded.predict(table, batch_size=batch_size, on_progress=on_progress)
        return Predictions(labels, f"{len(table)} rows of {path.name}")
    if suffix == ".npz":
        name, x = _npz_inputs(path, str(data))
        return Predictions(loaded.predict(x, batch_size=batch_size, on_progress=on_progress),
                           f"array {name!r} of {path.name}")
    raise InputError(f"DATA must be a .csv, .parquet, .pq or .npz file, or a folder of images. Got {str(data)!r}, "
                     f"a {suffix or 'suffix-less'} file, instead")


def default_output(data: str | Path) -> Path:
    """Where ``cords-tune predict`` writes without ``--output``: ``<data name>-predictions.csv`` in the
    current directory."""
    return Path(f"{Path(data).expanduser().absolute().stem or 'data'}-predictions.csv")


def write_predictions(predictions: Predictions, output: str | Path) -> Path:
    """Write ``predictions`` to ``output`` (CSV or Parquet by its suffix) atomically; returns its absolute path.

    Raises:
        InputError: an unknown suffix, or a folder that does not exist or cannot be written.
    """
    from cords_tune.atomic import write_atomically

    path = Path(output).expanduser().absolute()
    kind = OUTPUT_FORMATS.get(path.suffix.lower())
    if kind is None:
        raise InputError(f"the output must end in one of {', '.join(OUTPUT_FORMATS)} (the format is read from the "
                         f"suffix). Got {str(output)!r} instead")
    if not path.parent.is_dir():
        raise InputError(f"the output's folder must exist. Got {str(output)!r}, whose folder {path.parent} does not")
    table = predictions.table()
    try:
        write_atomically(path, lambda tmp: table.to_csv(tmp, index=False) if kind == "CSV"
                         else table.to_parquet(tmp, index=False))
    except OSError as error:
        raise InputError(f"the predictions cannot be written to {str(output)!r} ({error.strerror or error})") from None
    return path


# ---------------------------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class _DataFile:
    """A data file as ``read_table`` reads it (``path``, ``error``): its mistakes are ``InputError``s."""

    path: Path
    given: str
    dataset: str = "predict"

    def error(self, message: str) -> InputError:
        return InputError(f"DATA {self.given!r} {message}")


def _model(model: str | Path | FinalModel, device: str) -> FinalModel:
    from cords_tune.final_model import FinalModel

    if isinstance(model, FinalModel):
        return model
    path = _existing(model, "MODEL", "a model.pt that cords-tune saved")
    if path.is_dir():
        raise InputError(f"MODEL must be a model.pt file, not a folder. Got {str(model)!r}; the file is in it: "
                         f"{Path(model) / 'model.pt'}")
    try:
        return FinalModel.load(path, device=device)
    except ValueError as error:
        raise InputError(f"MODEL {error}") from None
    except Exception as error:  # noqa: BLE001 - torch.load's many ways to refuse a file that is not a model
        raise InputError(f"MODEL must be a model.pt that cords-tune saved. Got {str(model)!r}, which torch cannot "
                         f"read as one ({type(error).__name__})") from None


def _existing(value: str | Path, what: str, expected: str) -> Path:
    path = Path(value).expanduser().absolute()
    if not path.exists():
        raise InputError(f"{what} must be {expected}. Got {str(value)!r}, which does not exist ({path})")
    return path


def _npz_inputs(path: Path, given: str) -> tuple[str, np.ndarray]:
    """The name and the inputs of the archive's array ``x``, else ``x_test``, else ``x_train``, else its only
    array."""
    source = _DataFile(path, given)
    try:
        with np.load(path, allow_pickle=False) as archive:
            if not isinstance(archive, np.lib.npyio.NpzFile):
                raise source.error("must be an .npz archive of named arrays (np.savez(path, x=inputs)). Got a "
                                   "single .npy array")
            names = list(archive.files)
            name = next((n for n in _NPZ_ARRAYS if n in names), names[0] if len(names) == 1 else None)
            if name is None:
                raise source.error(f"must hold the inputs as array 'x' (or 'x_test', 'x_train', or its only "
                                   f"array). Got the arrays {', '.join(names) or 'none'}. Save them with np.savez(path, x=inputs)")
            x = archive[name]
    except InputError:  # what the archive holds, said above (an InputError is a ValueError too)
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise source.error(f"cannot be read as an .npz archive ({type(error).__name__}: {error})") from None
    from cords_tune.datasets.npz import checked_inputs

    return name, checked_inputs(x, source, f"array {name!r}")  # as the npz dataset takes them


def _predict_images(model: FinalModel, folder: Path, batch_size: int, on_progress: Progress | None) -> Predictions:
    """Decode the images under ``folder`` as training decoded them and predict them, a batch at a time."""
    from cords_tune.datasets.image_folder import IMAGE_SUFFIXES, decode_image, images_in

    shape = model.input_shape
    if not (model.input_dtype == "uint8" and len(shape) == 3 and shape[0] in (1, 3) and shape[1] == shape[2]):
        raise InputError(f"DATA is a folder of images, but the model was trained on inputs of shape {shape} "
                         f"({model.input_dtype}), not square uint8 images. Give a table or an .npz file")
    files = images_in(folder)
    if not files:
        raise InputError(f"DATA {str(folder)!r} must hold images (files ending in {', '.join(IMAGE_SUFFIXES)}). "
                         "Got none")
    channels, size = shape[0], shape[1]
    labels = []
    step = min(batch_size, _IMAGE_BATCH)
    for start in range(0, len(files), step):
        chunk = files[start : start + step]
        x = np.stack([_decode(decode_image, file, size, channels) for file in chunk])
        labels.append(model.predict(x, batch_size=batch_size))
        if on_progress is not None:
            on_progress(start + len(chunk), len(files))
    paths = [file.relative_to(folder).as_posix() for file in files]
    return Predictions(np.concatenate(labels), f"{len(files)} images in {folder.name}, as {size}x{size} with "
                       f"{channels} channel(s)", paths)


def _decode(decode: Any, file: Path, size: int, channels: int) -> np.ndarray:
    from PIL import Image

    try:
        return decode(file, size=size, channels=channels)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:  # what Pillow raises
        raise InputError(f"DATA holds {str(file)!r}, which Pillow cannot decode ({type(error).__name__}: {error}). "
                         "Remove or replace it") from None
