"""The saved final model: its weights and everything needed to rebuild it and feed it raw inputs.

A run saves the best configuration retrained on the full data as ``<run_dir>/model.pt`` (and, with a
baseline, the best full-data trial's model as ``<run_dir>/baseline/model.pt``); ``cords-tune train`` saves
its model the same way. One call loads it for prediction::

    import cords_tune

    model = cords_tune.load_model("results/mnist1d-quickstart-20261122-001952/model.pt")
    labels = model.predict(x_test)           # raw inputs as the dataset gives them (NumPy, torch, pandas)
    probabilities = model.predict_proba(x_test)   # columns in the order of model.classes_
    module = model.module                    # the torch nn.Module, in eval mode

Predictions are the user's own labels (``classes_``: ``{3, 7, 11}`` stay 3, 7 and 11, strings stay strings,
image class folders are their names), as the dataset loader found them. A model trained on a table keeps its
feature names: a pandas DataFrame is matched to them by column name (other columns, such as the label, are
ignored). Float inputs far outside the range of the training inputs (e.g. 0-255 images for a model trained on
``uint8`` images, which it scales to [0, 1]) give an ``InputRangeWarning``. A file saved before labels were
kept loads with labels ``0 .. n-1`` (a warning says so).

Inputs go through the pipeline training used (``cords_tune.training.device_data.scale_inputs``): ``uint8``
images are scaled to [0, 1], then normalised per channel with the dataset's ``mean`` / ``std`` when it has
them; float inputs are taken as they are (already in [0, 1] for image datasets). The file holds tensors and
plain Python values only, so it loads with ``torch.load(..., weights_only=True)``.

The compressed variants of ``final.compress`` (``<run_dir>/compressed/*.pt``) are files of the same kind and
load with the same call. An int8 variant names its recipe (``compressed``: ``"dynamic_int8"`` or
``"static_int8"``): loading rebuilds the float model, quantizes it the same way (``cords_tune.quantization``)
and loads the int8 weights into it. Pickling the quantized module whole would need ``weights_only=False``,
which runs code from the file; TorchScript would tie the file to a deprecated exporter.
"""

from __future__ import annotations

import collections
import functools
import logging
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from cords_tune.atomic import write_atomically
from cords_tune.errors import InputError

if TYPE_CHECKING:
    from cords_tune.config import ExperimentConfig
    from cords_tune.datasets import DataBundle
    from cords_tune.models.given import GivenModel

__all__ = ["FinalModel", "load_model", "MODEL_FILE", "InputRangeWarning"]

logger = logging.getLogger(__name__)

MODEL_FILE = "model.pt"  # its name in a run directory
_FORMAT = "cords-tune-model"
_VERSION = 2  # 2: int8 variants (``compressed``); plain models are still written as version 1
_SHOWN = 10  # column names a message lists at most


class InputRangeWarning(UserWarning):
    """Float inputs lie far outside the range of the inputs the model was trained on."""


