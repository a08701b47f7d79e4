"""What NOSH and the ranking loss buy, on real learning curves (issue 26). Every candidate is an NB201 cell
really trained on Fashion-MNIST in a pool (each epoch a checkpoint, promotions resume), at the budgets
1 / 3 / 9 / 27 epochs of one 27-epoch schedule; every method gets the same total of training epochs:

- ``rank-nosh``: the full method (NOSH pyramid with resumes, GNN ranker on pairwise comparisons, synflow
  ranks the untrained level 0); ``no-proxies`` (level 0 ordered by the ranker alone);
  ``regression-loss`` (the ranker regresses the accuracy at the highest budget each candidate reached);
  ``uniform-sh`` (classic successive halving: a round promotes only from its own intake, and a promotion
  to e2 is charged e2 -- no resume; the observations equal resumed ones, the pool's schedule being fixed);
- the non-predictor baselines on the same pools: ``random`` and ``rea`` at the top budget (REA's population
  3: the NB201 paper's 10 would not fill in the 5 top-budget trainings, leaving a random search), and TPE with
  Optuna's ``hyperband`` and ``asha`` (SuccessiveHalvingPruner) pruners over the four budgets.

Sizing (CPU): C=4, N=1 cells on 3,000 images (2,400 train, 600 validation), 150 epochs per search.
Measured on the 2-core VM with ``--processes 2`` (all 40 runs of 5 seeds): a search takes 3-16 min, a
final retraining (C=8, 5 epochs on 60,000 images, the ``nas pipeline`` protocol chosen on validation)
5-18 min, and most searches of a seed find a cell of their own: 11.6 process-hours in all, ~75 min of
wall time a seed, ~6 h for the 5 -- more than the 2.5 h first estimated (one epoch was timed alone, not
beside a second process): run it in chunks.
NOSH's r and K are ``NoshConfig``'s (the paper's thesis text gives none; see predictor_nas/nosh.py).
Each search observes validation only; its final choice is then retrained once with the same protocol
for every method (``--final-*``, all 60,000 training images) and tested once. Per run
``benchmarks/results/nosh/METHOD_sSEED.json`` (written when it finishes, skipped when present: the grid
runs in chunks; an unfinished search resumes from its pool in ``work/``); ``--merge`` writes
``bench_nosh.json`` (table, Welch's t-tests of rank-nosh against each other method, also
Benjamini-Hochberg adjusted), ``bench_nosh.png``
(best-so-far validation against epochs) and the learning-curve dataset ``nosh_learning_curves.csv.gz``
(arch, epoch, train loss, train and validation accuracy, seed: every epoch every pool trained).

    python scripts/bench_nosh.py --seeds 0,1,2,3,4 --processes 2     # ~75 min a seed on 2 cores
    python scripts/bench_nosh.py --merge
    python scripts/bench_nosh.py --tiny --out /tmp/nosh               # a smoke run on digits
"""

from __future__ import annotations

import sys
from pathlib import Path

# run as `python scripts/NAME.py` from a checkout: its modules import each other as scripts.*
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import csv
import gzip
import json
import multiprocessing
import platform
import signal
import statistics
import time
from dataclasses import replace
from typing import Any

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
RANK_NOSH_VARIANTS = ("rank-nosh", "no-proxies", "regression-loss", "uniform-sh")  # study.ABLATIONS
BASELINES = ("random", "rea", "hyperband", "asha")
METHODS = RANK_NOSH_VARIANTS + BASELINES
FINAL_KEYS = ("dataset", "batch_size", "lr", "final_channels", "final_epochs")  # what the retraining depends on


def search_config(method: str, args: argparse.Namespace, seed: int) -> Any:
    """The RANK-NOSH settings of ``method`` (the ``quick`` preset at this benchmark's budgets)."""
    from predictor_nas.study import ablation, search_preset

    config = search_preset(
        "quick",
        budgets=tuple(args.budgets),
        budget_epochs=args.budget,
        seed=seed,
        level0_samples=args.level0_samples,
    )
    return ablation(config, method) if method in RANK_NOSH_VARIANTS else config  # baselines: the pool's config


