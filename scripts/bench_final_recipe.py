"""The pipeline's final recipe, chosen by validation accuracy for time (issue 44, item 3).

README command 1 retrains the winner and three references, 3 seeds each, with one recipe (epochs x training
images; the NB201 protocol otherwise). This script trains a grid of recipes on cells of the kind the pipeline
retrains and measures, per recipe, the **validation** accuracy (a fixed 10,000 of the training images that no
recipe trains on, read once after the last epoch) and the wall seconds of one retraining, on one single-thread
process per core side by side: the pipeline's own condition. The test split is never read, and the seeds are
not the pipeline's (0, 1, 2 at its default ``--seed``).

The rule: predict the pipeline's wall time for each recipe (its searches and export, measured here by one run
of the pipeline with a one-epoch final, plus 4 networks x 3 seeds of the recipe's mean retraining seconds over
the processes) and take the most accurate recipe whose prediction fits ``--budget-s`` (600 s, the issue's
10 minutes). Every run is kept in ``--work`` (resumable); the result is
``benchmarks/results/bench_final_recipe.json`` and ``.png``.

    python scripts/bench_final_recipe.py                     # the grid, ~40 min on 2 cores
    python scripts/bench_final_recipe.py --tiny              # digits, a tiny grid: the same path in seconds
"""

from __future__ import annotations

import sys
from pathlib import Path

# run as `python scripts/NAME.py` from a checkout: its modules import each other as scripts.*
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import json
import statistics
import subprocess
import time
from typing import Any

from nas_core.training.trainer import LR_SCHEDULES
from predictor_nas.pipeline import ALL_CONV3X3

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
#: cells of the kind the pipeline retrains: the all-conv3x3 reference (its most expensive) and the winner of the
#: README quickstart run (benchmarks/results/pipeline_quickstart.json)
CELLS = {
    "all_conv3x3": ALL_CONV3X3,
    "quickstart_winner": "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|nor_conv_3x3~0|nor_conv_1x1~1|"
    "nor_conv_3x3~2|",
}
RETRAININGS = 4 * 3  # the pipeline's networks (winner + 3 references) x its retraining seeds


def recipe_name(epochs: int, images: int) -> str:
    return f"e{epochs}_i{images}"


def train_one(
    cell: str, epochs: int, images: int, valid_images: int, seed: int, dataset: str, run_dir: str, schedule: str
) -> dict[str, Any]:
    """One retraining of ``cell`` with the pipeline's recipe at ``epochs`` on ``images`` training images (a seeded
    subset) beside a fixed ``valid_images`` validation split: its validation accuracy and wall seconds (kept in
    ``run_dir/bench.json``; a finished run is read back)."""
    from nas_core.presets import NETWORKS
    from nas_core.training.retrain import retrain
    from predictor_nas.pipeline import FinalTraining

    done = Path(run_dir) / "bench.json"
    if done.exists():
        return json.loads(done.read_text())
    final = FinalTraining()
    start = time.perf_counter()
    # max_train's seeded permutation begins with the same valid_images for every images: one validation split
    result = retrain(
        cell,
        space="nb201",
        protocol="nb201",
        network=NETWORKS["quick"],
        dataset=dataset,
        run_dir=run_dir,
        valid_fraction=valid_images / (valid_images + images),
        max_train=valid_images + images,
        seed=seed,
        device="cpu",
        export=False,
        validate_each_epoch=False,
        test=False,
        epochs=epochs,
        batch_size=final.batch_size,
        lr=final.lr,
        lr_schedule=schedule,
    )
    row = {"valid_acc": result.valid_accuracy, "wall_s": time.perf_counter() - start}
    row["train_s"] = sum(h["seconds"] for h in result.history)
    done.write_text(json.dumps(row))
    return row


def search_seconds(dataset: str, work: Path, tiny: list[str]) -> dict[str, Any]:
    """The pipeline's seconds outside its retrainings: one run with a one-epoch, one-seed final and the random
    search as its one reference (both searches run; the other references only retrain); every phase but the
    retrainings (kept in ``work/search_phases.json``)."""
    done = work / "search_phases.json"  # (the searches do not depend on the final recipe)
    if done.exists():
        return json.loads(done.read_text())
    out = work / "pipeline_one_epoch"
    flags = ["--final-epochs", "1", "--final-seeds", "1", "--references", "random_search"]
    flags += ["--no-retrain-cache"]
    command = [sys.executable, "-m", "nas_cli", "pipeline", "--dataset", dataset, *tiny, *flags]
    start = time.perf_counter()
    subprocess.run([*command, "--out", str(out), "--quiet"], check=True, capture_output=True, text=True)
    phases = json.loads((out / "pipeline.json").read_text())["phase_seconds"]
    row = {"wall_s": time.perf_counter() - start, "phase_seconds": phases}
    row["outside_retraining_s"] = row["wall_s"] - sum(s for p, s in phases.items() if p.startswith("retrain"))
    done.write_text(json.dumps(row, indent=2))
    return row


def choose(recipes: list[dict[str, Any]], budget_s: float) -> dict[str, Any] | None:
    """The most accurate recipe (mean validation accuracy) whose predicted pipeline wall fits ``budget_s``."""
    fitting = [r for r in recipes if r["predicted_pipeline_s"] <= budget_s]
    return max(fitting, key=lambda r: r["valid_acc_mean"]) if fitting else None


