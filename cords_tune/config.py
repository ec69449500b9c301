"""The experiment schema: YAML -> a validated ``ExperimentConfig``, checked on the driver before Ray starts.

Every error becomes one ``ConfigError`` naming the field path, what must hold and what was given. Search
spaces are written as domains on dotted paths of the config (``training.lr: {loguniform: [1e-4, 0.1]}``)
and every bound and choice is checked by validating the config with that value in place, so a search space
cannot produce an invalid trial.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from cords_tune.errors import ConfigError, did_you_mean
from cords_tune.metrics import SEARCH_METRICS, search_metric
from cords_tune.plugins import import_plugins, pinned as pinned_plugin

__all__ = [
    "ExperimentConfig",
    "CompressConfig",
    "EnergyConfig",
    "Domain",
    "load_config",
    "parse_config",
    "read_experiment",
    "parse_overrides",
    "apply_params",
    "DOMAIN_KINDS",
]

DOMAIN_KINDS = ("uniform", "loguniform", "int", "logint", "choice")
SECTIONS = ("dataset", "model", "training", "selection")
# Fields a trial cannot change on its own: the run is built around them.
UNSEARCHABLE = {
    "training.epochs": "the number of epochs cannot be searched: ASHA decides how long each trial trains "
    "(set training.epochs, and search.asha for the early-stopping rungs)",
    "training.device": "the device cannot be searched: it follows resources.gpus_per_trial",
    "training.eval_batch_size": "the evaluation batch size changes no result: set it, do not search it",
    "training.precision": "the precision sets how fast a trial runs, not what is tuned: set it, do not search it",
    "training.channels_last": "the memory order changes no result: set it, do not search it",
    "training.validation": "where validation runs changes no decision: set it, do not search it",
    "selection.proxy": "the proxy a shared strategy scores the data with is trained once per run, before any "
    "trial: set selection.proxy, do not search it",
}
# Top-level sections whose fields a search may set; "dataset" only for augmentation.
SEARCHABLE_DATASET_FIELDS = ("augment",)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_booleans_for_numbers(cls, value: Any, info: Any) -> Any:
        # YAML reads yes/no/true as booleans, and pydantic would take them as 1 and 0.
        if isinstance(value, bool) and _is_number_field(cls.model_fields[info.field_name].annotation):
            raise ValueError(f"must be a number, not a boolean. Got {value!r}")
        return value


class DatasetConfig(_Strict):
    name: str = "mnist1d"
    params: dict[str, Any] = Field(default_factory=dict)
    val_fraction: float = Field(0.1, gt=0.0, lt=1.0)
    data_dir: str = "~/.cache/cords-tune/data"
    augment: bool = True

    @model_validator(mode="after")
    def _known(self) -> DatasetConfig:
        from cords_tune.datasets import DATASETS
        from cords_tune.datasets.given import GIVEN, check_given_params

        if self.name == GIVEN:  # the data is given from Python (cords_tune.run(..., data=...))
            check_given_params(self.params)
            return self
        DATASETS.get(self.name, path="dataset.name")
        DATASETS.check_params(self.name, self.params, path="dataset.params")
        return self


class ModelConfig(_Strict):
    name: str = "mlp"
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known(self) -> ModelConfig:
        from cords_tune.datasets.given import GIVEN
        from cords_tune.models import MODELS

        if self.name == GIVEN:  # the model is given from Python; its factory checks the params when it builds
            return self
        MODELS.get(self.name, path="model.name")
        MODELS.check_params(self.name, self.params, path="model.params")
        return self


class TrainingConfig(_Strict):
    epochs: int = Field(20, ge=1)
    batch_size: int = Field(128, ge=1)
    optimizer: Literal["sgd", "adam", "adamw"] = "sgd"
    lr: float = Field(0.05, gt=0.0)
    momentum: float = Field(0.9, ge=0.0, lt=1.0)
    nesterov: bool = False
    weight_decay: float = Field(5e-4, ge=0.0)
    schedule: Literal["cosine", "step", "constant"] = "cosine"
    step_every: int = Field(10, ge=1, description="epochs between lr decays (schedule: step)")
    gamma: float = Field(0.1, gt=0.0, le=1.0, description="lr factor at each decay (schedule: step)")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    eval_batch_size: int = Field(1024, ge=1)
    precision: Literal["auto", "fp32", "bf16", "fp16"] = Field(
        "auto",
        description="arithmetic of the forward passes (training, evaluation, selection features): auto is bf16 "
        "autocast on a GPU that supports it and fp32 otherwise; fp16 adds a gradient scaler. One the device cannot "
        "run falls back to fp32 with a warning. Losses and accuracies are summed in fp32",
    )
    channels_last: Literal["auto"] | bool = Field(
        "auto",
        description="keep the model and image batches in channels-last memory order (convolutional models on "
        "(N, C, H, W) inputs): auto is on for a GPU and off on the CPU",
    )
    cudnn_benchmark: bool = Field(
        False,
        description="on a GPU, let cuDNN time its convolution algorithms for each new input shape and keep the "
        "fastest: each new shape's first batches cost seconds (a trial's batch size, its subset's last batch), "
        "which short trials do not earn back. No effect on the CPU",
    )
    validation: Literal["every_epoch", "at_decisions"] = Field(
        "every_epoch",
        description="at_decisions: evaluate the validation split only at the epochs the scheduler decides at "
        "(ASHA's rungs) and the last; other epochs report the last measured values",
    )

    @field_validator("epochs", "batch_size", "step_every", "eval_batch_size", mode="before")
    @classmethod
    def _integral(cls, value: Any) -> Any:
        # Search spaces sample ints as floats sometimes (e.g. 64.0); accept integral floats only.
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value

    @field_validator("channels_last", mode="before")
    @classmethod
    def _auto_or_boolean(cls, value: Any) -> Any:
        if value == "auto" or isinstance(value, bool):
            return value
        raise ValueError(f"must be auto, true or false. Got {value!r}")


class ProxyConfig(_Strict):
    """The short training on the full data that a shared strategy (``cords-tune strategies``) scores the data
    with, once per run: the experiment's own settings (the values outside the search space), for ``epochs``.
    From it the strategy chooses one subset per reselection of a trial (every ``selection.every`` epochs),
    each from a fresh seeded random ``pool`` share of each class, so trials see new data as they train."""

    epochs: int = Field(5, ge=1, description="epochs the proxy trains on the full data before it scores the data")
    model: ModelConfig | None = Field(
        None, description="the proxy's network (name and params); default the experiment's model"
    )
    pool: float = Field(
        0.5, gt=0.0, le=1.0, description="the share of each class each round's subset is chosen from; 1: from all "
        "the data, so every round is the same static subset (as DeepCore selects)",
    )


class SelectionConfig(_Strict):
    strategy: str = "random"
    fraction: float = Field(0.1, gt=0.0, le=1.0)
    every: int = Field(5, ge=1, description="reselect the subset every this many epochs")
    warm_start_epochs: int = Field(0, ge=0, description="epochs on the full data before the first subset")
    max_cost_share: float = Field(
        0.1, gt=0.0, le=1.0, description="most of a selection cycle's time selection may take; else online random"
    )
    min_cost_s: float = Field(
        5.0, ge=0.0, description="seconds a trial's selections may take in all before max_cost_share applies"
    )
    params: dict[str, Any] = Field(default_factory=dict)
    proxy: ProxyConfig = Field(default_factory=ProxyConfig)

    @model_validator(mode="after")
    def _known(self) -> SelectionConfig:
        from cords_tune.selection import STRATEGIES, create_strategy

        STRATEGIES.get(self.strategy, path="selection.strategy")
        create_strategy(self.strategy, self.params)  # strategies check their arguments at once
        return self


class AshaConfig(_Strict):
    enabled: bool = True
    grace_period: int = Field(2, ge=1, description="epochs every trial runs before it can be stopped")
    reduction_factor: float = Field(3.0, gt=1.0)


def _number_in(value: Any) -> Any:
    """``value``, or the number a text like ``"1e-4"`` writes (an int where it is whole and has no point)."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.lstrip("+-").isdigit():
        return int(text)
    try:
        return float(text)
    except ValueError:
        return value


