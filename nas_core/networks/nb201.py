"""NAS-Bench-201 macro skeleton (Dong & Yang, ICLR 2020).

stem (3x3 conv + BN) -> N cells (C) -> residual reduction block -> N cells (2C) -> residual
reduction block -> N cells (4C) -> BN + ReLU -> global average pooling -> linear classifier.

With C=16, N=5 and 10 classes the parameter count ranges from 0.073 M (cells without
convolutions) to 1.53 M (all ``nor_conv_3x3``), the published range. Input size and channel
count are free. Deviation for odd spatial sizes only: the reduction block's shortcut pools with
``ceil_mode=True`` so both branches agree on ``ceil(H/2)``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from nas_core.cells import NB201Cell
from nas_core.ops import ReLUConvBN, build_op

CellFactory = Callable[[int, int], nn.Module]


def nb201_layout(C: int, N: int) -> list[tuple[int, int, bool]]:
    """``(C_in, C_out, is_reduction)`` for every position after the stem."""
    layout: list[tuple[int, int, bool]] = []
    c_prev = C
    for stage, c in enumerate((C, 2 * C, 4 * C)):
        if stage:
            layout.append((c_prev, c, True))
        layout += [(c, c, False)] * N
        c_prev = c
    return layout


class ResNetBasicBlock(nn.Module):
    """NAS-Bench-201 reduction block: two ReLU-Conv-BN 3x3 (first strided) plus a pooled 1x1 shortcut."""

    def __init__(self, C_in: int, C_out: int, stride: int = 2, affine: bool = True):
        super().__init__()
        self.conv_a = ReLUConvBN(C_in, C_out, 3, stride, 1, affine=affine)
        self.conv_b = ReLUConvBN(C_out, C_out, 3, 1, 1, affine=affine)
        if stride == 2:
            self.downsample: nn.Module | None = nn.Sequential(
                nn.AvgPool2d(2, 2, ceil_mode=True), nn.Conv2d(C_in, C_out, 1, bias=False)
            )
        elif C_in != C_out:
            self.downsample = ReLUConvBN(C_in, C_out, 1, 1, 0, affine=affine)
        else:
            self.downsample = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = x if self.downsample is None else self.downsample(x)
        return residual + self.conv_b(self.conv_a(x))


class NB201InferCell(nn.Module):
    """A discrete NAS-Bench-201 cell: node j = sum over i < j of op_(i->j)(node i); output = the last node.

    ``none`` edges are skipped in the forward pass (they contribute zeros); a node with no
    incoming non-``none`` edge is a zero tensor.
    """

    def __init__(self, cell: NB201Cell, C_in: int, C_out: int, affine: bool = True):
        super().__init__()
        self.cell = cell
        self.edges = nn.ModuleDict(
            {
                f"{src}_{dst}": build_op(op, C_in if src == 0 else C_out, C_out, 1, affine)
                for (src, dst), op in zip(cell.edges, cell.ops)
                if op != "none"
            }
        )
        self.C_out = C_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for dst in range(1, self.cell.nodes):
            terms = [self.edges[f"{src}_{dst}"](nodes[src]) for src in range(dst) if f"{src}_{dst}" in self.edges]
            if terms:
                nodes.append(torch.stack(terms).sum(0) if len(terms) > 1 else terms[0])
            else:
                nodes.append(x.new_zeros(x.shape[0], self.C_out, x.shape[2], x.shape[3]))
        return nodes[-1]


class NB201Network(nn.Module):
    """The NAS-Bench-201 network of one cell, or of any cell module made by ``cell_factory``."""

    def __init__(
        self,
        cell: NB201Cell | None = None,
        *,
        C: int = 16,
        N: int = 5,
        num_classes: int = 10,
        in_channels: int = 3,
        cell_factory: CellFactory | None = None,
    ):
        super().__init__()
        if cell_factory is None:
            if cell is None:
                raise ValueError("give a cell or a cell_factory")
            cell_factory = lambda c_in, c_out: NB201InferCell(cell, c_in, c_out)  # noqa: E731
        if C <= 0 or N <= 0:
            raise ValueError(f"C and N must be positive, got C={C}, N={N}")
        self.stem = nn.Sequential(nn.Conv2d(in_channels, C, 3, padding=1, bias=False), nn.BatchNorm2d(C))
        self.cells = nn.ModuleList(
            ResNetBasicBlock(c_in, c_out, 2) if reduction else cell_factory(c_in, c_out)
            for c_in, c_out, reduction in nb201_layout(C, N)
        )
        self.lastact = nn.Sequential(nn.BatchNorm2d(4 * C), nn.ReLU(inplace=True))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(4 * C, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for cell in self.cells:
            x = cell(x)
        return self.pool(self.lastact(x)).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))
