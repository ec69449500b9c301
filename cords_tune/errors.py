"""Errors a user can act on. Each message says what must hold, what was given and how to fix it.

The CLI prints these without a traceback; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

__all__ = [
    "CordsTuneError",
    "ConfigError",
    "UnknownNameError",
    "DatasetUnavailableError",
    "StorageError",
    "ClusterUnavailableError",
    "ResourcesUnavailableError",
    "DiskFullError",
    "RunFailedError",
    "RunInterruptedError",
    "RunFinishedError",
    "InputError",
    "did_you_mean",
]


class CordsTuneError(Exception):
    """Base class of every error meant for the user. ``exit_code`` is what the CLI exits with.

    Errors raised in a Ray worker reach the driver pickled; they are rebuilt from their state, not by calling
    ``__init__`` again (whose arguments differ from ``args`` in subclasses).
    """

    exit_code = 1

    def __reduce__(self) -> tuple[Any, ...]:
        return _rebuild, (type(self), self.args, self.__dict__)


class ConfigError(CordsTuneError, ValueError):
    """The experiment configuration (or a command-line override of it) is invalid. Also a ``ValueError``, so
    code that validates arguments the usual way catches it."""

    exit_code = 2

    def __init__(self, message: str, *, path: str | None = None) -> None:
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)


class UnknownNameError(ConfigError):
    """A registry has no entry of that name (a dataset, model or strategy)."""

    def __init__(self, kind: str, name: str, choices: Iterable[str], *, path: str | None = None) -> None:
        self.kind = kind
        self.name = name
        self.choices = sorted(choices)
        hint = did_you_mean(name, self.choices)
        message = f"unknown {kind} {name!r}.{hint} Choose one of: {', '.join(self.choices)}."
        super().__init__(message, path=path)


class DatasetUnavailableError(CordsTuneError):
    """A dataset cannot be loaded (not downloaded and no network, corrupt files, ...).

    ``missing`` is true when none of its files are on the machine (as opposed to files that are there but
    cannot be read).
    """

    exit_code = 2

    def __init__(self, message: str, *, missing: bool = False) -> None:
        self.missing = missing
        super().__init__(message)


class StorageError(CordsTuneError):
    """The storage path cannot serve the cluster (e.g. a local path on a multi-node cluster)."""

    exit_code = 2


class ClusterUnavailableError(CordsTuneError):
    """Ray could not be started or joined (a wrong address, a cluster that is down)."""

    exit_code = 2


class ResourcesUnavailableError(CordsTuneError):
    """No node of the Ray cluster can run a trial with the resources it asks for."""

    exit_code = 2


class DiskFullError(CordsTuneError):
    """A result, checkpoint or trial file could not be written: the disk is full. What finished is kept."""


class RunFailedError(CordsTuneError):
    """A tuning run finished without any usable trial."""


class RunInterruptedError(CordsTuneError):
    """The driver was interrupted (Ctrl-C); the run can be resumed."""

    exit_code = 130


class RunFinishedError(CordsTuneError):
    """There is nothing to resume: the run finished."""

    exit_code = 0


class InputError(CordsTuneError, ValueError):
    """Inputs given to a saved model for prediction do not fit it (their shape, type or columns), or cannot be
    read. Also a ``ValueError``."""

    exit_code = 2


def _rebuild(cls: type[CordsTuneError], args: tuple[Any, ...], state: dict[str, Any]) -> CordsTuneError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return ``" Did you mean 'x'?"`` for the closest choice, or ``""`` when none is close."""
    matches = difflib.get_close_matches(str(name), list(choices), n=1, cutoff=0.6)
    return f" Did you mean {matches[0]!r}?" if matches else ""
