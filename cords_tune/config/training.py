"""The ``training`` section: how one model is trained (optimizer, schedule, device, precision, validation)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from cords_tune.config.base import StrictModel

__all__ = ["TrainingConfig"]


class TrainingConfig(StrictModel):
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
