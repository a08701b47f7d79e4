"""Search spaces by name: ``get_space("nb201")``, ``get_space("darts")``, ``get_space("s1")`` ..."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from nas_core.registry import Registry
from nas_core.spaces.base import ArchitectureError, CellGraph, SearchSpace
from nas_core.spaces.darts import VARIANTS, DartsSpace, Genotype
from nas_core.spaces.nb201 import NB201Cell, NB201Space

#: every search space by name, as a factory (``get_space``); ``register_space`` adds one
SPACES: Registry[Callable[[], SearchSpace]] = Registry("search space", "spaces")
SPACES.add("nb201", NB201Space)
for _variant in VARIANTS:
    SPACES.add(_variant, lambda v=_variant: DartsSpace(v))


#: what :func:`declare_space` was given, by space name (a pool stores it, so workers can rebuild the space)
DECLARATIONS: dict[str, dict] = {}


def register_space(name: str, factory: Callable[[], SearchSpace]) -> None:
    """Make ``get_space(name)`` return ``factory()``."""
    SPACES.add(name, factory)


def declare_space(name: str, ops: Sequence[str], *, nodes: int = 4, style: str = "nb201") -> SearchSpace:
    """Register a cell space made of ``ops`` (names registered with :func:`nas_core.ops.register_op`, e.g. a
    user's own) and return it; ``get_space(name)`` gives it from then on, in this process.

    ``style="nb201"``: every edge of a ``nodes``-node cell DAG holds one op (NAS-Bench-201's cell has
    4 nodes, 6 edges), built into NAS-Bench-201's skeleton. ``style="darts"``: each of the ``nodes``
    intermediate nodes of a normal and a reduction cell sums two ops on two earlier nodes (the DARTS cell
    has 4), built into the DARTS skeleton; the cell's output concatenates them all. Architectures have the
    style's string and an isomorphism-aware hash; the supernet, the pool, the ranker, the proxies and export
    work on the space. A pool created on the space stores this declaration
    (``PoolConfig.space_declaration``), so a worker that opens the pool declares the space itself; ops of
    your own must still be registered in that worker.
    """
    from nas_core.ops import op_names

    ops = tuple(ops)
    unknown = [op for op in ops if op not in op_names()]
    if unknown:
        raise ValueError(
            f"space {name!r}: unknown operation(s) {unknown}; register them with nas_core.ops.register_op "
            f"first (known: {', '.join(op_names())})"
        )
    if len(ops) < 2 or len(set(ops)) != len(ops):
        raise ValueError(f"space {name!r} needs at least two distinct operations, got {list(ops)}")
    if style == "nb201":
        if not isinstance(nodes, int) or nodes < 2:
            raise ValueError(f"space {name!r}: a cell DAG needs nodes >= 2, got {nodes!r}")
        factory: Callable[[], SearchSpace] = lambda: NB201Space(ops, nodes, name)  # noqa: E731
    elif style == "darts":
        if not isinstance(nodes, int) or isinstance(nodes, bool) or nodes < 1:
            raise ValueError(f"space {name!r}: a DARTS-style cell needs nodes >= 1 intermediate nodes, got {nodes!r}")
        factory = lambda: DartsSpace(ops=ops, name=name, steps=nodes)  # noqa: E731
    else:
        raise ValueError(f"space {name!r}: style must be 'nb201' or 'darts', got {style!r}")
    space = factory()  # builds once: a bad declaration fails before anything is registered
    SPACES.add(name, factory)
    DECLARATIONS[name] = {"ops": list(ops), "nodes": nodes, "style": style}
    return space


def declaration(name: str) -> dict | None:
    """The arguments :func:`declare_space` registered ``name`` with (None: a built-in or registered space)."""
    return DECLARATIONS.get(name)


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
    "declaration",
    "declare_space",
    "get_space",
    "register_space",
    "space_names",
]
