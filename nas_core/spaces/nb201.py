"""NAS-Bench-201 cell space (Dong & Yang, ICLR 2020).

A cell is a DAG on 4 nodes; each of its 6 edges ``i -> j`` (``i < j``) holds one of 5 operations.
Edge order of the official string ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`` is
``0->1 | 0->2, 1->2 | 0->3, 1->3, 2->3``.

Official index order: NAS-Bench-201 enumerates the cells lexicographically (edge order above, op
order ``none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3``) and then shuffles the list
with Python's ``random.seed(88); random.shuffle`` (``generate_meta_info`` in the authors' code).
:func:`official_order` reproduces it; the tests check it against all 15,625 rows of the
benchmark tables.
"""

from __future__ import annotations

import functools
import itertools
import random
import re
from collections.abc import Iterator, Sequence
from typing import Any

from torch import nn

from nas_core.cells import NUM_NODES, NB201Cell, dag_edges
from nas_core.ops import NB201_OPS
from nas_core.spaces.base import ArchitectureError, CellGraph, SearchSpace
from nas_core.vocabulary import NetworkSize

_NODE_RE = re.compile(r"^([a-z0-9_]+)~(\d+)$")


@functools.cache
def official_order() -> tuple[str, ...]:
    """All 15,625 cell strings in NAS-Bench-201's official index order."""
    strings = [str(NB201Cell(tuple(NB201_OPS[i] for i in t))) for t in itertools.product(range(5), repeat=6)]
    random.Random(88).shuffle(strings)
    return tuple(strings)


@functools.cache
def _index_of() -> dict[str, int]:
    return {s: i for i, s in enumerate(official_order())}


