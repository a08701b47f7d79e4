"""Differentiable searches as proposal generators for the RANK-NOSH pool (the hybrid job).

A finished differentiable search contributes (a) its selected architecture, (b) samples from its
learned architecture distribution (per edge, an op drawn from the method's probabilities over the
non-``none`` ops; per DARTS node, two distinct inputs drawn in proportion to their strongest op), and
(c) the PT runner-ups: the selected architecture with one edge switched to the op whose removal hurt
second most. :func:`add_proposals` puts them into a pool with the method as lineage; the pool
de-duplicates isomorphic cells.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import torch

from nas_core.spaces.darts import Genotype, edge_index
from nas_core.spaces.nb201 import NB201Cell
from supernet.engine.supernet import Supernet, Weights


@dataclass(frozen=True)
class Proposal:
    arch: Any
    kind: str  # "selected", "sample" or "runner-up"


def _draw(weights: torch.Tensor, rng: random.Random) -> int:
    total = float(weights.sum())
    if total <= 0:
        return rng.randrange(len(weights))
    r, acc = rng.random() * total, 0.0
    for k, w in enumerate(weights.tolist()):
        acc += w
        if r < acc:
            return k
    return len(weights) - 1


def sample_architecture(supernet: Supernet, probabilities: Weights, rng: random.Random) -> Any:
    """One architecture drawn from per-edge op probabilities (``none`` excluded)."""
    probs = {ct: [r.detach().cpu().float() for r in rows] for ct, rows in supernet.project(probabilities).items()}

    def op_weights(ct: str, e: int) -> tuple[torch.Tensor, tuple[str, ...]]:
        ops = supernet.edges_of(ct)[e].ops
        row = probs[ct][e].clamp_min(0).clone()
        row[[k for k, op in enumerate(ops) if op == "none"]] = 0.0
        return row, ops

    if set(probs) == {"normal"}:
        ops = []
        for e in range(len(probs["normal"])):
            row, names = op_weights("normal", e)
            ops.append(names[_draw(row, rng)])
        return NB201Cell(tuple(ops))
    cells = {}
    for ct in ("normal", "reduce"):
        chosen: list[tuple[str, int]] = []
        for node in range(supernet.space.steps):
            strength = {}
            for src in range(node + 2):
                if (ct, edge_index(node, src)) not in supernet.removed:
                    strength[src] = float(op_weights(ct, edge_index(node, src))[0].max())
            srcs = []
            for _ in range(min(2, len(strength))):
                left = [s for s in strength if s not in srcs]
                srcs.append(left[_draw(torch.tensor([strength[s] for s in left]), rng)])
            for src in sorted(srcs):
                row, names = op_weights(ct, edge_index(node, src))
                chosen.append((names[_draw(row, rng)], src))
        cells[ct] = tuple(chosen)
    concat = supernet.space.concat
    return Genotype(cells["normal"], concat, cells["reduce"], concat)


def pt_runner_ups(selected: Any, selection_log: list[dict[str, Any]]) -> list[Any]:
    """For every edge PT decided on NAS-Bench-201: the selected cell with that edge's second choice."""
    if not isinstance(selected, NB201Cell):
        return []  # (DARTS genotypes index ops by node inputs; runner-ups there are left to samples)
    out = []
    for entry in selection_log:
        if "edge" not in entry or len(entry["removal_accuracy"]) < 2:
            continue
        _, e = entry["edge"]
        ranked = sorted(entry["removal_accuracy"].items(), key=lambda kv: kv[1])  # lowest accuracy = most needed
        runner_up = next((op for op, _ in ranked if op != entry["chosen"] and op != "none"), None)
        if runner_up is not None:
            ops = list(selected.ops)
            ops[e] = runner_up
            out.append(NB201Cell(tuple(ops)))
    return out


def proposals_from_search(search: Any, result: Any, samples: int = 10, seed: int = 0) -> list[Proposal]:
    """The proposals of a finished :class:`supernet.engine.diff_search.DiffSearch` and its result."""
    space = search.supernet.space
    selected = space.parse(result.genotype)
    rng = random.Random(seed)
    out = [Proposal(selected, "selected")]
    out += [Proposal(a, "runner-up") for a in pt_runner_ups(selected, result.selection_log)]
    probabilities = search.method.probabilities()
    out += [Proposal(sample_architecture(search.supernet, probabilities, rng), "sample") for _ in range(samples)]
    return out


def add_proposals(pool: Any, proposals: list[Proposal], method: str, supernet: Supernet | None = None) -> list[int]:
    """Add proposals to ``pool`` with lineage ``method``; returns the ids of the new candidates.
    With ``supernet``, each new candidate starts training from the weights it inherits from it."""
    new = []
    for p in proposals:
        if pool.find(p.arch) is not None:
            continue
        info: dict[str, Any] = {"proposal": p.kind}
        if supernet is not None:
            info["init"] = save_warm_start(pool, supernet, p.arch)
        ((cid, fresh),) = pool.add_candidates([p.arch], lineage=method, info=info)
        if fresh:
            new.append(cid)
    return new


def one_hot_weights(supernet: Supernet, arch: Any) -> Weights:
    """Mixing weights that make the supernet compute ``arch`` (one-hot rows; unused DARTS edges zero)."""
    like = next(supernet.parameters())
    out = {}
    for ct in supernet.cell_types:
        edges = supernet.edges_of(ct)
        w = torch.zeros(len(edges), max(len(e.ops) for e in edges), dtype=like.dtype, device=like.device)
        if isinstance(arch, NB201Cell):
            for e, op in enumerate(arch.ops):
                w[e, edges[e].ops.index(op)] = 1.0
        else:
            for i, (op, src) in enumerate(arch.cell(ct)):
                e = edge_index(i // 2, src)
                w[e, edges[e].ops.index(op)] = 1.0
        out[ct] = w
    return out


class OneShotScorer:
    """Scores architectures by the trained supernet's validation accuracy with their weights (the
    one-shot estimate): a cheap, noisy ranking signal that RANK-NOSH consumes like a zero-cost proxy
    named ``oneshot`` (ordering the first admissions and adding down-weighted budget-0 pairs)."""

    def __init__(self, search: Any, batches: int | None = 4):
        self.search, self.batches = search, batches
        self.names = ("oneshot",)

    def __call__(self, archs: list[Any], progress: bool = False) -> list[dict[str, float]]:
        space, supernet = self.search.supernet.space, self.search.supernet
        return [
            {"oneshot": self.search.evaluate(one_hot_weights(supernet, space.parse(a)), self.batches)} for a in archs
        ]


def save_warm_start(pool: Any, supernet: Supernet, arch: Any) -> str:
    """Store the weights ``supernet.export_child(arch)`` inherits in the pool's checkpoint store; the
    returned key goes into the candidate's ``info["init"]`` and its first job starts from them."""
    key = f"init_{pool.space.canonical_hash(arch)[:24]}.pt"
    child = supernet.export_child(arch)
    pool.store.save(key, {"model": {k: v.detach().cpu() for k, v in child.state_dict().items()}})
    return key
