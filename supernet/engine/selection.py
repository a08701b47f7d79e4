"""Architecture selection from a trained supernet: by magnitude, or by perturbation (DARTS-PT).

**Magnitude** (DARTS): NAS-Bench-201 takes the arg-max op of every edge; the DARTS space keeps, for
each intermediate node, the two incoming edges with the strongest non-``none`` op and the arg-max
non-``none`` op on each (ties broken by the raw score margin, then by edge order).

**Perturbation** (Wang et al. ICLR 2021; thesis Algorithm 1): edges are visited in random order; on
each, every candidate op is *removed* in turn (its mixing weight set to 0, all else kept) and the
supernet's validation accuracy measured; the op whose removal hurts most is kept (the edge becomes
one-hot) and the supernet is tuned for a few epochs before the next edge. In the DARTS space the
topology follows the same way: for each node, the two incoming edges whose removal hurts most stay.
``none`` is a candidate on NB201 edges (as in the authors' NB201 code), not in the DARTS space.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

import torch

from nas_core.cells import steps_of
from nas_core.spaces import DartsSpace, Genotype, NB201Cell, NB201Space, SearchSpace
from nas_core.spaces.darts import CELL_TYPES, edge_index
from supernet.engine.supernet import Supernet, Weights

Evaluate = Callable[[Weights], float]
Tune = Callable[[], None]


def _rows(supernet: Supernet, weights: Weights) -> dict[str, list]:
    """Per cell type, the (projected) weight row of every edge, on the CPU."""
    return {ct: [r.detach().cpu() for r in rows] for ct, rows in supernet.project(weights).items()}


def _node_inputs(supernet: Supernet, ct: str, node: int) -> list[tuple[int, int, tuple[str, ...]]]:
    """(input, edge index, candidate ops) of every edge into ``node`` that topology selection kept."""
    out = []
    for src in range(node + 2):
        e = edge_index(node, src)
        if (ct, e) not in supernet.removed:
            out.append((src, e, supernet.edges_of(ct)[e].ops))
    return out


def _genotype(space: DartsSpace, cells: dict[str, tuple], nodes: tuple[int, ...] | None = None) -> Genotype:
    return Genotype(cells["normal"], space.concat, cells["reduce"], space.concat, nodes, nodes)


def magnitude_select(supernet: Supernet, probabilities: Weights) -> Any:
    """The DARTS derivation (see module docstring); respects already fixed / removed edges."""
    probs = _rows(supernet, probabilities)
    space = supernet.space
    if isinstance(space, NB201Space):
        edges = supernet.edges_of("normal")
        return NB201Cell(tuple(e.ops[int(probs["normal"][e.index].argmax())] for e in edges))
    cells = {
        ct: darts_rule_cell(probs[ct], [_node_inputs(supernet, ct, node) for node in range(space.steps)])
        for ct in CELL_TYPES
    }
    return _genotype(space, cells)


def darts_rule_cell(
    rows: Sequence[torch.Tensor], node_inputs: Sequence[Sequence[tuple[int, int, tuple[str, ...]]]]
) -> tuple[tuple[str, int], ...]:
    """DARTS's rule for one cell: per node, of its candidate edges ``(input, edge index, ops)``, the two
    whose strongest non-``none`` op weighs most (ties: the larger margin, then the earlier input), each
    with that op; ``rows[e]`` holds edge e's op weights."""
    chosen: list[tuple[str, int]] = []
    for inputs in node_inputs:
        scored = []
        for src, e, ops in inputs:
            ranked = sorted((float(rows[e][k]), k) for k, op in enumerate(ops) if op != "none")
            best, k = ranked[-1]
            margin = best - (ranked[-2][0] if len(ranked) > 1 else 0.0)
            scored.append((best, margin, -src, src, ops[k]))
        chosen += sorted(((op, src) for _, _, _, src, op in sorted(scored, reverse=True)[:2]), key=lambda t: t[1])
    return tuple(chosen)


def node_weights(alpha: torch.Tensor) -> torch.Tensor:
    """I-DARTS / XDARTS mixing weights (Jiang et al. 2019; Herron 2023 §4.2): one softmax over all
    (incoming edge, op) pairs of each intermediate node of a DARTS cell, instead of one per edge.
    ``alpha`` is ``(14, K)`` (4 nodes; ``(E, K)`` for another node count); the result has the same
    shape and sums to 1 over each node's rows."""
    out = []
    for node in range(steps_of(alpha.shape[0])):
        start, count = edge_index(node, 0), node + 2
        block = alpha[start : start + count]
        out.append(torch.softmax(block.flatten(), 0).view_as(block))
    return torch.cat(out)


def node_select(supernet: Supernet, weights: Weights, xdarts: bool = False) -> Genotype:
    """I-DARTS discretisation (Herron 2023 §4.2, cell (b)): per node the top-2 (edge, op) pairs by
    node-level weight, non-``none`` ops only, several may come from the same input (ties: edge order).
    XDARTS (cell (c)): node ``j`` keeps ``j + 2`` pairs, as many as it has possible inputs."""
    if not isinstance(supernet.space, DartsSpace):
        raise ValueError(f"I-DARTS cells need a DARTS-family space, got {supernet.space.name!r}")
    probs = _rows(supernet, weights)
    steps = supernet.space.steps
    cells = {}
    for ct in CELL_TYPES:
        chosen: list[tuple[str, int]] = []
        for node in range(steps):
            scored = [
                (-float(probs[ct][e][j]), e, j, op, src)
                for src, e, ops in _node_inputs(supernet, ct, node)
                for j, op in enumerate(ops)
                if op != "none"
            ]
            top = sorted(scored)[: node + 2 if xdarts else 2]
            chosen += sorted(((op, src) for _, _, _, op, src in top), key=lambda t: t[1])
        cells[ct] = tuple(chosen)
    return _genotype(supernet.space, cells, tuple(node + 2 for node in range(steps)) if xdarts else None)