class NB201Space(SearchSpace[NB201Cell]):
    """The NAS-Bench-201 space (5^6 = 15,625 cells), or a cell-DAG space declared like it: ``ops`` on every
    edge of a ``nodes``-node DAG (:func:`nas_core.spaces.declare_space`). Only the NAS-Bench-201 space itself
    has the benchmark's official index."""

    family = "nb201"

    def __init__(self, ops: Sequence[str] = NB201_OPS, nodes: int = NUM_NODES, name: str = "nb201"):
        self.ops, self.nodes, self.name = tuple(ops), nodes, name
        self.edges = dag_edges(nodes)

    @property
    def is_benchmark(self) -> bool:
        """Whether this is NAS-Bench-201's own space (its ops, 4 nodes), whose cells have official indices."""
        return self.ops == NB201_OPS and self.nodes == NUM_NODES

    # -- sampling ----------------------------------------------------------------------------
    def sample(self, rng: random.Random) -> NB201Cell:
        return NB201Cell(tuple(rng.choice(self.ops) for _ in self.edges))

    def mutate(self, arch: NB201Cell, rng: random.Random) -> NB201Cell:
        arch = self.validate(arch)
        edge = rng.randrange(len(self.edges))
        new_op = rng.choice([op for op in self.ops if op != arch.ops[edge]])
        ops = list(arch.ops)
        ops[edge] = new_op
        return NB201Cell(tuple(ops))

    def enumerate(self) -> Iterator[NB201Cell]:
        """All cells: NAS-Bench-201's in the official index order, a declared space's lexicographically."""
        if self.is_benchmark:
            return (self.from_string(s) for s in official_order())
        return (NB201Cell(ops) for ops in itertools.product(self.ops, repeat=len(self.edges)))

    def size(self) -> int:
        return len(self.ops) ** len(self.edges)

    # -- index <-> string --------------------------------------------------------------------
    def index(self, arch: NB201Cell | str) -> int:
        """Official NAS-Bench-201 index of ``arch``."""
        self._need_benchmark()
        return _index_of()[str(self.parse(arch))]

    def from_index(self, index: int) -> NB201Cell:
        self._need_benchmark()
        if not isinstance(index, int) or not 0 <= index < self.size():
            raise ArchitectureError(f"NAS-Bench-201 index must be an int in [0, {self.size()}), got {index!r}")
        return self.from_string(official_order()[index])

    def _need_benchmark(self) -> None:
        if not self.is_benchmark:
            raise ArchitectureError(f"space {self.name!r} is not NAS-Bench-201's: its cells have no official index")

    # -- serialisation -----------------------------------------------------------------------
    def to_string(self, arch: NB201Cell) -> str:
        return str(self.validate(arch))

    def from_string(self, text: str) -> NB201Cell:
        if not isinstance(text, str):
            raise ArchitectureError(f"expected a NAS-Bench-201 string, got {type(text).__name__}")
        example = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
        groups = text.strip().split("+")
        if len(groups) != self.nodes - 1:
            raise ArchitectureError(
                f"malformed cell string {text!r}: expected {self.nodes - 1} '+'-separated node groups"
                + (f", e.g. {example}" if self.nodes == NUM_NODES else f" ({self.nodes} nodes)")
            )
        ops: list[str] = []
        for dst, group in enumerate(groups, start=1):
            if not (group.startswith("|") and group.endswith("|")):
                raise ArchitectureError(f"malformed node group {group!r} in {text!r}: must start and end with '|'")
            items = group[1:-1].split("|")
            if len(items) != dst:
                raise ArchitectureError(
                    f"malformed node group {group!r} in {text!r}: node {dst} needs {dst} inputs, got {len(items)}"
                )
            for src, item in enumerate(items):
                m = _NODE_RE.match(item)
                if m is None or int(m.group(2)) != src:
                    raise ArchitectureError(
                        f"malformed edge {item!r} in {text!r}: expected 'op~{src}' with op in {list(self.ops)}"
                    )
                ops.append(m.group(1))
        # the string lists node 2's inputs as 0,1 and node 3's as 0,1,2 -- already our edge order
        return self.validate(NB201Cell(tuple(ops)))

    def validate(self, arch: NB201Cell) -> NB201Cell:
        if not isinstance(arch, NB201Cell):
            raise ArchitectureError(f"expected an NB201Cell, got {type(arch).__name__}")
        if len(arch.ops) != len(self.edges):
            raise ArchitectureError(
                f"a cell of space {self.name!r} has {len(self.edges)} edges, got {len(arch.ops)} ops: {arch.ops}"
            )
        for op in arch.ops:
            if op not in self.ops:
                raise ArchitectureError(
                    f"unknown operation {op!r} in space {self.name!r}; expected one of {list(self.ops)}"
                )
        return arch

    # -- isomorphism ---------------------------------------------------------------------------
    def canonical_form(self, arch: NB201Cell) -> str:
        """Symbolic expression of the cell output, with sums sorted.

        ``skip_connect`` passes its input's expression through, ``none`` (and any op applied to
        a zero node, the NAS-Bench-201 convention) contributes nothing, other ops wrap their input
        as ``(x)@op``. Cells with equal forms compute the same function; unlike NAS-Bench-201's
        own ``to_unique_str`` we also drop zero terms from sums (``x + 0 = x``): 4,930 classes instead
        of NAS-Bench-201's 6,466, each a union of theirs.
        """
        arch = self.validate(arch)
        nodes = ["0"]
        for dst in range(1, self.nodes):
            terms: list[str] = []
            for src in range(dst):
                op, x = arch.edge_op(src, dst), nodes[src]
                if op == "none" or x == "#":
                    continue
                terms.extend(x.split("+") if op == "skip_connect" else [f"({x})@{op}"])
            nodes.append("+".join(sorted(terms)) if terms else "#")
        return nodes[-1]

    # -- network and graph -------------------------------------------------------------------
    def size_kwargs(self, size: NetworkSize) -> dict[str, int]:
        """``C`` channels and ``N`` cells per stage (NAS-Bench-201, §2.1)."""
        return {"C": size.channels, "N": size.cells_per_stage}

    def build_network(
        self, arch: NB201Cell | str, *, num_classes: int, in_channels: int = 3, C: int = 16, N: int = 5, **config: Any
    ) -> nn.Module:
        from nas_core.networks.nb201 import NB201Network

        return NB201Network(self.parse(arch), C=C, N=N, num_classes=num_classes, in_channels=in_channels, **config)

    def to_graph(self, arch: NB201Cell | str) -> CellGraph:
        """Op-as-node graph of the cell's *canonical* computation (see :meth:`canonical_form`).

        Nodes: ``input``, one node per operation application, ``output``. ``none`` edges and
        branches that never reach the output vanish, a ``skip_connect`` becomes a direct link, and
        isomorphic cells produce identical graphs (same nodes in the same order).
        """
        form = self.canonical_form(self.parse(arch))
        node_ops: list[str] = ["input"]
        links: list[tuple[int, int]] = []

        def build(expr: str) -> list[int]:
            """Graph nodes whose sum is ``expr``; creates the op nodes it contains."""
            return [] if expr == "#" else [term_node(t) for t in _split_sum(expr)]

        def term_node(term: str) -> int:
            if term == "0":
                return 0
            inner, op = term[1:].rsplit(")@", 1)
            sources = build(inner)
            node_ops.append(op)
            me = len(node_ops) - 1
            links.extend((src, me) for src in sources)
            return me

        sources = build(form)
        node_ops.append("output")
        links.extend((src, len(node_ops) - 1) for src in sources)
        return CellGraph(tuple(node_ops), tuple(links), (0,) * len(node_ops))


def _split_sum(expr: str) -> list[str]:
    """Top-level ``+``-separated terms of a canonical expression."""
    terms, depth, start = [], 0, 0
    for i, ch in enumerate(expr):
        depth += ch == "("
        depth -= ch == ")"
        if ch == "+" and depth == 0:
            terms.append(expr[start:i])
            start = i + 1
    terms.append(expr[start:])
    return terms
