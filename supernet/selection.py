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
from collections.abc import Callable
from typing import Any

from supernet.spaces import DartsSpace, Genotype, NB201Cell, NB201Space, SearchSpace
from supernet.spaces.darts import CELL_TYPES, STEPS, edge_index
from supernet.supernet import Supernet, Weights

Evaluate = Callable[[Weights], float]
Tune = Callable[[], None]


def magnitude_select(supernet: Supernet, probabilities: Weights) -> Any:
    """The DARTS derivation (see module docstring); respects already fixed / removed edges."""
    probs = {ct: [r.detach().cpu() for r in rows] for ct, rows in supernet.project(probabilities).items()}
    space = supernet.space
    if isinstance(space, NB201Space):
        edges = supernet.edges_of("normal")
        return NB201Cell(tuple(e.ops[int(probs["normal"][e.index].argmax())] for e in edges))
    cells = {}
    for ct in CELL_TYPES:
        p = probs[ct]
        chosen: list[tuple[str, int]] = []
        for node in range(STEPS):
            scored = []
            for src in range(node + 2):
                e = edge_index(node, src)
                if (ct, e) in supernet.removed:
                    continue
                row = p[e]
                ops = supernet.edges_of(ct)[e].ops
                ranked = sorted((float(row[k]), k) for k, op in enumerate(ops) if op != "none")
                best, k = ranked[-1]
                margin = best - (ranked[-2][0] if len(ranked) > 1 else 0.0)
                scored.append((best, margin, -src, src, ops[k]))
            for _, _, _, src, op in sorted(scored, reverse=True)[:2]:
                chosen.append((op, src))
            chosen[-2:] = sorted(chosen[-2:], key=lambda t: t[1])
        cells[ct] = tuple(chosen)
    concat = tuple(range(2, STEPS + 2))
    return Genotype(cells["normal"], concat, cells["reduce"], concat)


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
            nodes = list(range(STEPS))
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