def candidate_training(args: argparse.Namespace, method: str) -> Any:
    from nas_core.vocabulary import NetworkSize
    from predictor_nas.study import CandidateTraining

    return CandidateTraining(
        dataset=args.dataset,
        data_root=args.data_root,
        max_train=args.max_train,
        max_test=args.max_test,
        network=NetworkSize(args.channels, args.cells_per_stage),
        batch_size=args.batch_size,
        lr=args.lr,
        device=args.device,
        charge_resumed=method != "uniform-sh",
    )


def search(method: str, args: argparse.Namespace, seed: int, backend: Any = None) -> dict[str, Any]:
    """One search of ``method`` in its own pool (``args.out/work/METHOD_sSEED``); validation only.
    ``backend``: a stand-in trainer (the tests' fake one)."""
    from predictor_nas.backends import PoolObserver
    from predictor_nas.baselines import random_search, regularized_evolution, tpe_hyperband
    from predictor_nas.study import Study

    run_dir = args.out / "work" / f"{method}_s{seed}"
    config = search_config(method, args, seed)
    study = Study.create(config, training=candidate_training(args, method), run_dir=run_dir, backend=backend)
    start, resumed_from = time.time(), study.pool.total_epochs()  # > 0: an interrupted run resumed
    try:
        if method in RANK_NOSH_VARIANTS:
            result = study.optimize()
            found = {"arch": result.best_arch, "valid": result.observed, "epoch": result.observed_epoch}
            charged, curve, candidates = result.cost_epochs, result.curve, result.n_candidates
        else:
            evaluator = PoolObserver(study.pool, study.backend, lineage=method)
            space, top = study.pool.space, max(args.budgets)
            if method == "random":
                result = random_search(evaluator, space, args.budget, seed=seed, fidelity=top)
            elif method == "rea":
                result = regularized_evolution(
                    evaluator,
                    space,
                    args.budget,
                    seed=seed,
                    fidelity=top,
                    population=args.rea_population,
                    tournament=min(3, args.rea_population),
                )
            else:
                pruner = "sha" if method == "asha" else "hyperband"
                result = tpe_hyperband(
                    evaluator, space, args.budget, seed=seed, budgets=tuple(args.budgets), pruner=pruner
                )
            found = {"arch": result.best_arch, "valid": result.observed, "epoch": result.observed_epoch}
            charged, curve, candidates = result.cost_epochs, result.curve, result.n_evaluated
        return {
            "found": found,
            "epochs_charged": charged,
            "epochs_trained": study.pool.total_epochs(),
            "candidates": candidates,
            "curve": [list(p) for p in curve],
            "search_seconds": round(time.time() - start, 1),
            "resumed_from_epochs": resumed_from,
            "learning_curves": learning_curves(study.pool, seed),
        }
    finally:
        study.close()


def learning_curves(pool: Any, seed: int) -> list[dict[str, Any]]:
    """Every epoch the pool trained: (arch, epoch, train loss / accuracy, validation accuracy, seed)."""
    from pools.frames import curve_rows

    keep = ("arch", "epoch", "train_loss", "train_acc", "valid_acc")
    return [{**{k: r[k] for k in keep}, "seed": seed} for r in curve_rows(pool)]


def earlier_final(args: argparse.Namespace, arch: str, seed: int) -> dict[str, Any] | None:
    """The retraining of ``arch`` that a finished run of this seed and these settings already holds: an
    architecture found by several methods is trained once, also across chunks whose ``out/final`` is
    gone (a fresh checkout)."""
    protocol = {k: getattr(args, k) for k in FINAL_KEYS}
    for path in sorted(args.out.glob(f"*_s{seed}.json")):
        run = json.loads(path.read_text())
        same = run["seed"] == seed and run["found"]["arch"] == arch and run["final"]
        if same and {k: run["settings"].get(k) for k in FINAL_KEYS} == protocol:
            return {**run["final"], "reused_from": path.name}
    return None


