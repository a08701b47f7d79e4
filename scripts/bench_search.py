"""Search strategies on the tabular NAS-Bench-201 benchmark (honest protocol), many seeds.

Every method runs once per (dataset, seed) up to the largest budget; its best-so-far curve gives the
reported accuracy at each smaller budget (a budget only stops the search, so the curve below it is
the curve of a run with that budget). Methods: RANK-NOSH, its ablations (no proxies, regression
loss, uniform successive halving), random search, REA, TPE and TPE + Hyperband (Optuna).

    python scripts/bench_search.py [--seeds 30] [--other-seeds 15] [--ablation-seeds 10] [--processes 2]

Honest protocol (``shared/data/README.md``): every search observes validation only (12-epoch
mini-bench, 200-epoch NB201 v1_0); the 200-epoch test accuracy of v1_0 is read after it has returned.
A 200-epoch observation costs 200 epochs (``--discount-resume``: 188 after a 12-epoch one, labelled).
Finished runs are appended to ``<out>.runs.jsonl`` as they complete; running the command again skips
them (delete the file to start over). ``scripts/tune_search.py`` chooses presets on validation of
seeds that are not reported here.
"""

from __future__ import annotations

import sys
from pathlib import Path

# run as `python scripts/NAME.py` from a checkout: its modules import each other as scripts.*
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import json
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace

import numpy as np

from predictor_nas.stats import fmt_mean_sd, paired, summarize, welch
from scripts.provenance import provenance

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
BASELINE_METHODS = ("random", "rea", "tpe", "tpe+hyperband")
RANK_NOSH_METHODS = ("rank-nosh", "no-proxies", "regression-loss", "uniform-sh")


def rank_nosh_config(method: str, seed: int, budget: float):
    from predictor_nas.ranker import RankerConfig
    from predictor_nas.study import ablation, search_preset

    return ablation(search_preset("tabular", budget_epochs=budget, seed=seed, ranker=RankerConfig(steps=100)), method)


def run_search(method: str, evaluator, budget: float, seed: int, overrides: dict | None = None):
    """One search on ``evaluator`` (validation only); returns its result before any test is read.
    ``overrides``: RANK-NOSH options replacing the preset's (for tuning)."""
    from pools import Pool, PoolConfig
    from predictor_nas.strategies import get_strategy
    from predictor_nas.study import Study

    config = rank_nosh_config("rank-nosh" if method in BASELINE_METHODS else method, seed, budget)
    strategy = get_strategy(method) if method in BASELINE_METHODS else None  # every strategy through one Study
    overrides = dict(overrides or {})
    if "ranker" in overrides:  # {"ranker": {"steps": 200}} replaces fields of the ranker's settings
        overrides["ranker"] = replace(config.ranker, **overrides["ranker"])
    config = replace(config, **overrides)
    with tempfile.TemporaryDirectory() as tmp:
        pool = Pool.create(f"sqlite:///{tmp}/pool.db", PoolConfig(space="nb201", dataset=f"nb201:{evaluator.dataset}"))
        with Study(pool, config, evaluator=evaluator, strategy=strategy) as study:
            return study.optimize()


def val200_curve(evaluator, result) -> list[list]:
    """(cost, 200-epoch *validation* of the incumbent) per trajectory point: what a preset may be tuned
    on (read after the search, charged nothing)."""
    return [[p[0], evaluator.observe(p[1], 200)] for p in result.trajectory]


