"""Can the Ray cluster ever run a trial? Checked before the search, so that an impossible request fails at
once instead of leaving every trial pending forever; for a private local Ray, against this machine before Ray
starts."""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass

from cords_tune.config import ExperimentConfig
from cords_tune.errors import ResourcesUnavailableError
from cords_tune.tuning.ray_compat import resources_ray_would_find
from cords_tune.tuning.storage import alive_nodes

__all__ = ["Shortfall", "TrialRequest", "check_trial_resources", "describe_nodes", "local_resources",
           "local_shortfall", "refuse_beyond_this_machine", "this_machine_notes",
           "trial_slots"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrialRequest:
    """What one trial (and the final retrain) asks Ray for."""

    cpus: float
    gpus: float

    @classmethod
    def of(cls, config: ExperimentConfig) -> "TrialRequest":
        return cls(cpus=config.resources.cpus_per_trial, gpus=config.resources.gpus_per_trial)

    def fits(self, node_resources: dict[str, float]) -> bool:
        return node_resources.get("CPU", 0.0) >= self.cpus and node_resources.get("GPU", 0.0) >= self.gpus

    def count_on(self, node_resources: dict[str, float]) -> int:
        """How many such trials the node can run at once."""
        counts = [math.floor(node_resources.get(kind, 0.0) / need + 1e-9)
                  for kind, need in (("CPU", self.cpus), ("GPU", self.gpus)) if need > 0]
        return min(counts) if counts else 0

    def __str__(self) -> str:
        return f"{self.cpus:g} CPU{_plural(self.cpus)} and {self.gpus:g} GPU{_plural(self.gpus)}"


def describe_nodes(nodes: list[dict]) -> str:
    """``"1 node: 2 CPUs, 0 GPUs"`` or ``"3 nodes; the largest: 16 CPUs, 1 GPU"``."""
    if not nodes:
        return "no live node"
    sizes = sorted(
        ((node["Resources"].get("GPU", 0.0), node["Resources"].get("CPU", 0.0)) for node in nodes), reverse=True
    )
    gpus, cpus = sizes[0]
    size = f"{cpus:g} CPU{_plural(cpus)}, {gpus:g} GPU{_plural(gpus)}"
    return f"1 node: {size}" if len(nodes) == 1 else f"{len(nodes)} nodes; the largest: {size}"


def trial_slots(config: ExperimentConfig, nodes: list[dict]) -> int:
    """How many trials can run at once on ``nodes`` (at least 1: a cluster may still grow), at most
    ``search.max_concurrent_trials`` and the number of trials."""
    request = TrialRequest.of(config)
    slots = sum(request.count_on(node["Resources"]) for node in nodes)
    search = config.search
    return max(1, min(slots, search.max_concurrent_trials or slots, search.num_trials))


def check_trial_resources(config: ExperimentConfig, *, can_grow: bool) -> str | None:
    """Compare a trial's request with every live node.

    Args:
        config: the experiment (its ``resources``).
        can_grow: the cluster may gain nodes (one we joined may have an autoscaler); a private local Ray
            cannot.

    Returns:
        ``None`` if some node can run a trial now; else, when ``can_grow``, a line saying what trials wait for.

    Raises:
        ResourcesUnavailableError: no node can ever run a trial and the cluster cannot grow.
    """
    request = TrialRequest.of(config)
    nodes = alive_nodes()
    if any(request.fits(node["Resources"]) for node in nodes):
        return None
    missing = "GPUs" if request.gpus and not any(request.gpus <= n["Resources"].get("GPU", 0.0) for n in nodes) \
        else "CPUs"
    if not can_grow:
        raise ResourcesUnavailableError(
            f"each trial asks for {request} (resources.cpus_per_trial, resources.gpus_per_trial), but this Ray has "
            f"{describe_nodes(nodes)}: not enough {missing}, so no trial could ever start. Lower the request, e.g. "
            f"--set resources.{'gpus' if missing == 'GPUs' else 'cpus'}_per_trial=..., or join a cluster that "
            "has such nodes (--address)"
        )
    wait = config.resources.max_wait_s
    return (
        f"waiting for resources: each trial asks for {request}, and the cluster has {describe_nodes(nodes)}; "
        f"trials start when an autoscaler adds such a node"
        + (f" (the run stops, resumable, after {wait:g} s without any trial running)" if wait else "")
    )


def local_resources() -> dict[str, float] | None:
    """The CPUs and GPUs a Ray started on this machine would have, found as Ray finds them (the container's CPU
    quota, the GPUs ``CUDA_VISIBLE_DEVICES`` leaves visible, ``RAY_OVERRIDE_RESOURCES``) without starting it;
    ``None`` where this version of Ray does not say (the check after Ray starts still holds then)."""
    try:
        found = resources_ray_would_find()
    except Exception as error:  # noqa: BLE001 - a private Ray name that may move
        log.debug("cannot tell this machine's resources before Ray starts: %s", error)
        return None
    return {"CPU": float(found.get("CPU", 0.0)), "GPU": float(found.get("GPU", 0.0))}


@dataclass(frozen=True)
class Shortfall:
    """What a trial asks for that this machine lacks (``fact``) and how to change that (``fix``)."""

    fact: str
    fix: str


def local_shortfall(config: ExperimentConfig) -> Shortfall | None:
    """``None`` if a Ray started on this machine could run one of ``config``'s trials (or the machine's
    resources are unknown); else what a trial asks for and what the machine has."""
    have = local_resources()
    request = TrialRequest.of(config)
    if have is None or request.fits(have):
        return None
    cpus, gpus = have["CPU"], have["GPU"]
    short = "GPU" if request.gpus > gpus else "CPU"
    return Shortfall(
        fact=f"each trial asks for {request} (resources.cpus_per_trial, resources.gpus_per_trial), but this machine "
        f"has {cpus:g} CPU{_plural(cpus)} and {gpus:g} GPU{_plural(gpus)}: not enough {short}s",
        fix=f"Lower the request to what it has (--set resources.{short.lower()}s_per_trial={have[short]:g}), or join "
        "a cluster that has such nodes (--address)",
    )


def this_machine_notes(config: ExperimentConfig) -> list[str]:
    """For `validate`: a note where a run on this machine would be refused for its resources (none where
    ``RAY_ADDRESS`` names a cluster, whose nodes are not this machine)."""
    if os.environ.get("RAY_ADDRESS") not in (None, "", "local"):
        return []
    shortfall = local_shortfall(config)
    return [f"{shortfall.fact}, so `cords-tune run` here would refuse it. {shortfall.fix}"] if shortfall else []


def refuse_beyond_this_machine(config: ExperimentConfig) -> None:
    """Refuse, before a private local Ray starts, trials this machine could never run.

    Raises:
        ResourcesUnavailableError: a trial asks for more CPUs or GPUs than the machine has.
    """
    shortfall = local_shortfall(config)
    if shortfall:
        raise ResourcesUnavailableError(f"{shortfall.fact}, so no trial could start on a Ray started here. "
                                        f"{shortfall.fix}")


def _plural(count: float) -> str:
    return "" if count == 1 else "s"
