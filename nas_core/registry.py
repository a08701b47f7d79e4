"""One registry shape for everything the system looks up by name -- operations, search spaces, differentiable
methods, zero-cost proxies, search strategies, datasets (timm's ``register_model`` / ``list_models`` /
``create_model``): ``@REGISTRY.register("name")`` adds an entry, ``REGISTRY.get(name)`` finds it (an unknown
name is an error listing the known ones), ``REGISTRY.names()`` lists them; a registry is a read-only mapping."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Generic, TypeVar

T = TypeVar("T")


class UnknownNameError(KeyError, ValueError):
    """A name no registry entry has. A ``KeyError`` (a failed lookup) and a ``ValueError`` (a bad argument)
    alike, so either ``except`` catches it; its message names the known entries."""

    def __str__(self) -> str:  # KeyError would print the message quoted
        return str(self.args[0]) if self.args else ""


class Registry(Mapping[str, T], Generic[T]):
    """Entries of one ``kind`` (``"operation"``, ``"search space"``, ...) by name."""

    def __init__(self, kind: str, plural: str | None = None):
        self.kind, self.plural = kind, plural or f"{kind}s"
        self._entries: dict[str, T] = {}

    def add(self, name: str, entry: T) -> T:
        """Register ``entry`` as ``name``; a name already taken is an error (never a silent replacement)."""
        if not name or not isinstance(name, str):
            raise ValueError(f"a {self.kind} needs a non-empty string name, got {name!r}")
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = entry
        return entry

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator form of :meth:`add`: ``@OPS.register("conv_3x3")``."""

        def decorator(entry: T) -> T:
            return self.add(name, entry)

        return decorator

    def get(self, name: str) -> T:  # type: ignore[override]
        """The entry called ``name``; :class:`UnknownNameError` listing the known names otherwise."""
        if name not in self._entries:
            raise UnknownNameError(f"unknown {self.kind} {name!r}; known {self.plural}: {', '.join(self.names())}")
        return self._entries[name]

    def names(self) -> list[str]:
        """Every registered name, sorted."""
        return sorted(self._entries)

    def __getitem__(self, name: str) -> T:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}: {', '.join(self.names())})"
