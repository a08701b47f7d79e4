"""ICDARTS operation spaces (Herron 2023, dissertation ch. 3.2.2 and 4.1, Tables 3.1, 4.1 and 4.2).

Registers the operations the DARTS registry lacks and names the op sets of the spaces:

- ``random`` (ch. 3.2.2): "a tensor of uniform random values" of the input's shape, drawn afresh on
  every forward pass (the range is not given; U[0, 1) as ``torch.rand_like``) -- the stand-in for the
  zero operation in zero-op configurations V2-V4.
- Space 1, *basic* (12 ops): plain ``conv_{3,5}``, depthwise ``dw_conv_{3,5}``, ``relu``,
  ``leaky_relu``, ``sigmoid``, ``tanh``, ``batchnorm``.
- Space 2, *simple* (9 ops): ``min_conv_{3,5}`` (conv, BN -- the dissertation's definition),
  ``std_conv_{3,5}`` (ReLU, conv, BN -- its definition), ``fac_conv_{7,9}`` (the N x 1 convolution;
  the text says only "N x 1", so it follows NASNet/CDARTS: ReLU, 1 x N, N x 1, BN).
- Space 3, *DARTS* without ``none`` (7 ops; the ICDARTS default, zero-op configuration V1).
- Space 4, *MBConv* (6 ops): ``mbconv_3x3`` (Sandler et al. 2018 inverted residual, expansion 6 as in
  MobileNetV2), ``mbconv_v2_3x3_e1`` (Tan & Le 2019 MBConv with squeeze-excitation, torchvision's
  block), ``fused_mbconv_3x3_e1`` (Tan & Le 2021, torchvision's block). ``g`` is read as the
  expansion ratio (the text does not define it).
- The combined space of the dynamic search (Table 4.2, 33 ops), adding 5 x 5 pooling and the
  MBConv kernel/expansion variants.

Spaces 1, 2 and 4 share identity, 3 x 3 max and 3 x 3 average pooling with space 3. How shape-keeping
ops (activations, BN, depthwise conv) reduce on stride-2 edges is not stated; here an activation or BN
follows DARTS's strided identity (``FactorizedReduce``) and a depthwise conv strides itself.
"""

from __future__ import annotations

from functools import partial

import torch
from torch import nn

from nas_core.ops import DARTS_OPS, FactorizedReduce, Pool, ReLUConvBN, register_op


class UniformNoise(nn.Module):
    """ICDARTS ``random`` op: U[0, 1) values shaped like the (strided) input, ignoring its values."""

    def __init__(self, C_out: int, stride: int):
        super().__init__()
        self.C_out, self.stride = C_out, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            x = x[:, :, :: self.stride, :: self.stride]
        return torch.rand(x.shape[0], self.C_out, x.shape[2], x.shape[3], device=x.device, dtype=x.dtype)


def _shape_keeping(layer: nn.Module, C_in: int, C_out: int, stride: int, affine: bool) -> nn.Module:
    """An elementwise op; on a reducing or channel-changing edge DARTS's strided identity comes first."""
    if stride == 1 and C_in == C_out:
        return layer
    adapt = FactorizedReduce(C_in, C_out, affine) if stride > 1 else ReLUConvBN(C_in, C_out, 1, 1, 0, affine=affine)
    return nn.Sequential(adapt, layer)