def perturbation_select(
    supernet: Supernet,
    probabilities: Callable[[], Weights],
    evaluate: Evaluate,
    tune: Tune,
    seed: int = 0,
    log: Callable[[dict[str, Any]], None] | None = None,
) -> Any:
    """DARTS-PT: decide every edge by the accuracy drop its ops' removal causes (module docstring)."""
    rng = random.Random(seed)
    darts = isinstance(supernet.space, DartsSpace)
    edges = [(e.cell_type, e.index) for e in supernet.edges if (e.cell_type, e.index) not in supernet.fixed]
    rng.shuffle(edges)
    for ct, e in edges:
        ops = supernet.edges_of(ct)[e].ops
        base = probabilities()
        accs = {}
        for k, op in enumerate(ops):
            if darts and op == "none":
                continue
            w = {c: t.detach().clone() for c, t in base.items()}
            w[ct][e, k] = 0.0
            accs[k] = evaluate(w)
        chosen = min(accs, key=lambda k: (accs[k], k))
        supernet.fixed[(ct, e)] = chosen
        if log:
            log({"edge": [ct, e], "removal_accuracy": {ops[k]: a for k, a in accs.items()}, "chosen": ops[chosen]})
        tune()
    if darts:
        for ct in CELL_TYPES:
            nodes = list(range(supernet.space.steps))
            rng.shuffle(nodes)
            for node in nodes:
                inputs = [edge_index(node, src) for src in range(node + 2)]
                if len(inputs) <= 2:
                    continue
                accs = {}
                for e in inputs:
                    supernet.removed.add((ct, e))
                    accs[e] = evaluate(probabilities())
                    supernet.removed.discard((ct, e))
                keep = sorted(inputs, key=lambda e: (accs[e], e))[:2]
                supernet.removed.update((ct, e) for e in inputs if e not in keep)
                if log:
                    log(
                        {
                            "node": [ct, node + 2],
                            "removal_accuracy": {str(e): a for e, a in accs.items()},
                            "kept_edges": keep,
                        }
                    )
                tune()
    return magnitude_select(supernet, probabilities())


def select(space: SearchSpace, supernet: Supernet, rule: str, **kwargs: Any) -> Any:
    if rule == "magnitude":
        return magnitude_select(supernet, kwargs["probabilities"]())
    if rule == "pt":
        return perturbation_select(supernet, **kwargs)
    raise ValueError(f"unknown selection rule {rule!r}; expected 'magnitude' or 'pt'")


def select_under_limit(
    supernet: Supernet, probabilities: Weights, arch: Any, cost: Callable[[Any], float], limit: float
) -> tuple[Any, list[dict[str, Any]]]:
    """``arch`` made to cost at most ``limit``: while it costs more, swap one chosen op for another op of
    the same edge, the swap that gives up the least log-probability per unit of cost saved (topology kept).

    Not from the seed papers (none selects under a hard cost limit); a greedy form of the constrained
    argmax that resource-aware DARTS variants solve with a penalty. Returns the architecture and one log
    entry per swap; raises ``ValueError`` when no swap lowers the cost any further."""
    probs = _rows(supernet, probabilities)
    steps: list[dict[str, Any]] = []
    current = cost(arch)
    while current > limit:
        best = None
        for where, edge_ops, k_old, make in _swaps(supernet, arch):
            row = probs[where[0]][where[1]]
            for k_new, op in enumerate(edge_ops):
                if k_new == k_old or (op == "none" and isinstance(arch, Genotype)):
                    continue
                candidate = make(op)
                saved = current - cost(candidate)
                if saved <= 0:
                    continue
                lost = float(torch.log(row[k_old].clamp_min(1e-12)) - torch.log(row[k_new].clamp_min(1e-12)))
                key = (lost / saved, -saved)
                if best is None or key < best[0]:
                    best = (key, candidate, where, edge_ops[k_old], op, current - saved)
        if best is None:
            raise ValueError(f"no op swap brings {supernet.space.to_string(arch)} (cost {current:g}) under {limit:g}")
        _, arch, where, old, new, current = best
        steps.append({"cell": where[0], "edge": where[1], "from": old, "to": new, "cost": current})
    return arch, steps


def _swaps(supernet: Supernet, arch: Any):
    """(cell type and edge, the edge's candidate ops, the index of the op ``arch`` holds there, a function
    making ``arch`` with another op there) for every chosen op of ``arch``."""
    if isinstance(arch, NB201Cell):
        for e in supernet.edges_of("normal"):
            ops = list(arch.ops)

            def make(op: str, i: int = e.index, ops: list = ops) -> NB201Cell:
                return NB201Cell(tuple([*ops[:i], op, *ops[i + 1 :]]))

            yield ("normal", e.index), e.ops, e.ops.index(arch.ops[e.index]), make
        return
    for ct in CELL_TYPES:
        pairs = list(getattr(arch, ct))
        nodes = arch.node_of(ct)  # two inputs per node; XDARTS cells give node j j + 2 inputs
        for i, (op, src) in enumerate(pairs):
            e = edge_index(nodes[i], src)
            edge_ops = supernet.edges_of(ct)[e].ops

            def make(new: str, i: int = i, src: int = src, ct: str = ct, pairs: list = pairs) -> Genotype:
                return arch._replace(**{ct: tuple([*pairs[:i], (new, src), *pairs[i + 1 :]])})

            yield (ct, e), edge_ops, edge_ops.index(op), make
