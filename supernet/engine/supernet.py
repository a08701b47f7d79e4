"""The weight-sharing supernet: every edge of every cell is a mixed operation over the space's ops.

The mixing weights are *not* owned here: each forward pass receives them from the active
differentiable method (softmax, Dirichlet sample, Gumbel sample, sigmoid ...), one ``(E, K)`` tensor
per cell type -- ``E`` edges, ``K`` candidate ops per edge. A weight of exactly 0 skips its op, so
one-hot methods (GDAS) and masked ops (perturbation selection, pruned ops) cost nothing.

Conventions of the DARTS search code (Liu et al. 2019): BN without affine parameters inside the
supernet, a BN after pooling ops, 1e-3-scaled Gaussian α initialisation (in the methods). Partial
channel connections (PC-DARTS, Xu et al. 2020; used by DrNAS' progressive learning) send only
``1/k`` of the channels through the mixed op; the rest bypass it and a channel shuffle follows.

Layouts come from :mod:`nas_core.networks`, so a discrete child (:meth:`Supernet.export_child`)
has exactly the supernet's skeleton and can inherit its weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from nas_core.cells import EDGES as NB201_EDGES
from nas_core.networks.darts import CellSlot, DartsNetwork, preprocess_inputs, reduction_indices
from nas_core.networks.nb201 import NB201Network, ResNetBasicBlock
from nas_core.ops import DropPath, Identity, Zero, build_op
from nas_core.spaces import DartsSpace, Genotype, NB201Cell, NB201Space, SearchSpace
from nas_core.spaces.darts import CELL_TYPES

Weights = dict[str, torch.Tensor]


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    n, c, h, w = x.shape
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


class MixedOp(nn.Module):
    """``sum_k w_k op_k(x)`` over candidate ops; ``partial_k > 1`` mixes only ``C / partial_k`` channels."""

    def __init__(self, C: int, stride: int, op_names: Sequence[str], partial_k: int = 1, pool_bn: bool = False):
        super().__init__()
        if C % partial_k:
            raise ValueError(f"partial channels: C={C} is not divisible by k={partial_k}")
        self.op_names = tuple(op_names)
        self.C, self.stride, self.partial_k = C, stride, partial_k
        c = C // partial_k
        ops = []
        for name in self.op_names:
            op = build_op(name, c, c, stride, affine=False)
            if pool_bn and "pool" in name:  # DARTS search cells: BN after pooling
                op = nn.Sequential(op, nn.BatchNorm2d(c, affine=False))
            ops.append(op)
        self.ops = nn.ModuleList(ops)
        #: ops switched off for good (pruned by DrNAS / P-DARTS); they are never run
        self.active: list[bool] = [True] * len(ops)
        #: drop-path on each op output (R-DARTS ScheduledDropPath), training only
        self.drop_path = DropPath()
        #: run only ops whose weight is non-zero even when the weights carry gradients (GDAS's
        #: single-path forward: hard one-hot weights with straight-through gradients)
        self.skip_zero_weights = False
        #: dropout on the output of identity (skip) ops, training only (P-DARTS's op-level dropout)
        self.skip_dropout = 0.0

    def _run(self, i: int, x: torch.Tensor) -> torch.Tensor:
        out = self.ops[i](x)
        if self.training and self.skip_dropout > 0 and isinstance(self.ops[i], Identity):
            out = F.dropout(out, self.skip_dropout, training=True)
        if not isinstance(self.ops[i], Identity | Zero):
            out = self.drop_path(out)
        return out

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        k = self.partial_k
        if k > 1:
            c = x.shape[1] // k
            x, bypass = x[:, :c], x[:, c:]
        if weights.requires_grad and not self.skip_zero_weights:
            keep = [i for i in range(len(self.ops)) if self.active[i]]
        else:  # fixed weights (masks, one-hot choices): ops with weight 0 are not run either
            keep = [i for i, v in enumerate(weights.tolist()) if v != 0 and self.active[i]]
        if keep:
            out = sum(weights[i] * self._run(i, x) for i in keep)
        else:
            s = self.stride
            out = x.new_zeros(x.shape[0], x.shape[1], -(-x.shape[2] // s), -(-x.shape[3] // s))
        if k > 1:
            if self.stride > 1:
                bypass = F.max_pool2d(bypass, 2, 2, ceil_mode=True)
            out = channel_shuffle(torch.cat([out, bypass], dim=1), k)
        return out


@dataclass(frozen=True)
class EdgeInfo:
    """Edge ``index`` of cell type ``cell_type``: from node ``src`` into node ``dst`` with its op names."""

    cell_type: str
    index: int
    src: int
    dst: int
    ops: tuple[str, ...]


def edge_infos(space: SearchSpace, op_names: dict[str, list[tuple[str, ...]]] | None = None) -> list[EdgeInfo]:
    """Every mixed edge of ``space``'s search cells with its candidate ops (``op_names`` overrides them)."""
    infos: list[EdgeInfo] = []
    if isinstance(space, NB201Space):
        for e, (src, dst) in enumerate(space.edges):
            ops = op_names["normal"][e] if op_names else space.ops
            infos.append(EdgeInfo("normal", e, src, dst, tuple(ops)))
        return infos
    for ct in CELL_TYPES:
        e = 0
        for node in range(space.steps):
            for src in range(node + 2):
                ops = op_names[ct][e] if op_names else space.candidates(ct, node, src, include_none=True)
                infos.append(EdgeInfo(ct, e, src, node + 2, tuple(ops)))
                e += 1
    return infos