def final_training(args: argparse.Namespace, arch: str, seed: int) -> dict[str, Any]:
    """The found cell retrained once on every training image, tested once: the same protocol for every
    method; an architecture found by several methods (same seed) is trained once (``out/final``, else
    :func:`earlier_final`), also when two runs at once find it (the second waits for the first's result)."""
    from filelock import FileLock

    from nas_core.spaces import get_space
    from nas_core.vocabulary import NetworkSize
    from predictor_nas.pipeline import FinalTraining, PipelineConfig, retrain_final

    earlier = earlier_final(args, arch, seed)
    if earlier is not None:
        return earlier
    space = get_space("nb201")
    name = f"s{seed}_{space.canonical_hash(space.parse(arch))[:12]}"
    # the published runs' protocol: every training image, the cosine rate moved once per epoch (before issue 44)
    final = FinalTraining(
        network=NetworkSize(args.final_channels, 1), epochs=args.final_epochs, seeds=1, images=None, lr_schedule="epoch"
    )
    training = replace(candidate_training(args, "rank-nosh"), max_train=None)
    config = PipelineConfig(training=training, final=final, seed=seed)
    (args.out / "final").mkdir(parents=True, exist_ok=True)
    with FileLock(args.out / "final" / f"{name}.lock"):  # then retrain_final returns the finished result
        row = retrain_final(name, arch, config, args.out, None, None, export=False, seed=seed)
    protocol = {k: v for k, v in vars(final).items() if k != "seeds"}  # one retraining a cell, as always
    protocol["network"] = final.network.to_dict()
    return {"test_acc": row["test_accuracy"], "train_seconds": row["train_seconds"], "protocol": protocol}


def run_one(args: argparse.Namespace, method: str, seed: int) -> dict[str, Any]:
    row = {"method": method, "seed": seed, "settings": settings(args), **search(method, args, seed)}
    row["final"] = final_training(args, row["found"]["arch"], seed) if row["found"]["arch"] else None
    row["machine"] = platform.node()
    return row


def settings(args: argparse.Namespace) -> dict[str, Any]:
    keys = ("budgets", "budget", "dataset", "max_train", "channels", "cells_per_stage", "batch_size", "lr")
    keys = (*keys, "level0_samples", "rea_population", "final_channels", "final_epochs")
    return {k: getattr(args, k) for k in keys}


def run_and_write(task: tuple[argparse.Namespace, str, int]) -> str:
    args, method, seed = task
    row = run_one(args, method, seed)
    (args.out / f"{method}_s{seed}.json").write_text(json.dumps(row, indent=1))
    final = row["final"]["test_acc"] if row["final"] else None
    return (
        f"{method} seed {seed}: valid {row['found']['valid']} at {row['found']['epoch']} epochs, "
        f"{row['epochs_charged']} epochs charged, test after retraining {final}, {row['search_seconds']:.0f} s"
    )


# -- merge ------------------------------------------------------------------------------------------------
def mean_or_none(values: Any) -> float | None:
    values = list(values)
    return statistics.mean(values) if values else None


def merge(folder: Path, results: Path) -> dict[str, Any]:
    """The table (``predictor_nas.stats``: sample SD, two-sided Welch against rank-nosh, Benjamini-Hochberg
    over the comparisons), the plot and the learning-curve dataset, from the per-run JSONs in ``folder``."""
    from predictor_nas.stats import benjamini_hochberg, summarize, welch
    from scripts.provenance import provenance

    runs = [json.loads(p.read_text()) for p in sorted(folder.glob("*_s*.json"))]
    test = {m: [r["final"]["test_acc"] for r in runs if r["method"] == m and r["final"]] for m in METHODS}
    table = []
    for method in METHODS:
        mine = [r for r in runs if r["method"] == method]
        if not mine:
            continue
        summary = summarize(test[method])
        table.append(
            {
                "method": method,
                "seeds": sorted(r["seed"] for r in mine),
                "test": summary,
                "test_mean": summary["mean"],
                "test_std": summary["sd"],
                "valid_mean": statistics.mean(r["found"]["valid"] for r in mine),
                "epochs_charged_mean": statistics.mean(r["epochs_charged"] for r in mine),
                "epochs_trained_mean": statistics.mean(r["epochs_trained"] for r in mine),
                # wall time of the searches that ran whole in one process (a resumed one did not)
                "search_minutes_mean": mean_or_none(
                    r["search_seconds"] / 60 for r in mine if not r.get("resumed_from_epochs") and r["search_seconds"]
                ),
                "candidates_mean": statistics.mean(r["candidates"] for r in mine),
                "vs_rank_nosh": None if method == "rank-nosh" else welch(test[method], test["rank-nosh"]),
            }
        )
    compared = [r for r in table if r["vs_rank_nosh"] is not None]
    for row, q in zip(compared, benjamini_hochberg([r["vs_rank_nosh"]["p"] for r in compared]), strict=True):
        row["vs_rank_nosh"]["p_bh"] = q
    seeds = sorted({r["seed"] for r in runs})
    meta = {
        **provenance(seeds),
        "runs_measured_on": sorted({r.get("machine", "vm") for r in runs}),
        "statistics": "mean, sample SD (ddof 1); vs_rank_nosh: two-sided Welch t-test of method minus rank-nosh "
        "over seeds, Benjamini-Hochberg adjusted over the comparisons (p_bh)",
    }
    summary = {"meta": meta, "runs": len(runs), "table": table}
    results.write_text(json.dumps(summary, indent=1))
    plot(runs, results.with_suffix(".png"))
    write_dataset(runs, results.parent / "nosh_learning_curves.csv.gz")
    return summary