class Domain(_Strict):
    """One search dimension: ``{uniform|loguniform|int|logint: [low, high]}`` or ``{choice: [a, b, ...]}``.

    Bounds are inclusive for ``int`` and ``logint``.
    """

    kind: Literal["uniform", "loguniform", "int", "logint", "choice"]
    values: list[Any]

    @field_validator("values", mode="before")
    @classmethod
    def _numbers_written_as_text(cls, values: Any, info: Any) -> Any:
        # YAML 1.1 reads 1e-4 as text (it wants 1.0e-4); as a range's bound it can only mean the number.
        if info.data.get("kind") in (None, "choice") or not isinstance(values, list):
            return values
        return [_number_in(value) for value in values]

    @model_validator(mode="after")
    def _consistent(self) -> Domain:
        if self.kind == "choice":
            if not self.values:
                raise ValueError("a choice needs at least one value. Got an empty list")
            return self
        if len(self.values) != 2:
            raise ValueError(f"{self.kind} needs [low, high]. Got {self.values!r}")
        low, high = self.values
        for bound in (low, high):
            if isinstance(bound, bool) or not isinstance(bound, (int, float)) or not math.isfinite(bound):
                raise ValueError(f"{self.kind} bounds must be finite numbers. Got {self.values!r}")
        if self.kind in ("int", "logint") and not all(float(b).is_integer() for b in (low, high)):
            raise ValueError(f"{self.kind} bounds must be integers. Got {self.values!r}")
        if not low < high:
            raise ValueError(f"{self.kind} needs low < high. Got [{low}, {high}]; swap or widen them")
        if self.kind in ("loguniform", "logint") and low <= 0:
            raise ValueError(f"{self.kind} needs low > 0. Got {low}; use 'uniform' to include 0")
        return self

    @property
    def extremes(self) -> list[Any]:
        """The values a sample can take at the edges: every choice, or both bounds."""
        if self.kind in ("int", "logint"):
            return [int(v) for v in self.values]
        return list(self.values)

    @property
    def probes(self) -> list[Any]:
        """Values to validate the config with: the edges, and for a continuous domain one interior value
        that is not a whole number (a float domain on an integer field must fail here, not in a trial)."""
        if self.kind not in ("uniform", "loguniform"):
            return self.extremes
        low, high = (float(v) for v in self.values)
        interior = low + 0.37 * (high - low)
        if float(interior).is_integer():
            interior += 0.01 * (high - low)
        return [low, high, interior]


