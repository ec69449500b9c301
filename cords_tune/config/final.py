"""The ``final`` section: the finalists retrained on the full data, and the compressed variants of the final
model."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from cords_tune.config.base import StrictModel

__all__ = ["CompressConfig", "FinalConfig"]


class CompressConfig(StrictModel):
    """Compressed variants of the final model, made after the full-data retrain (``cords_tune.compression``).

    Off by default: nothing is compressed unless a variant is asked for.
    """

    dynamic_int8: bool = Field(
        False, description="int8 weights for the linear layers, activations quantized on the fly"
    )
    static_int8: bool = Field(
        False, description="int8 weights and activations, calibrated on training samples, where the model supports it"
    )
    prune: list[float] = Field(
        default_factory=list, description="sparsities in (0, 1): for each, that fraction of the conv/linear "
        "weights with the smallest magnitudes (over all layers) is set to zero"
    )
    finetune_epochs: int = Field(
        0, ge=0, description="epochs of training after pruning, the zeroed weights kept at zero"
    )
    finetune_lr: float | None = Field(None, gt=0.0, description="default: a tenth of training.lr")
    calibration_samples: int = Field(
        512, ge=1, description="training samples run through the model to calibrate static_int8"
    )
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


class FinalConfig(StrictModel):
    enabled: bool = Field(True, description="train the best configurations (top_k) on the full data")
    epochs: int | None = Field(None, ge=1, description="default: training.epochs")
    top_k: int = Field(
        2, ge=1,
        description="finalists: the best configurations of the subset search, each trained on the full data (in "
        "parallel, a trial's resources each); the one with the best full-data validation score is the result. "
        "1: retrain the subset search's best alone. Never more than the search's usable trials",
    )
    reduction_factor: int = Field(
        3, ge=2, description="the finalists' race on the full data: at each rung the best 1/reduction_factor of "
        "the candidates (at least one) train on, the others stop",
    )
    rungs: list[int] | None = Field(
        None, description="full-data epochs after which the finalists are compared and the weaker stop; default: "
        "final epochs / reduction_factor^i, as many rungs as it takes to leave one",
    )
    warm_start: bool = Field(
        False, description="start each finalist from its subset trial's trained model instead of a fresh one",
    )
    workers: int | Literal["auto"] = Field(
        1, description="data-parallel workers (a trial's resources each) for the winner's training once it is "
        "alone; auto: the slots the race freed",
    )
    compress: CompressConfig = Field(
        default_factory=CompressConfig,
        description="compressed variants of the final model (int8, pruned), measured and saved in compressed/",
    )

    @field_validator("rungs")
    @classmethod
    def _rungs_increase(cls, value: list[int] | None) -> list[int] | None:
        if value is None:
            return value
        if any(epoch < 1 for epoch in value) or any(a >= b for a, b in zip(value, value[1:])):
            raise ValueError(
                f"must be full-data epochs of at least 1, strictly increasing (e.g. rungs: [3, 10]); [] trains "
                f"every finalist to the end, and leaving it out sets final epochs / reduction_factor^i. Got {value!r}"
            )
        return value
