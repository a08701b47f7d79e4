"""A device-resident loader for small images: the whole split lives on the device as one uint8
tensor; shuffling, random crop, horizontal flip, normalisation and cutout run there in batches.

This keeps small networks from being starved by a CPU input pipeline (the approach of the fast
CIFAR-10 training scripts). Every epoch's order and augmentation come from a generator seeded by
``(seed, epoch)``, so a resumed run sees exactly the batches an uninterrupted run would.

Augmentation order follows the DARTS / NAS-Bench-201 torchvision pipelines: zero-padded random
crop and flip on the [0, 1] image, then normalisation, then cutout (zeros in normalised space,
DeVries & Taylor 2017, as in DARTS).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from nas_core.data.datasets import ImageData, Splits


@dataclass(frozen=True)
class Augment:
    """Augmentations; the defaults are the CIFAR ones (crop 4, flip), cutout off."""

    crop_padding: int = 4
    flip: bool = True
    cutout: int = 0

    @classmethod
    def none(cls) -> Augment:
        return cls(crop_padding=0, flip=False, cutout=0)


def random_crop(x: torch.Tensor, padding: int, g: torch.Generator) -> torch.Tensor:
    """Per-sample random crop of a zero-padded batch back to its size."""
    n, c, h, w = x.shape
    padded = F.pad(x, (padding, padding, padding, padding))
    oy = torch.randint(0, 2 * padding + 1, (n,), generator=g, device=x.device)
    ox = torch.randint(0, 2 * padding + 1, (n,), generator=g, device=x.device)
    rows = (oy[:, None] + torch.arange(h, device=x.device)).view(n, 1, h, 1).expand(n, c, h, w + 2 * padding)
    padded = padded.gather(2, rows)
    cols = (ox[:, None] + torch.arange(w, device=x.device)).view(n, 1, 1, w).expand(n, c, h, w)
    return padded.gather(3, cols)


def random_flip(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    flip = torch.rand(x.shape[0], generator=g, device=x.device) < 0.5
    return torch.where(flip.view(-1, 1, 1, 1), x.flip(3), x)


def cutout(x: torch.Tensor, length: int, g: torch.Generator) -> torch.Tensor:
    """Zero a ``length`` x ``length`` square (clipped at the border) at a uniform random centre."""
    n, _, h, w = x.shape
    cy = torch.randint(0, h, (n, 1), generator=g, device=x.device)
    cx = torch.randint(0, w, (n, 1), generator=g, device=x.device)
    ys = torch.arange(h, device=x.device).view(1, h)
    xs = torch.arange(w, device=x.device).view(1, w)
    in_y = (ys >= cy - length // 2) & (ys < cy + length // 2)
    in_x = (xs >= cx - length // 2) & (xs < cx + length // 2)
    mask = (in_y[:, :, None] & in_x[:, None, :]).unsqueeze(1)
    return x.masked_fill(mask, 0.0)


class DeviceLoader:
    """Iterate ``(images, labels)`` batches of a split held on ``device``.

    Images come out as float32 ``(B, C, H, W)``, normalised with ``mean``/``std`` (optionally
    zero-padded to ``pad_to`` pixels, e.g. 28 -> 32) and in channels-last memory format if asked.
    """

    def __init__(
        self,
        data: ImageData,
        batch_size: int,
        *,
        mean: list[float],
        std: list[float],
        device: str | torch.device = "cpu",
        shuffle: bool = True,
        augment: Augment | None = None,
        drop_last: bool = False,
        seed: int = 0,
        channels_last: bool = False,
        pad_to: int | None = None,
    ):
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        if drop_last and len(data) < batch_size:
            raise ValueError(
                f"{len(data)} images are fewer than one batch of {batch_size}: no batch would train; "
                "lower batch_size or give more images"
            )
        self.device = torch.device(device)
        images = data.images
        if pad_to is not None and pad_to > images.shape[-1]:
            total = pad_to - images.shape[-1]
            images = F.pad(images, (total // 2, total - total // 2, total // 2, total - total // 2))
        self.images = images.to(self.device)
        self.labels = data.labels.to(self.device)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.augment = augment or Augment.none()
        self.drop_last = drop_last
        self.seed = seed
        self.epoch = 0
        self.channels_last = channels_last
        self.mean = torch.tensor(mean, device=self.device).view(1, -1, 1, 1)
        self.std = torch.tensor(std, device=self.device).view(1, -1, 1, 1)
        self.num_classes = data.num_classes

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        n = len(self.labels)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _generator(self) -> torch.Generator:
        return torch.Generator(device=self.device).manual_seed(self.seed * 1_000_003 + self.epoch)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        g = self._generator()
        n = len(self.labels)
        if self.shuffle:
            order = torch.randperm(n, generator=g, device=self.device)
        else:
            order = torch.arange(n, device=self.device)
        for b in range(len(self)):
            idx = order[b * self.batch_size : (b + 1) * self.batch_size]
            yield self._prepare(self.images[idx], g), self.labels[idx]

    def _prepare(self, images: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        x = images.float().div_(255)
        aug = self.augment
        if aug.crop_padding:
            x = random_crop(x, aug.crop_padding, g)
        if aug.flip:
            x = random_flip(x, g)
        x = (x - self.mean) / self.std
        if aug.cutout:
            x = cutout(x, aug.cutout, g)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    def sample_batch(self, size: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """A fixed, unaugmented random batch (for zero-cost proxies and diagnostics)."""
        g = torch.Generator(device=self.device).manual_seed(seed)
        idx = torch.randperm(len(self.labels), generator=g, device=self.device)[:size]
        x = (self.images[idx].float().div_(255) - self.mean) / self.std
        return x, self.labels[idx]


@dataclass
class SplitLoaders:
    train: DeviceLoader
    valid: DeviceLoader | None  # None for an empty validation split (a final model trained on everything)
    test: DeviceLoader


def split_loaders(
    splits: Splits,
    batch_size: int,
    *,
    device: str | torch.device,
    seed: int,
    augment: Augment,
    channels_last: bool = False,
    pad_to: int | None = None,
    eval_batch_size: int = 512,
) -> SplitLoaders:
    """The loaders a discrete network trains with: shuffled and augmented training batches, plain
    validation and test batches, all normalised with the training split's statistics."""

    def loader(data: ImageData, batch: int, train: bool) -> DeviceLoader:
        return DeviceLoader(
            data,
            batch,
            mean=splits.mean,
            std=splits.std,
            device=device,
            shuffle=train,
            augment=augment if train else None,
            seed=seed,
            channels_last=channels_last,
            pad_to=pad_to,
        )

    valid = loader(splits.valid, eval_batch_size, False) if len(splits.valid) else None
    return SplitLoaders(loader(splits.train, batch_size, True), valid, loader(splits.test, eval_batch_size, False))
