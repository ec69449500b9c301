"""Starting or joining Ray: a quick reachability probe first, then ``ray.init`` with our defaults."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager

from cords_tune.errors import ClusterUnavailableError
from cords_tune.tuning.storage import alive_nodes

__all__ = ["probe_address", "ray_session"]

log = logging.getLogger(__name__)


@contextmanager
def ray_session(address: str | None) -> Iterator[None]:
    """Start (or join) Ray for the block, unless this process already did; shut down only what it started."""
    import ray

    owns_ray = _init_ray(address)
    try:
        yield
    finally:
        if owns_ray:
            ray.shutdown()


def _init_ray(address: str | None) -> bool:
    import ray

    if ray.is_initialized():
        return False
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    # Tune's own console output (experiment tables, trial tracebacks) would fight our progress display;
    # the legacy reporter at verbose=0 prints nothing, and trial errors are kept in the results.
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    quiet = logging.getLogger("cords_tune").getEffectiveLevel() > logging.INFO
    try:
        ray.init(
            address=address,
            include_dashboard=False,
            log_to_driver=False,
            logging_level=logging.ERROR if quiet else logging.INFO,
        )
    except (ConnectionError, RuntimeError, ValueError) as error:
        target = address or os.environ.get("RAY_ADDRESS") or "a new local Ray"
        raise ClusterUnavailableError(
            f"cannot start or join Ray ({target}): {first_line(error)}. Check the address (e.g. "
            "--address auto on a cluster node, or the head's host:6379) and that the cluster is up"
        ) from None
    if (address or os.environ.get("RAY_ADDRESS")) and len(alive_nodes()) == 1:
        log.info("joined a Ray cluster of one node; nodes an autoscaler adds later must see the storage path")
    return True


def probe_address(address: str | None) -> None:
    """Fail in seconds on a ``host:port`` nobody answers at (Ray itself retries for many minutes)."""
    if not address or "://" in address or ":" not in address:
        return  # a local Ray, "auto", or a scheme Ray resolves itself
    host, _, port = address.rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except (OSError, ValueError) as error:
        raise ClusterUnavailableError(
            f"no Ray cluster answers at {address} ({error}). Check the address (the head's host:6379, or "
            "--address auto on a cluster node) and that the cluster is up"
        ) from None


def first_line(error: BaseException) -> str:
    """The last non-empty line of an error's text (Ray wraps the cause in many lines)."""
    lines = [line for line in str(error).strip().splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__
