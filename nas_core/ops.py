"""One registry of primitive operations, all built as ``build_op(name, C_in, C_out, stride, affine)``.

Sources:
- DARTS (Liu et al., ICLR 2019): ``none, max_pool_3x3, avg_pool_3x3, skip_connect, sep_conv_3x3,
  sep_conv_5x5, dil_conv_3x3, dil_conv_5x5``.
- NAS-Bench-201 (Dong & Yang, ICLR 2020): ``none, skip_connect, nor_conv_1x1, nor_conv_3x3,
  avg_pool_3x3`` (``nor_conv`` = ReLU-Conv-BN).
- RobustDARTS (Zela et al., ICLR 2020), space S4: ``noise`` -- returns N(0, 1) noise of the
  (strided) input's shape, ignoring the input's values.

Later issues register more operations (AllegroNAS, ICDARTS) through :func:`register_op`.

Deviation for odd spatial sizes (documented, identical for even sizes): ``FactorizedReduce`` pads
the shifted branch so both halves have ``ceil(H/2)`` rows, so every stride-2 op agrees on the output
size for any input size.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from nas_core.registry import Registry

OpBuilder = Callable[[int, int, int, bool], nn.Module]

#: every operation by name (``build_op``); ``register_op`` adds one
OPS: Registry[OpBuilder] = Registry("operation")


def register_op(name: str) -> Callable[[OpBuilder], OpBuilder]:
    """Register ``builder(C_in, C_out, stride, affine) -> nn.Module`` under ``name``."""
    return OPS.register(name)


def op_names() -> list[str]:
    """All registered operation names, sorted."""
    return OPS.names()


def build_op(name: str, C_in: int, C_out: int, stride: int = 1, affine: bool = True) -> nn.Module:
    """Build the operation ``name``; an unknown name raises an error listing the known ones."""
    builder = OPS.get(name)
    if stride not in (1, 2):
        raise ValueError(f"stride must be 1 or 2, got {stride!r}")
    if C_in <= 0 or C_out <= 0:
        raise ValueError(f"channel counts must be positive, got C_in={C_in}, C_out={C_out}")
    return builder(C_in, C_out, stride, affine)


# --------------------------------------------------------------------------- building blocks


class ReLUConvBN(nn.Sequential):
    """ReLU -> Conv (no bias) -> BN, the NAS-Bench-201 ``nor_conv`` and DARTS preprocessing block."""

    def __init__(
        self, C_in: int, C_out: int, kernel: int, stride: int, padding: int, dilation: int = 1, affine: bool = True
    ):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_out, kernel, stride, padding, dilation=dilation, bias=False),
            nn.BatchNorm2d(C_out, affine=affine),
        )


class DilConv(nn.Sequential):
    """DARTS dilated separable conv: ReLU, depthwise dilated k x k, pointwise 1x1, BN."""

    def __init__(
        self, C_in: int, C_out: int, kernel: int, stride: int, padding: int, dilation: int, affine: bool = True
    ):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_in, kernel, stride, padding, dilation=dilation, groups=C_in, bias=False),
            nn.Conv2d(C_in, C_out, 1, bias=False),
            nn.BatchNorm2d(C_out, affine=affine),
        )


class SepConv(nn.Sequential):
    """DARTS separable conv: two stacked (ReLU, depthwise k x k, pointwise 1x1, BN) blocks."""

    def __init__(self, C_in: int, C_out: int, kernel: int, stride: int, padding: int, affine: bool = True):
        super().__init__(
            DilConv(C_in, C_in, kernel, stride, padding, 1, affine),
            DilConv(C_in, C_out, kernel, 1, padding, 1, affine),
        )


class Identity(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class Zero(nn.Module):
    """The ``none`` operation: zeros of the output shape (handles stride and channel change)."""

    def __init__(self, C_out: int, stride: int):
        super().__init__()
        self.C_out = C_out
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            x = x[:, :, :: self.stride, :: self.stride]
        if x.shape[1] == self.C_out:
            return x.mul(0.0)
        return x.new_zeros(x.shape[0], self.C_out, x.shape[2], x.shape[3])


class DropPath(nn.Module):
    """DARTS drop-path: in training, each sample's op output is zeroed with probability ``p`` and kept
    ones are scaled by 1 / (1 - p) (what ``torchvision.ops.stochastic_depth`` does in "row" mode).

    ``p`` lives in a 0-d buffer, an input of a ``torch.compile``d graph, so a schedule that changes it
    every epoch (DARTS's linear ramp, R-DARTS's ScheduledDropPath) does not recompile the network;
    torchvision's function takes ``p`` as a Python float, which compilation guards as a constant (a
    new graph per value). Only switching between p = 0 and p > 0 recompiles."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("p", torch.zeros(()), persistent=False)
        self.prob = 0.0  # the same value as a Python float, for readers; forward never reads it
        self.on = False  # what forward branches on: a guard that changes only when p leaves or reaches 0

    def set(self, prob: float) -> None:
        if not 0 <= prob < 1:
            raise ValueError(f"drop-path probability must be in [0, 1), got {prob!r}")
        self.p.fill_(prob)
        self.prob, self.on = float(prob), prob > 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and self.on):
            return x
        keep = 1 - self.p
        mask = torch.rand((x.shape[0],) + (1,) * (x.dim() - 1), device=x.device) < keep
        return x * mask / keep


