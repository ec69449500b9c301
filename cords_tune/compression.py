"""Compressed variants of a final model, each measured next to the float model it came from.

``final.compress`` asks for any of:

- ``dynamic_int8``: the linear (and recurrent) layers get int8 weights; their activations are quantized on the
  fly at every call (``torch.ao.quantization.quantize_dynamic``). Convolutions stay float.
- ``static_int8``: weights and activations in int8, the activation ranges calibrated on training samples
  (eager post-training quantization: the model between a quantize and a dequantize step, conv/linear + ReLU
  fused). A model with an operation torch has no int8 kernel for (e.g. resnet18's residual sum) is recorded as
  skipped, with the reason.
- ``prune``: for each sparsity, that fraction of all conv/linear weights, those of smallest magnitude, set to
  zero (global L1 pruning), optionally fine-tuned for ``finetune_epochs`` on the training data with the zeros
  kept, then made permanent. The file stays dense: pruning alone makes it no smaller on disk.

Every variant is saved as ``compressed/<name>.pt`` next to ``model.pt`` and loads with
``cords_tune.load_model(path)``; its test accuracy, file size and CPU latency are measured on the file as
loaded back, so they are what a user of the file gets. Latency is the median over ``latency_repeats`` timed
forward passes of one batch of ``latency_batch`` test samples, on one thread (steadier than a shared machine's
thread pool, and what an int8 model deployed to a small CPU sees); the inputs are prepared before the clock
starts.
"""

from __future__ import annotations

import contextlib
import copy
import statistics
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from cords_tune.final_model import MODEL_FILE, FinalModel, load_model
from cords_tune.results.compression import LATENCY_THREADS, Compression, Kind, VariantResult

if TYPE_CHECKING:
    from cords_tune.config import CompressConfig, ExperimentConfig, TrainingConfig
    from cords_tune.datasets import DataBundle
    from cords_tune.models.given import GivenModel

__all__ = [
    "COMPRESSED_DIR",
    "VariantSpec",
    "plan_variants",
    "compress",
    "compress_run",
    "quantized_like",
    "dynamic_int8",
    "static_int8",
    "prune_magnitude",
    "zero_fraction",
]

COMPRESSED_DIR = "compressed"  # the variants' folder, next to model.pt
_PRUNABLE = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
_DYNAMIC = {nn.Linear, nn.LSTM, nn.GRU}  # what quantize_dynamic has int8 kernels for, of what our models use
_FUSIBLE = (nn.Conv1d, nn.Conv2d, nn.Linear)


@dataclass(frozen=True)
class VariantSpec:
    """One variant to make: ``name`` is its file's stem in ``compressed/``."""

    name: str
    kind: Kind
    sparsity: float | None = None
    finetune_epochs: int = 0


def plan_variants(options: CompressConfig) -> list[VariantSpec]:
    """The variants ``options`` asks for: dynamic int8, static int8, then each sparsity in the order given."""
    specs = []
    if options.dynamic_int8:
        specs.append(VariantSpec("dynamic_int8", "dynamic_int8"))
    if options.static_int8:
        specs.append(VariantSpec("static_int8", "static_int8"))
    for sparsity in options.prune:
        specs.append(VariantSpec(f"pruned_{100 * sparsity:g}", "prune", sparsity, options.finetune_epochs))
    return specs


def compress_run(
    run_dir: str | Path, data: DataBundle, config: ExperimentConfig, model: GivenModel | None = None
) -> Compression | None:
    """A run's ``model.pt`` compressed as ``config.final.compress`` asks, for its ``summary.json``; ``None`` when
    it asks for nothing."""
    if not config.final.compress.enabled:
        return None
    return compress(Path(run_dir) / MODEL_FILE, data, config, model=model)


def compress(
    model_path: str | Path,
    data: DataBundle,
    config: ExperimentConfig,
    *,
    out_dir: str | Path | None = None,
    model: GivenModel | None = None,
) -> Compression:
    """Make, save and measure the variants ``config.final.compress`` asks for, of the model in ``model_path``.

    Args:
        model_path: a saved final model (``model.pt``); it is the fp32 reference row.
        data: the run's data: calibration and fine-tuning use its training split, the measures its test split.
        config: the run's experiment: ``final.compress``, and ``training`` and ``seed`` for the fine-tune.
        out_dir: where the variants are saved; default ``compressed/`` next to ``model_path``.
        model: the factory of a model given from Python (its files hold weights only).
    """
    started = time.perf_counter()
    options = config.final.compress
    model_path = Path(model_path)
    root = model_path.parent
    folder = Path(out_dir) if out_dir is not None else root / COMPRESSED_DIR
    folder.mkdir(parents=True, exist_ok=True)
    reference = load_model(model_path, model=model)
    rows = [_measure(VariantResult("fp32", "fp32"), model_path, root, data, options, model)]
    for spec in plan_variants(options):
        made = _make(spec, reference, data, config)
        if isinstance(made, str):
            rows.append(VariantResult(spec.name, spec.kind, status="skipped", reason=made, sparsity=spec.sparsity,
                                      finetune_epochs=spec.finetune_epochs))
            continue
        path = made.save(folder / f"{spec.name}.pt")
        row = VariantResult(spec.name, spec.kind, sparsity=spec.sparsity, finetune_epochs=spec.finetune_epochs)
        rows.append(_measure(row, path, root, data, options, model))
    return Compression(variants=tuple(rows), wall_s=time.perf_counter() - started)


