"""``ExperimentConfig``: the whole experiment, its sections, and the checks that span sections."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, model_validator

from cords_tune.config.base import StrictModel
from cords_tune.config.data import DatasetConfig, ModelConfig
from cords_tune.config.energy import EnergyConfig
from cords_tune.config.final import FinalConfig
from cords_tune.config.resources import FaultToleranceConfig, ResourcesConfig
from cords_tune.config.search import SearchConfig
from cords_tune.config.selection import SelectionConfig
from cords_tune.config.tracking import TrackingConfig
from cords_tune.config.training import TrainingConfig
from cords_tune.errors import ConfigError
from cords_tune.plugins import pinned as pinned_plugin

__all__ = ["ExperimentConfig"]


class ExperimentConfig(StrictModel):
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
        from cords_tune.selection import plan_for

        if not self.baseline:
            return self
        if not plan_for(self.selection).uses_subsets:
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

    @model_validator(mode="after")
    def _rungs_before_the_last_epoch(self) -> ExperimentConfig:
        rungs = self.final.rungs or []
        if rungs and rungs[-1] >= self.final_epochs:
            raise ConfigError(
                f"must each be below the final epochs ({self.final_epochs}: final.epochs, else "
                f"training.epochs), since the last epoch ends the race anyway. Got {rungs}. Drop the rungs from "
                f"{self.final_epochs} on, or leave final.rungs out for final epochs / reduction_factor^i",
                path="final.rungs",
            )
        return self

    def with_absolute_paths(self) -> ExperimentConfig:
        """The same experiment with its relative paths made absolute from the current directory:
        ``storage_path`` (unless a URI), ``dataset.data_dir`` and every dataset parameter named ``path`` or
        ``*_path``, and plugin files. A run pins them when it starts, so that its ``config.yaml``,
        ``best_config.yaml`` and a ``resume`` from another directory read the same files."""

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