def markdown_table(table: list[dict[str, Any]]) -> str:
    """The merged table as docs/benchmarks.md shows it."""
    from predictor_nas.stats import fmt_mean_sd

    def num(value: float | None, digits: int) -> str:
        return "—" if value is None else f"{value:.{digits}f}"

    lines = [
        "| method | seeds | retrained test (mean ± SD) | search validation | epochs charged | epochs trained "
        "| candidates | search min | Welch p vs rank-nosh | p, BH-adjusted |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in table:
        cells = [
            r["method"],
            str(len(r["seeds"])),
            fmt_mean_sd(r["test"]),
            num(r["valid_mean"], 2),
            num(r["epochs_charged_mean"], 0),
            num(r["epochs_trained_mean"], 0),
            num(r["candidates_mean"], 0),
            num(r["search_minutes_mean"], 1),
            num((r["vs_rank_nosh"] or {}).get("p"), 2),
            num((r["vs_rank_nosh"] or {}).get("p_bh"), 2),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_dataset(runs: list[dict[str, Any]], path: Path) -> int:
    """One row per (seed, arch, epoch): pools of one seed train an architecture alike, so duplicates
    across methods are one measurement (kept once)."""
    rows = {}
    for r in runs:
        for c in r["learning_curves"]:
            rows.setdefault((c["seed"], c["arch"], c["epoch"]), c)
    with gzip.open(path, "wt", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["seed", "arch", "epoch", "train_loss", "train_acc", "valid_acc"])
        writer.writeheader()
        writer.writerows(rows[k] for k in sorted(rows))
    return len(rows)


def best_so_far(curve: list[list[float]], grid: list[float]) -> list[float | None]:
    """The search's best validation so far at each epoch of ``grid`` (None before its first one)."""
    out, best, i = [], None, 0
    for x in grid:
        while i < len(curve) and curve[i][0] <= x:
            best = curve[i][1] if best is None else max(best, curve[i][1])
            i += 1
        out.append(best)
    return out


def plot(runs: list[dict[str, Any]], path: Path) -> None:
    """Left: best-so-far validation against epochs charged, mean over seeds (thin: each seed); right: the
    retrained test accuracy of each method's final choice, every seed and the mean."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not runs:
        return
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(13, 4.8), gridspec_kw={"width_ratios": [3, 2]})
    top = max(p[0] for r in runs for p in r["curve"]) if any(r["curve"] for r in runs) else 1
    grid = [top * i / 200 for i in range(201)]
    methods = [m for m in METHODS if any(r["method"] == m for r in runs)]
    for i, method in enumerate(methods):
        mine = [r for r in runs if r["method"] == method]
        curves = [best_so_far(r["curve"], grid) for r in mine]
        for c in curves:
            ax.plot(grid, c, color=f"C{i}", alpha=0.15, lw=0.8, drawstyle="steps-post")
        columns = [[c[j] for c in curves] for j in range(len(grid))]
        mean = [statistics.mean(v) if None not in v else None for v in columns]
        ax.plot(grid, mean, color=f"C{i}", lw=2, drawstyle="steps-post", label=f"{method} ({len(mine)} seeds)")
        tests = [r["final"]["test_acc"] for r in mine if r["final"]]
        bx.scatter([i] * len(tests), tests, color=f"C{i}", alpha=0.6, s=18)
        if tests:
            bx.scatter([i], [statistics.mean(tests)], color="k", marker="_", s=300)
    ax.set(xlabel="training epochs charged", ylabel="best validation accuracy so far (%, any budget)", ylim=(60, None))
    ax.set_title("best-so-far validation during the search (mean over seeds)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncol=2, loc="lower right")
    bx.set_xticks(range(len(methods)), methods, rotation=35, ha="right", fontsize=8)
    bx.set(ylabel="test accuracy after retraining (%)", title="final choice retrained once (— mean)")
    bx.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--seeds", default="0,1,2,3,4")
    p.add_argument("--budgets", type=int, nargs="+", default=[1, 3, 9, 27])
    p.add_argument("--budget", type=float, default=150, help="training epochs per search (every method)")
    p.add_argument("--dataset", default="fashion-mnist")
    p.add_argument("--data-root", default=None)
    p.add_argument("--max-train", type=int, default=3000, help="images per pool (80 %% train, 20 %% validation)")
    p.add_argument("--max-test", type=int, default=1000, help="the pools' test split (never read here)")
    p.add_argument("--channels", type=int, default=4, help="C of the searched networks")
    p.add_argument("--cells-per-stage", type=int, default=1, help="N of the searched networks")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--level0-samples", type=int, default=100)
    p.add_argument(
        "--rea-population",
        type=int,
        default=3,
        help="REA's population (the NB201 paper's 10 would not fill in the 5 top-budget trainings a search "
        "affords, leaving REA a random search; tournament: 3 of it, the paper's sample size)",
    )
    p.add_argument("--final-channels", type=int, default=8)
    p.add_argument("--final-epochs", type=int, default=5)
    p.add_argument("--device", default="auto")
    p.add_argument("--processes", type=int, default=1)
    p.add_argument("--out", type=Path, default=RESULTS / "nosh")
    p.add_argument("--merge", action="store_true")
    p.add_argument("--tiny", action="store_true", help="digits, budgets 1 2, 12 epochs: a smoke run")
    args = p.parse_args(argv)
    if args.tiny:
        args.dataset, args.budgets, args.budget, args.max_train, args.max_test = "digits", [1, 2], 12, 300, 100
        args.level0_samples, args.final_channels, args.final_epochs = 8, 4, 1
    unknown = sorted(set(args.methods.split(",")) - set(METHODS))
    if unknown:
        p.error(f"unknown methods {unknown}; known: {', '.join(METHODS)}")
    args.out.mkdir(parents=True, exist_ok=True)
    return args


def stop_with_children(signum: int, _frame: object) -> None:
    """SIGTERM to this process alone stops its runs too (they resume from their pools in ``work/``)."""
    for child in multiprocessing.active_children():
        child.terminate()
    raise SystemExit(128 + signum)


def main() -> None:
    args = parse_args()
    if args.merge:
        default = args.out == RESULTS / "nosh" and not args.tiny  # else beside the runs it merges
        out = RESULTS / "bench_nosh.json" if default else args.out / "merged.json"
        print(markdown_table(merge(args.out, out)["table"]))
        return
    tasks = [
        (args, method, seed)
        for seed in (int(s) for s in args.seeds.split(","))  # seed-major: a cut-short grid has whole seeds
        for method in args.methods.split(",")
        if not (args.out / f"{method}_s{seed}.json").exists()
    ]
    run_tasks(run_and_write, tasks, args.processes, lambda task: f"{task[1]} seed {task[2]}")


def run_tasks(fn: Any, tasks: list[Any], processes: int, name: Any) -> None:
    """``fn(task)`` for every task, in ``processes`` spawned processes when > 1, printing each result line;
    a failed run is reported (``name(task)`` FAILED ...) when it fails and the rest go on (grids run in chunks)."""
    if processes <= 1:
        for task in tasks:
            print(fn(task), flush=True)
        return
    from concurrent.futures import as_completed

    from nas_core.training import spawned_process_pool

    signal.signal(signal.SIGTERM, stop_with_children)
    with spawned_process_pool(processes) as pool:
        futures = {pool.submit(fn, task): task for task in tasks}
        for future in as_completed(futures):
            try:
                print(future.result(), flush=True)
            except Exception as exc:
                print(f"{name(futures[future])} FAILED: {type(exc).__name__}: {exc}", flush=True)


if __name__ == "__main__":
    main()
