"""A model given from Python (``cords_tune.run(..., model=...)``) rather than named in the experiment.

The experiment then says ``model: {name: python}``; its ``params`` (searched or fixed) are passed to the
factory. Any network whose last layer is an ``nn.Linear`` works: ``as_classifier`` finds that layer and takes
its input as the penultimate features that gradient-based selection needs, so the network needs no
``embed`` method (a ``Classifier`` is used as it is).
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from cords_tune.errors import ConfigError
from cords_tune.models.base import Classifier

__all__ = ["GivenModel", "as_given", "as_classifier"]


@dataclass(frozen=True)
class GivenModel:
    """A factory of the user's network: a function or an ``nn.Module`` class, called with those of
    ``input_shape``, ``num_classes`` it accepts and the experiment's ``model.params``. It travels to the Ray
    workers pickled (by value when its module is not installed there)."""

    factory: Callable[..., nn.Module]

    def __post_init__(self) -> None:
        if not callable(self.factory):
            raise ConfigError(f"model= must be a function or an nn.Module class that builds the network. Got "
                              f"{type(self.factory).__name__}", path="model")
        _pickle_by_value_if_local(self.factory)

    @property
    def name(self) -> str:
        return getattr(self.factory, "__qualname__", type(self.factory).__name__)

    def build(self, input_shape: tuple[int, ...], num_classes: int, params: Mapping[str, Any]) -> Classifier:
        accepted = _parameters(self.factory)
        fixed = {"input_shape": tuple(input_shape), "num_classes": num_classes}
        takes_any = any(p.kind is p.VAR_KEYWORD for p in accepted.values())
        arguments = {k: v for k, v in fixed.items() if takes_any or k in accepted}
        clash = set(params) & set(fixed)
        if clash:
            raise ConfigError(f"{', '.join(sorted(clash))} come from the data, not from model.params. Remove them",
                              path="model.params")
        try:
            network = self.factory(**arguments, **params)
        except TypeError as error:
            raise ConfigError(f"model= ({self.name}) cannot be called with {sorted({**arguments, **params})}: "
                              f"{error}. Its parameters are: {', '.join(accepted) or 'none'}", path="model.params"
                              ) from None
        if not isinstance(network, nn.Module):
            raise ConfigError(f"model= ({self.name}) must build an nn.Module. Got {type(network).__name__}",
                              path="model")
        return as_classifier(network, self.name)


def as_given(model: Any) -> GivenModel | None:
    """``model`` (a factory, a ``GivenModel`` or ``None``) as a ``GivenModel`` or ``None``."""
    return model if model is None or isinstance(model, GivenModel) else GivenModel(model)


class _LastLinear(Classifier):
    """A network whose last layer is ``head``: ``embed`` is what enters ``head`` when the network runs."""

    def __init__(self, network: nn.Module, head: nn.Linear) -> None:
        super().__init__()
        self.network = network
        object.__setattr__(self, "_head", head)  # not registered again: its weights are saved once

    @property
    def head(self) -> nn.Linear:  # type: ignore[override]
        return self._head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.network(x)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        seen: list[torch.Tensor] = []
        hook = self._head.register_forward_pre_hook(lambda _, inputs: seen.append(inputs[0]))
        try:
            self.network(x)
        finally:
            hook.remove()
        return seen[-1].flatten(1)


def as_classifier(network: nn.Module, name: str = "model=") -> Classifier:
    """``network`` as a ``Classifier``: itself if it is one, else wrapped around its last ``nn.Linear``."""
    if isinstance(network, Classifier):
        return network
    linears = [m for m in network.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ConfigError(f"{name} must build a network whose last layer is an nn.Linear (its input gives the "
                          "features that selection uses). It has no nn.Linear", path="model")
    return _LastLinear(network, linears[-1])


def _parameters(factory: Callable[..., Any]) -> dict[str, inspect.Parameter]:
    try:
        return dict(inspect.signature(factory).parameters)
    except (TypeError, ValueError):
        return {}


def _pickle_by_value_if_local(factory: Callable[..., Any]) -> None:
    """A factory from a module of the user's that Ray workers cannot import goes with its code."""
    module = sys.modules.get(getattr(factory, "__module__", "") or "")
    file = getattr(module, "__file__", None) or ""
    if module is None or module.__name__ == "__main__" or "site-packages" in file or "dist-packages" in file:
        return
    if module.__name__.split(".")[0] in ("cords_tune", "torch", "torchvision"):
        return
    from ray import cloudpickle

    cloudpickle.register_pickle_by_value(module)