class NB201SearchCell(nn.Module):
    """A NAS-Bench-201-style search cell: a mixed op on every edge ``dag_edges`` lists."""

    def __init__(
        self,
        C_in: int,
        C_out: int,
        op_names: Sequence[Sequence[str]],
        partial_k: int = 1,
        edges: Sequence[tuple[int, int]] = NB201_EDGES,
    ):
        super().__init__()
        if C_in != C_out:
            raise ValueError("NAS-Bench-201 search cells keep the channel count")
        self.dag = tuple(edges)
        self.edges = nn.ModuleList(MixedOp(C_out, 1, op_names[e], partial_k) for e in range(len(self.dag)))

    def forward(self, x: torch.Tensor, weights: torch.Tensor, edge_weights: torch.Tensor | None = None) -> torch.Tensor:
        nodes = [x]
        for dst in range(1, self.dag[-1][1] + 1):
            total = 0
            for e, (src, d) in enumerate(self.dag):
                if d == dst:
                    h = self.edges[e](nodes[src], weights[e])
                    total = total + (h if edge_weights is None else edge_weights[e] * h)
            nodes.append(total)
        return nodes[-1]


class DartsSearchCell(nn.Module):
    """DARTS search cell: 14 mixed edges (4 intermediate nodes; ``steps`` of them in a declared space),
    optional per-edge weights (PC-DARTS edge normalisation)."""

    def __init__(self, slot: CellSlot, op_names: Sequence[Sequence[str]], partial_k: int = 1, steps: int = 4):
        super().__init__()
        self.reduction = slot.reduction
        self.steps = steps
        self.preprocess0, self.preprocess1 = preprocess_inputs(slot, affine=False)
        self.edges = nn.ModuleList()
        e = 0
        for node in range(steps):
            for src in range(node + 2):
                stride = 2 if slot.reduction and src < 2 else 1
                self.edges.append(MixedOp(slot.C, stride, op_names[e], partial_k, pool_bn=True))
                e += 1
        self.multiplier = steps

    def forward(
        self, s0: torch.Tensor, s1: torch.Tensor, weights: torch.Tensor, edge_weights: torch.Tensor | None = None
    ) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        e = 0
        for node in range(self.steps):
            total = 0
            for src in range(node + 2):
                h = self.edges[e](states[src], weights[e])
                total = total + (h if edge_weights is None else edge_weights[e] * h)
                e += 1
            states.append(total)
        return torch.cat(states[-self.steps :], dim=1)


