"""DARTS CNN cell space (Liu et al., ICLR 2019) and its RobustDARTS variants S1-S4 (Zela et al., 2020).

A genotype has a normal and a reduction cell. Each cell has 2 input nodes (the outputs of the two
previous cells) and 4 intermediate nodes; intermediate node ``k`` (numbered ``k + 2``) sums two
operations applied to two distinct earlier nodes. The cell output concatenates nodes 2..5. A space
declared with ``declare_space(..., style="darts", nodes=k)`` has ``k`` intermediate nodes instead (same
rules, edges numbered the same way; ``DartsSpace.steps``).
Text format, as printed by the DARTS code::

    Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ...], normal_concat=range(2, 6),
             reduce=[('max_pool_3x3', 0), ...], reduce_concat=range(2, 6))

Edges of the search cell are numbered node by node: node 2 has edges 0-1 (inputs 0, 1), node 3
edges 2-4, node 4 edges 5-8, node 5 edges 9-13 (14 edges). S1-S4 restrict the candidate operations
per edge (RobustDARTS ``src/spaces.py``): S1 a different pair per edge, S2 {skip, sep3x3},
S3 {none, skip, sep3x3}, S4 {noise, sep3x3}. Derived genotypes never contain ``none`` (DARTS
derivation excludes it), so sampling excludes it too. ICDARTS's op spaces (``nas_core.ops_icdarts``)
are variants too; in ``darts-random`` (zero-op configurations V2-V4) a genotype may hold ``none``
where the search's ``random`` op is retrained as zero.
"""

from __future__ import annotations

import ast
import math
import random
from typing import Any

from torch import nn

from nas_core.cells import CELL_TYPES, NUM_EDGES, STEPS, Edge, Genotype, edge_index, num_edges
from nas_core.ops import ALLEGRO_OPS, DARTS_OPS, op_names
from nas_core.ops_icdarts import OP_SPACES
from nas_core.spaces.base import ArchitectureError, CellGraph, SearchSpace
from nas_core.vocabulary import NetworkSize

# RobustDARTS S1 (facts from the paper's released space definition): per edge, its two candidates.
_S1_NORMAL = (
    ("skip_connect", "dil_conv_3x3"),
    ("skip_connect", "dil_conv_5x5"),
    ("skip_connect", "dil_conv_5x5"),
    ("skip_connect", "sep_conv_3x3"),
    ("skip_connect", "dil_conv_3x3"),
    ("max_pool_3x3", "skip_connect"),
    ("skip_connect", "sep_conv_3x3"),
    ("skip_connect", "sep_conv_3x3"),
    ("skip_connect", "dil_conv_3x3"),
    ("skip_connect", "sep_conv_3x3"),
    ("max_pool_3x3", "skip_connect"),
    ("skip_connect", "dil_conv_3x3"),
    ("dil_conv_3x3", "dil_conv_5x5"),
    ("dil_conv_3x3", "dil_conv_5x5"),
)
_S1_REDUCE = (
    ("max_pool_3x3", "avg_pool_3x3"),
    ("max_pool_3x3", "dil_conv_3x3"),
    ("max_pool_3x3", "avg_pool_3x3"),
    ("max_pool_3x3", "avg_pool_3x3"),
    ("skip_connect", "dil_conv_5x5"),
    ("max_pool_3x3", "avg_pool_3x3"),
    ("max_pool_3x3", "sep_conv_3x3"),
    ("skip_connect", "dil_conv_3x3"),
    ("skip_connect", "dil_conv_5x5"),
    ("max_pool_3x3", "avg_pool_3x3"),
    ("max_pool_3x3", "avg_pool_3x3"),
    ("skip_connect", "dil_conv_5x5"),
    ("skip_connect", "dil_conv_5x5"),
    ("skip_connect", "dil_conv_5x5"),
)
VARIANTS: dict[str, dict[str, tuple[tuple[str, ...], ...]]] = {
    "darts": {c: (DARTS_OPS,) * NUM_EDGES for c in CELL_TYPES},
    "s1": {"normal": _S1_NORMAL, "reduce": _S1_REDUCE},
    "s2": {c: (("skip_connect", "sep_conv_3x3"),) * NUM_EDGES for c in CELL_TYPES},
    "s3": {c: (("none", "skip_connect", "sep_conv_3x3"),) * NUM_EDGES for c in CELL_TYPES},
    "s4": {c: (("noise", "sep_conv_3x3"),) * NUM_EDGES for c in CELL_TYPES},
    # AllegroNAS (paper 000, Sec. 3.2): DARTS's 8 ops with the convolutions replaced by Allegro modules
    "allegro": {c: (ALLEGRO_OPS,) * NUM_EDGES for c in CELL_TYPES},
    # ICDARTS (paper 003): Table 4.1's op spaces, Table 4.2's combined space, zero-op configurations
    **{name: {c: (ops,) * NUM_EDGES for c in CELL_TYPES} for name, ops in OP_SPACES.items()},
}
_OP_ORDER = tuple(
    dict.fromkeys((*DARTS_OPS, "noise", *ALLEGRO_OPS[4:], *(op for ops in OP_SPACES.values() for op in ops)))
)


