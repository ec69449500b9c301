"""How a trial computes, resolved for its device: the autocast precision (``training.precision``) and the memory
order of convolutional models (``training.channels_last``).

A setting the device cannot honour falls back with one warning, so a config written for a GPU still runs on a
laptop's CPU: ``fp16`` on the CPU trains in fp32 (CPU autocast in float16 has no fast kernels and a gradient
scaler buys nothing there), ``bf16`` on a GPU without bfloat16 trains in fp32. ``bf16`` on the CPU runs
through torch's CPU autocast; where the CPU has no bfloat16 instructions it is emulated and usually slower than
fp32, which the warning says.
"""

from __future__ import annotations

import contextlib
import logging
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

__all__ = ["Precision", "channels_last_applies", "channels_last_failure", "channels_last_refusal", "resolve_precision",
           "use_channels_last", "use_cudnn_benchmark"]

log = logging.getLogger(__name__)

PrecisionName = Literal["fp32", "bf16", "fp16"]
_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass(frozen=True)
class Precision:
    """The precision a trainer actually computes in.

    Attributes:
        name: ``"fp32"``, ``"bf16"`` (autocast in bfloat16) or ``"fp16"`` (autocast in float16 with a gradient
            scaler).
        device_type: ``"cpu"`` or ``"cuda"``, where autocast runs.
    """

    name: PrecisionName
    device_type: str

    @property
    def dtype(self) -> torch.dtype:
        """The dtype of autocast regions: float32 for fp32."""
        return _DTYPES.get(self.name, torch.float32)

    @property
    def autocast_dtype(self) -> torch.dtype | None:
        """The dtype of autocast regions, ``None`` for fp32 (no autocast)."""
        return None if self.name == "fp32" else self.dtype

    def autocast(self) -> AbstractContextManager:
        """A context in which forward passes run in this precision (nothing changes for fp32)."""
        if self.name == "fp32":
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)

    def grad_scaler(self) -> torch.amp.GradScaler:
        """The loss scaler of float16 training; for every other precision a disabled one (a pass-through whose
        ``state_dict`` is empty)."""
        return torch.amp.GradScaler(self.device_type, enabled=self.name == "fp16")


def resolve_precision(requested: str, device: torch.device) -> Precision:
    """The precision ``requested`` (``training.precision``) comes to on ``device``.

    ``auto`` is bf16 on a GPU with native bfloat16 (Ampere and later) and fp32 elsewhere. An explicit ``bf16`` or
    ``fp16`` the device cannot run becomes fp32 with a warning naming the setting and what to do.
    """
    kind = device.type
    if requested == "fp32":
        return Precision("fp32", kind)
    if requested == "auto":
        return Precision("bf16" if kind == "cuda" and _cuda_bf16(device) else "fp32", kind)
    if requested not in _DTYPES:
        raise ValueError(f"training.precision must be auto, fp32, bf16 or fp16. Got {requested!r}")
    if kind == "cuda":
        if requested == "fp16" or _cuda_bf16(device):
            return Precision(requested, kind)
        why = f"{torch.cuda.get_device_name(device)} has no native bfloat16 (it needs an Ampere or newer GPU)"
    elif requested == "bf16" and torch.amp.is_autocast_available(kind):
        if not _cpu_bf16_native():
            log.warning(
                "training.precision is bf16 and this CPU has no bfloat16 instructions (AVX512-BF16 or AMX): "
                "torch emulates them, which is usually slower than fp32. Set training.precision: auto to train "
                "in fp32 on the CPU"
            )
        return Precision("bf16", kind)
    else:
        why = "the CPU has no fast float16 arithmetic and no use for a gradient scaler"
    log.warning("training.precision is %s, but %s: training in fp32. Set training.precision: auto (bf16 where the "
                "GPU supports it, fp32 elsewhere) to silence this", requested, why)
    return Precision("fp32", kind)


def _cuda_bf16(device: torch.device) -> bool:
    with torch.cuda.device(device):
        return torch.cuda.is_bf16_supported(including_emulation=False)


def _cpu_bf16_native() -> bool:
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a torch built without oneDNN
        return False


def use_cudnn_benchmark(setting: bool, device: torch.device) -> None:
    """Apply ``training.cudnn_benchmark`` for a trainer on ``device``. cuDNN's choice is per process, so the
    setting of the last trainer built on a GPU holds; on the CPU nothing changes."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = setting


def use_channels_last(
    setting: str | bool, device: torch.device, model: nn.Module, input_shape: tuple[int, ...]
) -> bool:
    """Whether to keep ``model`` and its batches in channels-last order (``training.channels_last``).

    It applies to models with 2-D convolutions on image inputs (``input_shape`` is (C, H, W)); ``auto`` turns it
    on for a GPU only, where cuDNN's convolutions are fastest in that order (with mixed precision above all).
    ``true`` where it cannot apply is refused before Ray starts (``preflight``); here it simply stays off. A model
    that applies but fails in that order is ``channels_last_failure``'s to find.
    """
    if setting is False or not channels_last_applies(model, input_shape):
        return False
    return setting is True or device.type == "cuda"


def channels_last_applies(model: nn.Module, input_shape: tuple[int, ...]) -> bool:
    """Channels-last order means something for this model and data: 2-D convolutions on (C, H, W) inputs."""
    return len(input_shape) == 3 and any(isinstance(m, nn.Conv2d) for m in model.modules())


def channels_last_failure(model: nn.Module, x: torch.Tensor) -> str | None:
    """Put ``model`` in channels-last order and say why it cannot run on the batch ``x`` that way (e.g. a ``.view``
    of a convolution's output, which needs the default order), or ``None`` when it can. One forward pass in eval
    mode, without gradients; the model keeps its mode, and the new order even when it fails."""
    model.to(memory_format=torch.channels_last)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(x.contiguous(memory_format=torch.channels_last))
    except RuntimeError as error:
        return f"{type(error).__name__}: {error}"
    finally:
        model.train(was_training)
    return None


def channels_last_refusal(model_name: str, failure: str) -> str:
    """The error for ``training.channels_last: true`` with a model that fails in that order."""
    return (f"training.channels_last is true, but model {model_name!r} fails in channels-last memory order "
            f"({failure}). Set training.channels_last: auto (it then keeps the default order) or false")