# ------------------------------------------------------------------------------------------------ variants


def _make(spec: VariantSpec, reference: FinalModel, data: DataBundle, config: ExperimentConfig) -> FinalModel | str:
    """The variant as a model to save, or why the model does not support it."""
    module = copy.deepcopy(reference.module).cpu().eval()
    engine = torch.backends.quantized.engine
    if spec.kind in ("dynamic_int8", "static_int8") and engine == "none":
        return "this torch build has no quantized CPU engine"
    if spec.kind == "dynamic_int8":
        made = dynamic_int8(module)
    elif spec.kind == "static_int8":
        calibration = _calibration_batches(reference, data, config.final.compress.calibration_samples, config.seed)
        try:
            made = static_int8(module, calibration)
        except (RuntimeError, NotImplementedError, AssertionError) as error:  # an op without an int8 kernel
            return f"{reference.model_name} cannot be statically quantized: {_first_line(error)}"
    else:
        made = prune_magnitude(module, spec.sparsity or 0.0, finetune=lambda m: _finetune(
            m, reference, data, config.training, spec.finetune_epochs, config.final.compress.finetune_lr, config.seed))
    info = {k: v for k, v in reference.info.items() if k != "test_accuracy"}
    info.update(variant=spec.name, fp32_test_accuracy=reference.info.get("test_accuracy"))
    quantized = spec.kind != "prune"
    return replace(reference, state_dict=made.state_dict(), info=info, device="cpu",
                   compressed=spec.kind if quantized else None, quantized_engine=engine if quantized else None)


def dynamic_int8(module: nn.Module) -> nn.Module:
    """``module`` (float, eval mode; not changed) with int8 linear layers quantized dynamically."""
    with _quiet_quantization():
        return torch.ao.quantization.quantize_dynamic(module, _DYNAMIC, dtype=torch.qint8)


def static_int8(module: nn.Module, calibration: list[torch.Tensor]) -> nn.Module:
    """``module`` (float, eval mode; not changed) quantized to int8 weights and activations, the activation
    ranges observed on the prepared input batches ``calibration``.

    Raises:
        RuntimeError, NotImplementedError: the model runs an operation torch has no int8 kernel for.
    """
    prepared = _prepare_static(copy.deepcopy(module))
    with torch.no_grad(), _quiet_quantization():
        for batch in calibration:
            prepared(batch)
        quantized = torch.ao.quantization.convert(prepared)
        quantized(calibration[0][:2])  # an op without an int8 kernel fails here, not in a user's predict
    return quantized


def quantized_like(module: nn.Module, kind: str) -> nn.Module:
    """A float ``module`` turned into the structure of its ``kind`` int8 variant, ready for the variant's
    ``state_dict`` (what ``FinalModel.module`` does to load an int8 file). No calibration: the loaded state
    holds the calibrated scales."""
    if kind == "dynamic_int8":
        return dynamic_int8(module)
    if kind == "static_int8":
        with _quiet_quantization():
            return torch.ao.quantization.convert(_prepare_static(module))
    raise ValueError(f"unknown int8 variant {kind!r}: expected 'dynamic_int8' or 'static_int8'")


def prune_magnitude(module: nn.Module, sparsity: float, *, finetune: Any = None) -> nn.Module:
    """Zero the ``sparsity`` fraction of smallest-magnitude weights over all conv/linear layers of ``module``
    (in place), run ``finetune(module)`` if given while the zeros are held by masks, then make them permanent."""
    from torch.nn.utils import prune

    targets = [(layer, "weight") for layer in module.modules() if isinstance(layer, _PRUNABLE)]
    prune.global_unstructured(targets, pruning_method=prune.L1Unstructured, amount=sparsity)
    if finetune is not None:
        finetune(module)
    for layer, name in targets:
        prune.remove(layer, name)
    return module.eval()


def zero_fraction(module: nn.Module) -> float:
    """Share of the conv/linear weights of a float ``module`` that are exactly zero."""
    weights = [layer.weight for layer in module.modules() if isinstance(layer, _PRUNABLE)]
    total = sum(w.numel() for w in weights)
    return float(sum(int((w == 0).sum()) for w in weights)) / total if total else 0.0


