"""Where Ray Tune keeps trial files, and a check that every node of the cluster can reach it."""

from __future__ import annotations

import uuid
from pathlib import Path

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from cords_tune.errors import StorageError

__all__ = ["is_uri", "alive_nodes", "check_storage_visible"]


def is_uri(path: str) -> bool:
    """``s3://bucket/prefix``, ``gs://...``: storage Ray reaches through pyarrow filesystems."""
    return "://" in path


def alive_nodes() -> list[dict]:
    return [node for node in ray.nodes() if node.get("Alive")]


def _exists(path: str) -> bool:
    return Path(path).exists()


def check_storage_visible(storage: str, nodes: list[dict] | None = None) -> None:
    """On more than one node, a local storage path must be the same directory everywhere (NFS).

    Writes a marker file from the driver and asks a task pinned to each node whether it sees it.

    Raises:
        StorageError: naming the nodes that do not see the path.
    """
    nodes = alive_nodes() if nodes is None else nodes
    if is_uri(storage) or len(nodes) <= 1:  # one node now; nodes an autoscaler adds later are not checked
        return
    marker = Path(storage) / f".cords-tune-visible-{uuid.uuid4().hex}"
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    try:
        probe = ray.remote(num_cpus=0)(_exists)
        answers = ray.get([
            probe.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=False)).remote(
                str(marker)
            )
            for node in nodes
        ])
    finally:
        marker.unlink(missing_ok=True)
    blind = [f"{node['NodeManagerAddress']} ({node['NodeID'][:8]})" for node, seen in zip(nodes, answers) if not seen]
    if blind:
        raise StorageError(
            f"the storage path {storage!r} is not visible from {len(blind)} of the cluster's {len(nodes)} nodes: "
            f"{', '.join(blind)}. Trials write their files there, so on several nodes it must be a shared "
            "filesystem path (NFS) or a cloud URI (s3://bucket/prefix, gs://bucket/prefix). Set it with "
            "--storage-path or storage_path in the experiment file."
        )
