"""Search spaces by name: ``get_space("nb201")``, ``get_space("darts")``, ``get_space("s1")`` ..."""

from __future__ import annotations

from collections.abc import Callable

from supernet.spaces.base import ArchitectureError, CellGraph, SearchSpace
from supernet.spaces.darts import VARIANTS, DartsSpace, Genotype
from supernet.spaces.nb201 import NB201Cell, NB201Space

_SPACES: dict[str, Callable[[], SearchSpace]] = {"nb201": NB201Space}
_SPACES.update({variant: (lambda v=variant: DartsSpace(v)) for variant in VARIANTS})


def register_space(name: str, factory: Callable[[], SearchSpace]) -> None:
    """Make ``get_space(name)`` return ``factory()``."""
    if name in _SPACES:
        raise ValueError(f"search space {name!r} is already registered")
    _SPACES[name] = factory


def space_names() -> list[str]:
    return sorted(_SPACES)


def get_space(name: str) -> SearchSpace:
    """The search space called ``name``; unknown names raise ``KeyError`` listing the known ones."""
    if name not in _SPACES:
        raise KeyError(f"unknown search space {name!r}; known spaces: {', '.join(space_names())}")
    return _SPACES[name]()


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
