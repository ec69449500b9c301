"""cords-tune: hyperparameter tuning on adaptively selected data subsets, with Ray Tune.

``cords_tune.load_model(path)`` loads the final model a run or ``cords-tune train`` saved (``model.pt``) for
prediction. Importing the package is cheap: the names below load their modules (and torch) on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["FinalModel", "load_model", "__version__"]

if TYPE_CHECKING:
    from cords_tune.final_model import FinalModel, load_model

_LAZY = {"FinalModel": "cords_tune.final_model", "load_model": "cords_tune.final_model"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'cords_tune' has no attribute {name!r}")
