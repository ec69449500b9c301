"""Train one configuration once on the full data, without a search: `cords-tune train CONFIG`.

The configuration's own values are trained for ``final.epochs`` (default ``training.epochs``) on all training
data, as one Ray task with a trial's resources (the retrain of a tuning run), tested once on the test split, and
saved with what it takes to load it for prediction. Meant for a run's ``best_config.yaml``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cords_tune.compression import compress_run
from cords_tune.config import ExperimentConfig
from cords_tune.errors import RunFailedError, RunInterruptedError
from cords_tune.reports import write_json_atomic
from cords_tune.runs.context import Command, open_run
from cords_tune.tuning.retrain import keep_model, retrain_on_cluster
from cords_tune.results.summary import Timings, TrainSummary
from cords_tune.tuning.session import first_line

__all__ = ["TrainResult", "train_notes", "train_once"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainResult:
    run_dir: Path
    summary: TrainSummary  # also in run_dir/summary.json

    @property
    def model_path(self) -> Path:
        return self.run_dir / self.summary.final.model_path


def train_notes(config: ExperimentConfig) -> list[str]:
    """What of ``config`` training it once leaves unused, in words (empty when nothing is)."""
    notes = []
    if config.search.space:
        values = ", ".join(f"{path}={_value_at(config, path)}" for path in config.search.space)
        notes.append(f"search.space is ignored: no search runs, the config's own values are trained ({values})")
    if config.baseline:
        notes.append("baseline: true is ignored: there is no search to compare")
    return notes


def train_once(
    config: ExperimentConfig, *, output_dir: str | Path | None = None, address: str | None = None,
    on_notice: Callable[[str], None] | None = None, data: Any = None, model: Any = None,
) -> TrainResult:
    """Train ``config`` once on the full training data, test it, and write a run directory
    ``<output_dir>/<name>-train-<YYYYmmdd-HHMMSS>/`` with ``model.pt``, ``summary.json`` and ``config.yaml``.

    Args:
        config: a validated experiment; its search space is ignored (see ``train_notes``).
        output_dir: where the run directory is made; default ``config.output_dir``.
        address: a Ray cluster to join; default: ``RAY_ADDRESS`` if set, else a private local Ray.
        on_notice: told which Ray is used, and what the task waits for (else only logged).
        data: data given from Python (``dataset.name: python``), as ``run_experiment`` takes it.
        model: a model factory given from Python (``model.name: python``), likewise.

    Raises:
        RunInterruptedError: the driver was interrupted; nothing is saved.
        RunFailedError: the training task failed.
    """
    notes = train_notes(config)
    trained = config.model_copy(update={
        "search": config.search.model_copy(update={"space": {}}),  # the checks below concern these values only
        "baseline": False,
    })
    with open_run(config, command=Command.TRAIN, output_dir=output_dir, address=address, on_notice=on_notice,
                  data=data, model=model, checked=trained) as run:
        try:
            final = retrain_on_cluster(trained, run.data_ref, run.model)
        except KeyboardInterrupt:
            raise RunInterruptedError(f"interrupted; nothing was saved in {run.run_dir}. Run it again to train the "
                                      "model") from None
        except Exception as error:  # noqa: BLE001 - the task's failure, said in one line
            raise RunFailedError(f"training {config.name} on the full data failed: {first_line(error)}") from None
    config, run_dir = run.config, run.run_dir
    final = keep_model(final, run_dir)
    compression = compress_run(run_dir, run.data, config, run.model)  # final.compress; None when it asks for nothing
    summary = TrainSummary(
        name=config.name,
        seed=config.seed,
        dataset=run.data.describe(),
        model=config.model.name,
        model_params=dict(config.model.params),
        final=final,
        timings=Timings(data_load_s=run.timings.data_load_s, ray_start_s=run.timings.ray_start_s),
        end_to_end_wall_s=time.perf_counter() - run.started,
        notes=notes,
        status="ok",
        compression=compression,
        classes=list(run.data.class_labels),
    )
    write_json_atomic(run_dir / "summary.json", summary.to_json())  # last: its presence means the training finished
    log.info("trained %s: test accuracy %.4f, model in %s", config.name, final.test_accuracy, run_dir)
    return TrainResult(run_dir=run_dir, summary=summary)


def _value_at(config: ExperimentConfig, path: str) -> str:
    """The value ``config`` gives the dotted ``path``, as text (``default`` for a model or strategy parameter
    left to its default)."""
    value: Any = config
    for part in path.split("."):
        value = value.get(part, _DEFAULT) if isinstance(value, dict) else getattr(value, part, _DEFAULT)
        if value is _DEFAULT:
            return "default"
    return repr(value)


_DEFAULT = object()