class SearchConfig(_Strict):
    space: dict[str, Domain] = Field(default_factory=dict)
    num_trials: int = Field(16, ge=1)
    algorithm: Literal["tpe", "random"] = "tpe"
    metric: Literal[SEARCH_METRICS] = Field("val_accuracy", description="declared in cords_tune.metrics")
    mode: Literal["max", "min"] | None = Field(None, description="default: min for val_loss, else max")
    max_concurrent_trials: int | None = Field(None, ge=1, description="default: as many as resources allow")
    time_budget_s: float | None = Field(
        None, gt=0.0, description="stop starting trials after this many seconds of search (running ones finish "
        "their epoch), then train the finalists; null: run every trial",
    )
    asha: AshaConfig = Field(default_factory=AshaConfig)

    @field_validator("space", mode="before")
    @classmethod
    def _parse_space(cls, raw: Any) -> Any:
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            raise ValueError(f"must be a mapping of parameter paths to domains. Got {type(raw).__name__}")
        return {path: _domain_input(path, spec) for path, spec in _flatten_space(raw).items()}

    @field_validator("metric", mode="before")
    @classmethod
    def _known_metric(cls, value: Any) -> Any:
        if isinstance(value, str):
            search_metric(value)  # unknown: its error names the choices, and the closest one
        return value

    @model_validator(mode="after")
    def _default_mode(self) -> SearchConfig:
        if self.mode is None:
            self.mode = search_metric(self.metric).mode
        return self


class ResourcesConfig(_Strict):
    cpus_per_trial: float = Field(1.0, gt=0.0)
    gpus_per_trial: float = Field(0.0, ge=0.0)
    max_wait_s: float | None = Field(
        600.0, gt=0.0,
        description="on a cluster: stop (resumable) when no trial could run for this long, waiting for resources "
        "an autoscaler may add; null waits forever",
    )

    @field_validator("gpus_per_trial")
    @classmethod
    def _whole_above_one(cls, value: float) -> float:
        if value > 1 and not float(value).is_integer():
            raise ValueError(f"must be a fraction up to 1 or a whole number of GPUs. Got {value}")
        return value


