"""Every private Ray name cords-tune uses, in one place, written against one Ray version (``TESTED_RAY``).

Each function below reaches past Ray's public API for one reason its docstring gives. A Ray upgrade may move or
change any of them: ``tests/tuning/test_ray_compat.py`` fails, naming this module, when the installed Ray is not
``TESTED_RAY`` or one of ``PRIVATE_NAMES`` is gone. Check each function against the new Ray, then move
``TESTED_RAY``. Where a name is gone at run time anyway, each function falls back to Ray's own behaviour (slower
trial starts, signals reaching Ray's processes, no resource check before Ray starts), never to an error.
"""

from __future__ import annotations

import dis
import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["TESTED_RAY", "PRIVATE_NAMES", "missing_private_names", "processes_in_sessions_of_their_own",
           "tune_actor_env_var_removed", "tune_actor_options", "resources_ray_would_find", "asha_rungs"]

TESTED_RAY = "2.60.0"

# (module, attribute) for each private name used here; an attribute of a class as "Class.attribute", and so is
# one that its instances get from a method of the class (``self._rungs = ...``).
PRIVATE_NAMES: tuple[tuple[str, str], ...] = (
    ("ray._private.services", "ConsolePopen"),
    ("ray._private.utils", "detect_fate_sharing_support"),
    ("ray.tune.execution.class_cache", "DEFAULT_ENV_VARS"),
    ("ray.tune.execution.class_cache", "_ActorClassCache"),
    ("ray._private.resource_and_label_spec", "ResourceAndLabelSpec"),
    ("ray.tune.schedulers.async_hyperband", "_Bracket"),
    ("ray.tune.schedulers.async_hyperband", "AsyncHyperBandScheduler._brackets"),
    ("ray.tune.schedulers.async_hyperband", "_Bracket._rungs"),
    ("ray.actor", "ActorClass._default_options"),
)


def missing_private_names() -> list[str]:
    """The entries of ``PRIVATE_NAMES`` the installed Ray no longer has, as ``module.attribute``."""
    missing = []
    for module_name, attribute in PRIVATE_NAMES:
        try:
            found: Any = importlib.import_module(module_name)
            for part in attribute.split("."):
                if isinstance(found, type) and not hasattr(found, part) and _set_by_a_method(found, part):
                    break
                found = getattr(found, part)
        except (ImportError, AttributeError):
            missing.append(f"{module_name}.{attribute}")
    return missing


def _set_by_a_method(cls: type, attribute: str) -> bool:
    """Whether a method of ``cls`` (its own or inherited) sets ``attribute`` on an object (``x.attribute = ...``):
    an instance attribute, which the class itself does not have."""
    for klass in cls.__mro__:
        for member in vars(klass).values():
            code = getattr(getattr(member, "__func__", member), "__code__", None)
            if code is not None and any(i.opname == "STORE_ATTR" and i.argval == attribute
                                        for i in dis.get_instructions(code)):
                return True
    return False


@contextmanager
def processes_in_sessions_of_their_own(*, starting: bool) -> Iterator[None]:
    """Start the processes of the local Ray that ``ray.init`` starts in the block in sessions of their own.

    A signal sent to the driver's process group (``timeout``, ``kill -TERM -PGID``, a terminal) would otherwise
    reach Ray's processes too. Ray blocks SIGINT in them, but SIGTERM stops them at once, and the driver then
    waits a minute for its GCS and is ended by Ray (exit 1) before it could record the interrupt. Only where the
    kernel ends them with the driver (Linux): elsewhere Ray finds them to clean up by their process group.

    Patches ``ray._private.services.ConsolePopen`` (the ``Popen`` Ray starts its processes with) for the block;
    Ray has no option for it.
    """
    try:
        from ray._private import services, utils
    except ImportError:
        services = utils = None
    popen = getattr(services, "ConsolePopen", None)
    fate_sharing = getattr(utils, "detect_fate_sharing_support", None)
    if not starting or popen is None or fate_sharing is None or not fate_sharing():
        yield
        return

    class InSessionOfItsOwn(popen):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["start_new_session"] = True
            super().__init__(*args, **kwargs)

    services.ConsolePopen = InSessionOfItsOwn
    try:
        yield
    finally:
        services.ConsolePopen = popen


@contextmanager
def tune_actor_env_var_removed(name: str) -> Iterator[None]:
    """For the block, Tune gives its trial actors no environment variable ``name`` of its own; afterwards it does
    again. Patches ``ray.tune.execution.class_cache.DEFAULT_ENV_VARS`` (the variables every trial actor's
    runtime environment sets); where Tune moved it, nothing changes."""
    try:
        from ray.tune.execution.class_cache import DEFAULT_ENV_VARS
    except ImportError:
        yield
        return
    removed = DEFAULT_ENV_VARS.pop(name, None)
    try:
        yield
    finally:
        if removed is not None:
            DEFAULT_ENV_VARS[name] = removed


def tune_actor_options(trainable_class: type) -> dict[str, Any]:
    """The options (``runtime_env`` among them) with which Tune would start an actor for ``trainable_class``,
    read from Tune's private class cache (``_ActorClassCache``), as a search does."""
    from ray.tune.execution.class_cache import _ActorClassCache

    return dict(_ActorClassCache().get(trainable_class)._default_options)


def resources_ray_would_find() -> dict[str, Any]:
    """The resources (``CPU``, ``GPU``, ...) a Ray started on this machine would have, found as Ray finds them (the
    container's CPU quota, ``CUDA_VISIBLE_DEVICES``, ``RAY_OVERRIDE_RESOURCES``) without starting it, through
    ``ray._private.resource_and_label_spec.ResourceAndLabelSpec``. Raises whatever that raises where it moved."""
    from ray._private.resource_and_label_spec import ResourceAndLabelSpec

    return dict(ResourceAndLabelSpec().resolve(is_head=True, node_ip_address="127.0.0.1").to_resource_dict())


def asha_rungs(scheduler: Any) -> list[tuple[float, int]]:
    """The rungs of a Ray ``ASHAScheduler`` (one bracket), lowest first: each rung's milestone (in its
    ``time_attr``) and how many trials' results it has recorded. Ray keeps them in its private ``_Bracket``;
    there is no public view. For checking that ``algorithms.RungSchedule`` computes the same rungs."""
    (bracket,) = scheduler._brackets
    return [(milestone, len(recorded)) for milestone, recorded in reversed(bracket._rungs)]
