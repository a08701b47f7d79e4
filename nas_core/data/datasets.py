"""Image-classification datasets held as uint8 tensors, and seeded train/valid/test splits.

Sources:
- ``fashion-mnist``: Debian's ``dataset-fashion-mnist`` (``/usr/share/datasets/fashion-mnist``,
  IDX ``.gz``) or any folder with the four IDX files, read by torchvision's ``FashionMNIST``
  (the ``.gz`` copies are decompressed once into the cache, since torchvision reads raw IDX).
- ``cifar10`` / ``cifar100``: the official "python version" folders (``cifar-10-batches-py`` /
  ``cifar-100-python``). Read here rather than by torchvision's classes, whose md5 check rejects
  any copy that is not byte-identical to the download.
- ``imagefolder``: torchvision ``ImageFolder`` (``root/train`` and ``root/test`` or ``root/val``),
  resized to ``image_size`` and held in memory -- meant for small-image datasets.
- ``digits``: scikit-learn's 8x8 digits (1,797 images), split 80/20 with a fixed seed.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import pickle
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from nas_core.registry import Registry

DEFAULT_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
_FASHION_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


class DatasetNotFoundError(FileNotFoundError):
    """Dataset files are missing; the message says where we looked and how to get them."""


@dataclass
class ImageData:
    """Images as uint8 ``(N, C, H, W)`` with int64 labels."""

    images: torch.Tensor
    labels: torch.Tensor
    num_classes: int
    name: str = ""

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.ndim != 4:
            raise ValueError(
                f"images must be a uint8 (N, C, H, W) tensor, got {self.images.dtype} {tuple(self.images.shape)}"
            )
        if len(self.images) != len(self.labels):
            raise ValueError(f"{len(self.images)} images but {len(self.labels)} labels")
        self.labels = self.labels.long()

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(channels, height, width)``."""
        c, h, w = self.images.shape[1:]
        return int(c), int(h), int(w)

    def subset(self, index: torch.Tensor) -> ImageData:
        return ImageData(self.images[index], self.labels[index], self.num_classes, self.name)

    def channel_stats(self) -> tuple[list[float], list[float]]:
        """Per-channel mean and std of the images scaled to [0, 1]."""
        x = self.images.float().div_(255)
        return x.mean(dim=(0, 2, 3)).tolist(), x.std(dim=(0, 2, 3)).tolist()


@dataclass
class Splits:
    train: ImageData
    valid: ImageData
    test: ImageData
    mean: list[float]
    std: list[float]

    @property
    def num_classes(self) -> int:
        return self.train.num_classes

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.train.shape


Loader = Callable[[Path | None, int], tuple[ImageData, ImageData]]
#: every dataset by name: ``loader(root or None, image_size) -> (train, test)``; ``DATASETS.add`` adds one
DATASETS: Registry[Loader] = Registry("dataset")


@DATASETS.register("fashion-mnist")
def _load_fashion_mnist(root: Path | None, image_size: int) -> tuple[ImageData, ImageData]:
    return _fashion_mnist(root or Path(os.environ.get("NAS_FASHION_MNIST", DEFAULT_FASHION_MNIST)))


def _load_cifar(root: Path | None, image_size: int, name: str) -> tuple[ImageData, ImageData]:
    if root is None:
        raise DatasetNotFoundError(
            f"{name}: give the folder holding the official python-format files (--data-root); it cannot be "
            "downloaded here"
        )
    return _cifar(root, name)


for _name in ("cifar10", "cifar100"):
    DATASETS.add(_name, functools.partial(_load_cifar, name=_name))


@DATASETS.register("imagefolder")
def _load_image_folder(root: Path | None, image_size: int) -> tuple[ImageData, ImageData]:
    if root is None:
        raise DatasetNotFoundError("imagefolder: give --data-root with train/ and test/ (or val/) subfolders")
    return _image_folder(root, image_size)


@DATASETS.register("digits")
def _load_digits(root: Path | None, image_size: int) -> tuple[ImageData, ImageData]:
    return _digits()


