"""Does the hybrid earn its place? Differentiable searches as proposal generators and warm starts for
RANK-NOSH, against RANK-NOSH alone, at equal total cost, paired by seed (issue 38).

The setting is ``scripts/bench_nosh.py``'s: NB201 cells (C=4, N=1) really trained on Fashion-MNIST
(``--max-train`` images, 80 % train / 20 % validation, split by the run's seed), NOSH budgets 1/3/9/27 of one
27-epoch schedule, the ``quick`` RANK-NOSH preset (synflow); each search's final choice is retrained once from
scratch by one fixed recipe (C=8, 5 epochs, all 60,000 training images) and tested once. Arms, each at
total budgets ``--budgets`` (child epochs):

- ``A`` ``rank-nosh``: RANK-NOSH alone;
- ``B`` ``hybrid``: DrNAS and GDAS supernets (together ``--supernet-share`` of the budget) propose their
  selected cell and ``--samples`` draws each, warm-started from their supernet; every other candidate starts
  from the DrNAS supernet's weights;
- ``C`` ``proposals``: the same proposals, trained from scratch; ``D`` ``warm-starts``: no proposals, every
  candidate starts from the DrNAS supernet's weights (only DrNAS is charged);
- ``E`` ``drnas-alone`` / ``gdas-alone``: the method with the whole budget, its cell retrained;
- ``F`` ``random``: random search at the top budget (27 epochs a cell).

Cost: a supernet epoch is charged its cost in child epochs, measured side by side per seed and method
(:func:`predictor_nas.supernet_cost.measure_cost_ratio`: one supernet epoch against one epoch of three
random cells, same process); a method's supernet gets ``floor(share / ratio)`` epochs (at least 1). The 1:1
count is kept as a secondary column; wall seconds are recorded beside epochs (the supernets' and the pool's).
The supernets search the pool's training images only (same seed; its validation images reserved).
DrNAS runs without progressive learning (one stage, full channels: the authors' partial channels would
leave nothing to inherit); GDAS as published (Gumbel τ 10 -> 0.1).

Every run writes ``OUT/bBUDGET/ARM_sSEED.json`` when it finishes and is skipped when present; an unfinished
search resumes from its pool and its supernets from their checkpoints (``OUT/work``). Run from a worktree
pinned at a commit (spawned workers must not import half-edited code):

    git worktree add /work/bench-hybrid HEAD && cd /work/bench-hybrid
    PYTHONPATH=$PWD python scripts/bench_hybrid.py --seeds 0,1,2 --budgets 60 --processes 2   # the pilot
    PYTHONPATH=$PWD python scripts/bench_hybrid.py --merge       # bench_hybrid.json + bench_hybrid.png
    python scripts/bench_hybrid.py --tiny --out /tmp/hybrid       # a smoke run on digits (~2 min)

``--merge`` pairs every arm with ``A`` on the seeds both finished, per budget: mean ± sample SD, the paired
difference with its 95 % interval, paired t and Wilcoxon p, Holm-adjusted over the arms of a budget
(``predictor_nas.stats``), and the power the pilot's paired SD gives for a 0.3-point difference.
"""

from __future__ import annotations

import sys
from pathlib import Path

# run as `python scripts/NAME.py` from a checkout: its modules import each other as scripts.*
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import json
import math
import platform
import random
import statistics
import time
from typing import Any

from filelock import FileLock

from scripts import bench_nosh

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
ARMS = ("rank-nosh", "hybrid", "proposals", "warm-starts", "drnas-alone", "gdas-alone", "random")
LETTERS = dict(zip(ARMS, ("A", "B", "C", "D", "E", "E", "F")))
PROPOSERS = ("drnas", "gdas")
#: DrNAS without progressive learning: one stage on full channels, so children can inherit (see docstring)
METHOD_OPTIONS: dict[str, dict[str, Any]] = {"drnas": {"stages": None}, "gdas": {}}


# -- supernets ---------------------------------------------------------------------------------------------
def supernet_settings(args: argparse.Namespace, method: str, seed: int, epochs: int) -> dict[str, Any]:
    """The differentiable search of ``method`` on the pool's training images at the pool's network size."""
    training = bench_nosh.candidate_training(args, "rank-nosh")
    return {
        **training.supernet_settings("nb201", seed),
        "method": method,
        "method_options": METHOD_OPTIONS[method],
        "epochs": epochs,
        "batch_size": args.batch_size,
    }