class Supernet(nn.Module):
    """A supernet over ``space`` (NAS-Bench-201 or a DARTS-family space)."""

    def __init__(
        self,
        space: SearchSpace,
        *,
        num_classes: int,
        in_channels: int = 3,
        C: int = 16,
        N: int = 5,
        layers: int = 8,
        partial_k: int = 1,
        op_names: dict[str, list[tuple[str, ...]]] | None = None,
        template: dict[str, str] | None = None,
    ):
        super().__init__()
        #: DARTS network template ablations (``stem``, ``reduce_cells``; see nas_core.networks.darts)
        self.template = dict(template or {})
        if self.template and not isinstance(space, DartsSpace):
            raise ValueError(f"template options {self.template} need a DARTS-family space, got {space.name!r}")
        self.space, self.num_classes, self.in_channels = space, num_classes, in_channels
        self.C, self.N, self.layers, self.partial_k = C, N, layers, partial_k
        self.edges = edge_infos(space, op_names)
        ops_of = {ct: [e.ops for e in self.edges if e.cell_type == ct] for ct in self.cell_types}
        if isinstance(space, NB201Space):
            net = NB201Network(
                C=C,
                N=N,
                num_classes=num_classes,
                in_channels=in_channels,
                cell_factory=lambda ci, co: NB201SearchCell(ci, co, ops_of["normal"], partial_k, space.edges),
            )
        elif isinstance(space, DartsSpace):
            net = DartsNetwork(
                C=C,
                layers=layers,
                num_classes=num_classes,
                in_channels=in_channels,
                cell_factory=lambda slot: DartsSearchCell(
                    slot, ops_of["reduce" if slot.reduction else "normal"], partial_k, space.steps
                ),
                multiplier=space.steps,
                **self.template,
            )
        else:
            raise ValueError(f"no supernet for space {space.name!r}")
        self.net = net
        #: edges decided by a selection procedure: (cell_type, edge) -> op index (one-hot from now on)
        self.fixed: dict[tuple[str, int], int] = {}
        #: edges removed by topology selection: their mixed op contributes nothing
        self.removed: set[tuple[str, int]] = set()
        #: recompute each search cell in the backward pass instead of storing its activations (memory)
        self.checkpoint_cells = False

    # -- structure -------------------------------------------------------------------------------
    @property
    def cell_types(self) -> tuple[str, ...]:
        return ("normal",) if isinstance(self.space, NB201Space) else CELL_TYPES

    def edges_of(self, cell_type: str) -> list[EdgeInfo]:
        return [e for e in self.edges if e.cell_type == cell_type]

    def alpha_shape(self, cell_type: str) -> tuple[int, int]:
        edges = self.edges_of(cell_type)
        counts = {len(e.ops) for e in edges}
        if len(counts) != 1:
            raise ValueError(f"edges of the {cell_type} cell have different numbers of ops: {sorted(counts)}")
        return len(edges), counts.pop()

    def mixed_ops(self, cell_type: str) -> list[list[MixedOp]]:
        """For each edge of ``cell_type``, its MixedOp in every cell of that type."""
        cells = [
            c
            for c in self.net.cells
            if isinstance(c, NB201SearchCell | DartsSearchCell)
            and ("reduce" if getattr(c, "reduction", False) else "normal") == cell_type
        ]
        return [[cell.edges[e] for cell in cells] for e in range(len(self.edges_of(cell_type)))]

    def set_active_ops(self, cell_type: str, active: torch.Tensor) -> None:
        """Switch ops off (False) for good in every cell of ``cell_type``; ``active`` is (E, K) bool."""
        for e, ops in enumerate(self.mixed_ops(cell_type)):
            for op in ops:
                op.active = [bool(v) for v in active[e].tolist()]

    def set_single_path(self, on: bool) -> None:
        """Skip zero-weight ops even under gradients (GDAS); see ``MixedOp.skip_zero_weights``."""
        for m in self.modules():
            if isinstance(m, MixedOp):
                m.skip_zero_weights = on

    def set_skip_dropout(self, prob: float) -> None:
        for m in self.modules():
            if isinstance(m, MixedOp):
                m.skip_dropout = prob

    def set_depth(self, depth: int) -> None:
        """Rebuild the network with ``depth`` cells (DARTS ``layers``; NB201 cells per stage ``N``) and
        fresh weights, keeping ops and options (P-DARTS's progressive stages)."""
        like = next(self.parameters())
        options = dict(C=self.C, N=self.N, layers=self.layers, partial_k=self.partial_k)
        options["N" if isinstance(self.space, NB201Space) else "layers"] = depth
        op_names = {ct: [e.ops for e in self.edges if e.cell_type == ct] for ct in self.cell_types}
        fresh = Supernet(
            self.space,
            num_classes=self.num_classes,
            in_channels=self.in_channels,
            op_names=op_names,
            template=self.template,
            **options,
        )
        self.net = fresh.net.to(like.device)
        self.N, self.layers = fresh.N, fresh.layers

    def set_drop_path(self, prob: float) -> None:
        for m in self.modules():
            if isinstance(m, MixedOp):
                m.drop_path.set(prob)

    def set_partial_k(self, k: int, seed: int = 0) -> None:
        """Change the partial-channel fraction to 1/k, widening every op's weights (Net2Wider-style:
        existing channels kept, new ones copied from random existing ones -- DrNAS progressive learning)."""
        g = torch.Generator().manual_seed(seed)
        for cell in self.net.cells:
            if not isinstance(cell, NB201SearchCell | DartsSearchCell):
                continue
            for e, old in enumerate(cell.edges):
                new = MixedOp(old.C, old.stride, old.op_names, k, pool_bn=isinstance(cell, DartsSearchCell))
                new.to(next(old.parameters(), torch.empty(0)).device)
                _widen_into(old, new, g)
                new.active = list(old.active)
                new.drop_path.set(old.drop_path.prob)
                cell.edges[e] = new
        self.partial_k = k

    # -- forward ---------------------------------------------------------------------------------
    def project(self, weights: Weights) -> dict[str, Any]:
        """Apply decided (one-hot) and removed (zero) edges. Returns per-edge rows, so a decided edge's
        constant row lets its mixed op run the chosen op only."""
        if not self.fixed and not self.removed:
            return weights
        out: dict[str, Any] = {}
        for ct, w in weights.items():
            rows = list(w.unbind(0))
            for e in range(len(rows)):
                if (ct, e) in self.removed:
                    rows[e] = torch.zeros(w.shape[1], dtype=w.dtype, device=w.device)
                elif (ct, e) in self.fixed:
                    rows[e] = F.one_hot(torch.tensor(self.fixed[(ct, e)]), w.shape[1]).to(w.device, w.dtype)
            out[ct] = rows
        return out

    def forward(self, x: torch.Tensor, weights: Weights, edge_weights: Weights | None = None) -> torch.Tensor:
        weights = self.project(weights)
        net = self.net
        if isinstance(net, NB201Network):
            h = net.stem(x)
            for cell in net.cells:
                if isinstance(cell, NB201SearchCell):
                    h = self._cell(cell, h, weights["normal"], None if edge_weights is None else edge_weights["normal"])
                else:
                    h = cell(h)
            return net.classifier(net.pool(net.lastact(h)).flatten(1))
        s0 = s1 = net.stem(x)
        for cell in net.cells:
            ct = "reduce" if cell.reduction else "normal"
            s0, s1 = s1, self._cell(cell, s0, s1, weights[ct], None if edge_weights is None else edge_weights[ct])
        return net.classifier(net.pool(s1).flatten(1))

    def _cell(self, cell: nn.Module, *args: Any) -> torch.Tensor:
        """Run a search cell; with ``checkpoint_cells`` its activations are recomputed in the backward
        pass instead of stored (``torch.utils.checkpoint``; RNG state preserved). BatchNorm running
        statistics then see each batch twice (torch's known caveat)."""
        if self.checkpoint_cells and self.training and torch.is_grad_enabled():
            return checkpoint(cell, *args, use_reentrant=False)
        return cell(*args)

    # -- discrete children -----------------------------------------------------------------------
    def export_child(self, arch: Any) -> nn.Module:
        """The discrete network of ``arch`` with every shared weight copied from the supernet.

        Copied: stem, reduction blocks / cell preprocessing, classifier, and on each kept edge the
        chosen op's weights and BN statistics. The child's BN affine parameters (absent in the
        supernet) keep their identity initialisation, so the child computes what the supernet
        computes with a one-hot choice on every edge.
        """
        arch = self.space.parse(arch)
        if self.partial_k != 1:
            raise ValueError("export_child needs a supernet without partial channels (partial_k=1)")
        if isinstance(self.space, NB201Space):
            child = self.space.build_network(
                arch, num_classes=self.num_classes, in_channels=self.in_channels, C=self.C, N=self.N
            )
            mapping = self._nb201_mapping(arch, child)
        else:
            child = self.space.build_network(
                arch,
                num_classes=self.num_classes,
                in_channels=self.in_channels,
                C=self.C,
                layers=self.layers,
                **self.template,
            )
            mapping = self._darts_mapping(arch, child)
        source = dict(self.named_parameters()) | dict(self.named_buffers())
        target_state = child.state_dict()
        for dst, src in mapping.items():
            if dst in target_state and src in source and target_state[dst].shape == source[src].shape:
                target_state[dst] = source[src].detach().clone()
        child.load_state_dict(target_state)
        return child

    def _nb201_mapping(self, cell: NB201Cell, child: NB201Network) -> dict[str, str]:
        mapping: dict[str, str] = {}
        for i, c in enumerate(child.cells):
            if isinstance(c, ResNetBasicBlock):
                continue
            for key in c.state_dict():
                edge_name, rest = key.split(".", 2)[1], key.split(".", 2)[2]
                src, dst = (int(v) for v in edge_name.split("_"))
                e = cell.edges.index((src, dst))
                k = self.edges[e].ops.index(cell.ops[e])
                mapping[f"cells.{i}.{key}"] = f"net.cells.{i}.edges.{e}.ops.{k}.{rest}"
        for key in child.state_dict():
            if not key.startswith("cells.") or isinstance(child.cells[int(key.split(".")[1])], ResNetBasicBlock):
                mapping.setdefault(key, f"net.{key}")
        return mapping

    def _darts_mapping(self, genotype: Genotype, child: DartsNetwork) -> dict[str, str]:
        mapping: dict[str, str] = {}
        for i, c in enumerate(child.cells):
            ct = "reduce" if _is_reduction(child, i) else "normal"
            edges = genotype.reduce if ct == "reduce" else genotype.normal
            for key in c.state_dict():
                parts = key.split(".")
                if parts[0] == "ops":
                    j, rest = int(parts[1]), ".".join(parts[2:])
                    op, src = edges[j]
                    node = genotype.node_of(ct)[j]
                    e = node * (node + 3) // 2 + src
                    k = self.edges_of(ct)[e].ops.index(op)
                    mapping[f"cells.{i}.{key}"] = f"net.cells.{i}.edges.{e}.ops.{k}.{_strip_pool(rest, op)}"
                else:
                    mapping[f"cells.{i}.{key}"] = f"net.cells.{i}.{key}"
        for key in child.state_dict():
            if not key.startswith("cells."):
                mapping[key] = f"net.{key}"
        return mapping


def _widen_into(old: nn.Module, new: nn.Module, g: torch.Generator) -> None:
    """Copy ``old``'s tensors into the wider ``new``: every dimension that grew from n to m is gathered
    with one fixed index per (n, m) -- the n existing entries, then m - n random repeats."""
    index: dict[tuple[int, int], torch.Tensor] = {}
    old_state, new_state = old.state_dict(), new.state_dict()
    for key, target in new_state.items():
        src = old_state.get(key)
        if src is None or src.dim() != target.dim():
            continue
        for dim, (n, m) in enumerate(zip(src.shape, target.shape)):
            if m != n:
                if m < n:
                    break
                idx = index.setdefault((n, m), torch.cat([torch.arange(n), torch.randint(0, n, (m - n,), generator=g)]))
                src = src.index_select(dim, idx.to(src.device))
        else:
            new_state[key] = src.clone()
    new.load_state_dict(new_state)


def _strip_pool(rest: str, op: str) -> str:
    """Supernet pool ops are ``Sequential(pool, BN)``; the pool's own keys sit under index 0."""
    return f"0.{rest}" if "pool" in op else rest


def _is_reduction(child: DartsNetwork, i: int) -> bool:
    return i in reduction_indices(len(child.cells))
