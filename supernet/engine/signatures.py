"""The measurements behind the differentiable papers' signature behaviours (``scripts/bench_signatures.py``).

* :func:`dominant_eigenvalue` -- the largest-magnitude eigenvalue of ∇²_α L_valid by power iteration on
  Hessian-vector products (Zela et al. 2020, R-DARTS: it grows as DARTS collapses; SDARTS keeps it low).
* :func:`parameter_free_ops` -- ops without weights in the argmax cell (``skip_connect``, pools, ``none``):
  DARTS's collapse fills the cell with them (paper 004 §2; R-DARTS).
* :func:`edge_entropy` -- mean entropy of the op distribution per edge: SP-DARTS's sparsity makes it fall.
* :func:`magnitude_vs_strength` -- per edge, the op with the largest α against the op whose removal hurts
  the supernet most (DARTS-PT's "magnitude is not strength", paper 004 ch. 3).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

PARAMETER_FREE = ("none", "skip_connect", "avg_pool_3x3", "max_pool_3x3")


def dominant_eigenvalue(
    loss: torch.Tensor, params: Sequence[torch.Tensor], iters: int = 20, generator: torch.Generator | None = None
) -> float:
    """Power iteration on ``v -> H v`` with ``H = ∇²_params loss`` (``loss`` built with the graph kept);
    returns the Rayleigh quotient ``vᵀHv`` of the last unit vector: the eigenvalue of largest magnitude."""
    grads = torch.autograd.grad(loss, params, create_graph=True)
    v = [torch.randn(p.shape, generator=generator).to(p) for p in params]
    value = 0.0
    for _ in range(iters):
        norm = torch.sqrt(sum((t * t).sum() for t in v))
        v = [t / norm for t in v]
        hv = torch.autograd.grad(grads, params, grad_outputs=v, retain_graph=True)
        value = float(sum((a * b).sum() for a, b in zip(hv, v)))
        v = [t.detach() for t in hv]
    return value


def exact_hessian(loss_of: Callable[[torch.Tensor], torch.Tensor], flat: torch.Tensor) -> torch.Tensor:
    """The full Hessian of ``loss_of(flat)`` (autograd; small problems and tests only)."""
    return torch.autograd.functional.hessian(loss_of, flat)


def parameter_free_ops(arch: Any) -> int:
    """Parameter-free operations in a cell (NB201: its 6 edges; DARTS: both cells' 16 edges)."""
    if hasattr(arch, "ops"):
        return sum(op in PARAMETER_FREE for op in arch.ops)
    return sum(op in PARAMETER_FREE for ct in ("normal", "reduce") for op, _ in arch.cell(ct))


def edge_entropy(probabilities: Mapping[str, Sequence[Sequence[float]]]) -> float:
    """Mean over all edges of ``-Σ p log p`` (nats); ``log K`` for uniform α, 0 for one-hot."""
    entropies = [-sum(p * math.log(p) for p in row if p > 0) for rows in probabilities.values() for row in rows]
    return sum(entropies) / len(entropies)


def magnitude_vs_strength(
    selection_log: Sequence[Mapping[str, Any]],
    probabilities: Mapping[str, Sequence[Sequence[float]]],
    ops: Sequence[str],
) -> list[dict[str, Any]]:
    """For each edge DARTS-PT decided (its log entries with ``edge`` and ``removal_accuracy``): the op with
    the largest α (magnitude) and the op whose removal drops the supernet's accuracy most (strength)."""
    rows = []
    for step in selection_log:
        if "edge" not in step:
            continue  # a topology decision (DARTS space), not an op
        cell_type, edge = step["edge"]
        row = probabilities[cell_type][edge]
        largest = ops[max(range(len(ops)), key=lambda k: row[k])]
        removal = step["removal_accuracy"]
        strongest = min(removal, key=lambda op: (removal[op], ops.index(op)))  # PT's rule, ties to the first op
        rows.append(
            {"edge": [cell_type, edge], "largest_alpha": largest, "strongest": strongest, "agree": largest == strongest}
        )
    return rows
