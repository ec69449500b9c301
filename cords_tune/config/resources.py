"""The ``resources`` and ``fault_tolerance`` sections: what each trial holds on the cluster, and how a trial
survives the death of its worker."""

from __future__ import annotations

from pydantic import Field, field_validator

from cords_tune.config.base import StrictModel

__all__ = ["FaultToleranceConfig", "ResourcesConfig"]


class ResourcesConfig(StrictModel):
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


class FaultToleranceConfig(StrictModel):
    checkpoint_every: int = Field(5, ge=1, description="epochs between trial checkpoints")
    keep_checkpoints: int = Field(2, ge=1, description="checkpoints kept per trial (older ones are deleted)")
    max_failures: int = Field(2, ge=0, description="retries of a trial whose worker died, from its last checkpoint")
