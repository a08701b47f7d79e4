"""Choose the tabular RANK-NOSH preset on validation, on seeds that are never reported.

For each candidate setting, RANK-NOSH runs on every dataset with tuning seeds (default 100-109;
``scripts/bench_search.py`` reports seeds 0-29) and is scored by the mean 200-epoch *validation*
accuracy of its incumbent at each budget. No test accuracy is read. Writes
``benchmarks/results/tune_search.json``.

    python scripts/tune_search.py --setting '{"level0_samples": 200}' --setting '{"level0_samples": 1000}'
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from scripts.bench_search import DATASETS, RESULTS, at_budget, seed_range


def tune_one(task: tuple[str, str, int, float]) -> dict:
    import torch

    torch.set_num_threads(1)
    setting, dataset, seed, budget = task
    from predictor_nas.evaluators import TabularNB201Evaluator
    from scripts.bench_search import run_search, val200_curve

    evaluator = TabularNB201Evaluator(dataset)
    result = run_search("rank-nosh", evaluator, budget, seed, json.loads(setting))
    return {"setting": setting, "dataset": dataset, "seed": seed, "val200_curve": val200_curve(evaluator, result)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--setting", action="append", required=True, help="JSON of RankNoshConfig overrides")
    parser.add_argument("--seeds", type=seed_range, default=seed_range("100-109"))
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--budgets", type=float, nargs="+", default=[1000, 3000, 10000])
    parser.add_argument("--processes", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--out", type=Path, default=RESULTS / "tune_search.json")
    args = parser.parse_args()
    if any(s < 100 for s in args.seeds):
        parser.error("tuning seeds must be >= 100: seeds 0-99 are the reported ones")
    settings = [json.dumps(json.loads(s), sort_keys=True) for s in args.setting]
    tasks = [(s, d, seed, max(args.budgets)) for s in settings for d in args.datasets for seed in args.seeds]
    with ProcessPoolExecutor(args.processes) as pool:
        runs = list(pool.map(tune_one, tasks))
    summary: dict = {}
    for s in settings:
        for d in args.datasets:
            for b in args.budgets:
                vals = [at_budget(r["val200_curve"], b) for r in runs if r["setting"] == s and r["dataset"] == d]
                vals = [v for v in vals if v is not None]
                summary.setdefault(s, {}).setdefault(d, {})[str(int(b))] = float(np.mean(vals))
    out = {
        "meta": {
            "machine": platform.node(),
            "score": "mean 200-epoch validation accuracy of the incumbent (no test data)",
            "seeds": args.seeds,
        },
        "summary": summary,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1))
    for s in settings:
        print(s)
        for d in args.datasets:
            print(f"  {d:15s} " + "  ".join(f"{b}: {v:.3f}" for b, v in summary[s][d].items()))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