def cost_ratio(args: argparse.Namespace, method: str, seed: int) -> dict[str, Any]:
    """Child epochs a supernet epoch of ``method`` costs on this seed's pool (measured once, then read back)."""
    path = args.out / "work" / f"cost_{method}_s{seed}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(path.with_suffix(".lock")):
        if path.exists():
            return json.loads(path.read_text())
        measured = _measure(args, method, seed, path.with_suffix(""))
        path.write_text(json.dumps(measured))
    return measured


def _measure(args: argparse.Namespace, method: str, seed: int, run_dir: Path) -> dict[str, Any]:
    from pools.runner import TrainingRunner
    from predictor_nas.study import Study
    from predictor_nas.supernet_cost import measure_cost_ratio
    from supernet.api import search_config

    study = Study.create(
        bench_nosh.search_config("rank-nosh", args, seed),
        training=bench_nosh.candidate_training(args, "rank-nosh"),
        run_dir=run_dir,
    )
    try:
        config = search_config(**supernet_settings(args, method, seed, 1))
        return measure_cost_ratio(config, TrainingRunner(study.pool, args.device), seed)
    finally:
        study.close()


def supernet(args: argparse.Namespace, method: str, seed: int, charge: float) -> tuple[Any, dict[str, Any]]:
    """The finished (or resumed) search of ``method`` given ``charge`` child epochs; its cost record."""
    from supernet.api import differentiable_search

    ratio = cost_ratio(args, method, seed)
    epochs = max(1, math.floor(charge / ratio["ratio"]))
    run_dir = args.out / "work" / f"supernet_{method}_e{epochs}_s{seed}"
    start = time.time()
    run_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(run_dir / "search.lock"):  # B and C share it: the second resumes the finished search
        run = differentiable_search(**supernet_settings(args, method, seed, epochs), run_dir=run_dir)
    record = {
        "method": method,
        "epochs": run.supernet_epochs,
        "charged_epochs": run.supernet_epochs * ratio["ratio"],
        "cost_ratio": ratio,
        "search_seconds": run.result.cost.get("search_seconds"),
        "seconds_this_process": round(time.time() - start, 1),
        "genotype": run.genotype,
    }
    return run, record


# -- arms --------------------------------------------------------------------------------------------------
def search_arm(arm: str, args: argparse.Namespace, seed: int) -> dict[str, Any]:
    """One of A-D: RANK-NOSH in its own pool with the arm's supernets."""
    from predictor_nas.study import Study

    supernets = []
    share = args.supernet_share * args.budget
    if arm in ("hybrid", "proposals"):
        supernets = [supernet(args, m, seed, share / len(PROPOSERS)) for m in PROPOSERS]
    elif arm == "warm-starts":
        supernets = [supernet(args, "drnas", seed, share / len(PROPOSERS))]
    run_dir = args.out / "work" / f"{arm}_s{seed}"
    study = Study.create(
        bench_nosh.search_config("rank-nosh", args, seed),
        training=bench_nosh.candidate_training(args, arm),
        run_dir=run_dir,
    )
    timeline: list[list[float]] = []
    start, resumed_from = time.time(), study.pool.total_epochs()
    try:
        for run, record in supernets:
            if arm == "warm-starts":
                study.charge_supernet(run, cost_ratio=record["cost_ratio"]["ratio"])
            else:
                warm = arm == "hybrid"
                study.propose(run, samples=args.samples, warm_start=warm, cost_ratio=record["cost_ratio"]["ratio"])
        if arm in ("hybrid", "warm-starts"):
            study.warm_start_all(supernets[0][0])  # DrNAS's weights for every candidate without its own
        result = study.optimize(on_progress=lambda spent, best: timeline.append([time.time() - start, spent, best]))
        return {
            "found": {"arch": result.best_arch, "valid": result.observed, "epoch": result.observed_epoch},
            "lineage": study.lineage_of(result.best_arch),
            "lineages": study.lineages(),
            "pool_epochs": result.cost_epochs,
            "epochs_trained": study.pool.total_epochs(),
            "supernets": [record for _, record in supernets],
            "candidates": result.n_candidates,
            "curve": [list(p) for p in result.curve],
            "timeline": timeline,
            "search_seconds": round(time.time() - start, 1),
            "resumed_from_epochs": resumed_from,
            "learning_curves": bench_nosh.learning_curves(study.pool, seed),
        }
    finally:
        study.close()


