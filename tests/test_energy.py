"""Energy: the meter with a fake NVML and a fake powercap tree (this machine has neither), the estimate's
arithmetic, labels and sums, the run total, and the ``energy:`` section's checks."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from cords_tune.config import EnergyConfig, parse_config
from cords_tune.energy import EnergyMeter, rapl_packages
from cords_tune.results.energy import Energy, RunEnergy
from cords_tune.errors import ConfigError

SETTINGS = EnergyConfig(cpu_watts_per_core=10.0, gpu_watts=300.0, grid_gco2_per_kwh=500.0)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class NotSupported(Exception):
    """What pynvml raises for a GPU without an energy counter (NVMLError_NotSupported)."""


class FakeNvml:
    """The four pynvml calls the meter makes; counters in millijoules, by index and by UUID."""

    def __init__(self, **millijoules: int) -> None:
        self.mj = dict(millijoules)
        self.broken = False

    def nvmlDeviceGetHandleByIndex(self, index: int) -> str:
        return f"gpu{index}"

    def nvmlDeviceGetHandleByUUID(self, uuid: str) -> str:
        return uuid

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: str) -> int:
        if self.broken:
            raise NotSupported("Not Supported")
        return self.mj[handle]


def powercap_tree(root: Path, packages: dict[str, int], max_range: int = 10**12) -> Path:
    """A fake /sys/class/powercap: package zones with counters, plus what must be left out (a core sub-zone,
    psys, the control folder)."""
    (root / "intel-rapl").mkdir(parents=True)  # the control type: no counter
    for index, (name, uj) in enumerate(packages.items()):
        zone = root / f"intel-rapl:{index}"
        zone.mkdir()
        (zone / "name").write_text(f"{name}\n")
        (zone / "energy_uj").write_text(f"{uj}\n")
        (zone / "max_energy_range_uj").write_text(f"{max_range}\n")
        sub = root / f"intel-rapl:{index}:0"  # the cores, inside the package: counted with it
        sub.mkdir()
        (sub / "name").write_text("core\n")
        (sub / "energy_uj").write_text("999999999\n")
    return root


def set_counter(root: Path, zone: str, uj: int) -> None:
    (root / zone / "energy_uj").write_text(f"{uj}\n")


def test_estimate_is_seconds_times_resources_times_watts(tmp_path):
    clock = Clock()
    meter = EnergyMeter.start(SETTINGS, cpus=2, gpus=0.5, gpu_ids=[], powercap=tmp_path, clock=clock)
    clock.now += 30.0
    energy = meter.read()
    assert energy.estimated_j == pytest.approx(30.0 * (2 * 10.0 + 0.5 * 300.0))
    assert energy.measured_j == 0 and energy.meters == ()
    assert energy.source == "estimated"
    assert energy.kwh == pytest.approx(energy.joules / 3.6e6)
    clock.now += 30.0
    assert meter.read().joules == pytest.approx(2 * energy.joules)  # cumulative since start


def test_nvml_measures_the_trials_gpus_and_the_cpu_is_estimated(tmp_path):
    clock, nvml = Clock(), FakeNvml(gpu0=5_000_000, gpu1=7_000_000)
    meter = EnergyMeter.start(SETTINGS, cpus=1, gpus=1, gpu_ids=["1"], nvml=lambda: nvml, powercap=tmp_path,
                              clock=clock)
    assert meter.measuring == ("NVML",)
    nvml.mj["gpu1"] += 250_000  # 250 J on the trial's GPU
    nvml.mj["gpu0"] += 999_000  # another trial's GPU: not this one's
    clock.now += 10.0
    energy = meter.read()
    assert energy.measured_j == pytest.approx(250.0)
    assert energy.estimated_j == pytest.approx(10.0 * 1 * 10.0)  # the CPU: no RAPL here
    assert energy.meters == ("NVML",)
    assert energy.source == "mixed: 71% measured (NVML), the rest estimated"


def test_a_shared_gpu_is_charged_by_the_trials_share_and_uuids_are_found(tmp_path):
    nvml = FakeNvml(**{"GPU-aa": 0, "GPU-bb": 0})
    half = EnergyMeter.start(SETTINGS, cpus=0, gpus=0.5, gpu_ids=["GPU-aa"], nvml=lambda: nvml, powercap=tmp_path)
    both = EnergyMeter.start(SETTINGS, cpus=0, gpus=2, gpu_ids=["GPU-aa", "GPU-bb"], nvml=lambda: nvml,
                             powercap=tmp_path)
    nvml.mj.update({"GPU-aa": 400_000, "GPU-bb": 100_000})
    assert half.read() == Energy(measured_j=200.0, meters=("NVML",))  # two such trials add up to the GPU's 400 J
    assert both.read().measured_j == pytest.approx(500.0)
    assert both.read().source == "measured (NVML)"


def test_without_nvml_or_without_the_gpus_ids_the_gpu_is_estimated(tmp_path):
    def missing():
        raise ImportError("No module named 'pynvml'")

    clock = Clock()
    no_library = EnergyMeter.start(SETTINGS, cpus=0, gpus=1, gpu_ids=["0"], nvml=missing, powercap=tmp_path,
                                   clock=clock)
    no_device = EnergyMeter.start(SETTINGS, cpus=0, gpus=1, gpu_ids=[], nvml=lambda: FakeNvml(), powercap=tmp_path,
                                  clock=clock)  # a GPU Ray lent with no device behind it
    clock.now += 2.0
    for meter in (no_library, no_device):
        assert meter.measuring == ()
        assert meter.read() == Energy(estimated_j=600.0)


def test_measure_false_estimates_even_where_counters_exist(tmp_path):
    root = powercap_tree(tmp_path / "powercap", {"package-0": 0})
    settings = SETTINGS.model_copy(update={"measure": False})
    meter = EnergyMeter.start(settings, cpus=1, gpus=1, gpu_ids=["0"], nvml=lambda: FakeNvml(gpu0=0), powercap=root)
    assert meter.measuring == ()


def test_a_counter_that_fails_keeps_what_it_measured_and_its_device_is_estimated_after(tmp_path):
    clock, nvml = Clock(), FakeNvml(gpu0=0)
    meter = EnergyMeter.start(SETTINGS, cpus=0, gpus=1, gpu_ids=[0], nvml=lambda: nvml, powercap=tmp_path,
                              clock=clock)
    nvml.mj["gpu0"] = 50_000
    clock.now += 1.0
    assert meter.read() == Energy(measured_j=50.0, meters=("NVML",))
    nvml.broken = True
    clock.now += 1.0
    assert meter.read() == Energy(measured_j=50.0, meters=("NVML",))  # estimated from the failure on
    clock.now += 2.0
    assert meter.read() == Energy(measured_j=50.0, estimated_j=600.0, meters=("NVML",))


def test_rapl_counts_package_zones_only_charged_by_the_share_of_cpus(tmp_path):
    root = powercap_tree(tmp_path, {"package-0": 1_000_000, "package-1": 5_000_000})
    (root / "intel-rapl:2").mkdir()
    (root / "intel-rapl:2" / "name").write_text("psys\n")  # the whole platform: it holds the packages
    (root / "intel-rapl:2" / "energy_uj").write_text("0\n")
    assert [z.name for z in rapl_packages(root)] == ["intel-rapl:0", "intel-rapl:1"]
    clock = Clock()
    meter = EnergyMeter.start(SETTINGS, cpus=2, gpus=0, node_cpus=8, powercap=root, clock=clock)
    assert meter.measuring == ("RAPL",)
    set_counter(root, "intel-rapl:0", 3_000_000)
    set_counter(root, "intel-rapl:1", 7_000_000)
    clock.now += 60.0  # time plays no part in a measured figure
    energy = meter.read()
    assert energy.measured_j == pytest.approx((2.0 + 2.0) * 2 / 8)  # 2 J on each package, 2 CPUs of 8
    assert energy.source == "measured (RAPL)"


def test_rapl_counts_a_wrap_of_its_counter(tmp_path):
    root = powercap_tree(tmp_path, {"package-0": 900_000}, max_range=1_000_000)
    meter = EnergyMeter.start(SETTINGS, cpus=4, gpus=0, node_cpus=4, powercap=root)
    set_counter(root, "intel-rapl:0", 990_000)
    assert meter.read().measured_j == pytest.approx(0.09)
    set_counter(root, "intel-rapl:0", 40_000)  # past max_energy_range_uj: back from 0
    assert meter.read().measured_j == pytest.approx(0.09 + 0.05)
    set_counter(root, "intel-rapl:0", 140_000)
    assert meter.read().measured_j == pytest.approx(0.24)


def test_unreadable_or_missing_rapl_is_estimated(tmp_path):
    assert rapl_packages(tmp_path / "no-powercap") == []
    root = powercap_tree(tmp_path / "powercap", {"package-0": 0, "package-1": 0})
    (root / "intel-rapl:1" / "energy_uj").unlink()
    (root / "intel-rapl:1" / "energy_uj").mkdir()  # reading it fails, as a root-only file does for others
    assert rapl_packages(root) == []  # one package of two would be neither measured nor estimated
    clock = Clock()
    meter = EnergyMeter.start(SETTINGS, cpus=1, gpus=0, powercap=root, clock=clock)
    clock.now += 1.0
    assert meter.read() == Energy(estimated_j=10.0)


def test_energy_sums_keep_measured_and_estimated_apart_and_round_trip_as_columns():
    gpu = Energy(measured_j=300.0, meters=("NVML",))
    cpu = Energy(measured_j=100.0, meters=("RAPL",))
    guessed = Energy(estimated_j=100.0)
    assert (gpu + cpu).source == "measured (NVML, RAPL)"
    mixed = Energy.total([gpu, guessed, cpu])
    assert mixed.joules == 500.0 and mixed.measured_share == pytest.approx(0.8)
    assert mixed.source == "mixed: 80% measured (NVML, RAPL), the rest estimated"
    assert Energy.from_columns(mixed.as_columns()) == mixed
    assert Energy.from_columns({}) == Energy()
    assert Energy.from_columns({"energy_j": math.nan, "energy_measured_j": None}) == Energy()


def test_run_energy_adds_its_parts_and_converts_to_kwh_and_co2e():
    run = RunEnergy({"trials": Energy(estimated_j=3.6e6), "finalists": Energy(estimated_j=1.8e6)}, SETTINGS)
    report = run.as_dict()
    assert report["kwh"] == pytest.approx(1.5)
    assert report["co2e_kg"] == pytest.approx(1.5 * 500.0 / 1000)
    assert report["source"] == "estimated"
    assert report["parts"]["trials"]["kwh"] == pytest.approx(1.0)
    assert sum(p["joules"] for p in report["parts"].values()) == pytest.approx(report["joules"])
    assert report["assumptions"] == {"grid_gco2_per_kwh": 500.0, "cpu_watts_per_core": 10.0, "gpu_watts": 300.0}


def test_energy_section_defaults():
    energy = parse_config({"name": "x"}).energy
    assert energy.measure is True
    assert (energy.cpu_watts_per_core, energy.gpu_watts, energy.grid_gco2_per_kwh) == (10.0, 300.0, 475.0)
    assert parse_config({"name": "x", "energy": {"grid_gco2_per_kwh": 0}}).energy.grid_gco2_per_kwh == 0.0


@pytest.mark.parametrize("section, expected", [
    ({"gpu_watts": 0}, r"energy\.gpu_watts: must be the power one GPU draws under load, in watts: above 0 and at "
                       r"most 5000 .*Got 0"),
    ({"cpu_watts_per_core": 10000}, r"energy\.cpu_watts_per_core: must be .* in watts: above 0 and at most 1000"),
    ({"grid_gco2_per_kwh": -5}, r"energy\.grid_gco2_per_kwh: must be the grid's carbon intensity in grams of CO2e "
                                r"per kWh: from 0 to 2000"),
    ({"gpu_watts": True}, r"energy\.gpu_watts: must be a number, not a boolean"),
    ({"gpu_watt": 300}, r"energy\.gpu_watt: unknown key 'gpu_watt'\. Did you mean 'gpu_watts'\?"),
    ({"measure": "yes please"}, r"energy\.measure"),
])
def test_energy_section_errors_name_the_field_and_what_must_hold(section, expected):
    with pytest.raises(ConfigError, match=expected):
        parse_config({"name": "x", "energy": section})
