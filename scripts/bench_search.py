"""Search strategies on the tabular NAS-Bench-201 benchmark (honest protocol), many seeds.

Every method runs once per (dataset, seed) up to the largest budget; its best-so-far curve gives the
reported accuracy at each smaller budget (a budget only stops the search, so the curve below it is
the curve of a run with that budget). Methods: RANK-NOSH, its ablations (no proxies, regression
loss, uniform successive halving), random search, REA, TPE and TPE + Hyperband (Optuna).

    python scripts/bench_search.py [--seeds 30] [--ablation-seeds 10] [--ablation-budget 3000] [--processes 2]

Finished runs are appended to ``<out>.runs.jsonl`` as they complete; running the command again skips
them (delete the file to start over).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
BASELINE_METHODS = ("random", "rea", "tpe", "tpe+hyperband")
RANK_NOSH_METHODS = ("rank-nosh", "no-proxies", "regression-loss", "uniform-sh")


def rank_nosh_config(method: str, seed: int, budget: float):
    from predictor_nas.ranker import RankerConfig
    from predictor_nas.search import RankNoshConfig
    from scripts.rank_nosh import PRESETS

    preset = {k: v for k, v in PRESETS["tabular"].items() if k != "budget_epochs"}
    config = RankNoshConfig(**preset, budget_epochs=budget, seed=seed, ranker=RankerConfig(steps=100))
    if method == "no-proxies":
        return replace(config, proxies=())
    if method == "regression-loss":
        return replace(config, ranker=RankerConfig(loss="mse", steps=100))
    if method == "uniform-sh":
        return replace(config, uniform_sh=True)
    return config


def run_one(task: tuple[str, str, int, float]) -> dict:
    import torch

    torch.set_num_threads(1)
    method, dataset, seed, budget = task
    from predictor_nas.baselines import BASELINES
    from predictor_nas.evaluators import TabularNB201Evaluator
    from supernet.spaces import get_space

    evaluator = TabularNB201Evaluator(dataset)
    start = time.time()
    if method in BASELINE_METHODS:
        result = BASELINES[method](evaluator, get_space("nb201"), budget, seed=seed)
        curve = result.curve
    else:
        from pools import Pool, PoolConfig
        from predictor_nas.backends import TabularBackend
        from predictor_nas.proxies import ProxyScorer
        from predictor_nas.search import RankNosh
        from scripts.rank_nosh import _cache_dir

        config = rank_nosh_config(method, seed, budget)
        with tempfile.TemporaryDirectory() as tmp:
            pool = Pool.create(f"sqlite:///{tmp}/pool.db", PoolConfig(space="nb201", dataset=f"nb201:{dataset}"))
            scorer = None
            if config.proxies:
                scorer = ProxyScorer(
                    pool.space,
                    config.proxies,
                    num_classes=10,
                    input_shape=(3, 32, 32),
                    network={"C": 16, "N": 5},
                    cache_path=str(_cache_dir() / "nb201_cifar_C16N5.json"),
                )
            curve = RankNosh(pool, config, TabularBackend(evaluator), scorer).run().curve
            pool.close()
    return {
        "method": method,
        "dataset": dataset,
        "seed": seed,
        "curve": [list(p) for p in curve],
        "seconds": time.time() - start,
    }


def at_budget(curve: list[list], budget: float) -> float | None:
    value = None
    for cost, acc in curve:
        if cost > budget:
            break
        value = acc
    return value


def reported(runs: list[dict], dataset: str, method: str, budget: float) -> list[float]:
    """The reported accuracy at ``budget`` of every run of ``method`` on ``dataset`` that reached it."""
    vals = (at_budget(r["curve"], budget) for r in runs if r["dataset"] == dataset and r["method"] == method)
    return [v for v in vals if v is not None]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--ablation-seeds", type=int, default=10)
    parser.add_argument("--ablation-budget", type=float, default=3000, help="largest budget of the ablations")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--budgets", type=float, nargs="+", default=[1000, 3000, 10000])
    parser.add_argument("--methods", nargs="+", default=list(RANK_NOSH_METHODS + BASELINE_METHODS))
    parser.add_argument("--processes", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--out", type=Path, default=RESULTS / "bench_search.json")
    args = parser.parse_args()

    top = max(args.budgets)
    ablations = RANK_NOSH_METHODS[1:]
    tasks = [
        (m, d, s, min(top, args.ablation_budget) if m in ablations else top)
        for d in args.datasets
        for m in args.methods
        for s in range(args.ablation_seeds if m in ablations else args.seeds)
    ]
    log_path = args.out.with_suffix(".runs.jsonl")
    runs = [json.loads(line) for line in log_path.read_text().splitlines()] if log_path.exists() else []
    done = {(r["method"], r["dataset"], r["seed"]) for r in runs}
    tasks = [t for t in tasks if t[:3] not in done]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(args.processes) as pool, log_path.open("a") as log_file:
        for i, run in enumerate(pool.map(run_one, tasks), 1):
            runs.append(run)
            log_file.write(json.dumps(run) + "\n")
            log_file.flush()
            print(
                f"[{i}/{len(tasks)}] {run['method']:16s} {run['dataset']:15s} seed {run['seed']:2d}: "
                + ", ".join(f"{int(b)}: {at_budget(run['curve'], b)}" for b in args.budgets)
                + f"  ({run['seconds']:.0f} s)",
                flush=True,
            )

    summary: dict = {}
    for d in args.datasets:
        for m in args.methods:
            for b in args.budgets:
                if m in ablations and b > args.ablation_budget:
                    continue
                vals = reported(runs, d, m, b)
                summary.setdefault(d, {}).setdefault(m, {})[str(int(b))] = {
                    "mean": float(np.mean(vals)),
                    "std": float(np.std(vals)),
                    "n": len(vals),
                }
    from predictor_nas.tables import load_table

    optimum = {d: load_table(d).optimum for d in args.datasets}
    significance = rank_nosh_vs_baselines(runs, args)
    result = {
        "meta": {
            "machine": platform.node(),
            "protocol": "observe 12-epoch validation / single-run 200-epoch "
            "accuracy; report 200-epoch seed-mean test accuracy; cost in epochs",
            # runs per (dataset, method): the log may hold runs of earlier invocations with other --seeds
            "seeds": {
                d: {m: sum(r["dataset"] == d and r["method"] == m for r in runs) for m in args.methods}
                for d in args.datasets
            },
            "ablation_seeds": args.ablation_seeds,
            "ablation_budget": args.ablation_budget,
            "optimum": optimum,
            "rank_nosh": str(rank_nosh_config("rank-nosh", 0, top)),
        },
        "summary": summary,
        # one-sided Welch t-test p-values of "RANK-NOSH's mean is higher" against each baseline
        "rank_nosh_vs_baselines": significance,
        # per run: the reported accuracy at each budget (full curves stay in the .runs.jsonl log)
        "runs": [
            {
                **{k: r[k] for k in ("method", "dataset", "seed", "seconds")},
                "at_budget": {str(int(b)): at_budget(r["curve"], b) for b in args.budgets},
            }
            for r in runs
        ],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result))
    plot(runs, args, optimum, args.out.with_suffix(".png"))
    for d in args.datasets:
        print(f"\n{d} (optimum {optimum[d]:.2f})")
        for m in args.methods:
            s = summary[d][m]
            print(f"  {m:16s} " + "  ".join(f"{b}: {s[b]['mean']:.2f} ± {s[b]['std']:.2f}" for b in s))
    print(f"wrote {args.out}")


def rank_nosh_vs_baselines(runs: list[dict], args: argparse.Namespace) -> dict:
    """Per dataset and budget: p-value of a one-sided Welch t-test that RANK-NOSH's mean reported
    accuracy exceeds each baseline's (independent seeds; None when both are constant)."""
    from scipy.stats import ttest_ind

    out: dict = {}
    for d in args.datasets:
        for b in args.budgets:
            ours = reported(runs, d, "rank-nosh", b)
            for m in BASELINE_METHODS:
                theirs = reported(runs, d, m, b)
                if len(ours) > 1 and len(theirs) > 1:
                    p = ttest_ind(ours, theirs, equal_var=False, alternative="greater").pvalue
                    out.setdefault(d, {}).setdefault(str(int(b)), {})[m] = None if np.isnan(p) else float(p)
    return out


def plot(runs: list[dict], args: argparse.Namespace, optimum: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = np.geomspace(300, max(args.budgets), 60)
    fig, axes = plt.subplots(1, len(args.datasets), figsize=(5 * len(args.datasets), 4), squeeze=False)
    for ax, d in zip(axes[0], args.datasets):
        for m in args.methods:
            curves = [
                [at_budget(r["curve"], b) if b <= max(c for c, _ in r["curve"]) * 1.05 else None for b in grid]
                for r in runs
                if r["dataset"] == d and r["method"] == m
            ]
            mean = [
                np.mean([c[i] for c in curves if c[i] is not None]) if any(c[i] is not None for c in curves) else np.nan
                for i in range(len(grid))
            ]
            ax.plot(grid, mean, label=m, lw=2 if m == "rank-nosh" else 1)
        ax.axhline(optimum[d], color="grey", ls=":", lw=1)
        ax.set(xscale="log", xlabel="training cost (epochs)", ylabel="mean reported test accuracy (%)", title=d)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