def alone_arm(arm: str, args: argparse.Namespace, seed: int) -> dict[str, Any]:
    """E: the differentiable method with the whole budget; its selected cell is the final choice."""
    method = arm.removesuffix("-alone")
    run, record = supernet(args, method, seed, args.budget)
    return {
        "found": {"arch": run.genotype, "valid": None, "epoch": None},
        "lineage": method,
        "pool_epochs": 0,
        "supernets": [record],
        "curve": [],
        "timeline": [],
        "search_seconds": record["search_seconds"],
    }


def random_arm(args: argparse.Namespace, seed: int) -> dict[str, Any]:
    """F: random search at the top budget on the same pool setup (``bench_nosh``'s baseline)."""
    from predictor_nas.backends import PoolObserver
    from predictor_nas.baselines import random_search
    from predictor_nas.study import Study

    study = Study.create(
        bench_nosh.search_config("random", args, seed),
        training=bench_nosh.candidate_training(args, "random"),
        run_dir=args.out / "work" / f"random_s{seed}",
    )
    timeline: list[list[float]] = []
    start = time.time()
    try:
        evaluator = PoolObserver(
            study.pool,
            study.backend,
            lineage="random",
            on_progress=lambda spent, best: timeline.append([time.time() - start, spent, best]),
        )
        result = random_search(evaluator, study.pool.space, args.budget, seed=seed, fidelity=max(args.budgets))
        return {
            "found": {"arch": result.best_arch, "valid": result.observed, "epoch": result.observed_epoch},
            "lineage": "random",
            "pool_epochs": result.cost_epochs,
            "epochs_trained": study.pool.total_epochs(),
            "supernets": [],
            "candidates": result.n_evaluated,
            "curve": [list(p) for p in result.curve],
            "timeline": timeline,
            "search_seconds": round(time.time() - start, 1),
            "learning_curves": bench_nosh.learning_curves(study.pool, seed),
        }
    finally:
        study.close()


def run_arm(arm: str, args: argparse.Namespace, seed: int) -> dict[str, Any]:
    if arm.endswith("-alone"):
        row = alone_arm(arm, args, seed)
    elif arm == "random":
        row = random_arm(args, seed)
    else:
        row = search_arm(arm, args, seed)
    charged = sum(s["charged_epochs"] for s in row["supernets"])
    supernet_epochs = sum(s["epochs"] for s in row["supernets"])
    row.update(
        arm=arm,
        letter=LETTERS[arm],
        seed=seed,
        budget=args.budget,
        supernet_epochs=supernet_epochs,
        supernet_charged_epochs=charged,
        total_epochs=row["pool_epochs"] + charged,
        total_epochs_1to1=row["pool_epochs"] + supernet_epochs,
        supernet_seconds=sum(s["search_seconds"] or 0 for s in row["supernets"]),
        settings={**bench_nosh.settings(args), "supernet_share": args.supernet_share, "samples": args.samples},
        machine=platform.node(),
    )
    row["final"] = bench_nosh.final_training(args, row["found"]["arch"], seed)
    return row


def budget_args(args: argparse.Namespace, budget: float) -> argparse.Namespace:
    """The namespace of one budget: its own folder ``OUT/bBUDGET`` (bench_nosh's functions read ``out``)."""
    return argparse.Namespace(**{**vars(args), "budget": budget, "out": args.root / f"b{budget:g}"})


def run_and_write(task: tuple[argparse.Namespace, str, int]) -> str:
    args, arm, seed = task
    row = run_arm(arm, args, seed)
    (args.out / f"{arm}_s{seed}.json").write_text(json.dumps(row, indent=1))
    return (
        f"b{args.budget:g} {arm} seed {seed}: {row['found']['arch']} ({row['lineage']}), "
        f"{row['total_epochs']:.0f} epochs charged ({row['total_epochs_1to1']:.0f} at 1:1), "
        f"test after retraining {row['final']['test_acc']:.2f}"
    )