class CompressConfig(_Strict):
    """Compressed variants of the final model, made after the full-data retrain (``cords_tune.compression``).

    Off by default: nothing is compressed unless a variant is asked for.
    """

    dynamic_int8: bool = Field(False, description="int8 weights for the linear layers, activations quantized on the fly")
    static_int8: bool = Field(
        False, description="int8 weights and activations, calibrated on training samples, where the model supports it"
    )
    prune: list[float] = Field(
        default_factory=list, description="sparsities in (0, 1): for each, that fraction of the conv/linear "
        "weights with the smallest magnitudes (over all layers) is set to zero"
    )
    finetune_epochs: int = Field(0, ge=0, description="epochs of training after pruning, the zeroed weights kept at zero")
    finetune_lr: float | None = Field(None, gt=0.0, description="default: a tenth of training.lr")
    calibration_samples: int = Field(512, ge=1, description="training samples run through the model to calibrate static_int8")
    latency_batch: int = Field(256, ge=1, description="test samples in the batch whose CPU inference time is measured")
    latency_repeats: int = Field(30, ge=3, description="timed runs of that batch; the median is reported")

    @field_validator("prune", mode="before")
    @classmethod
    def _sparsities(cls, value: Any) -> Any:
        how = "list the fractions of weights to set to zero, e.g. prune: [0.5, 0.8]"
        if value is None:
            return []
        if not isinstance(value, list):
            raise ValueError(f"must be a list of sparsities in (0, 1); {how}. Got {value!r}")
        for item in value:
            if isinstance(item, bool) or not isinstance(item, (int, float)) or not 0.0 < item < 1.0:
                raise ValueError(
                    f"every sparsity must be a number strictly between 0 and 1 (the fraction of weights set to "
                    f"zero); {how}. Got {item!r} in {value!r}"
                )
        if len(set(value)) != len(value):
            raise ValueError(f"each sparsity may be listed once; {how}. Got {value!r}")
        return value

    @model_validator(mode="after")
    def _finetune_needs_pruning(self) -> CompressConfig:
        if self.finetune_epochs and not self.prune:
            raise ValueError(
                f"finetune_epochs trains pruned variants, but prune lists no sparsity. Got finetune_epochs="
                f"{self.finetune_epochs} and prune=[]. Add sparsities (e.g. prune: [0.5]) or set finetune_epochs: 0"
            )
        return self

    @property
    def enabled(self) -> bool:
        return self.dynamic_int8 or self.static_int8 or bool(self.prune)


class FinalConfig(_Strict):
    enabled: bool = Field(True, description="train the best configurations (top_k) on the full data")
    epochs: int | None = Field(None, ge=1, description="default: training.epochs")
    top_k: int = Field(
        2, ge=1,
        description="finalists: the best configurations of the subset search, each trained on the full data (in "
        "parallel, a trial's resources each); the one with the best full-data validation score is the result. "
        "1: retrain the subset search's best alone. Never more than the search's usable trials",
    )
    compress: CompressConfig = Field(
        default_factory=CompressConfig,
        description="compressed variants of the final model (int8, pruned), measured and saved in compressed/",
    )


class FaultToleranceConfig(_Strict):
    checkpoint_every: int = Field(5, ge=1, description="epochs between trial checkpoints")
    keep_checkpoints: int = Field(2, ge=1, description="checkpoints kept per trial (older ones are deleted)")
    max_failures: int = Field(2, ge=0, description="retries of a trial whose worker died, from its last checkpoint")


class MlflowConfig(_Strict):
    tracking_uri: str | None = Field(
        None, description="the MLflow tracking server or store, e.g. http://mlflow:5000 or file:///data/mlruns "
        "(default: MLflow's own, MLFLOW_TRACKING_URI or ./mlruns)"
    )
    experiment_name: str | None = Field(None, description="default: the experiment's name")


class WandbConfig(_Strict):
    project: str = Field(..., min_length=1, description="the Weights & Biases project")
    entity: str | None = None
    group: str | None = Field(None, description="default: the run directory's name")
    mode: Literal["online", "offline", "disabled"] = "online"


class TrackingConfig(_Strict):
    optuna_storage: str | None = Field(
        "sqlite",
        description="where the Optuna study of each search is kept: 'sqlite' (optuna.db in the run directory), an "
        "SQLAlchemy URL (e.g. postgresql://host/db), or null (in memory only)",
    )
    mlflow: MlflowConfig | None = Field(None, description="log every trial to MLflow (needs the mlflow package)")
    wandb: WandbConfig | None = Field(None, description="log every trial to Weights & Biases (needs wandb)")

    @field_validator("optuna_storage")
    @classmethod
    def _storage_url(cls, value: str | None) -> str | None:
        if value is None or value == "sqlite" or "://" in value:
            return value
        raise ValueError(f"must be 'sqlite', an SQLAlchemy URL such as sqlite:////abs/path/optuna.db or "
                         f"postgresql://host/db, or null. Got {value!r}")


