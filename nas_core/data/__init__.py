"""Datasets as uint8 tensors, seeded splits, and the device-resident loader."""

from nas_core.data.datasets import DATASETS, DatasetNotFoundError, ImageData, Splits, load_dataset, make_splits
from nas_core.data.loader import Augment, DeviceLoader, SplitLoaders, split_loaders
from nas_core.data.user_data import as_image_data, load_npz, register_dataset, user_dataset, write_user_data

__all__ = [
    "DATASETS",
    "Augment",
    "DatasetNotFoundError",
    "DeviceLoader",
    "ImageData",
    "SplitLoaders",
    "Splits",
    "as_image_data",
    "load_dataset",
    "load_npz",
    "make_splits",
    "register_dataset",
    "split_loaders",
    "user_dataset",
    "write_user_data",
]
