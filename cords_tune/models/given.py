"""A model given from Python (``cords_tune.run(..., model=...)``) rather than named in the experiment.

The experiment then says ``model: {name: python}``; its ``params`` (searched or fixed) are passed to the
factory. Any network whose last layer is an ``nn.Linear`` works: ``as_classifier`` finds that layer and takes
its input as the penultimate features that gradient-based selection needs, so the network needs no
``embed`` method (a ``Classifier`` is used as it is).
"""

from __future__ import annotations

import functools
import inspect
import sys
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from cords_tune.errors import ConfigError
from cords_tune.models.base import Classifier
from cords_tune.plugins import is_installed, module_location

__all__ = ["GivenModel", "as_given", "as_classifier", "check_head"]


@dataclass(frozen=True)
class GivenModel:
    """A factory of the user's network: a function or an ``nn.Module`` class, called with those of
    ``input_shape``, ``num_classes`` it accepts and the experiment's ``model.params``. It travels to the Ray
    workers pickled (by value when its package is not installed there)."""

    factory: Callable[..., nn.Module]

    def __post_init__(self) -> None:
        if isinstance(self.factory, nn.Module):
            raise ConfigError(
                f"model= must build the network, since every trial builds its own. Got a built "
                f"{type(self.factory).__name__}: pass its class ({type(self.factory).__name__}) or a function that "
                "returns a new one", path="model",
            )
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
        takes_any = accepted is None or any(p.kind is p.VAR_KEYWORD for p in accepted.values())
        arguments = {k: v for k, v in fixed.items() if takes_any or k in (accepted or {})}
        clash = set(params) & set(fixed)
        if clash:
            raise ConfigError(f"{', '.join(sorted(clash))} come from the data, not from model.params. Remove them",
                              path="model.params")
        if accepted is not None:
            try:
                inspect.signature(self.factory).bind(**arguments, **params)
            except TypeError as error:
                raise ConfigError(
                    f"model= ({self.name}) cannot be called with {', '.join(sorted({**arguments, **params}))}: "
                    f"{error}. Its parameters are: {', '.join(accepted) or 'none'}", path="model.params"
                ) from None
        try:
            network = self.factory(**arguments, **params)
        except Exception as error:
            raise ConfigError(f"model= ({self.name}) failed to build the network with {dict(params)}: "
                              f"{type(error).__name__}: {error}{_where(error)}", path="model.params") from None
        if not isinstance(network, nn.Module):
            raise ConfigError(f"model= ({self.name}) must build an nn.Module. Got {type(network).__name__}",
                              path="model")
        return as_classifier(network, num_classes, self.name)


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
        if not seen:
            raise RuntimeError(f"the layer taken as the head ({self._head}) did not run in forward()")
        return seen[-1].flatten(1)


def as_classifier(network: nn.Module, num_classes: int, name: str = "model=") -> Classifier:
    """``network`` as a ``Classifier``: itself if it is one, else wrapped around its last ``nn.Linear`` with
    ``num_classes`` outputs and a bias (``check_head`` confirms that it is the layer the logits come from)."""
    if isinstance(network, Classifier):
        return network
    heads = [m for m in network.modules() if isinstance(m, nn.Linear) and m.out_features == num_classes]
    if not heads:
        linears = [m for m in network.modules() if isinstance(m, nn.Linear)]
        has = (f"Its last nn.Linear has {linears[-1].out_features} output{'' if linears[-1].out_features == 1 else 's'}"
               f" ({linears[-1]})" if linears else "It has no nn.Linear")
        raise ConfigError(
            f"{name} must build a network whose last layer is an nn.Linear with {num_classes} outputs (one per "
            f"class of the data; its input gives the features that selection uses). {has}. Make the last layer "
            f"nn.Linear(features, num_classes) with num_classes={num_classes}, or subclass "
            "cords_tune.models.Classifier (embed + head)", path="model"
        )
    return _LastLinear(network, heads[-1])


def check_head(model: Classifier, x: torch.Tensor, name: str = "model=") -> None:
    """The logits of ``x`` are ``head(embed(x))``, and ``head`` has a bias, as gradient-based selection needs."""
    how = "Make the nn.Linear with one output per class the network's last step, or subclass " \
          "cords_tune.models.Classifier (embed + head)"
    if model.head.bias is None:
        raise ConfigError(f"{name}: the last nn.Linear must have a bias (bias=True). {how}", path="model")
    with torch.no_grad():
        try:
            through_head = model.head(model.embed(x))
        except Exception as error:
            raise ConfigError(f"{name}: its logits do not come from its last nn.Linear ({type(error).__name__}: "
                              f"{error}). {how}", path="model") from None
        if not torch.allclose(through_head, model(x), rtol=1e-4, atol=1e-5):
            raise ConfigError(f"{name}: its logits are not the output of its last nn.Linear ({model.head}). {how}",
                              path="model")


def _parameters(factory: Callable[..., Any]) -> dict[str, inspect.Parameter] | None:
    try:
        return dict(inspect.signature(factory).parameters)
    except (TypeError, ValueError):  # a builtin without a signature: called with everything
        return None


def _where(error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    return f" (at {frames[-1].filename}:{frames[-1].lineno})" if len(frames) > 1 else ""


def _pickle_by_value_if_local(factory: Callable[..., Any]) -> None:
    """A factory from a package of the user's that Ray workers may not be able to import goes with its code:
    the whole top-level package, so that what the factory imports from its siblings goes too."""
    while isinstance(factory, functools.partial):
        factory = factory.func
    top = (getattr(factory, "__module__", "") or "").partition(".")[0]
    package = sys.modules.get(top)
    if (package is None or top == "__main__" or top in sys.stdlib_module_names or not getattr(package, "__file__", None)
            or is_installed(module_location(package)) or top in ("cords_tune", "torch", "torchvision")):
        return  # __main__ is pickled by value anyway; installed packages are on every worker
    from ray import cloudpickle

    cloudpickle.register_pickle_by_value(package)
