"""Energy of trials and final trainings (the records, ``Energy`` and summary.json's ``energy``, are in
``cords_tune.results.energy``): measured where this machine has a counter the worker can read (NVML's
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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from cords_tune.config import EnergyConfig
from cords_tune.results.energy import Energy

__all__ = ["EnergyMeter", "NvmlCounter", "RaplCounter", "rapl_packages", "POWERCAP"]

log = logging.getLogger(__name__)

POWERCAP = Path("/sys/class/powercap")
_PACKAGE_ZONE = re.compile(r"intel-rapl:\d+")  # top-level zones only: sub-zones (core, dram) are inside them


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
