"""DARTS CNN networks (Liu et al., ICLR 2019): the search skeleton (8 cells, C=16) and the CIFAR
evaluation network (20 cells, C=36, auxiliary head after the second reduction, drop-path).

stem 3x3 conv (``stem_multiplier * C``) + BN; reduction cells at ``layers // 3`` and
``2 * layers // 3`` double the channels; each cell reads the outputs of the two previous cells;
global average pooling and a linear classifier. In training mode with ``auxiliary=True`` the
forward pass returns ``(logits, aux_logits)``.

Template ablations of ICDARTS (Herron 2023, Tables 3.4/3.5): ``stem="conv1x1"`` (1x1 conv + BN),
``"identity"`` (the cells read the image itself) or ``"concat"`` (the image concatenated with itself
along the channels up to the stem's width, parameter-free), and ``reduce_cells="avg_pool" | "max_pool"`` (3x3,
stride 2, channels kept) or ``"conv1x1"`` (ReLU, 1x1 conv with stride 2 to the cell's output
channels, BN) in place of the searched reduction cells. The dissertation does not define them further
(its Fig. 3.1 is missing); "concatenate inputs" is read as above.

Drop-path follows DARTS: each non-identity op output in a cell is dropped per sample with
probability ``drop_path_prob`` (the trainer scales it linearly with the epoch), through
``nas_core.ops.DropPath`` (a compiled network keeps its graph as the probability changes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from nas_core.cells import Genotype
from nas_core.ops import DropPath, FactorizedReduce, Identity, ReLUConvBN, build_op


@dataclass(frozen=True)
class CellSlot:
    """Where a cell sits in the DARTS skeleton and its channel counts."""

    C_prev_prev: int
    C_prev: int
    C: int
    reduction: bool
    reduction_prev: bool


STEMS = ("conv3x3", "conv1x1", "identity", "concat")
REDUCE_CELLS = ("searched", "avg_pool", "max_pool", "conv1x1")


def reduction_indices(layers: int) -> tuple[int, int]:
    """The two reduction cells of a ``layers``-cell DARTS network: at a third and two thirds of the depth."""
    return layers // 3, 2 * layers // 3


def darts_layout(
    C: int,
    layers: int,
    multiplier: int | tuple[int, int] = 4,
    stem_multiplier: int = 3,
    stem_channels: int | None = None,
    reduce_cells: str = "searched",
) -> list[CellSlot]:
    """The cell slots of a DARTS network of ``layers`` cells and initial channels ``C`` (the stem puts
    out ``stem_channels``, default ``stem_multiplier * C``; pooling in place of a reduction cell keeps
    its input's channels). A cell puts out ``multiplier * C`` channels, the number of nodes it
    concatenates; ``(normal, reduce)`` when the two cell types concatenate different numbers."""
    if layers < 3:
        raise ValueError(f"a DARTS network needs at least 3 cells (two reductions), got layers={layers}")
    if reduce_cells not in REDUCE_CELLS:
        raise ValueError(f"reduce_cells must be one of {list(REDUCE_CELLS)}, got {reduce_cells!r}")
    slots: list[CellSlot] = []
    c_pp = c_p = stem_channels or stem_multiplier * C
    c_cur, reduction_prev = C, False
    normal_multiplier, reduce_multiplier = (multiplier, multiplier) if isinstance(multiplier, int) else multiplier
    reductions = reduction_indices(layers)
    for i in range(layers):
        reduction = i in reductions
        if reduction:
            c_cur *= 2
        slots.append(CellSlot(c_pp, c_p, c_cur, reduction, reduction_prev))
        reduction_prev = reduction
        pooled = reduction and reduce_cells in ("avg_pool", "max_pool")
        c_pp, c_p = c_p, c_p if pooled else (reduce_multiplier if reduction else normal_multiplier) * c_cur
    return slots


class FixedReduction(nn.Module):
    """A fixed module in a reduction cell's place (template ablation); reads the previous cell only."""

    reduction = True

    def __init__(self, kind: str, slot: CellSlot, multiplier: int = 4):
        super().__init__()
        self.out_channels = multiplier * slot.C if kind == "conv1x1" else slot.C_prev
        if kind == "conv1x1":
            self.op: nn.Module = ReLUConvBN(slot.C_prev, multiplier * slot.C, 1, 2, 0)
        else:
            pool = nn.AvgPool2d if kind == "avg_pool" else nn.MaxPool2d
            self.op = pool(3, stride=2, padding=1, **({"count_include_pad": False} if kind == "avg_pool" else {}))

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, *unused: object) -> torch.Tensor:
        return self.op(s1)