def _conv(C_in: int, C_out: int, k: int, stride: int, groups: int = 1) -> nn.Conv2d:
    return nn.Conv2d(C_in, C_out, k, stride, k // 2, groups=groups, bias=False)


class FacConv(nn.Sequential):
    """N x 1 convolution, factorised (NASNet): ReLU, 1 x N, N x 1, BN."""

    def __init__(self, C_in: int, C_out: int, n: int, stride: int, affine: bool = True):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_in, (1, n), (1, stride), (0, n // 2), bias=False),
            nn.Conv2d(C_in, C_out, (n, 1), (stride, 1), (n // 2, 0), bias=False),
            nn.BatchNorm2d(C_out, affine=affine),
        )


class InvertedResidual(nn.Sequential):
    """MobileNetV2 block (Sandler et al. 2018): 1x1 expand, ReLU6, depthwise k x k, ReLU6, 1x1 project,
    BN; residual when the shape is kept (torchvision's version fixes k = 3, hence this one)."""

    def __init__(self, C_in: int, C_out: int, k: int, stride: int, expand: int = 6, affine: bool = True):
        from torchvision.ops.misc import Conv2dNormActivation  # here: torchvision costs ~1.4 s to import

        norm = partial(nn.BatchNorm2d, affine=affine)
        hidden = C_in * expand
        super().__init__(
            Conv2dNormActivation(C_in, hidden, 1, norm_layer=norm, activation_layer=nn.ReLU6),
            Conv2dNormActivation(hidden, hidden, k, stride, groups=hidden, norm_layer=norm, activation_layer=nn.ReLU6),
            nn.Conv2d(hidden, C_out, 1, bias=False),
            norm(C_out),
        )
        self.residual = stride == 1 and C_in == C_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = super().forward(x)
        return x + out if self.residual else out


def _efficientnet_block(kind: str, C_in: int, C_out: int, k: int, stride: int, expand: int, affine: bool) -> nn.Module:
    """torchvision's MBConv (with squeeze-excitation, SiLU) or FusedMBConv at exactly C_in -> C_out."""
    from torchvision.models.efficientnet import FusedMBConv, FusedMBConvConfig, MBConv, MBConvConfig

    norm = partial(nn.BatchNorm2d, affine=affine)
    if kind == "mbconv":
        cnf: MBConvConfig | FusedMBConvConfig = MBConvConfig(expand, k, stride, C_in, C_out, 1)
        cnf.input_channels, cnf.out_channels = C_in, C_out  # no rounding to multiples of 8
        return MBConv(cnf, 0.0, norm)
    cnf = FusedMBConvConfig(expand, k, stride, C_in, C_out, 1)
    return FusedMBConv(cnf, 0.0, norm)


_ACTIVATIONS = {
    "relu": lambda C: nn.ReLU(inplace=False),
    "leaky_relu": lambda C: nn.LeakyReLU(0.01, inplace=False),
    "sigmoid": lambda C: nn.Sigmoid(),
    "tanh": lambda C: nn.Tanh(),
}


def _register() -> None:
    register_op("random")(lambda C_in, C_out, stride, affine: UniformNoise(C_out, stride))
    for name, make in _ACTIVATIONS.items():
        register_op(name)(
            lambda C_in, C_out, stride, affine, make=make: _shape_keeping(make(C_out), C_in, C_out, stride, affine)
        )
    register_op("batchnorm")(
        lambda C_in, C_out, stride, affine: _shape_keeping(
            nn.BatchNorm2d(C_out, affine=affine), C_in, C_out, stride, affine
        )
    )
    for k in (3, 5):
        register_op(f"conv_{k}x{k}")(lambda C_in, C_out, stride, affine, k=k: _conv(C_in, C_out, k, stride))
        register_op(f"dw_conv_{k}x{k}")(
            lambda C_in, C_out, stride, affine, k=k: _shape_keeping(
                _conv(C_out, C_out, k, stride, C_out), C_in, C_out, 1, affine
            )
        )
        register_op(f"min_conv_{k}x{k}")(
            lambda C_in, C_out, stride, affine, k=k: nn.Sequential(
                _conv(C_in, C_out, k, stride), nn.BatchNorm2d(C_out, affine=affine)
            )
        )
        register_op(f"std_conv_{k}x{k}")(
            lambda C_in, C_out, stride, affine, k=k: ReLUConvBN(C_in, C_out, k, stride, k // 2, affine=affine)
        )
        register_op(f"mbconv_{k}x{k}")(
            lambda C_in, C_out, stride, affine, k=k: InvertedResidual(C_in, C_out, k, stride, 6, affine)
        )
        for g in (1, 4, 6):
            register_op(f"mbconv_v2_{k}x{k}_e{g}")(
                lambda C_in, C_out, stride, affine, k=k, g=g: _efficientnet_block(
                    "mbconv", C_in, C_out, k, stride, g, affine
                )
            )
    for n in (7, 9):
        register_op(f"fac_conv_{n}")(lambda C_in, C_out, stride, affine, n=n: FacConv(C_in, C_out, n, stride, affine))
    for g in (1, 4, 6):
        register_op(f"fused_mbconv_3x3_e{g}")(
            lambda C_in, C_out, stride, affine, g=g: _efficientnet_block("fused", C_in, C_out, 3, stride, g, affine)
        )
    for kind in ("max", "avg"):
        register_op(f"{kind}_pool_5x5")(
            lambda C_in, C_out, stride, affine, kind=kind: Pool(kind, C_in, C_out, stride, affine, 5)
        )


_register()

SHARED_OPS = ("skip_connect", "max_pool_3x3", "avg_pool_3x3")
#: Table 4.1, spaces 1-4 (space 3 is DARTS without ``none``)
OP_SPACES: dict[str, tuple[str, ...]] = {
    "icdarts-basic": (
        *SHARED_OPS,
        "conv_3x3",
        "conv_5x5",
        "dw_conv_3x3",
        "dw_conv_5x5",
        "relu",
        "leaky_relu",
        "sigmoid",
        "tanh",
        "batchnorm",
    ),
    "icdarts-simple": (
        *SHARED_OPS,
        "min_conv_3x3",
        "min_conv_5x5",
        "std_conv_3x3",
        "std_conv_5x5",
        "fac_conv_7",
        "fac_conv_9",
    ),
    "darts-nozero": tuple(op for op in DARTS_OPS if op != "none"),
    "icdarts-mbconv": (*SHARED_OPS, "mbconv_3x3", "mbconv_v2_3x3_e1", "fused_mbconv_3x3_e1"),
    # Table 4.2: the master set of the tournament-style dynamic search (33 ops)
    "icdarts-dynamic": (
        "relu",
        "leaky_relu",
        "sigmoid",
        "tanh",
        "batchnorm",
        "skip_connect",
        *(f"{name}_{k}x{k}" for name in ("conv", "max_pool", "avg_pool", "min_conv", "std_conv") for k in (3, 5)),
        "fac_conv_7",
        "fac_conv_9",
        *(f"{name}_{k}x{k}" for name in ("sep_conv", "dil_conv", "mbconv") for k in (3, 5)),
        *(f"mbconv_v2_{k}x{k}_e{g}" for k in (3, 5) for g in (1, 4, 6)),
        *(f"fused_mbconv_3x3_e{g}" for g in (1, 4, 6)),
    ),
    # zero-op configurations V2-V4 (Table 3.1): ``random`` takes ``none``'s place in the search
    "darts-random": ("random", *(op for op in DARTS_OPS if op != "none")),
}