@dataclass(frozen=True, eq=False)
class FinalModel:
    """A trained classifier with what it takes to rebuild it and to prepare its inputs.

    Attributes:
        model_name: registry name of the model (``cords_tune.models.create_model``).
        model_params: the model's parameters as trained (searched values included).
        input_shape: shape of one sample as the dataset gives it, e.g. ``(40,)`` or ``(3, 32, 32)``.
        num_classes: number of classes (the module's outputs); ``predict`` maps output ``i`` to ``classes_[i]``.
        state_dict: the weights, CPU tensors.
        mean, std: per-channel normalisation applied after ``uint8`` inputs are scaled to [0, 1]; ``None``
            when training fed the inputs as they are.
        input_dtype: the dtype of the dataset's inputs (``"uint8"`` for images kept as bytes, else
            ``"float32"``).
        info: provenance, plain values: experiment and dataset names, seed, epochs, test accuracy, the
            experiment as YAML.
        device: where ``module`` lives and predictions are computed.
        compressed: ``None`` for a float model (a pruned variant included); ``"dynamic_int8"`` or
            ``"static_int8"`` for an int8 variant, whose ``state_dict`` is that of the quantized module.
        quantized_engine: the torch quantized engine an int8 variant was made with (e.g. ``"x86"``).
        classes: the user's label of each class index (plain ints, strings or booleans); ``None`` in a file
            saved before labels were kept (then ``0 .. num_classes-1``).
        feature_names: a table's feature columns in the order the module takes them; ``None`` for other data.
        input_range: the smallest and largest training input as the module's pipeline starts from it
            (``uint8`` images: ``(0, 1)``, the range they are scaled to); ``None``: not recorded.
    """

    model_name: str
    model_params: dict[str, Any]
    input_shape: tuple[int, ...]
    num_classes: int
    state_dict: dict[str, torch.Tensor] = field(repr=False)
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    input_dtype: str = "float32"
    info: dict[str, Any] = field(default_factory=dict, repr=False)
    device: str = "cpu"
    compressed: str | None = None
    quantized_engine: str | None = None
    classes: tuple[Any, ...] | None = None
    feature_names: tuple[str, ...] | None = None
    input_range: tuple[float, float] | None = None
    given: GivenModel | None = field(default=None, repr=False)  # the factory of a model given from Python

    @classmethod
    def from_training(
        cls, module: nn.Module, config: ExperimentConfig, data: DataBundle, **info: Any
    ) -> FinalModel:
        """The model ``module`` as trained under ``config`` on ``data``, its weights copied to the CPU;
        ``info`` adds provenance (plain values) to what the config and the data say."""
        state = {name: tensor.detach().to("cpu", copy=True) for name, tensor in module.state_dict().items()}
        return cls(
            model_name=config.model.name,
            model_params=dict(config.model.params),
            input_shape=tuple(int(n) for n in data.input_shape),
            num_classes=int(data.num_classes),
            state_dict=state,
            mean=None if data.mean is None else tuple(float(v) for v in data.mean),
            std=None if data.std is None else tuple(float(v) for v in data.std),
            input_dtype=str(data.x_train.dtype),
            classes=data.class_labels,
            feature_names=data.feature_names,
            input_range=_input_range(data.x_train),
            info={"experiment": config.name, "dataset": data.name, "seed": config.seed, **info,
                  "plugins": list(config.plugins), "config_yaml": config.to_yaml()},
        )

    # ------------------------------------------------------------------------------------------ files

    def save(self, path: str | Path) -> Path:
        """Write the model to ``path`` atomically (a crash leaves the old file or the new one)."""
        path = Path(path)
        payload = {
            "format": _FORMAT,
            "version": _VERSION if self.compressed else 1,
            "model_name": self.model_name,
            "model_params": dict(self.model_params),
            "input_shape": list(self.input_shape),
            "num_classes": self.num_classes,
            "mean": None if self.mean is None else list(self.mean),
            "std": None if self.std is None else list(self.std),
            "input_dtype": self.input_dtype,
            "classes": None if self.classes is None else list(self.classes),
            "feature_names": None if self.feature_names is None else list(self.feature_names),
            "input_range": None if self.input_range is None else list(self.input_range),
            "info": dict(self.info),
            # quantized linear layers keep (weight, bias) tuples and a dtype in their state
            "state_dict": {name: value.detach().cpu() if isinstance(value, torch.Tensor) else value
                           for name, value in self.state_dict.items()},
        }
        if self.compressed:
            payload["compressed"] = self.compressed
            payload["quantized_engine"] = self.quantized_engine
            # quantized layers read their state by its version, which torch keeps beside the dict, not in it
            metadata = getattr(self.state_dict, "_metadata", {})
            payload["state_metadata"] = {prefix: dict(entry) for prefix, entry in metadata.items()}
        write_atomically(path, lambda tmp: torch.save(payload, tmp))
        return path

    @classmethod
    def load(
        cls, path: str | Path, *, device: str | torch.device = "cpu", model: Any = None
    ) -> FinalModel:
        """Read a model saved by ``save`` (``weights_only``: nothing in the file is executed).

        Raises:
            ValueError: the file is not a saved cords-tune model, or of a newer format, or an int8 variant
                asked for on another device than the CPU.
        """
        with warnings.catch_warnings():  # torch's own rebuild of int8 tensors still calls deprecated APIs
            warnings.filterwarnings("ignore", message="TypedStorage is deprecated")
            warnings.filterwarnings("ignore", message=".*quantized tensor creation functions")
            payload = torch.load(Path(path), map_location="cpu", weights_only=True)
        if not isinstance(payload, Mapping) or payload.get("format") != _FORMAT:
            raise ValueError(f"{str(path)!r} is not a model saved by cords-tune (no {_FORMAT!r} format tag)")
        if payload["version"] > _VERSION:
            raise ValueError(f"{str(path)!r} was saved in model format {payload['version']}; this cords-tune "
                             f"reads format {_VERSION} and older. Upgrade cords-tune")
        compressed = payload.get("compressed")
        state_dict = collections.OrderedDict(payload["state_dict"])
        if compressed:
            state_dict._metadata = dict(payload.get("state_metadata", {}))  # type: ignore[attr-defined]
        if compressed and torch.device(device).type != "cpu":
            raise ValueError(f"{str(path)!r} is an int8 variant ({compressed}): torch runs quantized models on the "
                             f"CPU only. Load it with device='cpu' (got {str(device)!r})")
        classes = payload.get("classes")
        if classes is None:
            logger.warning("%s was saved by a cords-tune that did not keep the class labels: it predicts class "
                           "indices 0..%d (your labels in sorted order)", path, int(payload["num_classes"]) - 1)
        return cls(
            model_name=payload["model_name"],
            model_params=dict(payload["model_params"]),
            input_shape=tuple(payload["input_shape"]),
            num_classes=int(payload["num_classes"]),
            state_dict=state_dict,
            mean=None if payload["mean"] is None else tuple(payload["mean"]),
            std=None if payload["std"] is None else tuple(payload["std"]),
            input_dtype=payload["input_dtype"],
            info=dict(payload["info"]),
            device=str(torch.device(device)),
            compressed=compressed,
            quantized_engine=payload.get("quantized_engine"),
            classes=None if classes is None else tuple(classes),
            feature_names=None if payload.get("feature_names") is None else tuple(payload["feature_names"]),
            input_range=None if payload.get("input_range") is None else tuple(payload["input_range"]),
            given=_given(model, payload["model_name"], path),
        )

    # ------------------------------------------------------------------------------------------ prediction

    @property
    def classes_(self) -> np.ndarray:
        """The label of each class index, in the order of ``predict_proba``'s columns (scikit-learn's name)."""
        return np.arange(self.num_classes) if self.classes is None else np.asarray(self.classes)

    @functools.cached_property
    def module(self) -> nn.Module:
        """The torch module with the saved weights, on ``device``, in eval mode (built on first use). A model
        a plugin registered is built after importing the plugins the experiment named."""
        from cords_tune.models import MODELS, build_model
        from cords_tune.plugins import import_plugins

        if self.given is None and self.model_name not in MODELS:
            import_plugins(self.info.get("plugins", []))
        module = build_model(self.model_name, self.model_params, input_shape=self.input_shape,
                             num_classes=self.num_classes, given=self.given)
        if self.compressed:
            from cords_tune.quantization import quantized_like

            module = quantized_like(module.eval(), self.compressed)
        module.load_state_dict(self.state_dict)
        return module.to(self.device).eval()

    @torch.no_grad()
    def logits(
        self, x: Any, *, batch_size: int = 1024, on_progress: Callable[[int, int], None] | None = None
    ) -> torch.Tensor:
        """Logits (N, num_classes) of raw inputs ``x`` of shape (N, *input_shape), as a tensor on ``device``:
        a NumPy array, a torch tensor, or a pandas DataFrame (matched to ``feature_names`` by column name).
        ``on_progress(done, total)`` is called after each batch."""
        from cords_tune.training.device_data import scale_inputs

        inputs = self._as_batch(x)
        module = self.module
        if module.training:  # someone called .train() on it: predictions are made in eval mode
            module.eval()
        mean, std = self._normalisation()
        chunks = []
        for chunk in inputs.split(batch_size):
            chunks.append(module(scale_inputs(chunk.to(self.device), mean, std)))
            if on_progress is not None:
                on_progress(min(len(chunks) * batch_size, len(inputs)), len(inputs))
        return torch.cat(chunks) if chunks else torch.empty(0, self.num_classes, device=self.device)

    def predict(
        self, x: Any, *, batch_size: int = 1024, on_progress: Callable[[int, int], None] | None = None
    ) -> np.ndarray:
        """Predicted labels (N,) of raw inputs ``x`` of shape (N, *input_shape), in the user's own labels
        (``classes_``): an array of their type (integers, strings or booleans)."""
        indices = self.logits(x, batch_size=batch_size, on_progress=on_progress).argmax(1).cpu().numpy()
        return self.classes_[indices]

    def predict_proba(self, x: Any, *, batch_size: int = 1024) -> np.ndarray:
        """Class probabilities (N, num_classes) of raw inputs ``x``, as a float32 array; column ``i`` is the
        probability of ``classes_[i]``."""
        return torch.softmax(self.logits(x, batch_size=batch_size), dim=1).cpu().numpy()

    def _as_batch(self, x: Any) -> torch.Tensor:
        from cords_tune.training.device_data import read_only_tensor

        if not isinstance(x, torch.Tensor):
            x = np.asarray(self._columns(x) if _is_frame(x) else x)
            if x.dtype.kind not in "biuf":
                hint = " (a text column? pass the feature columns only)" if x.dtype.kind in "OUS" else ""
                raise InputError(f"inputs must hold numbers. Got an array of type {x.dtype} instead{hint}")
        inputs = read_only_tensor(np.ascontiguousarray(x) if isinstance(x, np.ndarray) else x)  # no negative strides
        if tuple(inputs.shape[1:]) != self.input_shape or inputs.ndim != len(self.input_shape) + 1:
            raise InputError(
                f"inputs must have shape (N, {', '.join(map(str, self.input_shape))}) (a batch of samples as "
                f"the dataset gives them). Got {tuple(inputs.shape)} instead."
            )
        if inputs.dtype != torch.uint8:
            inputs = inputs.to(torch.float32)
            self._check_range(inputs)
        return inputs

    def _columns(self, frame: Any) -> Any:
        """The feature columns of a pandas DataFrame, by name, in training order (all of them, in their own
        order, for a model that kept no names)."""
        if self.feature_names is None:
            return frame.to_numpy()
        by_name = {str(column): column for column in frame.columns}
        missing = [name for name in self.feature_names if name not in by_name]
        if missing:
            shown = ", ".join(map(repr, missing[:_SHOWN])) + (", ..." if len(missing) > _SHOWN else "")
            raise InputError(f"inputs must have every feature column the model was trained on. Got a DataFrame "
                             f"without {len(missing)} of them: {shown}")
        return frame[[by_name[name] for name in self.feature_names]].to_numpy()

    def _check_range(self, inputs: torch.Tensor) -> None:
        """Warn when float inputs lie far (a training range's width) outside the training inputs' range."""
        trained = self.input_range or ((0.0, 1.0) if self.input_dtype == "uint8" else None)
        if trained is None or inputs.numel() == 0:
            return
        low, high = float(inputs.min()), float(inputs.max())
        width = max(trained[1] - trained[0], 1e-6)
        if trained[0] - width <= low and high <= trained[1] + width:
            return
        if self.input_dtype == "uint8":
            hint = ("the model was trained on uint8 images, which it scales to [0, 1] itself: pass uint8 pixels "
                    "(x.astype(np.uint8)) or floats divided by 255")
        else:
            hint = "pass the inputs as the training data held them (the model normalises them itself)"
        warnings.warn(f"inputs range over [{low:.4g}, {high:.4g}], far outside the training inputs' "
                      f"[{trained[0]:.4g}, {trained[1]:.4g}]: predictions are likely wrong; {hint}",
                      InputRangeWarning, stacklevel=4)

    def _normalisation(self) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        if self.mean is None:
            return None, None
        shape = (1, -1) + (1,) * (len(self.input_shape) - 1)  # per channel, as DeviceSplit shapes them
        mean = torch.tensor(self.mean, device=self.device).view(shape)
        std = torch.tensor(self.std, device=self.device).view(shape)
        return mean, std