def plot(recipes: list[dict[str, Any]], chosen: dict[str, Any] | None, budget_s: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4))
    for r in recipes:
        x, y = r["predicted_pipeline_s"] / 60, r["valid_acc_mean"]
        ax.errorbar(x, y, yerr=r["valid_acc_sd"], fmt="o", color="C3" if r is chosen else "C0", capsize=2)
        label = f"{r['epochs']} ep, {r['images'] // 1000}k"
        ax.annotate(label, (x, y), fontsize=7, xytext=(3, -9), textcoords="offset points")
    ax.axvline(budget_s / 60, color="red", ls="--", lw=1, label=f"budget {budget_s / 60:.0f} min")
    ax.set(
        xlabel="predicted nas pipeline wall (min, 2 cores)",
        ylabel="validation accuracy % (mean +- SD)",
        title="final recipe: accuracy for time" + (f" (chosen: {chosen['name']})" if chosen else ""),
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    from nas_core.training import spawned_process_pool, usable_cpu_cores
    from scripts.provenance import provenance

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--epochs", default="1,2,3,5", help="comma-separated epochs of the grid")
    parser.add_argument("--images", default="12500,25000,50000", help="comma-separated training images of the grid")
    parser.add_argument("--valid-images", type=int, default=10000)
    parser.add_argument("--seeds", default="100,101", help="not the pipeline's retraining seeds")
    parser.add_argument(
        "--lr-schedule", default="step", choices=LR_SCHEDULES, help="the cosine rate moves every batch or epoch"
    )
    parser.add_argument("--budget-s", type=float, default=600.0)
    parser.add_argument("--processes", type=int, default=None, help="default: one per usable core")
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench-final-recipe"))
    parser.add_argument("--out", type=Path, default=RESULTS / "bench_final_recipe.json")
    parser.add_argument("--tiny", action="store_true", help="digits, a 2x2 grid of tiny runs: the path in seconds")
    args = parser.parse_args()
    tiny: list[str] = []
    if args.tiny:
        args.dataset, args.epochs, args.images, args.valid_images = "digits", "1,2", "200,400", 300
        tiny = ["--max-train", "256", "--search-channels", "4", "--budget-epochs", "8"]
    epochs = [int(e) for e in args.epochs.split(",")]
    images = [int(i) for i in args.images.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    processes = args.processes or usable_cpu_cores()
    args.work.mkdir(parents=True, exist_ok=True)

    jobs = [(c, e, i, s) for s in seeds for c in CELLS for e in epochs for i in images]
    runs: dict[tuple[str, int, int, int], dict[str, Any]] = {}
    with spawned_process_pool(processes) as pool:
        futures = {
            job: pool.submit(
                train_one,
                CELLS[job[0]],
                job[1],
                job[2],
                args.valid_images,
                job[3],
                args.dataset,
                str(args.work / args.lr_schedule / job[0] / f"{recipe_name(job[1], job[2])}_s{job[3]}"),
                args.lr_schedule,
            )
            for job in jobs
        }
        for n, (job, future) in enumerate(futures.items(), 1):
            runs[job] = future.result()
            print(f"[{n}/{len(jobs)}] {job}: {runs[job]}", flush=True)
    outside = search_seconds(args.dataset, args.work, tiny)

    recipes = []
    for e in epochs:
        for i in images:
            rows = [runs[(c, e, i, s)] for c in CELLS for s in seeds]
            accs = [r["valid_acc"] for r in rows]
            wall = statistics.fmean(r["wall_s"] for r in rows)
            recipes.append({
                "name": recipe_name(e, i), "epochs": e, "images": i,
                "valid_acc_mean": statistics.fmean(accs), "valid_acc_sd": statistics.stdev(accs),
                "valid_acc": {f"{c}/s{s}": runs[(c, e, i, s)]["valid_acc"] for c in CELLS for s in seeds},
                "retrain_wall_s_mean": wall,
                "predicted_pipeline_s": outside["outside_retraining_s"] + RETRAININGS * wall / processes,
            })  # fmt: skip
    chosen = choose(recipes, args.budget_s)
    result = {
        "meta": provenance(seeds),
        "dataset": args.dataset,
        "cells": CELLS,
        "seeds": seeds,
        "valid_images": args.valid_images,
        "lr_schedule": args.lr_schedule,
        "processes": processes,
        "budget_s": args.budget_s,
        "outside_retraining": outside,
        "rule": "the most accurate recipe (mean validation accuracy over cells and seeds) whose predicted pipeline "
        f"wall (seconds outside the retrainings + {RETRAININGS} retrainings x mean wall / processes) fits the budget",
        "recipes": recipes,
        "chosen": chosen and chosen["name"],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    plot(recipes, chosen, args.budget_s, args.out.with_suffix(".png"))
    for r in recipes:
        print(
            f"{r['name']:>12}: valid {r['valid_acc_mean']:.2f} +- {r['valid_acc_sd']:.2f} %, "
            f"{r['retrain_wall_s_mean']:.0f} s a retraining, pipeline ~{r['predicted_pipeline_s'] / 60:.1f} min"
        )
    print(f"chosen: {result['chosen']} -> {args.out}")


if __name__ == "__main__":
    main()