class ConcatInputs(nn.Module):
    """A parameter-free stem: the input concatenated with itself along the channels up to ``channels``
    (ICDARTS Table 3.5's "concatenate inputs" stem; the text does not define it further, this reading
    keeps the template's channel counts without a learned stem)."""

    def __init__(self, channels: int):
        super().__init__()
        self.channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        copies = -(-self.channels // x.shape[1])
        return torch.cat([x] * copies, dim=1)[:, : self.channels]


def make_stem(kind: str, in_channels: int, channels: int) -> nn.Module:
    """The network's stem: DARTS's 3x3 conv + BN, a 1x1 conv + BN, none (identity), or the input
    concatenated up to ``channels`` (``concat``)."""
    if kind not in STEMS:
        raise ValueError(f"stem must be one of {list(STEMS)}, got {kind!r}")
    if kind == "identity":
        return nn.Identity()
    if kind == "concat":
        return ConcatInputs(channels)
    k = 3 if kind == "conv3x3" else 1
    return nn.Sequential(nn.Conv2d(in_channels, channels, k, padding=k // 2, bias=False), nn.BatchNorm2d(channels))


def preprocess_inputs(slot: CellSlot, affine: bool = True) -> tuple[nn.Module, nn.Module]:
    """The two input adapters of a DARTS cell (factorized reduce after a reduction cell)."""
    pre0 = (
        FactorizedReduce(slot.C_prev_prev, slot.C, affine)
        if slot.reduction_prev
        else ReLUConvBN(slot.C_prev_prev, slot.C, 1, 1, 0, affine=affine)
    )
    return pre0, ReLUConvBN(slot.C_prev, slot.C, 1, 1, 0, affine=affine)


class DartsCell(nn.Module):
    """A discrete DARTS cell built from the genotype's normal or reduce edges."""

    def __init__(self, genotype: Genotype, slot: CellSlot):
        super().__init__()
        self.preprocess0, self.preprocess1 = preprocess_inputs(slot)
        cell_type = "reduce" if slot.reduction else "normal"
        edges = genotype.cell(cell_type)
        self.concat = genotype.reduce_concat if slot.reduction else genotype.normal_concat
        self.inputs = [src for _, src in edges]
        self.node_of = genotype.node_of(cell_type)  # two edges per node, or j + 2 for XDARTS cells
        self.ops = nn.ModuleList(
            build_op(op, slot.C, slot.C, 2 if slot.reduction and src < 2 else 1) for op, src in edges
        )
        self.multiplier = len(self.concat)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, drop_path: DropPath | None = None) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for k in range(max(self.node_of) + 1):
            total = 0
            for i in (i for i, n in enumerate(self.node_of) if n == k):
                h = self.ops[i](states[self.inputs[i]])
                if drop_path is not None and not isinstance(self.ops[i], Identity):
                    h = drop_path(h)
                total = total + h
            states.append(total)
        return torch.cat([states[i] for i in self.concat], dim=1)


class AuxiliaryHead(nn.Module):
    """DARTS CIFAR auxiliary classifier (on 8x8 features: 5x5/3 avg pool, 1x1 128, 2x2 768).

    For other feature sizes the pooled map is adapted to 2x2 so any input size works.
    """

    def __init__(self, C: int, num_classes: int):
        super().__init__()
        self.pool = nn.AvgPool2d(5, stride=3, padding=0, count_include_pad=False)
        self.adapt = nn.AdaptiveAvgPool2d(2)
        self.features = nn.Sequential(
            nn.ReLU(inplace=True),
            nn.Conv2d(C, 128, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=True),
            nn.Conv2d(128, 768, 2, bias=False),
            nn.BatchNorm2d(768),
            nn.ReLU(inplace=True),
        )
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(x)
        if min(x.shape[-2:]) >= 5:
            x = self.pool(x)
        x = self.features[1:](self.adapt(x))
        return self.classifier(x.flatten(1))


class DartsNetwork(nn.Module):
    """DARTS network of a genotype (or of cells made by ``cell_factory(slot)``)."""

    def __init__(
        self,
        genotype: Genotype | None = None,
        *,
        C: int = 36,
        layers: int = 20,
        num_classes: int = 10,
        in_channels: int = 3,
        auxiliary: bool = False,
        drop_path_prob: float = 0.0,
        stem_multiplier: int = 3,
        cell_factory: Callable[[CellSlot], nn.Module] | None = None,
        multiplier: int = 4,
        stem: str = "conv3x3",
        reduce_cells: str = "searched",
    ):
        """``multiplier``: the nodes each cell made by ``cell_factory`` concatenates (a genotype's cells
        concatenate their ``*_concat`` nodes)."""
        super().__init__()
        multipliers: int | tuple[int, int] = multiplier
        if cell_factory is None:
            if genotype is None:
                raise ValueError("give a genotype or a cell_factory")
            cell_factory = lambda slot: DartsCell(genotype, slot)  # noqa: E731
            multipliers = (len(genotype.normal_concat), len(genotype.reduce_concat))
        self.drop_path = DropPath()
        self.drop_path_prob = drop_path_prob
        stem_channels = in_channels if stem == "identity" else stem_multiplier * C
        self.stem = make_stem(stem, in_channels, stem_channels)
        slots = darts_layout(C, layers, multipliers, stem_channels=stem_channels, reduce_cells=reduce_cells)
        reduce_multiplier = multipliers if isinstance(multipliers, int) else multipliers[1]
        fixed_reductions = reduce_cells != "searched"
        self.cells = nn.ModuleList(
            FixedReduction(reduce_cells, slot, reduce_multiplier)
            if slot.reduction and fixed_reductions
            else cell_factory(slot)
            for slot in slots
        )
        self.aux_index = reduction_indices(layers)[1]  # the auxiliary head reads the second reduction cell
        c_out = [
            getattr(cell, "out_channels", None) or slot.C * cell.multiplier for slot, cell in zip(slots, self.cells)
        ]
        self.auxiliary_head = AuxiliaryHead(c_out[self.aux_index], num_classes) if auxiliary else None
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_out[-1], num_classes)

    @property
    def drop_path_prob(self) -> float:
        return self.drop_path.prob

    @drop_path_prob.setter
    def drop_path_prob(self, prob: float) -> None:
        self.drop_path.set(prob)

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        s0 = s1 = self.stem(x)
        aux = None
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, self.drop_path)
            if i == self.aux_index and self.auxiliary_head is not None and self.training:
                aux = self.auxiliary_head(s1)
        logits = self.classifier(self.pool(s1).flatten(1))
        return (logits, aux) if aux is not None else logits
