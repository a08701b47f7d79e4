"""Expected network latency of a DARTS-cell search network (Herron 2023, §4.3, Algorithm 3, Table 4.6).

For each cell type, node ``j`` (inputs: the two cell inputs and nodes ``0..j-1``) gets the expected
latency ``l_j = Σ_{k,o} w_{k,o} (L_o + [k ≥ 2] l_{k-2})``: each incoming (edge, op) pair weighted by
its mixing weight, an edge from an intermediate node adding that node's own expected latency. The
cell's latency is a soft maximum over its nodes, ``Σ_j l_j softmax(l)_j``, and the network's the sum
over cells, ``P = Σ_types count_type · cell_type``. ``w`` sums to 1 over each node: the node-level
softmax of I-DARTS/XDARTS cells (the cells the dissertation uses the penalty with), or for DARTS cells
the per-edge softmax divided by the node's edge count (an implementation choice: the text defines
the penalty for node-level weights only).

The op latency weights are either the dissertation's Table 4.6 (its GPU, op space 3 only) or
measured on the user's device by the dissertation's procedure: a network's inference latency with each
op repeated ten times after its stem, minus the plain network's, clamped at 0 and normalised to sum to
1 (``measure_op_latencies``; a median over ``torch.utils.benchmark`` blocks where the text averages
20 runs).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn

from nas_core.cells import steps_of
from nas_core.ops import build_op
from nas_core.spaces.darts import edge_index

#: Table 4.6 (normalised; no entry for ``none`` / ``random``, which cost nothing here)
PAPER_LATENCY_WEIGHTS: dict[str, float] = {
    "avg_pool_3x3": 0.06,
    "max_pool_3x3": 0.04,
    "sep_conv_3x3": 0.24,
    "sep_conv_5x5": 0.36,
    "dil_conv_3x3": 0.11,
    "dil_conv_5x5": 0.15,
    "skip_connect": 0.04,
}
FREE_OPS = ("none", "random")


def latency_vector(ops: Sequence[str], weights: Mapping[str, float]) -> torch.Tensor:
    """The latency weights of ``ops`` in order; ops without an entry raise, naming the missing ones."""
    missing = [op for op in ops if op not in weights and op not in FREE_OPS]
    if missing:
        raise KeyError(f"no latency weight for op(s) {missing}; the table has {sorted(weights)}")
    return torch.tensor([float(weights.get(op, 0.0)) for op in ops])


def cell_latency(node_weights: torch.Tensor, op_latency: torch.Tensor) -> torch.Tensor:
    """Algorithm 3's inner loops for one cell type: ``node_weights`` is ``(14, K)`` (``(E, K)`` for a cell
    of another node count; rows of node ``j`` sum to 1), ``op_latency`` is ``(K,)``; returns the
    soft-maximum node latency."""
    node_latency: list[torch.Tensor] = []
    for node in range(steps_of(node_weights.shape[0])):
        start, count = edge_index(node, 0), node + 2
        per_edge = op_latency.to(node_weights).expand(count, -1)
        if node:
            previous = torch.stack(node_latency)  # sources 2.. are intermediate nodes 0..node-1
            per_edge = per_edge + torch.cat([previous.new_zeros(2), previous]).unsqueeze(1)
        node_latency.append((node_weights[start : start + count] * per_edge).sum())
    lat = torch.stack(node_latency)
    return (lat * torch.softmax(lat, 0)).sum()


def expected_latency(
    node_weights: Mapping[str, torch.Tensor], op_latency: torch.Tensor, counts: Mapping[str, int]
) -> torch.Tensor:
    """P(α) of Algorithm 3: ``Σ_type counts[type] · cell_latency(node_weights[type])``."""
    return sum(counts[ct] * cell_latency(w, op_latency) for ct, w in node_weights.items())


def edge_to_node_weights(edge_weights: torch.Tensor) -> torch.Tensor:
    """DARTS cells: per-edge softmax rows divided by the node's edge count, so each node sums to 1."""
    steps = steps_of(edge_weights.shape[0])
    scale = torch.cat([torch.full((node + 2,), 1.0 / (node + 2)) for node in range(steps)]).to(edge_weights)
    return edge_weights * scale.unsqueeze(1)


def measure_op_latencies(
    network: nn.Module,
    stem_channels: int,
    ops: Sequence[str],
    input_shape: Sequence[int],
    repeats: int = 10,
    min_run_time: float = 0.2,
    device: torch.device | str = "cpu",
) -> dict[str, float]:
    """Normalised per-op latency weights on ``device`` by the dissertation's procedure (§4.3).

    ``network`` must have a ``stem`` attribute whose output has ``stem_channels`` channels (the DARTS
    and NAS-Bench-201 networks do); ``input_shape`` is one batch, e.g. ``(64, 3, 32, 32)``.

    Each latency is the median over blocks of runs (``Timer.blocked_autorange``, at least
    ``min_run_time`` seconds) where the dissertation averages 20 runs: a mean moves with one scheduler
    hiccup on a shared machine. The plain network is timed before and after the ops, and the faster
    of the two is the baseline, so a slow first measurement cannot hide every op's cost.
    """
    from torch.utils.benchmark import Timer  # here: it imports torch's C++-extension machinery

    network = network.to(device).eval()
    x = torch.randn(*input_shape, device=device)
    stem = network.stem

    def timed() -> float:
        with torch.no_grad():
            network(x)  # warm-up: the first call allocates and picks kernels
            timer = Timer("network(x)", globals={"network": network, "x": x})
            return timer.blocked_autorange(min_run_time=min_run_time).median

    try:
        base = timed()
        with_op = {}
        for op in ops:
            if op in FREE_OPS:
                continue
            layers = [build_op(op, stem_channels, stem_channels, 1) for _ in range(repeats)]
            network.stem = nn.Sequential(stem, *layers).to(device).eval()
            with_op[op] = timed()
        network.stem = stem
        base = min(base, timed())
    finally:
        network.stem = stem
    raw = {op: max(with_op[op] - base, 0.0) if op in with_op else 0.0 for op in ops}
    total = sum(raw.values())
    if total <= 0:
        raise RuntimeError(f"measured no latency difference for any of {list(ops)}; use the paper's table")
    return {op: value / total for op, value in raw.items()}
