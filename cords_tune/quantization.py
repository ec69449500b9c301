"""int8 quantization of a float model, shared by the compressed variants (``cords_tune.compression`` makes
them) and the saved model (``cords_tune.final_model`` rebuilds an int8 variant's structure to load it)."""

from __future__ import annotations

import contextlib
import copy
import warnings
from collections.abc import Iterator

import torch
from torch import nn

__all__ = ["dynamic_int8", "static_int8", "quantized_like", "quiet_quantization"]

_DYNAMIC = {nn.Linear, nn.LSTM, nn.GRU}  # what quantize_dynamic has int8 kernels for, of what our models use
_FUSIBLE = (nn.Conv1d, nn.Conv2d, nn.Linear)


def dynamic_int8(module: nn.Module) -> nn.Module:
    """``module`` (float, eval mode; not changed) with int8 linear layers quantized dynamically."""
    with quiet_quantization():
        return torch.ao.quantization.quantize_dynamic(module, _DYNAMIC, dtype=torch.qint8)


def static_int8(module: nn.Module, calibration: list[torch.Tensor]) -> nn.Module:
    """``module`` (float, eval mode; not changed) quantized to int8 weights and activations, the activation
    ranges observed on the prepared input batches ``calibration``.

    Raises:
        RuntimeError, NotImplementedError: the model runs an operation torch has no int8 kernel for.
    """
    prepared = _prepare_static(copy.deepcopy(module))
    with torch.no_grad(), quiet_quantization():
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
        with quiet_quantization():
            return torch.ao.quantization.convert(_prepare_static(module))
    raise ValueError(f"unknown int8 variant {kind!r}: expected 'dynamic_int8' or 'static_int8'")


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
    with quiet_quantization():
        if pairs:
            wrapped = torch.ao.quantization.fuse_modules(wrapped, pairs)
        wrapped.qconfig = torch.ao.quantization.get_default_qconfig(torch.backends.quantized.engine)
        return torch.ao.quantization.prepare(wrapped)


@contextlib.contextmanager
def quiet_quantization() -> Iterator[None]:
    """torch 2.x announces the deprecation of ``torch.ao.quantization`` (for torchao, not a dependency here)
    on every call, and warns about uncalibrated observers when a variant is rebuilt for loading."""
    with warnings.catch_warnings():
        for message in ("torch.ao.quantization is deprecated", ".*quantized tensor creation functions",
                        "Please use quant_min and quant_max", "must run observer before calling calculate_qparams",
                        "TypedStorage is deprecated"):
            warnings.filterwarnings("ignore", message=message)
        yield