def run_one(task: tuple) -> dict:
    """``(method, dataset, seed, budget[, discount_resume])``: one search, then its report (test once,
    after the search has returned) and the validation of the incumbent along the way."""
    import torch

    torch.set_num_threads(1)
    method, dataset, seed, budget, *rest = task
    from predictor_nas.evaluators import NB201TestReporter, TabularNB201Evaluator
    from predictor_nas.incumbent import report

    evaluator = TabularNB201Evaluator(dataset, discount_resume=bool(rest and rest[0]))
    start = time.time()
    result = run_search(method, evaluator, budget, seed)
    seconds = time.time() - start
    report(result, NB201TestReporter(dataset))

    def steps(curve: list) -> list[list]:
        """The best-so-far step function's corners (where the value changes) and its last point."""
        kept = [list(p) for i, p in enumerate(curve) if i == 0 or p[1] != curve[i - 1][1]]
        return [*kept, list(curve[-1])] if curve and kept[-1] != list(curve[-1]) else kept

    return {
        "method": method,
        "dataset": dataset,
        "seed": seed,
        "charging": result.charging,
        "curve": steps(result.test_curve),
        "valid_curve": steps(result.curve),
        "val200_curve": steps(val200_curve(evaluator, result)),
        "best_arch": result.best_arch,
        "seconds": seconds,
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


# Published NAS-Bench-201 anchors (Dong & Yang, ICLR 2020, Table 5, benchmark v1_0): mean +- std test
# accuracy over 500 runs of each search, which observed the 12-epoch validation accuracy within a
# simulated time budget of 12,000 s (recalled from the paper; no copy of it is available offline here).
PUBLISHED = {
    "budget": "12,000 s of simulated 12-epoch training (a time budget; the tables here carry no training "
    "times, so it is not converted to epochs)",
    "cifar10": {"REA": (93.92, 0.30), "RS": (93.70, 0.36), "REINFORCE": (93.85, 0.37), "BOHB": (93.61, 0.52)},
    "cifar100": {"REA": (71.84, 0.99), "RS": (71.04, 1.07), "REINFORCE": (71.71, 1.09), "BOHB": (70.85, 1.28)},
    "ImageNet16-120": {
        "REA": (45.54, 1.03),
        "RS": (44.57, 1.25),
        "REINFORCE": (45.24, 1.18),
        "BOHB": (44.42, 1.49),
    },
}


def seed_range(text: str) -> list[int]:
    """``30`` -> seeds 0..29; ``100-109`` -> seeds 100..109."""
    first, _, last = text.partition("-")
    return list(range(int(first), int(last) + 1)) if last else list(range(int(first)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=seed_range, default=seed_range("30"), help="N (0..N-1) or A-B")
    parser.add_argument("--other-seeds", type=seed_range, default=None, help="seeds for CIFAR-100/ImageNet16-120")
    parser.add_argument("--ablation-seeds", type=seed_range, default=seed_range("10"))
    parser.add_argument("--ablation-budget", type=float, default=3000, help="largest budget of the ablations")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--budgets", type=float, nargs="+", default=[1000, 3000, 10000])
    parser.add_argument("--methods", nargs="+", default=list(RANK_NOSH_METHODS + BASELINE_METHODS))
    parser.add_argument(
        "--discount-resume", action="store_true", help="charge a 12 -> 200 promotion 188 epochs (labelled)"
    )
    parser.add_argument("--processes", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--out", type=Path, default=RESULTS / "bench_search.json")
    args = parser.parse_args()

    top = max(args.budgets)
    ablations = RANK_NOSH_METHODS[1:]

    def seeds_of(method: str, dataset: str) -> list[int]:
        if method in ablations:
            return args.ablation_seeds
        return args.other_seeds if args.other_seeds is not None and dataset != "cifar10" else args.seeds

    tasks = [
        (m, d, s, min(top, args.ablation_budget) if m in ablations else top, args.discount_resume)
        for d in args.datasets
        for m in args.methods
        for s in seeds_of(m, d)
    ]
    log_path = args.out.with_suffix(".runs.jsonl")
    runs = [json.loads(line) for line in log_path.read_text().splitlines()] if log_path.exists() else []
    charging = "discounted" if args.discount_resume else "full"
    runs = [r for r in runs if r.get("charging") == charging]  # runs of another protocol never mix in
    done = {(r["method"], r["dataset"], r["seed"]) for r in runs}
    tasks = [t for t in tasks if t[:3] not in done]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(args.processes) as pool, log_path.open("a") as log_file:
        for i, run in enumerate(pool.map(run_one, tasks), 1):
            runs.append(run)
            log_file.write(json.dumps(run) + "\n")
            log_file.flush()
            print(
                f"[{i}/{len(tasks)}] {run['method']:16s} {run['dataset']:15s} seed {run['seed']:3d}: "
                + ", ".join(f"{int(b)}: {at_budget(run['curve'], b)}" for b in args.budgets)
                + f"  ({run['seconds']:.0f} s)",
                flush=True,
            )
    wanted = {(m, d, s) for d in args.datasets for m in args.methods for s in seeds_of(m, d)}
    runs = [r for r in runs if (r["method"], r["dataset"], r["seed"]) in wanted]

    summary: dict = {}
    for d in args.datasets:
        for m in args.methods:
            for b in args.budgets:
                if m in ablations and b > args.ablation_budget:
                    continue
                summary.setdefault(d, {}).setdefault(m, {})[str(int(b))] = summarize(reported(runs, d, m, b))
    from predictor_nas.evaluators import NB201TestReporter

    optimum = {d: NB201TestReporter(d).optimum for d in args.datasets}
    significance = rank_nosh_vs_baselines(runs, args)
    result = {
        "meta": {
            **provenance({d: {m: seeds_of(m, d) for m in args.methods} for d in args.datasets}),
            "statistics": "summary: mean, sample SD (ddof 1), t 95 % interval; rank_nosh_vs_baselines: two-sided "
            "Welch t-test of rank-nosh minus the baseline over seeds; ablations_paired: two-sided paired t-test "
            "(and Wilcoxon) of ablation minus rank-nosh on the seeds both ran",
            "protocol": "observe 12-epoch validation (mini-bench) and 200-epoch validation (NB201 v1_0); "
            "report the 200-epoch test accuracy of v1_0 once, after the search has returned; cost in epochs, "
            + (
                "a 12 -> 200 promotion charged 188 (DISCOUNTED: a simulation artefact)"
                if args.discount_resume
                else "every 200-epoch observation charged the full 200 epochs"
            ),
            "charging": charging,
            "incumbent": "best observed validation at the highest budget observed; a higher budget always "
            "wins; equal values: the architecture observed first",
            "seeds": {
                d: {m: sum(r["dataset"] == d and r["method"] == m for r in runs) for m in args.methods}
                for d in args.datasets
            },
            "seed_ids": {d: {m: seeds_of(m, d) for m in args.methods} for d in args.datasets},
            "ablation_budget": args.ablation_budget,
            "optimum_test": optimum,
            "rank_nosh": str(rank_nosh_config("rank-nosh", 0, top)),
        },
        "summary": summary,
        "published": PUBLISHED,
        "rank_nosh_vs_baselines": significance,
        "ablations_paired": ablations_paired(runs, args),
        "final_choices": final_choices(runs, args),
        # per run: the reported accuracy at each budget (full curves stay in the .runs.jsonl log)
        "runs": [
            {
                **{k: r[k] for k in ("method", "dataset", "seed", "seconds", "best_arch")},
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
            print(f"  {m:16s} " + "  ".join(f"{b}: {fmt_mean_sd(s[b])}" for b in s))
    print(f"wrote {args.out}")


def rank_nosh_vs_baselines(runs: list[dict], args: argparse.Namespace) -> dict:
    """Per dataset, budget and baseline: two-sided Welch t-test of rank-nosh minus the baseline over their
    (independent) seeds -- ``predictor_nas.stats.welch``'s dict (diff, 95 % interval, p, n)."""
    out: dict = {}
    for d in args.datasets:
        for b in args.budgets:
            ours = reported(runs, d, "rank-nosh", b)
            for m in BASELINE_METHODS:
                theirs = reported(runs, d, m, b)
                if ours and theirs:
                    out.setdefault(d, {}).setdefault(str(int(b)), {})[m] = welch(ours, theirs)
    return out


def ablations_paired(runs: list[dict], args: argparse.Namespace) -> dict:
    """Per dataset, budget and ablation: ablation minus rank-nosh on the seeds **both** ran (a paired
    two-sided test), so a delta never compares 10 seeds with 30."""
    out: dict = {}
    for d in args.datasets:
        full = {r["seed"]: r for r in runs if r["dataset"] == d and r["method"] == "rank-nosh"}
        for m in RANK_NOSH_METHODS[1:]:
            mine = {r["seed"]: r for r in runs if r["dataset"] == d and r["method"] == m}
            seeds = sorted(set(mine) & set(full))
            for b in args.budgets:
                if b > args.ablation_budget or not seeds:
                    continue
                a_vals = [at_budget(mine[s]["curve"], b) for s in seeds]
                f_vals = [at_budget(full[s]["curve"], b) for s in seeds]
                out.setdefault(d, {}).setdefault(m, {})[str(int(b))] = {"seeds": seeds, **paired(a_vals, f_vals)}
    return out


def final_choices(runs: list[dict], args: argparse.Namespace) -> dict:
    """Per dataset and method: how many seeds ended (at the largest budget) on the benchmark's 200-epoch
    validation argmax, and the cells the others ended on (read after the searches, from the same table)."""
    out: dict = {}
    for d in args.datasets:
        best = validation_argmax(d)
        out[d] = {"validation_argmax": best}
        for m in args.methods:
            mine = [r for r in runs if r["dataset"] == d and r["method"] == m]
            if mine:
                out[d][m] = {
                    "seeds": len(mine),
                    "on_validation_argmax": sum(r["best_arch"] == best["arch"] for r in mine),
                    "other": {str(r["seed"]): r["best_arch"] for r in mine if r["best_arch"] != best["arch"]},
                }
    return out


def validation_argmax(dataset: str) -> dict:
    """The cell with the highest 200-epoch validation accuracy in NB201 v1_0 for ``dataset``: its index,
    string, validation and test accuracy (the test read for the report only)."""
    from nas_core.spaces import get_space
    from predictor_nas.tables import load_test, load_validation

    space, val200 = get_space("nb201"), load_validation(dataset).val200
    i = int(np.argmax(val200))
    return {
        "index": i,
        "arch": space.to_string(space.from_index(i)),
        "valid": float(val200[i]),
        "test": float(load_test(dataset).test200[i]),
    }


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
