"""Per-sample last-layer gradients in closed form, from one batched forward pass (no per-sample backward).

For cross-entropy on logits ``z = W h + b`` the gradient of sample i is ``e_i = softmax(z_i) - onehot(y_i)``
for the logits (= for the bias ``b``) and ``e_i h_i^T`` for ``W``. ``mode="logits"`` gives the C values
``e_i``; ``mode="last_layer"`` gives the C x (d + 1) values ``[vec(e_i h_i^T), e_i]``. This is the
approximation CRAIG, GradMatch and Glister all use (Katharopoulos & Fleuret, 2018; Killamsetty et al.).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, Protocol

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["GradientMode", "LabeledInputs", "LastLayerGradients", "gradient_dim"]

GradientMode = Literal["logits", "last_layer"]


class LabeledInputs(Protocol):
    """A split the model can read: ``len(split)`` samples, ``split.batch(index) -> (inputs, labels)``."""

    def __len__(self) -> int: ...

    def batch(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]: ...


def gradient_dim(num_classes: int, embedding_dim: int, mode: GradientMode) -> int:
    return num_classes if mode == "logits" else num_classes * (embedding_dim + 1)


class LastLayerGradients:
    """Lazily computed last-layer gradients of ``model`` on the training (and validation) split.

    One forward pass per split in eval mode, in chunks of ``chunk_size`` samples, on the model's device;
    the penultimate features and logits are kept for the rest of this selection. Nothing is computed until a
    strategy asks, so a strategy that selects from a pool (``restricted``) runs the forward pass on the pool only.

    Args:
        model: a ``Classifier`` (``embed`` + ``head``).
        train: the training split.
        val: the validation split (Glister needs it), or ``None``.
        chunk_size: samples per forward pass; default 1024 on the CPU (measured fastest for cnn1d, 2x faster
            than 4096) and 8192 on an accelerator, where large chunks keep it busy.
        precision: a lower autocast dtype for the forward pass (the training precision, e.g.
            ``torch.bfloat16``), or ``None`` for the model's own dtype. The gradients are formed in float32.
    """

    def __init__(
        self,
        model: nn.Module,
        train: LabeledInputs,
        val: LabeledInputs | None = None,
        *,
        chunk_size: int | None = None,
        precision: torch.dtype | None = None,
    ) -> None:
        self.model = model
        self.train = train
        self.val = val
        self.chunk_size = chunk_size
        self.precision = precision
        self._cache: dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}

    def restricted(self, index: torch.Tensor) -> LastLayerGradients:
        """The same gradients for the training samples at ``index`` only (row i is sample ``index[i]``);
        the validation split is shared."""
        view = LastLayerGradients(
            self.model, _Rows(self.train, index), self.val, chunk_size=self.chunk_size, precision=self.precision
        )
        if "train" in self._cache:
            view._cache["train"] = tuple(part[index] for part in self._cache["train"])
        if "val" in self._cache:
            view._cache["val"] = self._cache["val"]
        return view

    @torch.no_grad()
    def _forward(self, which: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Penultimate features h (n, d), logit errors e (n, C) and labels y (n,) of a split."""
        if which not in self._cache:
            split = self.train if which == "train" else self.val
            if split is None:
                raise ValueError("no validation split was given to compute validation gradients from")
            was_training = self.model.training
            self.model.eval()
            device = next(self.model.parameters()).device
            chunk_size = self.chunk_size or (1024 if device.type == "cpu" else 8192)
            autocast = torch.autocast(device.type, dtype=self.precision, enabled=self.precision is not None)
            features, errors, labels = [], [], []
            for index in torch.arange(len(split), device=device).split(chunk_size):
                x, y = split.batch(index)
                with autocast:
                    h = self.model.embed(x)
                    logits = self.model.head(h)
                e = _logit_errors(logits, y)
                features.append(h.to(e.dtype))
                errors.append(e)
                labels.append(y)
            self.model.train(was_training)
            self._cache[which] = (torch.cat(features), torch.cat(errors), torch.cat(labels))
        return self._cache[which]

    @property
    def labels(self) -> torch.Tensor:
        return self._forward("train")[2]

    def features(self) -> torch.Tensor:
        """Penultimate features h (n, d) of the training samples: the embedding geometric strategies use."""
        return self._forward("train")[0]

    def errors(self) -> torch.Tensor:
        """Logit errors ``softmax(z) - onehot(y)`` (n, C) of the training samples, float32: the logit gradients,
        and with the labels the model's predicted probabilities."""
        return self._forward("train")[1]

    def per_sample(self, index: torch.Tensor | None = None, *, mode: GradientMode = "last_layer") -> torch.Tensor:
        """Gradients of the samples at ``index`` (all if ``None``): (k, C) or (k, C * (d + 1))."""
        h, e, _ = self._forward("train")
        if index is not None:
            h, e = h[index], e[index]
        return _flatten(e, h, mode)

    def group_sums(self, groups: torch.Tensor, *, mode: GradientMode = "last_layer") -> torch.Tensor:
        """Summed gradient of each group of samples (rows of ``groups``, (g, B) indices): (g, D).

        For the weights, a group's sum is ``E_g^T H_g`` (a (C, d) product): the per-sample gradients are
        never materialised, so per-batch selection costs one forward pass plus g small matmuls.
        """
        h, e, _ = self._forward("train")
        eg, hg = e[groups], h[groups]  # (g, B, C), (g, B, d)
        bias = eg.sum(1)
        if mode == "logits":
            return bias
        weight = torch.bmm(eg.transpose(1, 2), hg)  # (g, C, d)
        return torch.cat([weight.flatten(1), bias], dim=1)

    def validation_gradient(self, *, mode: GradientMode = "last_layer") -> Callable[[torch.Tensor], torch.Tensor]:
        """``delta -> mean validation gradient at the last-layer parameters theta - delta``, exactly.

        ``delta`` has the layout of ``per_sample`` rows. With ``mode="logits"`` it moves the bias only.
        """
        h, e, y = self._forward("val")
        weight, bias = self.model.head.weight.detach(), self.model.head.bias.detach()
        logits = h @ weight.T + bias
        num_classes, dim = weight.shape

        def gradient(delta: torch.Tensor) -> torch.Tensor:
            if mode == "logits":
                shifted = logits - delta.to(logits)
            else:
                d_weight = delta[: num_classes * dim].view(num_classes, dim).to(h)
                d_bias = delta[num_classes * dim :].to(h)
                shifted = logits - h @ d_weight.T - d_bias
            errors = _logit_errors(shifted, y)
            if mode == "logits":
                return errors.mean(0)
            weight = errors.T @ h / len(y)  # mean of e_i h_i^T without materialising (n, C, d)
            return torch.cat([weight.flatten(), errors.mean(0)])

        return gradient


class _Rows:
    """The samples of ``split`` at ``index``, as a split of their own."""

    def __init__(self, split: LabeledInputs, index: torch.Tensor) -> None:
        self.split = split
        self.index = index

    def __len__(self) -> int:
        return int(self.index.numel())

    def batch(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.split.batch(self.index[index.to(self.index.device)])


def _logit_errors(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """d(cross-entropy)/d(logits) per sample: softmax(z) - onehot(y), in at least float32."""
    logits = logits.to(torch.promote_types(logits.dtype, torch.float32))
    return torch.softmax(logits, dim=1) - F.one_hot(labels, logits.shape[1]).to(logits.dtype)


def _flatten(errors: torch.Tensor, features: torch.Tensor, mode: GradientMode) -> torch.Tensor:
    if mode == "logits":
        return errors
    weight = errors.unsqueeze(2) * features.to(errors.dtype).unsqueeze(1)  # (n, C, d)
    return torch.cat([weight.flatten(1), errors], dim=1)