class EnergyConfig(_Strict):
    """How the energy of trials and final trainings is counted (``cords_tune.energy``): measured where a counter
    can be read, otherwise estimated as the seconds a trial or task held its CPUs and GPUs times these figures."""

    measure: bool = Field(
        True, description="read the energy counters this machine offers (NVML for GPUs, RAPL for CPU packages); "
        "false: always estimate, e.g. to compare machines on the same footing",
    )
    cpu_watts_per_core: float = Field(
        10.0, description="watts one CPU (as Ray counts CPUs) draws while a trial uses it, where RAPL cannot be read",
    )
    gpu_watts: float = Field(
        300.0, description="watts one GPU draws while a trial uses it, where NVML cannot measure it (about an A100's "
        "or a PCIe H100's rated power; SXM H100/H200 are rated up to 700 W)",
    )
    grid_gco2_per_kwh: float = Field(
        475.0, description="grams of CO2-equivalent per kWh of the electricity used (default: about the world "
        "average of recent years; your grid's figure is often far from it)",
    )

    @field_validator("cpu_watts_per_core", "gpu_watts", "grid_gco2_per_kwh")
    @classmethod
    def _plausible(cls, value: float, info: Any) -> float:
        zero_allowed, high, what = _ENERGY_FIGURES[info.field_name]
        if not (math.isfinite(value) and (value >= 0 if zero_allowed else value > 0) and value <= high):
            raise ValueError(f"must be {what}. Got {value!r}")
        return value


_ENERGY_FIGURES = {  # field: (0 allowed, upper bound, what it must be)
    "cpu_watts_per_core": (False, 1000.0, "the power one CPU core draws under load, in watts: above 0 and at most "
                           "1000 (cores draw about 3 to 15 W)"),
    "gpu_watts": (False, 5000.0, "the power one GPU draws under load, in watts: above 0 and at most 5000 (GPUs "
                  "draw about 70 to 1000 W)"),
    "grid_gco2_per_kwh": (True, 2000.0, "the grid's carbon intensity in grams of CO2e per kWh: from 0 to 2000 "
                          "(grids range from about 20 to 1000 g/kWh)"),
}


