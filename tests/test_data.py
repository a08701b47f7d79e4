import pickle

import numpy as np
import pytest
import torch

from nas_core.data import Augment, DatasetNotFoundError, DeviceLoader, ImageData, load_dataset, make_splits
from nas_core.data.loader import cutout, random_crop


def test_fashion_mnist_loads_from_debian(fashion_mnist_root):
    train, test = load_dataset("fashion-mnist", fashion_mnist_root)
    assert train.images.shape == (60000, 1, 28, 28) and test.images.shape == (10000, 1, 28, 28)
    assert train.images.dtype == torch.uint8 and int(train.labels.max()) == 9
    assert torch.bincount(test.labels).tolist() == [1000] * 10


def test_missing_dataset_says_where_it_looked(tmp_path):
    with pytest.raises(DatasetNotFoundError, match=rf"looked for .* in {tmp_path}.*apt-get install"):
        load_dataset("fashion-mnist", tmp_path)
    with pytest.raises(DatasetNotFoundError, match="data_batch_1"):
        load_dataset("cifar10", tmp_path)
    with pytest.raises(KeyError, match="unknown dataset 'mnist3d'"):
        load_dataset("mnist3d")


def _write_cifar_fixture(root, n=20):
    folder = root / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        entry = {"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), "labels": list(rng.integers(0, 10, n))}
        with open(folder / name, "wb") as fh:
            pickle.dump(entry, fh)
    return entry


def test_cifar_python_format_reader(tmp_path):
    last = _write_cifar_fixture(tmp_path)
    train, test = load_dataset("cifar10", tmp_path)
    assert train.images.shape == (100, 3, 32, 32) and test.images.shape == (20, 3, 32, 32)
    assert torch.equal(test.images[0], torch.from_numpy(last["data"][0].reshape(3, 32, 32)))
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(b"truncated")
    with pytest.raises(DatasetNotFoundError, match="not a readable CIFAR batch"):
        load_dataset("cifar10", tmp_path)


def test_image_folder(tmp_path):
    from PIL import Image

    for split in ("train", "test"):
        for cls in ("cat", "dog"):
            (tmp_path / split / cls).mkdir(parents=True)
            for i in range(3):
                Image.fromarray(np.full((10, 12, 3), 40 * i, dtype=np.uint8)).save(tmp_path / split / cls / f"{i}.png")
    train, test = load_dataset("imagefolder", tmp_path, image_size=16)
    assert train.images.shape == (6, 3, 16, 16) and train.num_classes == 2 and len(test) == 6


def test_splits_are_seeded_and_disjoint():
    a = make_splits("digits", valid_fraction=0.25, seed=3)
    b = make_splits("digits", valid_fraction=0.25, seed=3)
    c = make_splits("digits", valid_fraction=0.25, seed=4)
    assert torch.equal(a.valid.images, b.valid.images) and not torch.equal(a.valid.images, c.valid.images)
    assert len(a.train) + len(a.valid) == 1438 and len(a.valid) == 360
    with pytest.raises(ValueError, match="valid_fraction"):
        make_splits("digits", valid_fraction=1.5)


def test_loader_order_depends_only_on_seed_and_epoch(digits_splits):
    s = digits_splits
    loader = DeviceLoader(s.train, 64, mean=s.mean, std=s.std, augment=Augment(cutout=4), seed=1)
    loader.set_epoch(2)
    first = [y for _, y in loader]
    loader.set_epoch(0)
    _ = list(loader)
    loader.set_epoch(2)
    assert all(torch.equal(a, b) for a, b in zip(first, (y for _, y in loader)))
    assert sum(len(y) for y in first) == len(s.train)


def test_device_augmentations():
    g = torch.Generator().manual_seed(0)
    x = torch.arange(2 * 1 * 6 * 6, dtype=torch.float).view(2, 1, 6, 6) + 1
    crop = random_crop(x, 2, g)
    assert crop.shape == x.shape
    # each crop is a shifted window of the zero-padded image: non-zero values keep their row order
    for i in range(2):
        nz = crop[i, 0][crop[i, 0] > 0]
        assert torch.all(nz.diff() > 0) or len(nz) <= 1
    cut = cutout(torch.ones(50, 1, 8, 8), 4, g)
    zeros = (cut == 0).flatten(1).sum(1)
    assert zeros.max() == 16 and zeros.min() >= 4  # full square inside, clipped at borders


def test_padding_to_32(digits_splits):
    s = digits_splits
    x, _ = next(iter(DeviceLoader(s.test, 8, mean=s.mean, std=s.std, pad_to=32, shuffle=False)))
    assert x.shape == (8, 1, 32, 32)


def test_image_data_rejects_bad_tensors():
    with pytest.raises(ValueError, match="uint8"):
        ImageData(torch.zeros(2, 1, 4, 4), torch.zeros(2), 2)


def test_fashion_mnist_cache_fills_safely_from_many_workers(fashion_mnist_root, tmp_path, monkeypatch):
    """Several processes of a benchmark load Fashion-MNIST at once into an empty cache (it once failed:
    two workers shared one temporary file name and the second ``replace`` found it gone)."""
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with ThreadPoolExecutor(4) as pool:
        loaded = list(pool.map(lambda _: load_dataset("fashion-mnist", fashion_mnist_root), range(4)))
    assert all(len(train) == 60000 and len(test) == 10000 for train, test in loaded)
    assert not list(tmp_path.rglob("*.tmp"))  # nothing half-written left behind
