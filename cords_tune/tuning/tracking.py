"""Where a search is recorded besides the run directory: the Optuna study, in a storage the user can open
(``optuna.load_study``, optuna-dashboard), and every trial in MLflow or Weights & Biases through Ray Tune's own
logger callbacks. Tune's TensorBoard files are written as always, under the run's ``tune/`` folder."""

from __future__ import annotations

import importlib.util
import logging
import threading
from pathlib import Path
from typing import Any

from ray import tune

from cords_tune.config import ExperimentConfig
from cords_tune.errors import ConfigError
from cords_tune.results.study import StudyStore

__all__ = ["OPTUNA_FILE", "StudyRecorder", "study_store", "logger_callbacks", "check_tracking"]

log = logging.getLogger(__name__)

OPTUNA_FILE = "optuna.db"  # the default study storage, in the folder of the search's summary.json


class StudyRecorder(tune.Callback):
    """A Tune callback that adds every finished trial to the Optuna study in ``store`` (its sampled values,
    its last reported metric, its Tune trial id), as it finishes.

    The searcher keeps its own study in memory, checkpointed with Tune's experiment state; this copy is for
    the user, and a resumed search adds only the trials it does not hold yet (Tune's checkpoint of the searcher
    may be older than what was recorded here).
    """

    def __init__(self, store: StudyStore, space: dict[str, Any], metric: str, mode: str) -> None:
        self.store = store
        self.metric = metric
        self.direction = "maximize" if mode == "max" else "minimize"
        self.space = space  # dotted path -> the config's Domain
        self._study: Any = None
        self._opening: threading.Thread | None = None
        self._warned = False

    def __getstate__(self) -> dict[str, Any]:  # pickled with the experiment state: no open connection
        return {**self.__dict__, "_study": None, "_opening": None}

    def setup(self, **info: Any) -> None:
        # Creating an SQLite study (its tables, through SQLAlchemy) takes seconds: done beside the search, so
        # that Tune starts the trials' workers meanwhile. The first finished trial waits for it if need be.
        self._opening = threading.Thread(target=self._open_quietly, name="optuna-study", daemon=True)
        self._opening.start()

    def _open_quietly(self) -> None:
        try:
            self._opened()
        except Exception:  # noqa: BLE001 - said once, when a trial cannot be recorded
            pass

    def on_trial_complete(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self._record(trial, failed=False)

    def on_experiment_end(self, trials: list[Any], **info: Any) -> None:
        self._open_quietly()  # the study exists once the search returns, even if no trial finished

    def on_trial_error(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self._record(trial, failed=True)

    def _opened(self) -> Any:
        opening = self._opening
        if opening is not None and opening is not threading.current_thread():
            opening.join()
            self._opening = None
        if self._study is None:
            import optuna

            self._study = optuna.create_study(storage=self.store.open(), study_name=self.store.study_name,
                                              direction=self.direction, load_if_exists=True)
        return self._study

    def _record(self, trial: Any, *, failed: bool) -> None:
        import optuna

        try:
            study = self._opened()
            if any(t.user_attrs.get("tune_trial_id") == trial.trial_id for t in study.get_trials(deepcopy=False)):
                return
            result = trial.last_result or {}
            value = result.get(self.metric)
            params, distributions = {}, {}
            for path, domain in self.space.items():
                if path in trial.config:
                    distributions[path] = _distribution(domain)
                    params[path] = _recordable(trial.config[path])
            study.add_trial(optuna.trial.create_trial(
                params=params,
                distributions=distributions,
                value=None if failed or value is None else float(value),
                state=optuna.trial.TrialState.FAIL if failed or value is None else optuna.trial.TrialState.COMPLETE,
                user_attrs={"tune_trial_id": trial.trial_id, "epochs": result.get("training_iteration", 0)},
            ))
        except Exception as error:  # noqa: BLE001 - a record lost is no reason to stop a search
            if not self._warned:
                self._warned = True
                log.warning("the Optuna study in %s is not updated: %s", self.store.url, error)


def _distribution(domain: Any) -> Any:
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    low, high = (domain.values + [None, None])[:2]
    if domain.kind in ("uniform", "loguniform"):
        return FloatDistribution(float(low), float(high), log=domain.kind == "loguniform")
    if domain.kind in ("int", "logint"):
        return IntDistribution(int(low), int(high), log=domain.kind == "logint")
    return CategoricalDistribution([_recordable(v) for v in domain.values])


def _recordable(value: Any) -> Any:
    """Optuna records None, bools, numbers and strings; other choices (lists) as their text."""
    return value if value is None or isinstance(value, (bool, int, float, str)) else repr(value)


def study_store(config: ExperimentConfig, folder: Path, name: str) -> StudyStore | None:
    """The study store of the search whose files go into ``folder``; the study is called ``name`` (the run
    directory's name, ``-baseline`` added for the full-data search), unique in a storage shared by many runs."""
    url = config.tracking.optuna_storage
    if url is None or not config.search.space:
        return None
    if url == "sqlite":
        Path(folder).mkdir(parents=True, exist_ok=True)  # the baseline's folder is made by its search
        url = f"sqlite:///{Path(folder).resolve() / OPTUNA_FILE}"
    return StudyStore(url=url, study_name=name)


def check_tracking(config: ExperimentConfig) -> None:
    """Fail before anything starts when a tracking backend the experiment asks for is not installed."""
    for section, module, extra in (("mlflow", "mlflow", "mlflow"), ("wandb", "wandb", "wandb")):
        if getattr(config.tracking, section) is not None and importlib.util.find_spec(module) is None:
            raise ConfigError(
                f"tracking.{section} needs the {module} package, which is not installed. Install it (pip install "
                f"'cords-tune[{extra}]'), or remove tracking.{section}", path=f"tracking.{section}"
            )


def logger_callbacks(config: ExperimentConfig, run_name: str, phase: str) -> list[Any]:
    """Tune callbacks that log every trial's config and per-epoch results where ``tracking`` says."""
    check_tracking(config)
    callbacks: list[Any] = []
    mlflow = config.tracking.mlflow
    if mlflow is not None:
        from ray.air.integrations.mlflow import MLflowLoggerCallback

        callbacks.append(MLflowLoggerCallback(
            tracking_uri=mlflow.tracking_uri,
            experiment_name=mlflow.experiment_name or config.name,
            tags={"cords_tune.run": run_name, "cords_tune.phase": phase},
        ))
    wandb = config.tracking.wandb
    if wandb is not None:
        from ray.air.integrations.wandb import WandbLoggerCallback

        callbacks.append(WandbLoggerCallback(
            project=wandb.project, entity=wandb.entity, group=wandb.group or run_name, mode=wandb.mode,
            job_type=phase,
        ))
    return callbacks
