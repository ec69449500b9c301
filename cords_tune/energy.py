"""Energy of trials and final trainings: measured where this machine has a counter the worker can read (NVML's
energy counter for the GPUs Ray gave the trial, Linux RAPL powercap for the CPU packages), otherwise estimated
from the seconds the trial held its resources and a configured power figure (``energy:`` in the experiment).
Every figure says which it is; sums keep measured and estimated joules apart.

Counters are whole-device: a GPU shared by two trials (``gpus_per_trial: 0.5``) or a CPU package running
several trials reports the energy of all of them. Each trial is charged its share of the device, the part of
it Ray gave the trial (0.5 of the GPU; ``cpus_per_trial`` of the node's CPUs), so the trials on one device add
up to the device's energy instead of counting it once per trial. Idle devices and the driver process (loading
the data, Ray, Tune's bookkeeping, compression) are not counted.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cords_tune.config import EnergyConfig
from cords_tune.records import DictForm, known_fields

__all__ = ["Energy", "EnergyMeter", "RunEnergy", "EnergyRecord", "EnergyPart", "NvmlCounter", "RaplCounter", "rapl_packages", "POWERCAP"]

log = logging.getLogger(__name__)

POWERCAP = Path("/sys/class/powercap")
JOULES_PER_KWH = 3.6e6
_PACKAGE_ZONE = re.compile(r"intel-rapl:\d+")  # top-level zones only: sub-zones (core, dram) are inside them


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


class NvmlCounter:
    """The GPUs' energy counters (``nvmlDeviceGetTotalEnergyConsumption``, millijoules since the driver
    loaded; Volta and later), times ``share``: the part of the GPUs the trial was given."""

    name = "NVML"

    def __init__(self, nvml: Any, gpu_ids: Sequence[str | int], share: float) -> None:
        self._nvml = nvml
        self._handles = [_nvml_handle(nvml, gpu) for gpu in gpu_ids]
        self._start = [nvml.nvmlDeviceGetTotalEnergyConsumption(h) for h in self._handles]
        self.share = share

    def joules(self) -> float:
        now = [self._nvml.nvmlDeviceGetTotalEnergyConsumption(h) for h in self._handles]
        return self.share * sum(n - s for n, s in zip(now, self._start)) / 1000.0


class RaplCounter:
    """The CPU packages' RAPL counters (``energy_uj``), times ``share``: the part of the node's CPUs the trial
    was given. A counter wraps to 0 past ``max_energy_range_uj`` (minutes to hours at full power); a wrap between
    two reads is counted, so it must be read more often than that (a trial reads it every epoch)."""

    name = "RAPL"

    def __init__(self, zones: Sequence[Path], share: float) -> None:
        self._zones = list(zones)
        self._ranges = [int((zone / "max_energy_range_uj").read_text()) for zone in self._zones]
        self._last = [self._read(zone) for zone in self._zones]
        self._total_uj = 0
        self.share = share

    def joules(self) -> float:
        for i, zone in enumerate(self._zones):
            now = self._read(zone)
            self._total_uj += now - self._last[i] if now >= self._last[i] else self._ranges[i] - self._last[i] + now
            self._last[i] = now
        return self.share * self._total_uj * 1e-6

    @staticmethod
    def _read(zone: Path) -> int:
        return int((zone / "energy_uj").read_text())


def rapl_packages(root: Path = POWERCAP) -> list[Path]:
    """The RAPL package zones under ``root`` whose counter this process can read (``energy_uj`` is root-only
    on kernels since 5.10 unless an administrator opens it); empty where there are none."""
    zones = [zone for zone in sorted(root.glob("intel-rapl:*")) if _PACKAGE_ZONE.fullmatch(zone.name)]
    readable = []
    for zone in zones:
        try:
            if (zone / "name").read_text().strip().startswith("package"):  # not psys, which holds the packages
                RaplCounter._read(zone)
                int((zone / "max_energy_range_uj").read_text())
                readable.append(zone)
        except (OSError, ValueError):
            return []  # counting some packages and not others would be neither measured nor estimated
    return readable


class EnergyMeter:
    """The energy of one trial or task from ``start`` to each ``read``: its GPUs and its CPUs, each measured
    if a counter is at hand (and ``settings.measure``), else estimated as seconds x count x configured watts.

    A counter that fails while being read keeps what it measured until then, and its device is estimated
    from then on.
    """

    def __init__(self, settings: EnergyConfig, *, cpus: float, gpus: float, counters: Sequence[Any],
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.settings, self.cpus, self.gpus = settings, cpus, gpus
        self.counters = list(counters)  # NvmlCounter, RaplCounter
        measured = {counter.name for counter in self.counters}
        self.estimated_watts = (0.0 if NvmlCounter.name in measured else gpus * settings.gpu_watts) + (
            0.0 if RaplCounter.name in measured else cpus * settings.cpu_watts_per_core)
        self.clock = clock
        self._since = clock()
        self._estimated_j = 0.0  # estimated until ``_since``, when estimated_watts last changed
        self._measured: dict[str, float] = {}  # each counter's last reading, kept if it fails later

    @classmethod
    def start(
        cls,
        settings: EnergyConfig,
        *,
        cpus: float,
        gpus: float,
        gpu_ids: Sequence[str | int] = (),
        node_cpus: int | None = None,
        nvml: Callable[[], Any] | None = None,
        powercap: Path = POWERCAP,
        clock: Callable[[], float] = time.perf_counter,
    ) -> EnergyMeter:
        """Start metering ``cpus`` CPUs and ``gpus`` GPUs (``gpu_ids``: the ones Ray gave, as indices or UUIDs;
        ``nvml`` returns the initialised NVML module, by default ``pynvml`` from nvidia-ml-py)."""
        counters: list[Any] = []
        if settings.measure and gpus > 0:
            counters += _nvml_counter(nvml or _load_nvml, gpu_ids, gpus)
        if settings.measure and cpus > 0:
            zones = rapl_packages(powercap)
            if zones:
                counters.append(RaplCounter(zones, share=min(1.0, cpus / (node_cpus or os.cpu_count() or 1))))
        return cls(settings, cpus=cpus, gpus=gpus, counters=counters, clock=clock)

    @property
    def measuring(self) -> tuple[str, ...]:
        """The counters read, e.g. ``("NVML",)``; empty where everything is estimated."""
        return tuple(counter.name for counter in self.counters)

    def read(self) -> Energy:
        """The energy since ``start``."""
        for counter in list(self.counters):
            try:
                self._measured[counter.name] = counter.joules()
            except Exception as error:  # noqa: BLE001 - any failure of a device counter: estimate instead
                self._give_up(counter, error)
        estimated = self._estimated_j + self.estimated_watts * (self.clock() - self._since)
        return Energy(sum(self._measured.values(), 0.0), estimated, tuple(self._measured))

    def _give_up(self, counter: Any, error: Exception) -> None:
        log.warning("the %s energy counter failed (%s); its device is estimated from now on", counter.name, error)
        self.counters.remove(counter)
        self._measured.setdefault(counter.name, 0.0)
        now = self.clock()
        self._estimated_j += self.estimated_watts * (now - self._since)
        self._since = now
        if counter.name == NvmlCounter.name:
            self.estimated_watts += self.gpus * self.settings.gpu_watts
        else:
            self.estimated_watts += self.cpus * self.settings.cpu_watts_per_core


def _load_nvml() -> Any:
    import pynvml  # nvidia-ml-py, NVIDIA's own bindings

    pynvml.nvmlInit()  # reference-counted by NVML: cheap again in a reused worker
    return pynvml


def _nvml_counter(load: Callable[[], Any], gpu_ids: Sequence[str | int], gpus: float) -> list[NvmlCounter]:
    """The NVML counter of the trial's GPUs, or none where NVML, the GPUs or their energy counter (before
    Volta, MIG slices) are not at hand."""
    if not gpu_ids:  # a GPU Ray lent without a device behind it
        return []
    try:
        return [NvmlCounter(load(), gpu_ids, share=gpus / len(gpu_ids))]
    except Exception as error:  # noqa: BLE001 - ImportError, NVMLError_*: the GPUs are estimated
        log.info("GPU energy is estimated: NVML cannot measure GPUs %s (%s)", list(gpu_ids), error)
        return []


def _nvml_handle(nvml: Any, gpu: str | int) -> Any:
    """NVML's handle of a GPU as Ray names it: an index, or a UUID where CUDA_VISIBLE_DEVICES gave UUIDs.
    NVML numbers GPUs in PCI bus order, CUDA fastest first: the same GPUs on a node of one GPU model."""
    text = str(gpu)
    if text.isdigit():
        return nvml.nvmlDeviceGetHandleByIndex(int(text))
    return nvml.nvmlDeviceGetHandleByUUID(text)


def _number(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return number if number == number else 0.0  # NaN: not recorded