class FactorizedReduce(nn.Module):
    """Two stride-2 1x1 convs on offset grids, concatenated (DARTS); halves H and W (ceil)."""

    def __init__(self, C_in: int, C_out: int, affine: bool = True):
        super().__init__()
        if C_out % 2:
            raise ValueError(f"FactorizedReduce needs an even C_out, got {C_out}")
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(C_in, C_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(C_in, C_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(C_out, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        shifted = F.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(shifted)], dim=1))


class Pool(nn.Module):
    """k x k max/avg pooling (default 3; avg excludes padding); a ReLU-Conv1x1-BN first if channels change."""

    def __init__(self, kind: str, C_in: int, C_out: int, stride: int, affine: bool = True, kernel: int = 3):
        super().__init__()
        self.preprocess = ReLUConvBN(C_in, C_out, 1, 1, 0, affine=affine) if C_in != C_out else None
        if kind == "avg":
            self.pool: nn.Module = nn.AvgPool2d(kernel, stride=stride, padding=kernel // 2, count_include_pad=False)
        else:
            self.pool = nn.MaxPool2d(kernel, stride=stride, padding=kernel // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.preprocess is not None:
            x = self.preprocess(x)
        if x.device.type == "cpu" and isinstance(self.pool, nn.AvgPool2d) and self.pool.kernel_size == 3:
            return avg_pool_3x3_by_conv(x, self.pool.stride)
        return self.pool(x)


def avg_pool_3x3_by_conv(x: torch.Tensor, stride: int) -> torch.Tensor:
    """3x3 average pooling, padding 1, padded cells not counted -- as a depthwise convolution with a
    ones kernel divided by the per-position count. Identical values to ``nn.AvgPool2d(3, stride, 1,
    count_include_pad=False)``; used on the CPU, where torch's pooling kernels are several times
    slower than a depthwise convolution (measured 51 vs 21 ms forward+backward on 64x8x32x32)."""
    C, H, W = x.shape[1:]
    total = F.conv2d(x, x.new_ones(C, 1, 3, 3), stride=stride, padding=1, groups=C)
    count = F.conv2d(x.new_ones(1, 1, H, W), x.new_ones(1, 1, 3, 3), stride=stride, padding=1)
    return total / count


class Noise(nn.Module):
    """RobustDARTS S4 ``noise``: standard normal noise shaped like the strided input."""

    def __init__(self, C_out: int, stride: int, mean: float = 0.0, std: float = 1.0):
        super().__init__()
        self.C_out, self.stride, self.mean, self.std = C_out, stride, mean, std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            x = x[:, :, :: self.stride, :: self.stride]
        shape = (x.shape[0], self.C_out, x.shape[2], x.shape[3])
        return torch.randn(shape, device=x.device, dtype=x.dtype) * self.std + self.mean


def skip_connect(C_in: int, C_out: int, stride: int, affine: bool) -> nn.Module:
    if stride == 1 and C_in == C_out:
        return Identity()
    if stride == 1:
        return ReLUConvBN(C_in, C_out, 1, 1, 0, affine=affine)
    return FactorizedReduce(C_in, C_out, affine)


# --------------------------------------------------------------------------- the registry

register_op("none")(lambda C_in, C_out, stride, affine: Zero(C_out, stride))
register_op("skip_connect")(skip_connect)
register_op("avg_pool_3x3")(lambda C_in, C_out, stride, affine: Pool("avg", C_in, C_out, stride, affine))
register_op("max_pool_3x3")(lambda C_in, C_out, stride, affine: Pool("max", C_in, C_out, stride, affine))
register_op("sep_conv_3x3")(lambda C_in, C_out, stride, affine: SepConv(C_in, C_out, 3, stride, 1, affine))
register_op("sep_conv_5x5")(lambda C_in, C_out, stride, affine: SepConv(C_in, C_out, 5, stride, 2, affine))
register_op("dil_conv_3x3")(lambda C_in, C_out, stride, affine: DilConv(C_in, C_out, 3, stride, 2, 2, affine))
register_op("dil_conv_5x5")(lambda C_in, C_out, stride, affine: DilConv(C_in, C_out, 5, stride, 4, 2, affine))
register_op("nor_conv_1x1")(lambda C_in, C_out, stride, affine: ReLUConvBN(C_in, C_out, 1, stride, 0, affine=affine))
register_op("nor_conv_3x3")(lambda C_in, C_out, stride, affine: ReLUConvBN(C_in, C_out, 3, stride, 1, affine=affine))
register_op("noise")(lambda C_in, C_out, stride, affine: Noise(C_out, stride))

DARTS_OPS: tuple[str, ...] = (
    "none",
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
)
NB201_OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")


# -- AllegroNAS (paper 000, Sec. 3.2) -------------------------------------------------------------
# The paper's Fig. 2 is missing; these follow the implementation notes' proposed definitions
# (notes seed_000_001, A2.4): AllegroSepConv widens the first stage's pointwise output by
# ALLEGRO_EXPAND (reading (a), m = 2); AllegroDilConv applies the DARTS dilated block twice (a
# "dilated SepConv"). ALLEGRO_GROUPS sets the groups of their pointwise convolutions (Sec. 3.5.2's
# group convolution; the count is not given, default 1 = off).
ALLEGRO_EXPAND = 2
ALLEGRO_GROUPS = 1


def _pointwise(C_in: int, C_out: int) -> nn.Conv2d:
    groups = ALLEGRO_GROUPS if C_in % ALLEGRO_GROUPS == 0 and C_out % ALLEGRO_GROUPS == 0 else 1
    return nn.Conv2d(C_in, C_out, 1, groups=groups, bias=False)


class AllegroSepConv(nn.Sequential):
    """ReLU, dw k x k (stride), 1x1 C -> mC, BN, ReLU, dw k x k on mC, 1x1 mC -> C_out, BN."""

    def __init__(self, C_in: int, C_out: int, kernel: int, stride: int, padding: int, affine: bool = True):
        wide = ALLEGRO_EXPAND * C_in
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_in, kernel, stride, padding, groups=C_in, bias=False),
            _pointwise(C_in, wide),
            nn.BatchNorm2d(wide, affine=affine),
            nn.ReLU(inplace=False),
            nn.Conv2d(wide, wide, kernel, 1, padding, groups=wide, bias=False),
            _pointwise(wide, C_out),
            nn.BatchNorm2d(C_out, affine=affine),
        )


