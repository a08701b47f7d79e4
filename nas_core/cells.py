"""The architectures themselves, as plain data: a NAS-Bench-201 cell and a DARTS genotype.

Both the search spaces (which parse, sample and mutate them) and the networks (which are built from them)
depend on this module, and it on nothing: spaces -> networks -> cells, no circle.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import NamedTuple


# -- NAS-Bench-201 ---------------------------------------------------------------------------------
@functools.cache
def dag_edges(nodes: int) -> tuple[tuple[int, int], ...]:
    """The edges ``src -> dst`` (``src < dst``) of a ``nodes``-node cell DAG, node by node: for 4 nodes
    NAS-Bench-201's official order ``0->1, 0->2, 1->2, 0->3, 1->3, 2->3``."""
    return tuple((src, dst) for dst in range(1, nodes) for src in range(dst))


EDGES: tuple[tuple[int, int], ...] = dag_edges(4)
NUM_NODES = 4


@functools.cache
def dag_nodes(edge_count: int) -> int:
    """The node count ``n`` of a cell DAG with ``n (n - 1) / 2`` edges; ValueError for other counts."""
    nodes = round((1 + (1 + 8 * edge_count) ** 0.5) / 2)
    if nodes < 2 or nodes * (nodes - 1) // 2 != edge_count:
        raise ValueError(f"a cell DAG has n(n-1)/2 edges (1, 3, 6, 10, ...), got {edge_count} ops")
    return nodes


@dataclass(frozen=True)
class NB201Cell:
    """One operation name per edge of a cell DAG, in :func:`dag_edges` order (NAS-Bench-201's cells have
    4 nodes, so six ops ``0->1, 0->2, 1->2, 0->3, 1->3, 2->3``; a declared space may have more or fewer)."""

    ops: tuple[str, ...]

    def __str__(self) -> str:
        groups, ops = [], iter(self.ops)
        for dst in range(1, self.nodes):
            groups.append("|" + "|".join(f"{next(ops)}~{src}" for src in range(dst)) + "|")
        return "+".join(groups)

    @property
    def nodes(self) -> int:
        return dag_nodes(len(self.ops))

    @property
    def edges(self) -> tuple[tuple[int, int], ...]:
        return dag_edges(self.nodes)

    def edge_op(self, src: int, dst: int) -> str:
        return self.ops[self.edges.index((src, dst))]


# -- DARTS -------------------------------------------------------------------------------------------
STEPS = 4  # DARTS's intermediate nodes per cell; a declared DARTS-style space may have another count


def num_edges(steps: int) -> int:
    """Edges of a DARTS search cell with ``steps`` intermediate nodes (node ``k`` reads ``k + 2`` nodes)."""
    return sum(k + 2 for k in range(steps))


def steps_of(edge_count: int) -> int:
    """The intermediate node count of a DARTS search cell with ``edge_count`` edges (14: 4 nodes)."""
    steps = 0
    while num_edges(steps) < edge_count:
        steps += 1
    if num_edges(steps) != edge_count:
        raise ValueError(f"a DARTS search cell has 2, 5, 9, 14, 20, ... edges, got {edge_count}")
    return steps


NUM_EDGES = num_edges(STEPS)  # 14
CELL_TYPES = ("normal", "reduce")

Edge = tuple[str, int]


class Genotype(NamedTuple):
    """A DARTS genotype: ``normal``/``reduce`` list ``(op, input_node)`` pairs, two per node (DARTS's
    cells have 4 intermediate nodes, so 8 pairs; a declared space may have another count).

    XDARTS cells (Herron 2023, §4.2) give node ``j`` ``j + 2`` inputs: ``normal_nodes`` /
    ``reduce_nodes`` then list the input count of each node (None: two each, the DARTS format, which
    is also what ``str`` prints then)."""

    normal: tuple[Edge, ...]
    normal_concat: tuple[int, ...]
    reduce: tuple[Edge, ...]
    reduce_concat: tuple[int, ...]
    normal_nodes: tuple[int, ...] | None = None
    reduce_nodes: tuple[int, ...] | None = None

    def __str__(self) -> str:
        def concat(c: tuple[int, ...]) -> str:
            contiguous = len(c) > 1 and list(c) == list(range(c[0], c[-1] + 1))
            return f"range({c[0]}, {c[-1] + 1})" if contiguous else str(list(c))

        nodes = ""
        if self.normal_nodes is not None or self.reduce_nodes is not None:
            nodes = f", normal_nodes={list(self.nodes('normal'))}, reduce_nodes={list(self.nodes('reduce'))}"
        return (
            f"Genotype(normal={list(self.normal)}, normal_concat={concat(self.normal_concat)}, "
            f"reduce={list(self.reduce)}, reduce_concat={concat(self.reduce_concat)}{nodes})"
        )

    def cell(self, cell_type: str) -> tuple[Edge, ...]:
        return self.normal if cell_type == "normal" else self.reduce

    def nodes(self, cell_type: str) -> tuple[int, ...]:
        """The number of inputs of each intermediate node (2 each unless XDARTS)."""
        given = self.normal_nodes if cell_type == "normal" else self.reduce_nodes
        return tuple(given) if given is not None else (2,) * (len(self.cell(cell_type)) // 2)

    @property
    def steps(self) -> int:
        """The number of intermediate nodes of the normal cell (4 in DARTS)."""
        return len(self.nodes("normal"))

    def node_of(self, cell_type: str) -> list[int]:
        """For each edge of the cell, the intermediate node (0, 1, ...) it feeds."""
        return [node for node, count in enumerate(self.nodes(cell_type)) for _ in range(count)]

    @property
    def fixed_arity(self) -> bool:
        """Whether every node has two inputs (the DARTS format)."""
        return all(count == 2 for ct in CELL_TYPES for count in self.nodes(ct))


def edge_index(node: int, src: int) -> int:
    """Index of the search-cell edge from node ``src`` into intermediate node ``node`` (0..13 for DARTS's
    4 nodes; the numbering does not depend on the node count)."""
    return node * (node + 3) // 2 + src
