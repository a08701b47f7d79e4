"""A user's own images: tensors, arrays, a ``torch.utils.data.Dataset`` or a ``.npz`` file, checked once and
written to one ``.npz`` file that every process of a search reads (the ``npz`` dataset).

Accepted forms of one split (:func:`as_image_data`):

- ``(images, labels)``: images ``(N, H, W)``, ``(N, C, H, W)`` or, when the last axis has 1, 3 or 4 entries
  and the second more, ``(N, H, W, C)``; uint8 (0-255) or float. Float images in [0, 1] are scaled by 255
  (torchvision's ``ToTensor`` range); other float ranges are mapped linearly by the training split's minimum
  and maximum. Either way they are stored as 8-bit images, as every built-in dataset is (the loaders
  normalise each channel by the training split's statistics, so the global scale does not matter).
  Labels: integers in ``[0, num_classes)``.
- a map-style ``torch.utils.data.Dataset`` of ``(image, label)`` pairs (tensors, arrays or PIL images),
  e.g. a ``TensorDataset``.
- :class:`~nas_core.data.datasets.ImageData`.

A user dataset is ``train`` and optionally ``test`` (:func:`user_dataset`); without a test split, a seeded
20 % of the images is held out as one, never read before the final report. Searches take the training
split's train/validation split with a seed of their own (``PoolConfig.split_seed``).
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nas_core.data.datasets import DATASETS, DatasetNotFoundError, ImageData

#: share of the images held out as the test split when a user gives none (seed 0, like ``digits``)
TEST_FRACTION = 0.2
#: the keys of a ``.npz`` dataset; Keras's ``x_train``/``y_train``/``x_test``/``y_test`` are read too
NPZ_KEYS = ("train_images", "train_labels", "test_images", "test_labels")
_KERAS_KEYS = ("x_train", "y_train", "x_test", "y_test")


def _tensor(value: Any, what: str) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(value))
    raise TypeError(f"{what} must be a torch.Tensor or a numpy array, got {type(value).__name__}")


def _channels_first(images: torch.Tensor) -> torch.Tensor:
    if images.ndim == 3:
        return images.unsqueeze(1)
    if images.ndim != 4:
        raise ValueError(f"images must be (N, H, W), (N, C, H, W) or (N, H, W, C), got shape {tuple(images.shape)}")
    if images.shape[-1] in (1, 3, 4) and images.shape[1] > 4:
        return images.permute(0, 3, 1, 2).contiguous()
    return images


def _to_uint8(
    images: torch.Tensor, scale: tuple[float, float] | None
) -> tuple[torch.Tensor, tuple[float, float] | None]:
    """uint8 images unchanged (scale None: nothing for a float test split to share; it follows its own
    range); float images scaled to 0-255 by ``scale`` (low, high) or their own range."""
    if images.dtype == torch.uint8:
        return images, None
    if not images.is_floating_point():
        raise ValueError(f"images must be uint8 or float, got {images.dtype}")
    if not torch.isfinite(images).all():
        raise ValueError("images hold NaN or infinite values")
    if scale is None:
        low, high = float(images.min()), float(images.max())
        scale = (0.0, 1.0) if low >= 0.0 and high <= 1.0 else (low, max(high, low + 1e-12))
    low, high = scale
    scaled = ((images.double() - low) / (high - low) * 255.0).round().clamp_(0, 255)
    return scaled.to(torch.uint8), scale


def as_image_data(data: Any, *, num_classes: int | None = None, name: str = "user", what: str = "train") -> ImageData:
    """One split in any accepted form (module docstring) as checked :class:`ImageData`.

    ``num_classes`` None: one more than the largest label. Every problem raises a ``ValueError`` or
    ``TypeError`` naming the split (``what``) and the bad value."""
    return _checked(data, num_classes, name, None, what)[0]


def _checked(
    data: Any, num_classes: int | None, name: str, scale: tuple[float, float] | None, what: str
) -> tuple[ImageData, tuple[float, float] | None]:
    """:func:`as_image_data` and the float range it scaled by (a test split must share the training one's)."""
    if isinstance(data, ImageData):
        images, labels = data.images, data.labels
        num_classes = num_classes or data.num_classes
    elif isinstance(data, tuple | list) and len(data) == 2 and not isinstance(data[0], tuple | list):
        images, labels = _tensor(data[0], f"{what} images"), _tensor(data[1], f"{what} labels")
    elif isinstance(data, torch.utils.data.Dataset):
        images, labels = _from_dataset(data, what)
    else:
        raise TypeError(
            f"{what} data must be (images, labels), a torch.utils.data.Dataset of (image, label) pairs or "
            f"ImageData, got {type(data).__name__}"
        )
    try:
        images = _channels_first(images)
        images, scale = _to_uint8(images, scale)
    except ValueError as exc:
        raise ValueError(f"{what} images: {exc}") from None
    if labels.ndim != 1 or labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise ValueError(f"{what} labels must be a 1-D integer tensor, got {labels.dtype} {tuple(labels.shape)}")
    if len(labels) != len(images):
        raise ValueError(f"{what}: {len(images)} images but {len(labels)} labels")
    if len(labels) == 0:
        raise ValueError(f"{what}: no images")
    labels = labels.long()
    classes = num_classes if num_classes is not None else int(labels.max()) + 1
    bad = labels[(labels < 0) | (labels >= classes)]
    if len(bad):
        raise ValueError(f"{what} labels must lie in [0, {classes}), got {int(bad[0])}")
    if classes < 2:
        raise ValueError(f"{what}: a classification dataset needs at least 2 classes, got {classes}")
    return ImageData(images.contiguous(), labels, classes, name), scale


def _from_dataset(dataset: torch.utils.data.Dataset, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    from torchvision.transforms.functional import pil_to_tensor

    try:
        count = len(dataset)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"{what}: a Dataset must have a length (map-style), got {type(dataset).__name__}") from None
    images, labels = [], []
    for i in range(count):
        item = dataset[i]
        if not isinstance(item, tuple | list) or len(item) != 2:
            raise ValueError(f"{what}: item {i} of the Dataset must be (image, label), got {type(item).__name__}")
        image, label = item
        if hasattr(image, "convert"):  # a PIL image
            image = pil_to_tensor(image)
        images.append(_tensor(image, f"{what} image {i}"))
        labels.append(int(label))
    shapes = {tuple(x.shape) for x in images}
    if len(shapes) > 1:
        raise ValueError(f"{what}: the Dataset's images differ in shape ({sorted(shapes)[:3]}); resize them first")
    return torch.stack(images), torch.tensor(labels)


def user_dataset(train: Any, test: Any = None, *, num_classes: int | None = None) -> tuple[ImageData, ImageData]:
    """``(train, test)`` from a user's splits; without ``test`` a seeded :data:`TEST_FRACTION` of ``train``."""
    return _user_splits(train, test, num_classes, "user")


def _user_splits(train: Any, test: Any, num_classes: int | None, name: str) -> tuple[ImageData, ImageData]:
    train_data, scale = _checked(train, num_classes, name, None, "train")
    if test is None:
        perm = torch.randperm(len(train_data), generator=torch.Generator().manual_seed(0))
        n_test = round(len(perm) * TEST_FRACTION)
        if n_test < 1 or n_test == len(perm):
            raise ValueError(f"train: {len(perm)} images are too few to hold out a test split; give test data")
        test_data, train_data = train_data.subset(perm[:n_test]), train_data.subset(perm[n_test:])
    else:
        test_data = _checked(test, train_data.num_classes, name, scale, "test")[0]
        if test_data.shape != train_data.shape:
            raise ValueError(f"test images are {test_data.shape} (C, H, W) but train images {train_data.shape}")
    return train_data, test_data


def save_npz(path: str | Path, train: ImageData, test: ImageData) -> Path:
    """Write a dataset as ``.npz`` (:data:`NPZ_KEYS` and ``num_classes``); written whole or not at all."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    arrays = (train.images, train.labels, test.images, test.labels)
    np.savez(tmp, **{k: v.numpy() for k, v in zip(NPZ_KEYS, arrays)}, num_classes=np.int64(train.num_classes))
    tmp.replace(path)
    return path


def load_npz(path: str | Path) -> tuple[ImageData, ImageData]:
    """``(train, test)`` of a ``.npz`` file (:data:`NPZ_KEYS` or Keras's names), checked like tensors."""
    path = Path(path)
    if not path.is_file():
        raise DatasetNotFoundError(f"npz: no file {path}; give --data-root FILE.npz (keys {', '.join(NPZ_KEYS)})")
    with np.load(path) as f:
        keys = NPZ_KEYS if NPZ_KEYS[0] in f else _KERAS_KEYS
        missing = [k for k in keys if k not in f]
        if missing:
            raise ValueError(f"{path}: missing array(s) {missing}; expected {list(NPZ_KEYS)} (or {list(_KERAS_KEYS)})")
        x_train, y_train, x_test, y_test = (f[k] for k in keys)
        classes = int(f["num_classes"]) if "num_classes" in f else None
    return _user_splits((x_train, y_train), (x_test, y_test), classes, path.stem)


@DATASETS.register("npz")
def _load_npz(root: Path | None, image_size: int) -> tuple[ImageData, ImageData]:
    if root is None:
        raise DatasetNotFoundError(f"npz: give the file (--data-root FILE.npz, arrays {', '.join(NPZ_KEYS)})")
    return load_npz(root)


def register_dataset(name: str, load: Callable[..., Any]) -> None:
    """Add dataset ``name``: ``load()`` (or ``load(root)``, given ``--data-root``) returns the training split
    in any accepted form, or ``(train, test)`` of two splits. Registered in this process only: a worker
    elsewhere must register it too (or give it the ``.npz`` file a study writes)."""
    takes_root = any(
        p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        for p in inspect.signature(load).parameters.values()
    )

    def loader(root: Path | None, image_size: int) -> tuple[ImageData, ImageData]:
        return _given_splits(load(root) if takes_root else load(), name)

    DATASETS.add(name, loader)


def _is_split(value: Any) -> bool:
    """Whether ``value`` is a whole split (not one array of a split)."""
    return isinstance(value, ImageData | torch.utils.data.Dataset) or (
        isinstance(value, tuple | list) and len(value) == 2
    )


def _given_splits(value: Any, name: str) -> tuple[ImageData, ImageData]:
    """``(train, test)`` of one split or a ``(train, test)`` pair of splits, as a user gives them."""
    if isinstance(value, tuple | list) and len(value) == 2 and _is_split(value[0]) and _is_split(value[1]):
        return _user_splits(value[0], value[1], None, name)
    return _user_splits(value, None, None, name)


def write_user_data(dataset: Any, directory: str | Path | None, path: str | Path | None = None) -> str:
    """Check ``dataset`` (one split, or a ``(train, test)`` pair of splits), write it to ``path`` (default
    ``directory/data-<content hash>.npz``) and return the file's absolute path: the ``data_root`` of the
    ``npz`` dataset every worker reads."""
    train, test = _given_splits(dataset, "user")
    if path is None:
        if directory is None:
            raise ValueError("data given as tensors needs a run directory (run_dir=) or a file (data_root=...npz)")
        digest = hashlib.sha1()
        for t in (train.images, train.labels, test.images, test.labels):
            digest.update(t.numpy().tobytes())
        path = Path(directory) / f"data-{digest.hexdigest()[:12]}.npz"
    return str(save_npz(path, train, test).resolve())