def load_model(path: str | Path, *, device: str | torch.device = "cpu", model: Any = None) -> FinalModel:
    """Load a saved final model (``<run_dir>/model.pt``) for prediction: ``load_model(path).predict(x)``.

    Args:
        path: a ``model.pt`` written by ``cords-tune run`` or ``cords-tune train``.
        device: where to put the module and compute predictions, e.g. ``"cuda"``.
        model: for a model given from Python (``run(..., model=factory)``), the same factory: the file holds
            its weights, not its code.
    """
    return FinalModel.load(path, device=device, model=model)


def _is_frame(value: Any) -> bool:
    """A pandas DataFrame (or anything with named columns and ``to_numpy``), without importing pandas."""
    return hasattr(value, "columns") and hasattr(value, "to_numpy")


def _input_range(x: np.ndarray) -> tuple[float, float] | None:
    """The range training inputs start from: ``uint8`` images are scaled to [0, 1]; else the smallest and
    largest value (``None`` for no inputs)."""
    if x.dtype == np.uint8:
        return (0.0, 1.0)
    return (float(x.min()), float(x.max())) if x.size else None


def _given(model: Any, model_name: str, path: str | Path) -> GivenModel | None:
    from cords_tune.datasets.given import GIVEN
    from cords_tune.models.given import as_given

    if model is not None and model_name != GIVEN:
        raise ValueError(f"{str(path)!r} holds the registered model {model_name!r}, which cords-tune builds "
                         "itself: load it without model=")
    return as_given(model)