class ExperimentConfig(_Strict):
    name: str = Field("experiment", min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="Optuna's samplers take seeds below 2**32")
    plugins: list[str] = Field(
        default_factory=list,
        description="modules that register your own datasets, models or strategies: module names or .py paths, "
        "imported before the experiment is checked, on the driver and on every Ray worker",
    )
    dataset: DatasetConfig = Field(default_factory=DatasetConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    selection: SelectionConfig = Field(default_factory=SelectionConfig)
    search: SearchConfig = Field(default_factory=SearchConfig)
    resources: ResourcesConfig = Field(default_factory=ResourcesConfig)
    final: FinalConfig = Field(default_factory=FinalConfig)
    fault_tolerance: FaultToleranceConfig = Field(default_factory=FaultToleranceConfig)
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)
    energy: EnergyConfig = Field(
        default_factory=EnergyConfig,
        description="how the energy of trials and final trainings is measured or estimated, and the grid's CO2e",
    )
    baseline: bool = Field(
        False,
        description="also tune on the full data (same space, trials, seed, ASHA and resources) and compare: "
        "speedup, test accuracy and both best configs",
    )
    output_dir: str = "results"
    storage_path: str | None = Field(
        None,
        description="where Ray Tune keeps trial files: default the run directory; on several nodes a shared "
        "path (NFS) or a cloud URI (s3://, gs://)",
    )

    @model_validator(mode="after")
    def _cuda_needs_gpus(self) -> ExperimentConfig:
        if self.training.device == "cuda" and self.resources.gpus_per_trial == 0:
            raise ConfigError(
                "training.device is 'cuda' but resources.gpus_per_trial is 0, so Ray gives trials no GPU. "
                "Set resources.gpus_per_trial (e.g. 1 or 0.5), or training.device: auto",
                path="training.device",
            )
        return self

    @model_validator(mode="after")
    def _baseline_needs_subsets_and_retrain(self) -> ExperimentConfig:
        from cords_tune.selection import uses_subsets

        if not self.baseline:
            return self
        if not uses_subsets(self.selection.strategy):
            raise ConfigError(
                "baseline compares tuning on subsets with tuning on the full data, but selection.strategy is "
                f"already {self.selection.strategy!r}, which trains on the full data. Pick a subset strategy "
                "(e.g. gradmatch), or set baseline: false",
                path="baseline",
            )
        if not self.final.enabled:
            raise ConfigError(
                "baseline compares test accuracies, and the subset side's comes from the final retrain, but "
                "final.enabled is false. Set final.enabled: true, or baseline: false",
                path="baseline",
            )
        return self

    @model_validator(mode="after")
    def _compress_needs_final_model(self) -> ExperimentConfig:
        if self.final.compress.enabled and not self.final.enabled:
            raise ConfigError(
                "final.compress compresses the final model, but final.enabled is false, so no final model is "
                "trained. Set final.enabled: true, or remove final.compress",
                path="final.compress",
            )
        return self

    def with_absolute_paths(self) -> ExperimentConfig:
        """The same experiment with its relative paths made absolute from the current directory:
        ``storage_path`` (unless a URI), ``dataset.data_dir`` and every dataset parameter named ``path`` or
        ``*_path``, and plugin files. A run pins them when it starts, so that its ``config.yaml``, ``best_config.yaml`` and a
        ``resume`` from another directory read the same files."""

        def pinned(value: Any) -> Any:
            return str(Path(value).expanduser().absolute()) if isinstance(value, str) and value else value

        params = {k: pinned(v) if k == "path" or k.endswith("_path") else v for k, v in self.dataset.params.items()}
        dataset = self.dataset.model_copy(update={"params": params, "data_dir": pinned(self.dataset.data_dir)})
        storage = self.storage_path
        if storage and "://" not in storage:
            storage = pinned(storage)
        plugins = [pinned_plugin(spec) for spec in self.plugins]
        return self.model_copy(update={"dataset": dataset, "storage_path": storage, "plugins": plugins})

    @property
    def final_epochs(self) -> int:
        return self.final.epochs or self.training.epochs

    def to_data(self) -> dict[str, Any]:
        """The experiment as plain data, in the form an experiment file is written (``parse_config`` reads it)."""
        data = self.model_dump(mode="json")
        data["search"]["space"] = {path: {d["kind"]: d["values"]} for path, d in data["search"]["space"].items()}
        return data

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_data(), sort_keys=False)


def _is_number_field(annotation: Any) -> bool:
    return annotation in (int, float) or set(getattr(annotation, "__args__", ())) in ({int, type(None)}, {float, type(None)})


# ---------------------------------------------------------------------------------------------- search space