class AllegroDilConv(nn.Sequential):
    """Two DARTS dilated blocks: ReLU, dw dilated k x k (stride), 1x1, BN, then again at stride 1."""

    def __init__(self, C_in: int, C_out: int, kernel: int, stride: int, padding: int, affine: bool = True):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_in, kernel, stride, padding, dilation=2, groups=C_in, bias=False),
            _pointwise(C_in, C_in),
            nn.BatchNorm2d(C_in, affine=affine),
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_in, kernel, 1, padding, dilation=2, groups=C_in, bias=False),
            _pointwise(C_in, C_out),
            nn.BatchNorm2d(C_out, affine=affine),
        )


register_op("allegro_sep_conv_3x3")(
    lambda C_in, C_out, stride, affine: AllegroSepConv(C_in, C_out, 3, stride, 1, affine)
)
register_op("allegro_sep_conv_5x5")(
    lambda C_in, C_out, stride, affine: AllegroSepConv(C_in, C_out, 5, stride, 2, affine)
)
register_op("allegro_dil_conv_3x3")(
    lambda C_in, C_out, stride, affine: AllegroDilConv(C_in, C_out, 3, stride, 2, affine)
)
register_op("allegro_dil_conv_5x5")(
    lambda C_in, C_out, stride, affine: AllegroDilConv(C_in, C_out, 5, stride, 4, affine)
)
ALLEGRO_OPS = (
    "none",
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "allegro_sep_conv_3x3",
    "allegro_sep_conv_5x5",
    "allegro_dil_conv_3x3",
    "allegro_dil_conv_5x5",
)
