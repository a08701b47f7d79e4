"""Datasets as uint8 tensors, seeded splits, and the device-resident loader."""

from nas_core.data.datasets import DATASETS, DatasetNotFoundError, ImageData, Splits, load_dataset, make_splits
from nas_core.data.loader import Augment, DeviceLoader, SplitLoaders, split_loaders

__all__ = [
    "DATASETS",
    "Augment",
    "DatasetNotFoundError",
    "DeviceLoader",
    "ImageData",
    "SplitLoaders",
    "Splits",
    "load_dataset",
    "make_splits",
    "split_loaders",
]