class DartsSpace(SearchSpace[Genotype]):
    """The DARTS space (``variant="darts"``), one of RobustDARTS' S1-S4 and the other :data:`VARIANTS`, or
    a space declared with its own ``ops`` on every edge and ``steps`` intermediate nodes per cell
    (:func:`nas_core.spaces.declare_space`; ``name`` then names it). The variants have DARTS's 4 nodes."""

    family = "darts"

    def __init__(
        self,
        variant: str = "darts",
        *,
        ops: tuple[str, ...] | None = None,
        name: str | None = None,
        steps: int = STEPS,
    ):
        if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
            raise ValueError(f"a DARTS cell needs steps >= 1 intermediate nodes, got {steps!r}")
        if steps != STEPS and ops is None:
            raise ValueError(f"the {variant!r} space has {STEPS} intermediate nodes; steps={steps} needs ops=")
        #: intermediate nodes per cell (node ``k`` sums two ops on two of nodes ``0 .. k + 1``)
        self.steps = steps
        if ops is not None:
            self.edge_ops = {c: (tuple(ops),) * num_edges(steps) for c in CELL_TYPES}
        elif variant in VARIANTS:
            self.edge_ops = VARIANTS[variant]
        else:
            raise ValueError(f"unknown DARTS space variant {variant!r}; expected one of {sorted(VARIANTS)}")
        self.variant = variant if ops is None else "custom"
        self.name = name or variant
        order = (*_OP_ORDER, *(ops or ()))
        self.ops = tuple(sorted({op for cell in self.edge_ops.values() for ops in cell for op in ops}, key=order.index))

    # -- per-edge candidates -----------------------------------------------------------------
    def candidates(self, cell_type: str, node: int, src: int, include_none: bool = False) -> tuple[str, ...]:
        ops = self.edge_ops[cell_type][edge_index(node, src)]
        return ops if include_none else tuple(o for o in ops if o != "none")

    # -- sampling ------------------------------------------------------------------------------
    def _sample_cell(self, cell_type: str, rng: random.Random) -> tuple[Edge, ...]:
        edges: list[Edge] = []
        for node in range(self.steps):
            for src in sorted(rng.sample(range(node + 2), 2)):
                edges.append((rng.choice(self.candidates(cell_type, node, src)), src))
        return tuple(edges)

    @property
    def concat(self) -> tuple[int, ...]:
        """The nodes a cell's output concatenates: every intermediate node (DARTS's ``range(2, 6)``)."""
        return tuple(range(2, self.steps + 2))

    def sample(self, rng: random.Random) -> Genotype:
        concat = self.concat
        return Genotype(self._sample_cell("normal", rng), concat, self._sample_cell("reduce", rng), concat)

    def mutate(self, arch: Genotype, rng: random.Random) -> Genotype:
        arch = self.validate(arch)
        cell_type = rng.choice(CELL_TYPES)
        edges = list(arch.cell(cell_type))
        i = rng.randrange(len(edges))
        node, (op, src) = arch.node_of(cell_type)[i], edges[i]
        siblings = [e[1] for j, e in enumerate(edges) if arch.node_of(cell_type)[j] == node]
        # DARTS format: another unused input; XDARTS cells (inputs may repeat): ops only
        new_inputs = [s for s in range(node + 2) if s not in siblings] if arch.fixed_arity else []
        other_ops = [o for o in self.candidates(cell_type, node, src) if o != op]
        if new_inputs and (not other_ops or rng.random() < 0.5):
            src = rng.choice(new_inputs)
            op = rng.choice(self.candidates(cell_type, node, src))
        else:
            op = rng.choice(other_ops)
        edges[i] = (op, src)
        if cell_type == "normal":
            return arch._replace(normal=tuple(edges))
        return arch._replace(reduce=tuple(edges))

    def size(self) -> int:
        total = 1
        for cell_type in CELL_TYPES:
            for node in range(self.steps):
                n_ops = [len(self.candidates(cell_type, node, s)) for s in range(node + 2)]
                total *= sum(n_ops[a] * n_ops[b] for a in range(node + 2) for b in range(a + 1, node + 2))
        return total

    # -- serialisation -------------------------------------------------------------------------
    def to_string(self, arch: Genotype) -> str:
        return str(self.validate(arch))

    def from_string(self, text: str) -> Genotype:
        if not isinstance(text, str):
            raise ArchitectureError(f"expected a DARTS Genotype string, got {type(text).__name__}")
        try:
            tree = ast.parse(text.strip(), mode="eval").body
        except SyntaxError as exc:
            raise ArchitectureError(f"malformed Genotype string {text!r}: {exc.msg}") from None
        if not (isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name) and tree.func.id == "Genotype"):
            raise ArchitectureError(f"malformed Genotype string {text!r}: expected 'Genotype(normal=..., ...)'")
        fields = {kw.arg: kw.value for kw in tree.keywords}
        fields.update(zip(Genotype._fields, tree.args))
        missing = [f for f in Genotype._fields[:4] if f not in fields]
        if missing:
            raise ArchitectureError(f"Genotype string {text!r} lacks field(s) {missing}")
        try:
            genotype = Genotype(
                normal=_parse_edges(fields["normal"]),
                normal_concat=_parse_concat(fields["normal_concat"]),
                reduce=_parse_edges(fields["reduce"]),
                reduce_concat=_parse_concat(fields["reduce_concat"]),
                normal_nodes=_parse_nodes(fields.get("normal_nodes")),
                reduce_nodes=_parse_nodes(fields.get("reduce_nodes")),
            )
        except ArchitectureError as exc:
            raise ArchitectureError(f"malformed Genotype string {text!r}: {exc}") from None
        return self.validate(genotype)

    def validate(self, arch: Genotype) -> Genotype:
        if not isinstance(arch, Genotype):
            raise ArchitectureError(f"expected a Genotype, got {type(arch).__name__}")
        for cell_type in CELL_TYPES:
            edges = arch.cell(cell_type)
            counts = arch.nodes(cell_type)
            given = arch.normal_nodes if cell_type == "normal" else arch.reduce_nodes
            if given is None and len(edges) != 2 * self.steps:
                raise ArchitectureError(
                    f"{cell_type} cell needs {2 * self.steps} (op, input) pairs, two for each of the "
                    f"{self.steps} intermediate nodes of space {self.name!r}, got {len(edges)}"
                )
            if len(counts) != self.steps or any(c < 1 for c in counts):
                raise ArchitectureError(
                    f"{cell_type}_nodes {list(counts)} must give {self.steps} input counts >= 1 (one per "
                    f"intermediate node of space {self.name!r})"
                )
            if len(edges) != sum(counts):
                raise ArchitectureError(
                    f"{cell_type} cell needs {sum(counts)} (op, input) pairs (inputs per node {list(counts)}), "
                    f"got {len(edges)}"
                )
            for (op, src), node in zip(edges, arch.node_of(cell_type)):
                if not 0 <= src < node + 2:
                    raise ArchitectureError(
                        f"{cell_type} cell: node {node + 2} takes input {src}, expected one of 0..{node + 1}"
                    )
                allowed = self.candidates(cell_type, node, src, include_none=True)
                if "random" in allowed:  # ICDARTS V3/V4 retrain the random op's edges as zero (Table 3.1)
                    allowed = (*allowed, "none")
                if op not in allowed:
                    known = "" if op in op_names() else " (unknown operation)"
                    raise ArchitectureError(
                        f"{cell_type} cell: op {op!r}{known} not allowed on edge {src}->{node + 2} of space "
                        f"{self.name!r}; expected one of {list(allowed)}"
                    )
            concat = arch.normal_concat if cell_type == "normal" else arch.reduce_concat
            if not concat or any(not 0 <= c < self.steps + 2 for c in concat):
                raise ArchitectureError(f"{cell_type}_concat {list(concat)} must list nodes in 0..{self.steps + 1}")
        return arch

    def canonical_form(self, arch: Genotype) -> str:
        """Genotype with the two inputs of every node in sorted order (their order is irrelevant)."""
        arch = self.validate(arch)

        def canon(cell_type: str) -> tuple[Edge, ...]:
            edges, node_of = arch.cell(cell_type), arch.node_of(cell_type)
            groups = [
                sorted((e for e, n in zip(edges, node_of) if n == k), key=lambda e: (e[1], e[0]))
                for k in range(self.steps)
            ]
            return tuple(e for group in groups for e in group)

        return str(
            arch._replace(
                normal=canon("normal"),
                normal_concat=tuple(sorted(arch.normal_concat)),
                reduce=canon("reduce"),
                reduce_concat=tuple(sorted(arch.reduce_concat)),
            )
        )

    # -- network and graph -------------------------------------------------------------------
    def size_kwargs(self, size: NetworkSize) -> dict[str, int]:
        """``C`` channels and ``layers`` = 3N + 2 cells: N normal cells per stage and two reduction cells
        (DARTS, §3.1: the 8-cell search network is N = 2, the 20-cell evaluation network N = 6)."""
        return {"C": size.channels, "layers": size.darts_cells}

    def build_network(
        self,
        arch: Genotype | str,
        *,
        num_classes: int,
        in_channels: int = 3,
        C: int = 36,
        layers: int = 20,
        **config: Any,
    ) -> nn.Module:
        from nas_core.networks.darts import DartsNetwork

        return DartsNetwork(
            self.parse(arch), C=C, layers=layers, num_classes=num_classes, in_channels=in_channels, **config
        )

    def to_graph(self, arch: Genotype | str) -> CellGraph:
        """Both cells as one op-as-node graph (two components, ``cell_of_node`` 0/1).

        Per cell: nodes ``input_0``, ``input_1``, the 8 edge ops, ``output``. An op reading node
        ``s`` gets an edge from ``input_s`` (``s < 2``) or from both ops of intermediate node ``s``;
        the ops of concatenated nodes feed ``output``.
        """
        arch = self.parse(arch)
        node_ops: list[str] = []
        links: list[tuple[int, int]] = []
        cell_of_node: list[int] = []
        for cell_id, cell_type in enumerate(CELL_TYPES):
            base = len(node_ops)
            edges = arch.cell(cell_type)
            concat = arch.normal_concat if cell_type == "normal" else arch.reduce_concat
            node_ops += ["input_0", "input_1", *(op for op, _ in edges), "output"]
            out = base + 2 + len(edges)
            node_of = arch.node_of(cell_type)
            for i, (_, src) in enumerate(edges):
                me = base + 2 + i
                if src < 2:
                    links.append((base + src, me))
                else:
                    links += [(base + 2 + j, me) for j, n in enumerate(node_of) if n == src - 2]
                if node_of[i] + 2 in concat:
                    links.append((me, out))
            cell_of_node += [cell_id] * (len(edges) + 3)
        return CellGraph(tuple(node_ops), tuple(sorted(links)), tuple(cell_of_node))

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info["size"] = f"{self.size():.3e}"
        info["log10_size"] = round(math.log10(self.size()), 2)
        info["steps"] = self.steps
        return info