# -- is a warm start worth its price? -----------------------------------------------------------------------
def warm_study(args: argparse.Namespace, seed: int) -> dict[str, Any]:
    """A DrNAS supernet (``--warm-supernet-epochs``); its selected cell, ``--warm-cells - 1`` of its samples and
    as many random cells, each trained ``--warm-epochs`` from scratch and from inherited weights with the same
    data order (one pool seed; only the initial weights differ). Per cell both curves; ``reached``: the first
    epoch the warm run matches the cold run's final accuracy (None: censored, never within the epochs)."""
    from nas_core.spaces import get_space
    from predictor_nas.study import Study
    from supernet.api import differentiable_search
    from supernet.engine.proposals import save_warm_start

    ratio = cost_ratio(args, "drnas", seed)
    settings = supernet_settings(args, "drnas", seed, args.warm_supernet_epochs)
    run = differentiable_search(**settings, run_dir=args.out / "work" / f"warm_supernet_s{seed}")
    space = get_space("nb201")
    rng = random.Random(f"warm:{seed}")
    proposals = [p.arch for p in run.proposals(samples=args.warm_cells, seed=seed)]
    seen, cells = set(), []
    for arch, kind in [*((a, "proposal") for a in proposals), *((space.sample(rng), "random") for _ in range(99))]:
        h = space.canonical_hash(arch)
        if h not in seen and sum(k == kind for _, k in cells) < args.warm_cells:
            seen.add(h)
            cells.append((space.to_string(arch), kind))
    curves: dict[str, dict[str, list[float]]] = {}
    for start in ("cold", "warm"):
        study = Study.create(
            bench_nosh.search_config("rank-nosh", args, seed),
            training=bench_nosh.candidate_training(args, "rank-nosh"),
            run_dir=args.out / "work" / f"warm_s{seed}" / start,
        )
        try:
            pool = study.pool
            for arch, kind in cells:
                info = {"kind": kind}
                if start == "warm":
                    info["init"] = save_warm_start(pool, run.supernet, space.parse(arch))
                pool.add_candidates([arch], lineage=kind, info=info)
            study.backend.train(pool, pool.candidates(), args.warm_epochs)
            metrics = pool.metrics()
            for c in pool.candidates():
                records = sorted(metrics[c.id], key=lambda r: r.epoch)
                curves.setdefault(c.arch, {})[start] = [r.valid_acc for r in records]
        finally:
            study.close()
    rows = []
    for arch, kind in cells:
        cold, warm = curves[arch]["cold"], curves[arch]["warm"]
        reached = next((e + 1 for e, acc in enumerate(warm) if acc >= cold[-1]), None)
        rows.append({"arch": arch, "kind": kind, "cold": cold, "warm": warm, "reached": reached})
    return {
        "seed": seed,
        "supernet_epochs": run.supernet_epochs,
        "cost_ratio": ratio,
        "price_child_epochs": run.supernet_epochs * ratio["ratio"],
        "epochs": args.warm_epochs,
        "cells": rows,
    }


def summarize_warm(studies: list[dict[str, Any]], budgets: tuple[int, ...] = (1, 3)) -> dict[str, Any]:
    """Epochs saved (censored cells counted as 0 saved and listed), against the price; and how well warm and
    cold accuracies at ``budgets`` rank the cells by their cold final accuracy (Kendall τ per seed, mean)."""
    from scipy.stats import kendalltau

    saved, censored, price = [], 0, []
    tau: dict[str, list[float]] = {f"{start}@{b}": [] for start in ("cold", "warm") for b in budgets}
    for study in studies:
        price.append(study["price_child_epochs"])
        final = [c["cold"][-1] for c in study["cells"]]
        for c in study["cells"]:
            if c["reached"] is None:
                censored += 1
                saved.append(0)
            else:
                saved.append(study["epochs"] - c["reached"])
        for start in ("cold", "warm"):
            for b in (b for b in budgets if b < study["epochs"]):
                t = kendalltau([c[start][b - 1] for c in study["cells"]], final).statistic
                if not math.isnan(t):
                    tau[f"{start}@{b}"].append(float(t))
    return {
        "seeds": [s["seed"] for s in studies],
        "cells": len(saved),
        "censored": censored,
        "epochs_saved_per_cell": statistics.mean(saved) if saved else None,
        "price_child_epochs": statistics.mean(price) if price else None,
        "kendall_tau_vs_cold_final": {k: statistics.mean(v) if v else None for k, v in tau.items()},
    }


