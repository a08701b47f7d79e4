"""Precompute the data-free zero-cost proxies of all 15,625 NAS-Bench-201 cells (the shipped table).

Tabular-benchmark users expect precomputed proxy scores (NAS-Bench-Suite-Zero ships them). This
script scores every cell with the data-free proxies -- synflow, params, flops and zen -- on the
network the tabular search scores (:func:`predictor_nas.proxy_table.TABULAR_SETTINGS`: C=16, N=5,
CIFAR input 3x32x32, 10 classes, seed 0) and writes
``predictor_nas/data/nb201_zero_cost_C16N5.csv.gz`` (one row per official NB201 index). Partial
results go to ``<out>.partial.jsonl`` as each chunk finishes, so an interrupted run continues where
it stopped.

    python scripts/make_proxy_table.py [--processes 2] [--proxies synflow params flops zen]

``tests/test_proxy_table.py`` checks a sample of rows against a fresh computation, and
``scripts/bench_proxies.py`` compares the table with NASLib's 725 scores.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from tqdm import tqdm

from predictor_nas.proxy_table import DATA_FREE_PROXIES, TABLE_PATH, write_table

N_CELLS = 15_625


def score_chunk(task: tuple[list[int], tuple[str, ...]]) -> dict[int, dict[str, float]]:
    import torch

    torch.set_num_threads(1)
    from nas_core.spaces import get_space
    from predictor_nas.proxies import compute_proxies
    from predictor_nas.proxy_table import TABULAR_SETTINGS

    indices, names = task
    space = get_space("nb201")
    archs = [space.from_index(i) for i in indices]
    return dict(zip(indices, compute_proxies(space, archs, names, **TABULAR_SETTINGS)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--proxies", nargs="+", default=list(DATA_FREE_PROXIES))
    parser.add_argument("--chunk", type=int, default=125)
    parser.add_argument("--out", type=Path, default=TABLE_PATH)
    args = parser.parse_args()

    names = tuple(args.proxies)
    partial = args.out.with_name(args.out.name + ".partial.jsonl")
    scores: dict[int, dict[str, float]] = {}
    if partial.exists():
        for line in partial.read_text().splitlines():
            row = json.loads(line)
            scores.setdefault(int(row["index"]), {}).update(row["scores"])
    todo = [i for i in range(N_CELLS) if not all(n in scores.get(i, {}) for n in names)]
    chunks = [(todo[i : i + args.chunk], names) for i in range(0, len(todo), args.chunk)]
    start = time.time()
    partial.parent.mkdir(parents=True, exist_ok=True)
    with (
        ProcessPoolExecutor(args.processes) as pool,
        partial.open("a") as fh,
        tqdm(total=N_CELLS, initial=N_CELLS - len(todo), unit="cell", desc="proxies") as bar,
    ):
        for result in pool.map(score_chunk, chunks):
            for index, values in result.items():
                scores.setdefault(index, {}).update(values)
                fh.write(json.dumps({"index": index, "scores": values}) + "\n")
            fh.flush()
            bar.update(len(result))
    write_table(args.out, [scores[i] for i in range(N_CELLS)])
    partial.unlink()
    print(f"wrote {args.out} ({N_CELLS} cells, {', '.join(names)}) in {time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