def load_dataset(name: str, root: str | Path | None = None, image_size: int = 32) -> tuple[ImageData, ImageData]:
    """``(train, test)`` of dataset ``name`` (:data:`DATASETS`) read from ``root`` (each dataset has a default)."""
    return DATASETS.get(name)(Path(root) if root else None, image_size)


def _held_out(n: int, fraction: float) -> int:
    """How many of ``n`` images a split with ``fraction`` holds out (at least one when fraction > 0)."""
    return max(1, round(n * fraction)) if fraction > 0 else 0


def make_splits(
    name: str,
    root: str | Path | None = None,
    *,
    valid_fraction: float = 0.5,
    seed: int = 0,
    max_train: int | None = None,
    max_test: int | None = None,
    image_size: int = 32,
    reserve_fraction: float = 0.0,
    every_class_validated: bool = True,
) -> Splits:
    """Seeded split of the official training set into train/valid; test is the official test set.

    ``max_train`` / ``max_test`` take a seeded random subset first (tiny runs and tests). ``valid_fraction``
    0: the whole training set trains (an empty validation split; a final model's retraining).
    ``reserve_fraction``: the share of the (subset of the) training set that this split leaves out -- exactly
    the images that ``make_splits(valid_fraction=reserve_fraction)`` with the same seed and ``max_train``
    validates on. A supernet searching for a pool passes the pool's ``valid_fraction`` here, so it trains only
    on the pool's training images and never on the images its proposals are then judged by.
    Normalisation statistics come from the training part only. ``every_class_validated``: a class of the
    training part without a validation image is an error (a validation split that steers a search must see
    every class; a final model's, which only reports, need not).
    """
    if not 0.0 <= valid_fraction < 1.0:
        raise ValueError(f"valid_fraction must be in [0, 1) (0: no validation split), got {valid_fraction!r}")
    if not 0.0 <= reserve_fraction < 1.0:
        raise ValueError(f"reserve_fraction must be in [0, 1) (0: nothing reserved), got {reserve_fraction!r}")
    train_all, test = load_dataset(name, root, image_size)
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(len(train_all), generator=g)
    if max_train is not None:
        perm = perm[:max_train]
    if max_test is not None and max_test < len(test):
        test = test.subset(torch.randperm(len(test), generator=g)[:max_test])
    perm = perm[_held_out(len(perm), reserve_fraction) :]  # what valid_fraction=reserve_fraction validates on
    n_valid = _held_out(len(perm), valid_fraction)
    train, valid = train_all.subset(perm[n_valid:]), train_all.subset(perm[:n_valid])
    if n_valid and every_class_validated:
        _check_classes(train, valid)
    mean, std = train.channel_stats()
    return Splits(train, valid, test, mean, [max(s, 1e-3) for s in std])


def _check_classes(train: ImageData, valid: ImageData) -> None:
    """A class the training split has but the validation split lacks is an error: validation accuracy,
    which steers every search, would never see it."""
    missing = sorted(set(train.labels.unique().tolist()) - set(valid.labels.unique().tolist()))
    if missing:
        raise ValueError(
            f"class(es) {missing[:10]} have no image in the validation split ({len(valid)} images of "
            f"{train.num_classes} classes); give more images (max_train) or a larger valid_fraction"
        )


# --------------------------------------------------------------------------- readers


def cache_dir() -> Path:
    """This package's cache on this machine: ``$XDG_CACHE_HOME/nas-suite`` (default ``~/.cache/nas-suite``)."""
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "nas-suite"


