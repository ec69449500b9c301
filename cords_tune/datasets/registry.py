"""The dataset registry. A loader is registered with ``@DATASETS.register(name)`` and has the signature
``loader(*, data_dir: Path, seed: int, **params) -> TrainTest``."""

from __future__ import annotations

from cords_tune.registry import Registry

__all__ = ["DATASETS"]

DATASETS: Registry = Registry("dataset", fixed=("data_dir", "seed"))