def _flatten_space(raw: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested or dotted keys -> dotted paths; a leaf is a mapping whose single key is a domain kind."""
    flat: dict[str, Any] = {}
    for key, spec in raw.items():
        path = f"{prefix}{key}"
        # A section maps names to mappings; a domain maps one kind to its values (a list).
        if isinstance(spec, dict) and not (len(spec) == 1 and not isinstance(next(iter(spec.values())), dict)):
            if not spec:
                raise ValueError(f"{path!r} is empty: give it a domain such as {{choice: [...]}}")
            flat.update(_flatten_space(spec, prefix=f"{path}."))
        else:
            flat[path] = spec
    return flat


def _domain_input(path: str, spec: Any) -> dict[str, Any]:
    if isinstance(spec, dict) and len(spec) == 1:
        kind, values = next(iter(spec.items()))
        if kind in DOMAIN_KINDS:
            return {"kind": kind, "values": values if isinstance(values, list) else [values]}
        raise ValueError(
            f"{path!r}: unknown domain {kind!r}.{did_you_mean(kind, DOMAIN_KINDS)} "
            f"Use one of: {', '.join(DOMAIN_KINDS)}"
        )
    raise ValueError(
        f"{path!r} must be a domain like {{loguniform: [1.0e-4, 0.1]}} or {{choice: [sgd, adam]}}. "
        f"Got {spec!r}"
    )


def _resolve_space_paths(config: ExperimentConfig) -> ExperimentConfig:
    """Give bare names (``lr``) their section, check every path names a searchable field."""
    resolved: dict[str, Domain] = {}
    written: dict[str, str] = {}
    for path, domain in config.search.space.items():
        full = _resolve_path(path, config)
        if full in resolved:
            raise ConfigError(
                f"{full!r} is searched twice: as {written[full]!r} and as {path!r}; keep one", path="search.space"
            )
        resolved[full] = domain
        written[full] = path
    config.search.space = resolved
    return config


def _resolve_path(path: str, config: ExperimentConfig) -> str:
    where = f"search.space.{path}"
    parts = path.split(".")
    if parts[0] not in SECTIONS:
        owners = [s for s in ("training", "selection") if parts[0] in type(getattr(config, s)).model_fields]
        if len(parts) == 1 and len(owners) == 1:
            return f"{owners[0]}.{path}"
        searchable = [f"training.{f}" for f in TrainingConfig.model_fields] + [
            f"selection.{f}" for f in SelectionConfig.model_fields if f != "params"
        ]
        raise ConfigError(
            f"{path!r} is not a searchable parameter.{did_you_mean(path, searchable)} Use a dotted path "
            "into the config: training.<field>, selection.<field>, model.params.<name> or "
            "selection.params.<name>",
            path=where,
        )
    section, rest = parts[0], parts[1:]
    if section == "dataset" and rest != ["augment"]:
        raise ConfigError("of the dataset only 'dataset.augment' can be searched", path=where)
    if len(rest) == 2 and rest[0] == "params" and section in ("model", "selection"):
        return path  # the value check below rejects names the builder does not take
    if path in UNSEARCHABLE:
        raise ConfigError(UNSEARCHABLE[path], path=where)
    fields = type(getattr(config, section)).model_fields
    if len(rest) != 1 or rest[0] not in fields or rest[0] == "params":
        names = [f"{section}.{f}" for f in fields if f != "params"]
        raise ConfigError(
            f"{path!r} is not a field.{did_you_mean(path, names)} Fields of {section}: {', '.join(names)}",
            path=where,
        )
    return path


def _check_space_values(config: ExperimentConfig) -> None:
    """Validate the config with each edge value of each domain in place."""
    for path, domain in config.search.space.items():
        for value in domain.probes:
            try:
                apply_params(config, {path: value})
            except ConfigError as error:
                raise ConfigError(
                    f"the value {value!r} of this domain makes an invalid config: {error}",
                    path=f"search.space.{path}",
                ) from None


# ---------------------------------------------------------------------------------------------- loading


def parse_config(
    data: Any,
    *,
    source: str = "config",
    overrides: list[str] | tuple[str, ...] = (),
    plugins: list[str] | tuple[str, ...] = (),
) -> ExperimentConfig:
    """Validate a mapping into an ``ExperimentConfig`` after applying ``a.b=value`` ``overrides`` and adding
    ``plugins``; raise one ``ConfigError`` describing all problems."""
    if overrides and isinstance(data, dict):
        data = _set_paths(data, parse_overrides(overrides))
    listed = (data.get("plugins") or []) if isinstance(data, dict) else None
    if plugins and isinstance(listed, list):  # otherwise the check below reports what `plugins` holds
        data = {**data, "plugins": list(dict.fromkeys([*listed, *plugins]))}
    if data is None:
        raise ConfigError(f"{source} is empty: it must be a YAML mapping with at least a 'name'")
    if not isinstance(data, dict):
        raise ConfigError(f"{source} must be a YAML mapping of sections. Got a {type(data).__name__}")
    import_plugins(data.get("plugins"))  # first: they register the names the experiment uses
    try:
        config = ExperimentConfig.model_validate(data)
    except ValidationError as error:
        raise _config_error(error) from None
    config = _resolve_space_paths(config)
    _check_space_values(config)
    _check_shared_subset_space(config)
    return config


def _check_shared_subset_space(config: ExperimentConfig) -> None:
    """A shared strategy selects one subset per run, before any trial: nothing of it can differ per trial."""
    from cords_tune.selection import plan_of

    searched = [path for path in config.search.space if path.startswith("selection.")]
    if searched and plan_of(config.selection.strategy).shared:
        raise ConfigError(
            f"strategy {config.selection.strategy!r} selects one subset per run, shared by every trial, so "
            f"{searched[0]!r} cannot differ between trials. Set it in selection instead of searching it, or pick "
            "a per-trial strategy (cords-tune strategies lists which are shared)",
            path=f"search.space.{searched[0]}",
        )


def load_config(
    path: str | Path, overrides: list[str] | tuple[str, ...] = (), plugins: list[str] | tuple[str, ...] = ()
) -> ExperimentConfig:
    """Read a YAML experiment file, apply ``a.b=value`` overrides, validate.

    Only plain YAML is read (``yaml.safe_load``): a config executes no code besides importing the plugin
    modules it names (``plugins``, and ``plugins`` added here).
    """
    return parse_config(read_experiment(path), overrides=overrides, plugins=plugins, source=repr(str(path)))


def read_experiment(path: str | Path) -> Any:
    """The YAML of an experiment file as plain data, not yet validated."""
    file = Path(path).expanduser()
    if not file.exists():
        raise ConfigError(f"config file {str(file)!r} does not exist. Check the path (see experiments/)")
    if file.is_dir():
        raise ConfigError(f"{str(file)!r} is a directory. Give the path of a YAML experiment file in it")
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read {str(file)!r}: {error}") from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader: plain data only, never code
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(f"{str(file)!r} is not valid YAML{where}: {problem}") from None


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's SafeLoader, except that a key given twice in one mapping is an error, not a silent override."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} appears twice (lines {seen[key]} and {line}); keep one",
                    key_node.start_mark,
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def parse_overrides(overrides: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """``["training.lr=0.1", "search.num_trials=4"]`` -> ``{"training.lr": 0.1, ...}`` (values are YAML)."""
    parsed: dict[str, Any] = {}
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip() or any(not part for part in key.strip().split(".")):
            raise ConfigError(f"an override must look like 'a.b=value' (e.g. training.lr=0.1). Got {item!r}")
        try:
            parsed[key.strip()] = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            raise ConfigError(f"the value of override {item!r} is not valid YAML") from None
    return parsed


def apply_params(config: ExperimentConfig, params: dict[str, Any]) -> ExperimentConfig:
    """A new validated config with each dotted ``path: value`` of ``params`` set (a trial's sample)."""
    data = config.model_dump(mode="python")
    data["search"]["space"] = {}  # the sample replaces the search; keeps trial configs self-contained
    return parse_config(_set_paths(data, params), source="trial config")


def _set_paths(data: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(data)
    for path, value in values.items():
        node = data
        keys = path.split(".")
        for i, key in enumerate(keys[:-1]):
            child = node.get(key)
            if child is None:
                child = node[key] = {}
            if not isinstance(child, dict):
                raise ConfigError(f"cannot set {path!r}: {'.'.join(keys[: i + 1])!r} is not a section")
            node = child
        node[keys[-1]] = value
    return data


def _config_error(error: ValidationError) -> ConfigError:
    """One ``ConfigError`` for all of pydantic's findings; a validator's own ``ConfigError``, when it is the
    only finding, as it was raised (its class and field path kept)."""
    items = error.errors(include_url=False)
    raised = items[0].get("ctx", {}).get("error") if len(items) == 1 else None
    if isinstance(raised, ConfigError):
        if raised.path is None and items[0]["loc"]:
            return ConfigError(str(raised), path=".".join(str(part) for part in items[0]["loc"]))
        return raised
    return ConfigError(_format_validation_error(error))


def _format_validation_error(error: ValidationError) -> str:
    lines = []
    for item in error.errors(include_url=False):
        path = ".".join(str(part) for part in item["loc"]) or "config"
        kind, message = item["type"], item["msg"]
        raised = item.get("ctx", {}).get("error")
        if isinstance(raised, ConfigError):  # a validator's own message, which names its field already
            lines.append(str(raised) if raised.path or path == "config" else f"{path}: {raised}")
            continue
        if kind == "extra_forbidden":
            parent = item["loc"][:-1]
            fields = _fields_at(parent)
            key = str(item["loc"][-1])
            lines.append(
                f"{path}: unknown key {key!r}.{did_you_mean(key, fields)} Valid keys here: {', '.join(fields)}"
            )
            continue
        message = message.removeprefix("Value error, ")
        given = item.get("input")
        shown = "" if "Got " in message or kind == "missing" else f". Got {given!r}"
        lines.append(f"{path}: {message}{shown}")
    return "\n".join(lines)


def _fields_at(loc: tuple[Any, ...]) -> list[str]:
    model: type[BaseModel] = ExperimentConfig
    for part in loc:
        field = model.model_fields.get(str(part))
        annotation = getattr(field, "annotation", None)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)
