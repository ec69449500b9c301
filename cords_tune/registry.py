"""A named registry of builders, shared by datasets, models and selection strategies.

Adding an entry is one function plus a decorator; the tests are parametrized over the registry, so a new
entry is tested without test edits. Builders take keyword parameters; ``check_params`` rejects unknown ones
before anything is built, with a did-you-mean suggestion.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from cords_tune.errors import ConfigError, UnknownNameError, did_you_mean

__all__ = ["Registry"]

T = TypeVar("T", bound=Callable[..., Any])


class Registry(Generic[T]):
    """Maps names to builders of one kind (``"dataset"``, ``"model"``, ``"strategy"``).

    Args:
        kind: what the entries are, used in error messages.
        fixed: parameter names every builder receives from the framework rather than from the user
            (for example ``input_shape`` for models); they may not appear in user parameters.
    """

    def __init__(self, kind: str, *, fixed: tuple[str, ...] = ()) -> None:
        self.kind = kind
        self.fixed = fixed
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator that registers ``builder`` under ``name``."""

        def decorator(builder: T) -> T:
            known = self._entries.get(name)
            # The same builder met again (a plugin module imported anew) replaces itself; another one is a clash.
            if known is not None and _origin(known) != _origin(builder):
                raise ValueError(
                    f"{self.kind} {name!r} is already registered (by {'.'.join(_origin(known))}); "
                    f"{'.'.join(_origin(builder))} must register another name"
                )
            self._entries[name] = builder
            return builder

        return decorator

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def get(self, name: str, *, path: str | None = None) -> T:
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownNameError(self.kind, name, self._entries, path=path) from None

    def user_params(self, name: str) -> dict[str, inspect.Parameter]:
        """The parameters a user may set for ``name`` (the builder's keyword arguments minus ``fixed``)."""
        signature = inspect.signature(self.get(name))
        return {
            key: p
            for key, p in signature.parameters.items()
            if key not in self.fixed and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
        }

    def check_params(self, name: str, params: Mapping[str, Any], *, path: str | None = None) -> None:
        """Raise ``ConfigError`` naming the first parameter ``name``'s builder does not accept."""
        allowed = self.user_params(name)
        for key in params:
            if key not in allowed:
                choices = ", ".join(allowed) or "none"
                raise ConfigError(
                    f"{self.kind} {name!r} has no parameter {key!r}.{did_you_mean(key, allowed)} "
                    f"Its parameters are: {choices}.",
                    path=f"{path}.{key}" if path else key,
                )

    def build(self, name: str, /, **kwargs: Any) -> Any:
        """Call ``name``'s builder with ``kwargs`` (fixed and user parameters together)."""
        return self.get(name)(**kwargs)

    def describe(self, name: str) -> str:
        """The first line of the builder's docstring."""
        doc = inspect.getdoc(self.get(name)) or ""
        return doc.splitlines()[0] if doc else ""


def _origin(builder: Callable[..., Any]) -> tuple[str, str]:
    return getattr(builder, "__module__", "?"), getattr(builder, "__qualname__", repr(builder))