def _parse_edges(node: ast.AST) -> tuple[Edge, ...]:
    if not isinstance(node, ast.List | ast.Tuple):
        raise ArchitectureError("cell must be a list of (op, input) pairs")
    edges: list[Edge] = []
    for item in node.elts:
        try:
            op, src = ast.literal_eval(item)
        except (ValueError, TypeError, SyntaxError):
            raise ArchitectureError(f"expected an ('op', input) pair, got {ast.unparse(item)}") from None
        if not isinstance(op, str) or not isinstance(src, int) or isinstance(src, bool):
            raise ArchitectureError(f"expected an ('op', input) pair, got {ast.unparse(item)}")
        edges.append((op, src))
    return tuple(edges)


def _parse_nodes(node: ast.AST | None) -> tuple[int, ...] | None:
    return None if node is None else _int_list(node, "node input counts", "integers")


def _int_list(node: ast.AST, name: str, items: str) -> tuple[int, ...]:
    """The literal list of integers ``node`` holds, or an ``ArchitectureError`` about ``name``."""
    try:
        value = ast.literal_eval(node)
    except ValueError:
        raise ArchitectureError(f"bad {name} {ast.unparse(node)}") from None
    if not isinstance(value, list | tuple) or not all(isinstance(v, int) for v in value):
        raise ArchitectureError(f"{name} must be a list of {items}, got {ast.unparse(node)}")
    return tuple(value)


def _parse_concat(node: ast.AST) -> tuple[int, ...]:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range":
        try:
            args = [ast.literal_eval(a) for a in node.args]
            return tuple(range(*args))
        except (ValueError, TypeError):
            raise ArchitectureError(f"bad concat {ast.unparse(node)}") from None
    return _int_list(node, "concat", "node indices")