def _fashion_mnist(root: Path) -> tuple[ImageData, ImageData]:
    from torchvision.datasets import FashionMNIST

    candidates = [root, root / "raw", root / "FashionMNIST" / "raw"]
    raw = next(
        (d for d in candidates if all((d / f).exists() or (d / f"{f}.gz").exists() for f in _FASHION_FILES)), None
    )
    if raw is None:
        raise DatasetNotFoundError(
            f"Fashion-MNIST not found: looked for {', '.join(f + '[.gz]' for f in _FASHION_FILES)} in "
            f"{', '.join(map(str, candidates))}. Install Debian's package (apt-get install dataset-fashion-mnist) "
            f"or pass a folder holding the four IDX files."
        )
    source_key = hashlib.sha1(str(raw.resolve()).encode()).hexdigest()[:10]
    cache_raw = cache_dir() / f"fashion-mnist-{source_key}" / "FashionMNIST" / "raw"
    cache_raw.mkdir(parents=True, exist_ok=True)
    for f in _FASHION_FILES:
        target = cache_raw / f
        if target.exists():
            continue
        # a temporary file of its own: several processes (a bench's workers) may fill the cache at once
        fd, tmp_name = tempfile.mkstemp(dir=cache_raw, suffix=".tmp")
        os.close(fd)
        tmp = Path(tmp_name)
        if (raw / f).exists():
            shutil.copyfile(raw / f, tmp)
        else:
            with gzip.open(raw / f"{f}.gz", "rb") as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst)
        tmp.replace(target)
    out = []
    for train in (True, False):
        ds = FashionMNIST(str(cache_raw.parent.parent), train=train, download=False)
        out.append(ImageData(ds.data.unsqueeze(1).contiguous(), ds.targets, 10, "fashion-mnist"))
    return out[0], out[1]


def _cifar(root: Path, name: str) -> tuple[ImageData, ImageData]:
    folder, train_files, test_files, label_key, classes = (
        ("cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)], ["test_batch"], "labels", 10)
        if name == "cifar10"
        else ("cifar-100-python", ["train"], ["test"], "fine_labels", 100)
    )
    base = root / folder if (root / folder).is_dir() else root
    missing = [f for f in train_files + test_files if not (base / f).exists()]
    if missing:
        raise DatasetNotFoundError(
            f"{name} not found: {', '.join(missing)} missing in {base}. Download the official python version "
            f"from https://www.cs.toronto.edu/~kriz/cifar.html and unpack it there."
        )

    def read(files: list[str]) -> ImageData:
        xs, ys = [], []
        for f in files:
            try:
                with open(base / f, "rb") as fh:
                    entry = pickle.load(fh, encoding="latin1")
            except (pickle.UnpicklingError, EOFError, ValueError) as exc:
                raise DatasetNotFoundError(f"{base / f} is not a readable CIFAR batch ({exc})") from None
            xs.append(np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
            ys.extend(entry[label_key])
        return ImageData(torch.from_numpy(np.concatenate(xs)), torch.tensor(ys), classes, name)

    return read(train_files), read(test_files)


def _image_folder(root: Path, image_size: int) -> tuple[ImageData, ImageData]:
    from torchvision import transforms
    from torchvision.datasets import ImageFolder

    test_dir = next((root / d for d in ("test", "val") if (root / d).is_dir()), None)
    if not (root / "train").is_dir() or test_dir is None:
        raise DatasetNotFoundError(f"imagefolder: expected {root}/train and {root}/test (or {root}/val) folders")
    tf = transforms.Compose([transforms.Resize((image_size, image_size)), transforms.PILToTensor()])

    def read(folder: Path, classes: list[str] | None) -> ImageData:
        ds = ImageFolder(str(folder), transform=tf)
        if classes is not None and ds.classes != classes:
            raise ValueError(f"class folders differ between train ({classes}) and {folder} ({ds.classes})")
        images = torch.stack([img if img.shape[0] in (1, 3) else img[:3] for img, _ in ds])
        return ImageData(images, torch.tensor(ds.targets), len(ds.classes), "imagefolder")

    train = read(root / "train", None)
    return train, read(test_dir, ImageFolder(str(root / "train")).classes)


def _digits() -> tuple[ImageData, ImageData]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = torch.from_numpy((bunch.images * (255.0 / 16.0)).round().astype(np.uint8)).unsqueeze(1)
    labels = torch.from_numpy(bunch.target)
    perm = torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))
    n_test = len(labels) // 5
    data = ImageData(images, labels, 10, "digits")
    return data.subset(perm[n_test:]), data.subset(perm[:n_test])
