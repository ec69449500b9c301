"""Energy records: joules kept apart by how they were obtained (``Energy``, a trial's or task's), a run's energy
part by part with its CO2e (``RunEnergy``), and summary.json's ``energy`` (``EnergyRecord``). The meters that
measure or estimate them are in ``cords_tune.energy``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cords_tune.results.records import DictForm, known_fields

if TYPE_CHECKING:
    from cords_tune.config import EnergyConfig

__all__ = ["Energy", "RunEnergy", "EnergyPart", "EnergyRecord", "JOULES_PER_KWH"]

JOULES_PER_KWH = 3.6e6


@dataclass(frozen=True)
class Energy:
    """Joules used, kept apart by how they were obtained; ``meters`` names the counters that measured."""

    measured_j: float = 0.0
    estimated_j: float = 0.0
    meters: tuple[str, ...] = ()

    @property
    def joules(self) -> float:
        return self.measured_j + self.estimated_j

    @property
    def kwh(self) -> float:
        return self.joules / JOULES_PER_KWH

    @property
    def source(self) -> str:
        """``"measured (NVML)"``, ``"estimated"``, or for a sum of both ``"mixed: 80% measured (NVML), the rest
        estimated"``."""
        if not self.meters:
            return "estimated"
        meters = ", ".join(self.meters)
        if self.estimated_j == 0:
            return f"measured ({meters})"
        return f"mixed: {100 * self.measured_share:.0f}% measured ({meters}), the rest estimated"

    @property
    def measured_share(self) -> float:
        return self.measured_j / self.joules if self.joules > 0 else 0.0

    def __add__(self, other: Energy) -> Energy:
        return Energy(self.measured_j + other.measured_j, self.estimated_j + other.estimated_j,
                      tuple(dict.fromkeys((*self.meters, *other.meters))))

    @classmethod
    def total(cls, parts: Iterable[Energy]) -> Energy:
        return sum(parts, cls())

    def as_columns(self) -> dict[str, Any]:
        """The flat form a trial reports with each epoch, trials.parquet and ``final`` in summary.json hold."""
        return {"energy_j": self.joules, "energy_measured_j": self.measured_j,
                "energy_meters": ",".join(self.meters), "energy_source": self.source}

    @classmethod
    def from_columns(cls, row: Mapping[str, Any]) -> Energy:
        """Back from ``as_columns`` (a trial's metrics or row); nothing recorded reads as no energy."""
        total, measured = _number(row.get("energy_j")), _number(row.get("energy_measured_j"))
        meters = tuple(m for m in str(row.get("energy_meters") or "").split(",") if m)
        return cls(measured, max(0.0, total - measured), meters)


@dataclass(frozen=True)
class RunEnergy:
    """A run's energy, part by part (``trials``, ``finalists``, ...), and its CO2e at the configured grid
    intensity: summary.json's ``energy``."""

    parts: dict[str, Energy]
    settings: EnergyConfig

    @property
    def total(self) -> Energy:
        return Energy.total(self.parts.values())

    @property
    def co2e_kg(self) -> float:
        return self.total.kwh * self.settings.grid_gco2_per_kwh / 1000.0

    def as_dict(self) -> dict[str, Any]:
        return self.record().as_dict()

    def record(self) -> EnergyRecord:
        """What summary.json keeps of it: the total, each part's total, the assumptions."""
        total = self.total
        return EnergyRecord(
            kwh=total.kwh,
            joules=total.joules,
            co2e_kg=self.co2e_kg,
            source=total.source,
            measured_share=total.measured_share,
            parts={name: EnergyPart(part.kwh, part.joules, part.source) for name, part in self.parts.items()},
            assumptions={
                "grid_gco2_per_kwh": self.settings.grid_gco2_per_kwh,
                "cpu_watts_per_core": self.settings.cpu_watts_per_core,  # used where the CPU is estimated
                "gpu_watts": self.settings.gpu_watts,  # used where a GPU is estimated
            },
        )


@dataclass(frozen=True)
class EnergyPart(DictForm):
    """One part of a run's energy (its ``trials``, its ``finalists``, ...) as summary.json keeps it."""

    kwh: float
    joules: float
    source: str


@dataclass(frozen=True)
class EnergyRecord:
    """summary.json's ``energy``: a run's energy, its CO2e, and the figures it assumed where it estimated.
    Read back from a file, where each part's measured and estimated joules are no longer apart."""

    kwh: float
    joules: float
    co2e_kg: float
    source: str  # measured, estimated, or mixed (see ``Energy.source``)
    measured_share: float | None = None
    parts: dict[str, EnergyPart] = field(default_factory=dict)
    assumptions: dict[str, float] = field(default_factory=dict)  # grid intensity and watts, by their config names
    scope: str = ("trial workers and final-training tasks, each charged its share of the CPUs and GPUs Ray "
                  "gave it; not the driver, nor idle devices")

    def as_dict(self) -> dict[str, Any]:
        return {
            "kwh": self.kwh,
            "joules": self.joules,
            "co2e_kg": self.co2e_kg,
            "source": self.source,
            "measured_share": self.measured_share,
            "parts": {name: part.as_dict() for name, part in self.parts.items()},
            "assumptions": dict(self.assumptions),
            "scope": self.scope,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EnergyRecord:
        parts = {name: EnergyPart.from_dict(part) for name, part in (data.get("parts") or {}).items()}
        return cls(**known_fields(cls, data, parts=parts, assumptions=dict(data.get("assumptions") or {})))


def _number(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return number if number == number else 0.0  # NaN: not recorded
