"""Choose the tabular RANK-NOSH preset on validation, on seeds that are never reported.

For each candidate setting, RANK-NOSH runs on every dataset with tuning seeds (default 100-109;
``scripts/bench_search.py`` reports seeds 0-29) and is scored by the mean 200-epoch *validation*
accuracy of its incumbent at each budget. No test accuracy is read. The chosen setting is the one with
the highest mean score over every dataset and budget. Writes ``benchmarks/results/tune_search.json``
(per-run scores, per-setting summaries, the choice, and how it was made).

    python scripts/tune_search.py --setting '{}' --setting '{"k": 10}' --setting '{"ranker": {"steps": 200}}'
"""

from __future__ import annotations

import sys
from pathlib import Path

# run as `python scripts/NAME.py` from a checkout: its modules import each other as scripts.*
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import json
import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from tqdm import tqdm

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


def summarize_runs(runs: list[dict], settings: list[str], datasets: list[str], budgets: list[float]) -> dict:
    """Per setting, dataset and budget: the statistics of the incumbents' 200-epoch validation."""
    from predictor_nas.stats import summarize

    summary: dict = {}
    for s in settings:
        for d in datasets:
            for b in budgets:
                vals = [at_budget(r["val200_curve"], b) for r in runs if r["setting"] == s and r["dataset"] == d]
                summary.setdefault(s, {}).setdefault(d, {})[str(int(b))] = summarize(vals)
    return summary


def choose(summary: dict) -> tuple[str, dict[str, float]]:
    """The setting with the highest mean score over every dataset and budget (and every setting's score)."""
    scores = {s: float(np.mean([v["mean"] for d in per.values() for v in d.values()])) for s, per in summary.items()}
    return max(scores, key=scores.__getitem__), scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--setting", action="append", required=True, help="JSON of RankNoshConfig overrides")
    parser.add_argument("--seeds", type=seed_range, default=seed_range("100-109"))
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--budgets", type=float, nargs="+", default=[1000, 3000])
    parser.add_argument("--processes", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--out", type=Path, default=RESULTS / "tune_search.json")
    args = parser.parse_args()
    if any(s < 100 for s in args.seeds):
        parser.error("tuning seeds must be >= 100: seeds 0-99 are the reported ones")
    from scripts.bench_search import rank_nosh_config
    from scripts.provenance import provenance

    settings = [json.dumps(json.loads(s), sort_keys=True) for s in args.setting]
    tasks = [(s, d, seed, max(args.budgets)) for s in settings for d in args.datasets for seed in args.seeds]
    with ProcessPoolExecutor(args.processes) as pool:
        runs = list(tqdm(pool.map(tune_one, tasks), total=len(tasks), desc="tuning runs"))
    summary = summarize_runs(runs, settings, args.datasets, args.budgets)
    chosen, scores = choose(summary)
    out = {
        "meta": {
            **provenance(args.seeds),
            "score": "mean 200-epoch validation accuracy of the incumbent (no test data)",
            "rule": "the setting with the highest mean score over every dataset and budget",
            "base": str(rank_nosh_config("rank-nosh", 0, max(args.budgets))),
            "budgets": args.budgets,
        },
        "summary": summary,
        "scores": scores,
        "chosen": chosen,
        "runs": [
            {**r, "at_budget": {str(int(b)): at_budget(r["val200_curve"], b) for b in args.budgets}} for r in runs
        ],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1))
    for s in settings:
        print(f"{s}  (score {scores[s]:.3f})")
        for d in args.datasets:
            print(f"  {d:15s} " + "  ".join(f"{b}: {v['mean']:.3f}" for b, v in summary[s][d].items()))
    print(f"chosen: {chosen}\nwrote {args.out}")


if __name__ == "__main__":
    main()
