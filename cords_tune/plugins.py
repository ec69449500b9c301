"""Plugins: the user's own modules that register datasets, models or selection strategies.

An experiment names them (``plugins: [my_pkg.my_module, ./mynet.py]``, or ``--plugin`` on the command line);
each is imported before the experiment is validated, on the driver and again on every Ray worker that
receives the experiment, so a name registered there is known wherever a trial or a retrain runs. A plugin is
a module name (installed, or found from the current directory) or the path of a ``.py`` file. What is not
installed on the machine is shipped to the workers by Ray (``runtime_env`` ``py_modules``) when the run
starts Ray or joins a cluster, so it reaches nodes that never had it.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from cords_tune.errors import ConfigError

__all__ = ["Plugin", "import_plugins", "is_file_plugin", "is_installed", "module_location", "pinned", "runtime_env_for",
           "SHIPPED_ENV"]

# Set in the workers of a Ray that cords-tune started with the plugins shipped: there the shipped copy is
# imported by name, whatever files the driver's paths point to on that node.
SHIPPED_ENV = "CORDS_TUNE_PLUGINS_SHIPPED"


@dataclass(frozen=True)
class Plugin:
    """One imported plugin.

    Attributes:
        spec: as the experiment names it: a module name or a ``.py`` path.
        module: the imported module.
        ship: the file or package directory Ray must copy to the workers; ``None`` for an installed module.
    """

    spec: str
    module: ModuleType
    ship: Path | None


def is_file_plugin(spec: str) -> bool:
    return spec.endswith(".py") or "/" in spec or os.sep in spec


def pinned(spec: str) -> str:
    """``spec`` with a relative file path made absolute from the current directory (a module name as it is)."""
    return str(Path(spec).expanduser().resolve()) if is_file_plugin(spec) else spec


def import_plugins(specs: Any) -> list[Plugin]:
    """Import every plugin of ``specs`` (the experiment's ``plugins``), in order; importing one twice is free.

    Raises:
        ConfigError: ``specs`` is not a list of names, or a plugin cannot be found or fails while importing.
    """
    if specs is None:
        return []
    if not isinstance(specs, (list, tuple)) or not all(isinstance(s, str) and s.strip() for s in specs):
        raise ConfigError(
            "must be a list of module names or .py file paths, e.g. [my_package.my_datasets, ./mynet.py]. "
            f"Got {specs!r}", path="plugins"
        )
    return [_import(spec.strip(), f"plugins[{i}]") for i, spec in enumerate(specs)]


def runtime_env_for(plugins: Sequence[Plugin]) -> dict[str, Any] | None:
    """The Ray ``runtime_env`` that gives every worker the plugins not installed there, or ``None``."""
    ship = sorted({str(p.ship) for p in plugins if p.ship is not None})
    if not ship:
        return None
    return {"py_modules": ship, "env_vars": {SHIPPED_ENV: "1"}}


def _import(spec: str, path: str) -> Plugin:
    if is_file_plugin(spec):
        module = _import_file(Path(spec).expanduser(), path)
        return Plugin(spec, module, ship=Path(module.__file__ or spec).resolve())
    module = _import_name(spec, path)
    top = sys.modules[spec.partition(".")[0]]
    location = module_location(top)
    return Plugin(spec, module, ship=None if is_installed(location) else location.resolve())


def module_location(module: ModuleType) -> Path:
    """A package's directory, or a module's file."""
    return Path(module.__path__[0] if hasattr(module, "__path__") else module.__file__ or "")


def is_installed(location: Path) -> bool:
    """Whether a module at ``location`` is installed (in site-packages), so every worker has its own copy."""
    return any(part in ("site-packages", "dist-packages") for part in location.parts)


def _import_file(file: Path, path: str) -> ModuleType:
    name = file.stem
    if not name.isidentifier():
        raise ConfigError(f"a plugin file's name must be a Python module name, like my_models.py. Got {str(file)!r}. "
                          "Rename the file", path=path)
    loaded = sys.modules.get(name)
    if loaded is not None:
        if os.environ.get(SHIPPED_ENV) or _same_file(loaded, file):
            return loaded
        raise ConfigError(
            f"plugin {str(file)!r} would be imported as module {name!r}, but another module of that name is "
            f"already imported (from {getattr(loaded, '__file__', None) or 'a built-in'}). Rename the file",
            path=path,
        )
    if os.environ.get(SHIPPED_ENV):
        try:  # the copy Ray shipped to this worker
            return importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name != name:
                raise
    if not file.is_file():
        raise ConfigError(f"plugin file {str(file)!r} does not exist. Check the path (relative paths start from "
                          "the current directory)", path=path)
    other = importlib.util.find_spec(name)
    if other is not None and other.origin and Path(other.origin).resolve() != file.resolve():
        raise ConfigError(f"plugin {str(file)!r} would be imported as module {name!r}, which would hide the module "
                          f"of that name at {other.origin}. Rename the file", path=path)
    spec = importlib.util.spec_from_file_location(name, file)
    assert spec is not None and spec.loader is not None  # a .py path always has a source loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        del sys.modules[name]
        raise _failed(str(file), error, path) from error
    return module


def _import_name(name: str, path: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    here = os.getcwd()
    if here not in sys.path:  # `cords-tune` is an installed script: the current directory is not on its path
        sys.path.append(here)
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name is None or not (name == error.name or name.startswith(f"{error.name}.")):
            raise _failed(name, error, path) from error  # the plugin itself imports something missing
        raise ConfigError(
            f"cannot import plugin {name!r}: no module named {error.name!r}. Give an installed module, a module "
            "found from the current directory, or the path of a .py file (e.g. ./my_plugin.py)", path=path
        ) from None
    except Exception as error:
        raise _failed(name, error, path) from error


def _failed(spec: str, error: Exception, path: str) -> ConfigError:
    """The plugin's own error, with the line of the plugin (or what it imports) that raised it."""
    frames = traceback.extract_tb(error.__traceback__)
    user = [f for f in frames if "importlib" not in f.filename]
    where = f" (at {user[-1].filename}:{user[-1].lineno})" if user else ""
    return ConfigError(f"plugin {spec!r} failed while importing: {type(error).__name__}: {error}{where}. "
                       "Fix the plugin module", path=path)


def _same_file(module: ModuleType, file: Path) -> bool:
    loaded = getattr(module, "__file__", None)
    return loaded is not None and Path(loaded).resolve() == file.resolve()