# -- merge -------------------------------------------------------------------------------------------------
def paired_table(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One budget's table: per arm its summary and its paired comparison with ``rank-nosh`` (Holm over arms)."""
    from predictor_nas.stats import holm, paired, summarize

    test = {a: {r["seed"]: r["final"]["test_acc"] for r in runs if r["arm"] == a} for a in ARMS}
    rows, compared = [], []
    for arm in ARMS:
        mine = [r for r in runs if r["arm"] == arm]
        if not mine:
            continue
        wall = [run_seconds(r) for r in mine if whole(r)]  # a resumed run timed only its last part
        row = {
            "arm": arm,
            "letter": LETTERS[arm],
            "seeds": sorted(test[arm]),
            "test": summarize(list(test[arm].values())),
            "total_epochs": statistics.mean(r["total_epochs"] for r in mine),
            "total_epochs_1to1": statistics.mean(r["total_epochs_1to1"] for r in mine),
            "supernet_charged_epochs": statistics.mean(r["supernet_charged_epochs"] for r in mine),
            "wall_minutes": statistics.mean(wall) / 60 if wall else None,
            "wall_runs": len(wall),
            "winner_lineages": sorted(r["lineage"] or "?" for r in mine),
            "winner_epochs": [r["found"]["epoch"] for r in sorted(mine, key=lambda r: r["seed"])],
        }
        shared = sorted(set(test[arm]) & set(test["rank-nosh"]))
        if arm != "rank-nosh" and len(shared) >= 2:
            row["vs_rank_nosh"] = paired([test[arm][s] for s in shared], [test["rank-nosh"][s] for s in shared])
            compared.append(row)
        rows.append(row)
    for row, p in zip(compared, holm([r["vs_rank_nosh"]["p"] for r in compared]), strict=True):
        row["vs_rank_nosh"]["p_holm"] = p
    return {"table": rows, "power": power(compared)}


def power(compared: list[dict[str, Any]], effect: float = 0.3) -> dict[str, Any]:
    """Per arm, the seeds a paired t-test needs to resolve ``effect`` points against RANK-NOSH (two-sided,
    α 0.05, power 0.8) at the paired SD measured so far (statsmodels' TTestPower)."""
    from statsmodels.stats.power import TTestPower

    out: dict[str, Any] = {"effect_points": effect}
    for row in compared:
        sd = row["vs_rank_nosh"]["sd"]
        if sd:
            n = TTestPower().solve_power(effect_size=effect / sd, alpha=0.05, power=0.8, alternative="two-sided")
            # a tiny SD makes the solver fail below its domain: a paired test needs 2 seeds at least
            out[row["arm"]] = {"paired_sd": sd, "seeds_needed": max(2, math.ceil(n)) if math.isfinite(n) else 2}
    return out


def merge(root: Path, out: Path) -> dict[str, Any]:
    from scripts.provenance import provenance

    budgets = {}
    all_runs = []
    for folder in sorted(root.glob("b*"), key=lambda p: float(p.name[1:])):
        runs = [json.loads(p.read_text()) for p in sorted(folder.glob("*_s*.json"))]
        if runs:
            budgets[folder.name[1:]] = paired_table(runs)
            all_runs += runs
    # one measurement per (budget folder, seed, method), however many arms read it
    measured = {
        (r["budget"], r["seed"], s["method"]): s["cost_ratio"]["ratio"] for r in all_runs for s in r["supernets"]
    }
    by_method = {m: [v for (_, _, method), v in measured.items() if method == m] for m in PROPOSERS}
    meta = {
        **provenance(sorted({r["seed"] for r in all_runs})),
        "runs_measured_on": sorted({r.get("machine", "?") for r in all_runs}),
        "statistics": "mean, sample SD (ddof 1); vs_rank_nosh: paired over the seeds both arms finished -- "
        "paired t and Wilcoxon, 95 % interval of the mean difference, Holm-adjusted over the arms of a budget",
        "settings": all_runs[0]["settings"] if all_runs else None,
    }
    warm = [json.loads(p.read_text()) for p in sorted(root.glob("warm/warm_s*.json"))]
    summary = {
        "meta": meta,
        "warm_start": summarize_warm(warm) if warm else None,
        "runs": len(all_runs),
        "cost_ratio": {m: {"mean": statistics.mean(v), "n": len(v)} for m, v in by_method.items() if v},
        "cost_ratio_measurements": len(measured),
        "budgets": budgets,
        "lineage": lineage(all_runs),
    }
    out.write_text(json.dumps(summary, indent=1))
    plot(all_runs, out.with_suffix(".png"))
    return summary


def lineage(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Where each hybrid winner came from (random, mutation, a proposer), per budget and seed."""
    return [
        {"budget": r["budget"], "seed": r["seed"], "arch": r["found"]["arch"], "lineage": r["lineage"]}
        for r in runs
        if r["arm"] == "hybrid"
    ]


def whole(run: dict[str, Any]) -> bool:
    """The run's search ran in one process: its wall seconds and timeline cover all of it."""
    return not run.get("resumed_from_epochs")


def run_seconds(run: dict[str, Any]) -> float:
    return (run["search_seconds"] or 0) + run["supernet_seconds"]


def plot(runs: list[dict[str, Any]], path: Path) -> None:
    """Per budget: best-so-far validation against wall seconds (supernet time first), mean over the seeds
    whose runs ran whole (a resumed run's timeline starts where it resumed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    budgets = sorted({r["budget"] for r in runs})
    if not budgets:
        return
    fig, axes = plt.subplots(1, len(budgets), figsize=(6.5 * len(budgets), 4.6), squeeze=False)
    for ax, budget in zip(axes[0], budgets):
        mine = [r for r in runs if r["budget"] == budget and r["timeline"] and whole(r)]
        top = max(r["supernet_seconds"] + r["timeline"][-1][0] for r in mine) if mine else 1
        grid = [top * i / 200 for i in range(201)]
        for i, arm in enumerate(ARMS):
            curves = [
                bench_nosh.best_so_far([[r["supernet_seconds"] + t, v] for t, _, v in r["timeline"] if v], grid)
                for r in mine
                if r["arm"] == arm
            ]
            if not curves:
                continue
            mean = [statistics.mean(c[j] for c in curves) if all(c[j] for c in curves) else None for j in range(201)]
            ax.plot(grid, mean, color=f"C{i}", lw=2, drawstyle="steps-post", label=f"{LETTERS[arm]} {arm}")
        ax.set(xlabel="wall seconds (supernets, then the pool)", ylabel="best validation so far (%)")
        ax.set_title(f"total budget {budget:g} child epochs (mean over seeds)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# -- command line ------------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arms", default=",".join(ARMS))
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--budgets", dest="totals", default="60,150", help="total budgets in child epochs")
    p.add_argument("--supernet-share", type=float, default=1 / 3, help="of the budget, for B-D's supernets")
    p.add_argument("--samples", type=int, default=5, help="draws from each learned distribution (B, C)")
    p.add_argument("--processes", type=int, default=1)
    p.add_argument("--root", type=Path, default=RESULTS / "hybrid", help="per-run JSONs and work/")
    p.add_argument("--merge", action="store_true")
    p.add_argument("--warm-study", action="store_true", help="only the warm-start study (ROOT/warm/warm_sSEED.json)")
    p.add_argument("--warm-supernet-epochs", type=int, default=10)
    p.add_argument("--warm-cells", type=int, default=3, help="proposals, and as many random cells")
    p.add_argument("--warm-epochs", type=int, default=9)
    p.add_argument("--tiny", action="store_true", help="digits, tiny budgets: a smoke run")
    args, rest = p.parse_known_args(argv)
    if args.tiny:  # (a supernet's halves of digits hold fewer images than the children's batch of 128)
        rest = ["--tiny", "--batch-size", "32", *rest]
        args.totals = "16"
    nosh = bench_nosh.parse_args([*rest, "--out", str(args.root)])
    unknown = sorted(set(args.arms.split(",")) - set(ARMS))
    if unknown:
        p.error(f"unknown arms {unknown}; known: {', '.join(ARMS)}")
    merged = {**vars(nosh), **vars(args)}
    return argparse.Namespace(**merged)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.merge:
        default = args.root == RESULTS / "hybrid" and not args.tiny
        out = RESULTS / "bench_hybrid.json" if default else args.root / "merged.json"
        summary = merge(args.root, out)
        for budget, table in summary["budgets"].items():
            print(f"budget {budget}:", ", ".join(f"{r['arm']} {r['test']['mean']:.2f}" for r in table["table"]))
        return
    if args.warm_study:
        sub = argparse.Namespace(**{**vars(args), "out": args.root / "warm"})
        sub.out.mkdir(parents=True, exist_ok=True)
        for seed in (int(s) for s in args.seeds.split(",")):
            path = sub.out / f"warm_s{seed}.json"
            if not path.exists():
                path.write_text(json.dumps(warm_study(sub, seed), indent=1))
                print(f"warm study seed {seed}: {summarize_warm([json.loads(path.read_text())])}", flush=True)
        return
    tasks = []
    for total in (float(b) for b in args.totals.split(",")):
        sub = budget_args(args, total)
        sub.out.mkdir(parents=True, exist_ok=True)
        for seed in (int(s) for s in args.seeds.split(",")):
            tasks += [
                (sub, arm, seed) for arm in args.arms.split(",") if not (sub.out / f"{arm}_s{seed}.json").exists()
            ]
    bench_nosh.run_tasks(run_and_write, tasks, args.processes, lambda t: f"b{t[0].budget:g} {t[1]} seed {t[2]}")


if __name__ == "__main__":
    main()
