"""Trial actors on the worker processes Ray prestarts, instead of a new process each.

Ray starts one idle worker process per CPU as it starts, and gives one to a task or actor whose runtime
environment is the job's. Tune gives every trial actor a runtime environment of its own (one variable for
PyTorch Lightning), so Ray started a new process for each slot's actor while the prestarted ones sat idle:
on the quickstart, about 1 s of each slot's start (measured in docs/benchmarks.md).

Having the prestarted workers also import torch and the trainable as they start (Ray's
``preload_python_modules``) was measured and not kept: on 2 cores the imports compete with the driver and the
trials waited as long, and each idle worker then holds about 1 GB (one per CPU, used or not).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from cords_tune.tuning.ray_compat import tune_actor_env_var_removed

__all__ = ["trials_on_prestarted_workers"]


@contextmanager
def trials_on_prestarted_workers() -> Iterator[None]:
    """While a search runs, let Tune start its trial actors on prestarted workers: without Tune's variable for
    PyTorch Lightning (``PL_DISABLE_FORK``), which the trainable does not use. Variables Tune passes on from the
    driver's environment (cloud credentials) still give an actor a runtime environment of its own: those trials
    start a process each, as before. The variable is back for whatever else this process tunes afterwards."""
    with tune_actor_env_var_removed("PL_DISABLE_FORK"):
        yield
