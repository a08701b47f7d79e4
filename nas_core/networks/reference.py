"""A plain hand-designed CNN, the reference point a searched cell has to beat at the same size.

VGG-style: three stages of two 3x3 conv-BN-ReLU blocks (widths w, 2w, 4w; a 2x2 max-pool between
stages), global average pooling and a linear classifier -- the small CNN a practitioner writes by hand
for Fashion-MNIST or CIFAR. :func:`size_matched_cnn` picks the width whose parameter count is closest
to a target (the searched network's), so the comparison is at equal size.
"""

from __future__ import annotations

from torch import nn


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class PlainCNN(nn.Sequential):
    def __init__(self, num_classes: int, in_channels: int = 3, width: int = 16):
        w = width
        super().__init__(
            _block(in_channels, w),
            _block(w, w),
            nn.MaxPool2d(2),
            _block(w, 2 * w),
            _block(2 * w, 2 * w),
            nn.MaxPool2d(2),
            _block(2 * w, 4 * w),
            _block(4 * w, 4 * w),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(4 * w, num_classes),
        )
        self.width = width


def n_params(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def size_matched_cnn(target_params: int, num_classes: int, in_channels: int = 3) -> PlainCNN:
    """The :class:`PlainCNN` whose parameter count is closest to ``target_params`` (widths 4..128)."""
    width = min(range(4, 129), key=lambda w: abs(n_params(PlainCNN(num_classes, in_channels, w)) - target_params))
    return PlainCNN(num_classes, in_channels, width)
