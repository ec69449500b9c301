"""Starting or joining Ray: a quick reachability probe first, then ``ray.init`` with our defaults.

Without an address (``--address`` or ``RAY_ADDRESS``) a run starts a private local Ray, even when a Ray that
``ray start`` started is running on the machine: joining someone else's cluster must be asked for.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cords_tune.errors import ClusterUnavailableError
from cords_tune.plugins import import_plugins, runtime_env_for
from cords_tune.tuning.interrupts import interrupts_deferred, sigterm_as_interrupt
from cords_tune.tuning.ray_compat import processes_in_sessions_of_their_own
from cords_tune.tuning.resources import check_trial_resources, refuse_beyond_this_machine
from cords_tune.tuning.storage import alive_nodes

if TYPE_CHECKING:
    from cords_tune.config import ExperimentConfig

__all__ = ["RaySession", "probe_address", "ray_session", "ray_for_trials", "first_line", "import_beside"]


@dataclass(frozen=True)
class RaySession:
    """Which Ray a run uses."""

    private: bool  # a local Ray started for this run alone; it cannot gain nodes
    address: str | None  # the cluster joined, if any
    nodes: str  # e.g. "1 node: 2 CPUs, 0 GPUs"
    unshipped: tuple[str, ...] = ()  # plugin files a Ray started before the run was not given

    def __str__(self) -> str:
        if self.private:
            return f"Ray: a private local instance ({self.nodes.removeprefix('1 node: ')})"
        joined = f"Ray: joined {self.address or 'the Ray of this process'} ({self.nodes})"
        if not self.unshipped:
            return joined
        return (f"{joined}. It was started before this run, so the plugins {', '.join(self.unshipped)} reach only "
                "the workers that can import them from these paths; on other nodes, start Ray with "
                "runtime_env={'py_modules': [...]} or let cords-tune start it")

log = logging.getLogger(__name__)


@contextmanager
def ray_session(address: str | None, plugins: Sequence[str] = ()) -> Iterator[RaySession]:
    """Start (or join) Ray for the block, unless this process already did; shut down only what it started.
    While it runs, SIGTERM stops the run as Ctrl-C does; neither cuts Ray's shutdown short. The ``plugins`` not
    installed on this machine are shipped to every worker of a Ray started (or joined) here; a Ray this process
    started before has only what its own ``runtime_env`` gave it (``unshipped`` says which)."""
    import ray

    from cords_tune.tuning.resources import describe_nodes

    target = _target(address)
    runtime_env = runtime_env_for(import_plugins(list(plugins)))
    owns_ray = _init_ray(target, runtime_env)
    private = owns_ray and target in (None, "", "local")
    session = RaySession(
        private=private,
        address=None if private or not target else _joined_address(target),
        nodes=describe_nodes(alive_nodes()),
        unshipped=() if owns_ray or runtime_env is None else tuple(runtime_env["py_modules"]),
    )
    with sigterm_as_interrupt():  # set after ray.init, which installs Ray's native handler
        try:
            yield session
        finally:
            if owns_ray:
                with interrupts_deferred():
                    ray.shutdown()


@contextmanager
def ray_for_trials(
    config: ExperimentConfig, address: str | None, timings: dict[str, float],
    on_notice: Callable[[str], None] | None = None,
) -> Iterator[RaySession]:
    """``ray_session`` for ``config``'s trials: says which Ray (to ``on_notice`` and the log), records how long
    starting or joining it took (``timings["ray_start_s"]``), and whether the trials can run there: refused at
    once where a private Ray could never run one (before it starts, from this machine's resources); on a cluster
    they wait for an autoscaler, up to ``resources.max_wait_s``, and the notice says so."""
    import ray

    if _target(address) in (None, "", "local") and not ray.is_initialized():
        refuse_beyond_this_machine(config)  # a private Ray has this machine's resources: say so before it starts
    tick = time.perf_counter()
    with ray_session(address, config.plugins) as session:
        timings["ray_start_s"] = time.perf_counter() - tick
        _tell(on_notice, str(session), warn=bool(session.unshipped))
        waiting = check_trial_resources(config, can_grow=not session.private)
        if waiting:
            _tell(on_notice, waiting, warn=True)
        yield session


def _target(address: str | None) -> str | None:
    """The Ray to join: ``address``, else ``RAY_ADDRESS``; ``None``, empty or ``"local"``: a new private one."""
    return address or os.environ.get("RAY_ADDRESS")


def _joined_address(target: str) -> str:
    """The address of the cluster joined at ``target`` (``auto`` finds one on this machine): its GCS's."""
    import ray

    try:
        joined = ray.get_runtime_context().gcs_address
    except Exception:  # noqa: BLE001 - e.g. a Ray Client connection (ray://) has no GCS address of its own
        return target
    return joined if isinstance(joined, str) and joined else target


def _tell(on_notice: Callable[[str], None] | None, message: str, *, warn: bool = False) -> None:
    """A one-off line for whoever watches (which Ray, what trials wait for); logged too, as a warning if
    ``warn`` and nobody watches."""
    if on_notice:
        log.info("%s", message)
        on_notice(message)
    else:
        log.log(logging.WARNING if warn else logging.INFO, "%s", message)


def _init_ray(address: str | None, runtime_env: dict[str, Any] | None) -> bool:
    import ray

    if ray.is_initialized():
        return False
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    # Tune's own console output (experiment tables, trial tracebacks) would fight our progress display;
    # the legacy reporter at verbose=0 prints nothing, and trial errors are kept in the results.
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    quiet = logging.getLogger("cords_tune").getEffectiveLevel() > logging.INFO
    import_beside(TUNE_START_IMPORTS)
    try:
        with processes_in_sessions_of_their_own(starting=address in (None, "", "local")):
            ray.init(
                address=address or "local",  # "local": a new Ray, never one that happens to run on this machine
                include_dashboard=False,
                log_to_driver=False,
                logging_level=logging.ERROR if quiet else logging.INFO,
                runtime_env=runtime_env,
            )
    except (ConnectionError, RuntimeError, ValueError) as error:
        target = address or "a new local Ray"
        raise ClusterUnavailableError(
            f"cannot start or join Ray ({target}): {first_line(error)}. Check the address (e.g. "
            "--address auto on a cluster node, or the head's host:6379) and that the cluster is up"
        ) from None
    if address and len(alive_nodes()) == 1:
        log.info("joined a Ray cluster of one node; nodes an autoscaler adds later must see the storage path")
    return True


# Ray Tune imports its tracking integrations when a search starts, to count the kinds of callbacks it was
# given; each imports its package where that is installed (mlflow: 1.6 s here), on the path to the trials' start.
TUNE_START_IMPORTS = {"mlflow": "ray.air.integrations.mlflow", "wandb": "ray.air.integrations.wandb",
                      "comet_ml": "ray.air.integrations.comet"}


def import_beside(modules: dict[str, str]) -> threading.Thread | None:
    """Import the modules whose package (the key) is installed, in a thread, while this one starts Ray (which
    mostly waits for its processes)."""
    wanted = [module for package, module in modules.items() if importlib.util.find_spec(package) is not None]
    if not wanted:
        return None

    def load() -> None:
        for name in wanted:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - Tune imports it again itself and reports what is wrong
                pass

    thread = threading.Thread(target=load, name="tune-imports", daemon=True)
    thread.start()
    return thread


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