class _QuantizedEnds(nn.Module):
    """The model between a quantize step (float inputs to int8) and a dequantize step (int8 logits to float)."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.quant = torch.ao.quantization.QuantStub()
        self.inner = inner
        self.dequant = torch.ao.quantization.DeQuantStub()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dequant(self.inner(self.quant(x)))


def _prepare_static(module: nn.Module) -> nn.Module:
    """``module`` wrapped, conv/linear + ReLU fused, with observers: ready to calibrate and convert."""
    wrapped = _QuantizedEnds(module).eval()
    pairs = []
    for prefix, parent in wrapped.named_modules():
        if isinstance(parent, nn.Sequential):
            children = list(parent.named_children())
            for (a, first), (b, second) in zip(children, children[1:]):
                if isinstance(first, _FUSIBLE) and isinstance(second, nn.ReLU):
                    pairs.append([f"{prefix}.{a}", f"{prefix}.{b}"])
    with _quiet_quantization():
        if pairs:
            wrapped = torch.ao.quantization.fuse_modules(wrapped, pairs)
        wrapped.qconfig = torch.ao.quantization.get_default_qconfig(torch.backends.quantized.engine)
        return torch.ao.quantization.prepare(wrapped)


def _finetune(
    module: nn.Module, reference: FinalModel, data: DataBundle, training: TrainingConfig, epochs: int,
    lr: float | None, seed: int,
) -> None:
    """Train the pruned ``module`` for ``epochs`` on the full training split, without augmentation, at a
    constant ``lr`` (default a tenth of ``training.lr``: the model is trained already) with the run's optimizer."""
    if epochs <= 0:
        return
    from cords_tune.training.optim import build_optimizer

    from cords_tune.training.device_data import read_only_tensor, scale_inputs

    optimizer = build_optimizer(module.parameters(), training.model_copy(update={"lr": lr or training.lr / 10}))
    mean, std = reference._normalisation()
    x = _raw(reference, data.x_train)  # prepared batch by batch: uint8 images stay small until then
    y = read_only_tensor(data.y_train, torch.int64)
    generator = torch.Generator().manual_seed(seed)
    module.train()
    for _ in range(epochs):
        for index in torch.randperm(len(y), generator=generator).split(training.batch_size):
            optimizer.zero_grad(set_to_none=True)
            logits = module(scale_inputs(x[index], mean, std))
            nn.functional.cross_entropy(logits, y[index]).backward()
            optimizer.step()
    module.eval()


def _calibration_batches(reference: FinalModel, data: DataBundle, samples: int, seed: int) -> list[torch.Tensor]:
    """Up to ``samples`` training inputs, drawn at random (seeded) and prepared as for prediction."""
    rng = np.random.default_rng(seed)
    index = np.sort(rng.permutation(len(data.x_train))[:samples])
    return list(_prepared(reference, data.x_train[index]).split(256))


def _prepared(model: FinalModel, x: np.ndarray) -> torch.Tensor:
    """Raw inputs as the model's ``predict`` feeds them to its module (scaled, normalised), on the CPU."""
    from cords_tune.training.device_data import scale_inputs

    mean, std = model._normalisation()
    return scale_inputs(_raw(model, x), mean, std)


def _raw(model: FinalModel, x: np.ndarray) -> torch.Tensor:
    return model._as_batch(x).to(model.device)


# ------------------------------------------------------------------------------------------------ measures


def _measure(
    row: VariantResult, path: Path, root: Path, data: DataBundle, options: CompressConfig, given: GivenModel | None
) -> VariantResult:
    """``row`` with the measures of the model saved in ``path``, as loaded back from it."""
    model = load_model(path, model=given)
    labels = model.predict(data.x_test)
    accuracy = float((labels == model.classes_[data.y_test]).mean()) if len(labels) else float("nan")  # user's labels
    batch = _prepared(model, data.x_test[: options.latency_batch])
    return replace(
        row,
        file=path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path),
        test_accuracy=accuracy,
        size_bytes=path.stat().st_size,
        latency_ms=_median_latency_ms(model.module, batch, options.latency_repeats),
        latency_batch=len(batch),
        latency_repeats=options.latency_repeats,
        zero_fraction=None if model.compressed else zero_fraction(model.module),
    )


def _median_latency_ms(module: nn.Module, batch: torch.Tensor, repeats: int) -> float:
    threads = torch.get_num_threads()
    torch.set_num_threads(LATENCY_THREADS)
    try:
        with torch.no_grad():
            for _ in range(3):  # warm-up: first calls allocate and pick kernels
                module(batch)
            times = []
            for _ in range(repeats):
                tick = time.perf_counter()
                module(batch)
                times.append(time.perf_counter() - tick)
    finally:
        torch.set_num_threads(threads)
    return 1000 * statistics.median(times)


@contextlib.contextmanager
def _quiet_quantization() -> Iterator[None]:
    """torch 2.x announces the deprecation of ``torch.ao.quantization`` (for torchao, not a dependency here)
    on every call, and warns about uncalibrated observers when a variant is rebuilt for loading."""
    with warnings.catch_warnings():
        for message in ("torch.ao.quantization is deprecated", ".*quantized tensor creation functions",
                        "Please use quant_min and quant_max", "must run observer before calling calculate_qparams",
                        "TypedStorage is deprecated"):
            warnings.filterwarnings("ignore", message=message)
        yield


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}".rstrip(": ")
