"""The ``energy`` section: how energy is measured or estimated, and the grid's carbon intensity."""

from __future__ import annotations

import math
from typing import Any

from pydantic import Field, field_validator

from cords_tune.config.base import StrictModel

__all__ = ["EnergyConfig"]


class EnergyConfig(StrictModel):
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
