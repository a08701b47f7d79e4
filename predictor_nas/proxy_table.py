"""The shipped table of data-free zero-cost proxies for all 15,625 NAS-Bench-201 cells.

A tabular search scores the cells it samples with the data-free proxies of the NB201 network at
CIFAR input shape (:data:`TABULAR_SETTINGS`). Computing them costs ~0.25 s a cell on one CPU core,
so the package ships them (made by ``scripts/make_proxy_table.py``, checked against a fresh
computation by ``tests/test_proxy_table.py`` and against NASLib's scores by
``scripts/bench_proxies.py``): a cold tabular search starts in seconds, as with NAS-Bench-Suite-Zero.
"""

from __future__ import annotations

import csv
import functools
import gzip
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nas_core.presets import NETWORKS

DATA_FREE_PROXIES = ("synflow", "params", "flops", "zen")
TABULAR_SETTINGS: dict[str, Any] = dict(num_classes=10, input_shape=(3, 32, 32), network=NETWORKS["nb201"], seed=0)
TABLE_PATH = Path(__file__).resolve().parent / "data" / "nb201_zero_cost_C16N5.csv.gz"


def write_table(path: Path, rows: Sequence[dict[str, float]]) -> None:
    """One row per official NB201 index: ``arch_index`` then each proxy (10 significant digits)."""
    names = [n for n in DATA_FREE_PROXIES if all(n in r for r in rows)]
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["arch_index", *names])
        for i, row in enumerate(rows):
            writer.writerow([i, *(f"{row[n]:.10g}" for n in names)])


@functools.cache
def load_proxy_table(path: Path = TABLE_PATH) -> dict[str, dict[str, float]]:
    """Architecture string -> {proxy: score} for every cell of the table ({} if it is absent)."""
    if not path.exists():
        return {}
    from nas_core.spaces.nb201 import official_order

    order = official_order()
    with gzip.open(path, "rt", newline="") as fh:
        rows = list(csv.DictReader(fh))
    if len(rows) != len(order) or any(int(r["arch_index"]) != i for i, r in enumerate(rows)):
        raise ValueError(f"{path} does not list the {len(order)} NAS-Bench-201 cells in the official order")
    return {order[i]: {k: float(v) for k, v in r.items() if k != "arch_index"} for i, r in enumerate(rows)}
