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

import copy
import statistics
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from cords_tune.final_model import MODEL_FILE, FinalModel, load_model
from cords_tune.quantization import dynamic_int8, static_int8
from cords_tune.results.compression import LATENCY_THREADS, Compression, Kind, VariantResult

if TYPE_CHECKING:
    from cords_tune.config import CompressConfig, ExperimentConfig
    from cords_tune.datasets import DataBundle
    from cords_tune.models.given import GivenModel

__all__ = [
    "COMPRESSED_DIR",
    "VariantSpec",
    "plan_variants",
    "compress",
    "compress_run",
    "dynamic_int8",
    "static_int8",
    "prune_magnitude",
    "zero_fraction",
]

COMPRESSED_DIR = "compressed"  # the variants' folder, next to model.pt
_PRUNABLE = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


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
        made = prune_magnitude(module, spec.sparsity or 0.0,
                               finetune=lambda m: _finetune(m, reference, data, config, spec.finetune_epochs))
    info = {k: v for k, v in reference.info.items() if k != "test_accuracy"}
    info.update(variant=spec.name, fp32_test_accuracy=reference.info.get("test_accuracy"))
    quantized = spec.kind != "prune"
    return replace(reference, state_dict=made.state_dict(), info=info, device="cpu",
                   compressed=spec.kind if quantized else None, quantized_engine=engine if quantized else None)


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


def _finetune(
    module: nn.Module, reference: FinalModel, data: DataBundle, config: ExperimentConfig, epochs: int
) -> None:
    """Train the pruned ``module`` for ``epochs`` as a training job on the full training split, on the CPU, in
    fp32, without augmentation, at a constant lr (``final.compress.finetune_lr``; default a tenth of
    ``training.lr``: the model is trained already) with the run's optimizer and seed."""
    if epochs <= 0:
        return
    from cords_tune.training.job import TrainingJob, run_job

    training = config.training.model_copy(update={
        "lr": config.final.compress.finetune_lr or config.training.lr / 10, "schedule": "constant", "device": "cpu",
        "precision": "fp32", "channels_last": False, "validation": "at_decisions",
    })
    tuned = config.model_copy(update={"training": training,
                                      "dataset": config.dataset.model_copy(update={"augment": False})})
    run_job(TrainingJob(tuned, data, model=reference.given, epochs=epochs, full_data=True, decision_epochs=(),
                        module=module))
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
    return scale_inputs(model._as_batch(x).to(model.device), mean, std)


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


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}".rstrip(": ")
