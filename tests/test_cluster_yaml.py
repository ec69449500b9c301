"""The Ray cluster launcher configs (cluster.yaml, cluster-onprem.yaml) pass Ray's own config validation, offline.

``ray up`` first fills in the provider's defaults and validates the result against Ray's ``ray-schema.json``
(``ray.autoscaler._private.commands._bootstrap_config`` calls ``prepare_config`` then ``validate_config``);
only after that does it talk to the cloud. These tests run those same two steps, with no network and no boto3.
"""

from __future__ import annotations

import copy
import re
import shlex
from pathlib import Path
from typing import Any, Callable

import jsonschema
import pytest
import ray
import yaml
from ray.autoscaler._private.util import prepare_config, validate_config

ROOT = Path(__file__).parents[1]
AWS = ROOT / "cluster.yaml"
ONPREM = ROOT / "cluster-onprem.yaml"
FILES = [AWS, ONPREM]


def load(path: Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def ray_check(raw: dict[str, Any]) -> dict[str, Any]:
    """What ``ray up`` does to a config before any provider call: defaults, then schema validation."""
    config = prepare_config(copy.deepcopy(raw))
    validate_config(config)
    return config


def worker_types(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in config["available_node_types"].items() if k != config["head_node_type"]}


def install_dir(config: dict[str, Any]) -> str:
    """The directory that the setup commands ``pip install -e``."""
    targets = []
    for command in config["setup_commands"]:
        words = shlex.split(command) if "pip" in command else []
        if words[:3] == ["pip", "install", "-e"]:
            targets.append(words[3])
    assert len(targets) == 1, f"expected one `pip install -e DIR` in setup_commands, got {config['setup_commands']}"
    return targets[0]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_shipped_file_passes_rays_validation(path):
    raw = load(path)
    assert raw["cluster_name"] == "cords-tune"
    config = ray_check(raw)
    assert config["cluster_name"] == "cords-tune"


def _set(*path: str, value: Any) -> Callable[[dict], None]:
    def mutate(raw: dict) -> None:
        *parents, last = path
        node = raw
        for key in parents:
            node = node[key]
        node[last] = value
    mutate.__name__ = f"{'.'.join(path)}={value!r}"
    return mutate


BROKEN = [
    (AWS, _set("max_worker", value=8), jsonschema.ValidationError),  # unknown top-level key (a typo)
    (AWS, _set("max_workers", value="8"), jsonschema.ValidationError),
    (AWS, _set("available_node_types", "worker.gpu", "resources", "GPU", value=0.5), jsonschema.ValidationError),
    (AWS, _set("auth", "ssh_usr", value="ubuntu"), jsonschema.ValidationError),
    (AWS, _set("head_start_ray_commands", value="ray start --head"), jsonschema.ValidationError),
    (AWS, _set("head_node_type", value="head.gpu"), ValueError),
    (ONPREM, _set("max_worker", value=3), jsonschema.ValidationError),
    (ONPREM, _set("provider", "worker_ips", value="192.0.2.11,192.0.2.12"), jsonschema.ValidationError),
    (ONPREM, _set("worker_start_ray_commands", value="ray start --address=$RAY_HEAD_IP:6379"),
     jsonschema.ValidationError),
]


@pytest.mark.parametrize(
    ("path", "mutate", "error"), BROKEN, ids=[f"{p.name}:{m.__name__}" for p, m, _ in BROKEN]
)
def test_broken_copy_is_rejected_by_the_same_validation(path, mutate, error):
    raw = load(path)
    ray_check(raw)  # the shipped file passes ...
    broken = copy.deepcopy(raw)
    mutate(broken)
    with pytest.raises(error):  # ... and one bad field fails
        ray_check(broken)


def test_gpu_worker_type_declares_gpus_and_head_none():
    config = ray_check(load(AWS))
    head = config["available_node_types"][config["head_node_type"]]
    assert head["resources"].get("GPU") == 0, "no GPU trial may be placed on the head node"
    workers = worker_types(config)
    assert workers
    for name, node_type in workers.items():
        assert node_type["resources"].get("GPU", 0) >= 1, f"{name} declares no GPU"
        assert node_type["resources"].get("CPU", 0) >= 1, f"{name} declares no CPU"
        assert node_type["min_workers"] == 0, f"{name} should scale to zero"
        assert 1 <= node_type["max_workers"] <= config["max_workers"]
    assert config["provider"]["region"] == "us-west-2"
    assert isinstance(config["provider"]["cache_stopped_nodes"], bool)


def test_cifar10_trial_fits_on_one_gpu_worker():
    # read as plain YAML: loading it through cords_tune.config would import torch (seconds)
    wanted = load(ROOT / "experiments" / "cifar10.yaml")["resources"]
    config = ray_check(load(AWS))
    assert any(
        t["resources"].get("CPU", 0) >= wanted["cpus_per_trial"] and t["resources"].get("GPU", 0) >= wanted["gpus_per_trial"]
        for t in worker_types(config).values()
    ), f"no worker type has the {wanted} that a trial of experiments/cifar10.yaml asks for"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_setup_commands_install_this_package_from_its_mounted_source(path):
    config = ray_check(load(path))
    target = install_dir(config).rstrip("/")
    mounts = {remote.rstrip("/"): (ROOT / local).resolve() for remote, local in config["file_mounts"].items()}
    for name in ("pyproject.toml", "README.md", "cords_tune"):  # what `pip install -e` reads
        assert mounts.get(f"{target}/{name}") == (ROOT / name).resolve(), f"{target}/{name} is not mounted"
    for local in mounts.values():
        assert local.exists(), f"file_mounts names {local}, which does not exist"
    # the laptop's Ray version on every node (Ray refuses to mix versions)
    pins = [m.group(1) for c in config["setup_commands"] for m in re.finditer(r"ray\[[a-z,]+\]==([\w.]+)", c)]
    assert pins == [ray.__version__], f"setup_commands should pin ray[default]=={ray.__version__}, pin {pins}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_file_mounts_carry_the_experiments(path):
    config = ray_check(load(path))
    target = install_dir(config).rstrip("/")
    local = config["file_mounts"].get(f"{target}/experiments")
    assert local is not None, f"{target}/experiments is not in file_mounts"
    assert (ROOT / local).resolve() == (ROOT / "experiments").resolve()
    assert (ROOT / local / "cifar10.yaml").is_file()


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_start_commands_start_an_autoscaling_head_and_join_workers_to_it(path):
    config = ray_check(load(path))
    head = " ".join(config["head_start_ray_commands"])
    assert "ray start --head" in head
    assert "--autoscaling-config=~/ray_bootstrap_config.yaml" in head
    assert "--dashboard-host=0.0.0.0" in head  # job submission goes through the dashboard's port 8265
    assert "ray start --address=$RAY_HEAD_IP:6379" in " ".join(config["worker_start_ray_commands"])


def test_both_files_mount_and_install_the_same():
    aws, onprem = load(AWS), load(ONPREM)
    assert aws["file_mounts"] == onprem["file_mounts"]
    assert install_dir(aws) == install_dir(onprem)
    assert onprem["provider"]["type"] == "local"
    assert onprem["provider"]["head_ip"] not in onprem["provider"]["worker_ips"]
