"""Search spaces by name: ``get_space("nb201")``, ``get_space("darts")``, ``get_space("s1")`` ..."""

from __future__ import annotations

from collections.abc import Callable

from nas_core.registry import Registry
from nas_core.spaces.base import ArchitectureError, CellGraph, SearchSpace
from nas_core.spaces.darts import VARIANTS, DartsSpace, Genotype
from nas_core.spaces.nb201 import NB201Cell, NB201Space

#: every search space by name, as a factory (``get_space``); ``register_space`` adds one
SPACES: Registry[Callable[[], SearchSpace]] = Registry("search space", "spaces")
SPACES.add("nb201", NB201Space)
for _variant in VARIANTS:
    SPACES.add(_variant, lambda v=_variant: DartsSpace(v))


def register_space(name: str, factory: Callable[[], SearchSpace]) -> None:
    """Make ``get_space(name)`` return ``factory()``."""
    SPACES.add(name, factory)


def space_names() -> list[str]:
    return SPACES.names()


def get_space(name: str) -> SearchSpace:
    """The search space called ``name``; an unknown name raises an error listing the known ones."""
    return SPACES.get(name)()


__all__ = [
    "ArchitectureError",
    "CellGraph",
    "DartsSpace",
    "Genotype",
    "NB201Cell",
    "NB201Space",
    "SearchSpace",
    "get_space",
    "register_space",
    "space_names",
]
