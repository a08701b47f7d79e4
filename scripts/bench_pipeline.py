"""README command 1 (``nas pipeline``), timed phase by phase, as a user runs it (issue 44).

Each condition runs the command as a subprocess in a fresh run folder (imports and data loading
included) and records its wall and CPU seconds and ``pipeline.json``'s phase seconds:

- ``before``: the pipeline as it was before issue 44: the retrainings one after another in one process, no
  retraining cache, the former final recipe (5 epochs on every training image, the cosine rate moved once per
  epoch; ``--retrain-processes 1 --no-retrain-cache --final-epochs 5 --final-images all --final-lr-schedule
  epoch``; at ``--tiny`` the tiny recipe);
- ``cold``: today's defaults with every cache empty (a fresh ``$XDG_CACHE_HOME``: the decoded dataset, the
  proxy cache, the retraining cache);
- ``warm``: today's defaults again in a new run folder, with the caches ``cold`` filled.

Conditions run in this order in one job, so their ratio is measured on one machine. Each condition's
record is kept in ``--work/NAME.json``: a cut-short run continues with the conditions not done yet.
Beside the timings: the retrainings' reached FLOP rate (3x the forward FLOPs per image: forward and
backward, times images and epochs, over the training seconds) against the rate a large fp32 matmul
reaches on all cores here (the attainable peak).

    python scripts/bench_pipeline.py                      # Fashion-MNIST, the README's command
    python scripts/bench_pipeline.py --tiny               # digits, tiny sizes: the same path in seconds
"""

from __future__ import annotations

import sys
from pathlib import Path

# run as `python scripts/NAME.py` from a checkout: its modules import each other as scripts.*
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import json
import os
import resource
import shutil
import subprocess
import time
from typing import Any

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
CONDITIONS = {
    "before": ["--retrain-processes", "1", "--no-retrain-cache"],
    "cold": [],
    "warm": [],
}
TINY = ["--dataset", "digits", "--max-train", "256", "--search-channels", "4", "--budget-epochs", "8"]
TINY += ["--final-epochs", "1", "--final-channels", "4", "--final-seeds", "2"]


def matmul_gflops(size: int = 1024, seconds: float = 2.0) -> float:
    """fp32 GFLOP/s of ``size``-square matmuls on every core torch uses here: the attainable peak."""
    import torch

    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.mm(a, b)  # warm-up
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        torch.mm(a, b)
        n += 1
    return 2 * size**3 * n / (time.perf_counter() - start) / 1e9


def training_gflops(summary: dict[str, Any], images: int) -> dict[str, float]:
    """Per retrained network: GFLOP/s reached while training (3x forward FLOPs per image, times images
    and epochs, over the training seconds); cached rows are left out (they did not train here)."""
    epochs = summary["config"]["final"]["epochs"]
    return {
        name: 3 * row["flops_millions"] * 1e6 * images * epochs / row["train_seconds"] / 1e9
        for name, row in summary["final"].items()
        if not row.get("cached_seeds")
    }


#: the final recipe before issue 44 (``before`` runs it; the tiny runs keep their own)
FORMER_RECIPE = ["--final-epochs", "5", "--final-images", "all", "--final-lr-schedule", "epoch"]


def condition_flags(name: str, tiny: bool) -> list[str]:
    return CONDITIONS[name] + (FORMER_RECIPE if name == "before" and not tiny else [])


def run_condition(name: str, argv: list[str], work: Path, cache: Path, flags: list[str]) -> dict[str, Any]:
    out = work / f"run_{name}"
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "PYTHONUNBUFFERED": "1"}
    env.pop("NAS_RETRAIN_CACHE", None)  # the cache under XDG_CACHE_HOME, as a user's
    command = [sys.executable, "-m", "nas_cli", "pipeline", *argv, *flags, "--out", str(out), "--quiet"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        raise RuntimeError(f"{name}: `{' '.join(command)}` failed:\n{done.stderr[-3000:]}")
    summary = json.loads((out / "pipeline.json").read_text())
    return {
        "condition": name,
        "command": " ".join(["nas", *command[3 : command.index("--out")]]),
        "wall_s": wall,
        "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        "phase_seconds": summary["phase_seconds"],
        "cached_seeds": {n: row["cached_seeds"] for n, row in summary["final"].items()},
        "threads": {n: row.get("threads") for n, row in summary["final"].items()},
        "best_arch": summary["search"]["best_arch"],
        "test": {n: row["test"] for n, row in summary["final"].items()},
        "verdicts": {n: v["verdict"] for n, v in summary["verdicts"].items()},
        "train_gflops": training_gflops(summary, train_images(summary)),
        "printed": done.stdout[-2000:],
    }


def train_images(summary: dict[str, Any]) -> int:
    """The training images of each final retraining: the recipe's (``final.images``), else every training
    image of the dataset."""
    from nas_core.data.datasets import load_dataset

    training = summary["config"]["training"]
    every = len(load_dataset(training["dataset"], training["data_root"])[0])
    return min(every, summary["config"]["final"].get("images") or every)


def plot(results: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.2))
    phases = list(dict.fromkeys(p for r in results for p in r["phase_seconds"]))
    colors = {p: f"C{i % 10}" for i, p in enumerate(phases)}
    for i, r in enumerate(results):
        left = 0.0
        for phase, seconds in r["phase_seconds"].items():
            ax.barh(i, seconds / 60, left=left / 60, color=colors[phase], edgecolor="white", label=phase)
            left += seconds
        ax.text(r["wall_s"] / 60, i, f" {r['wall_s'] / 60:.1f} min wall", va="center")
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    ax.set_yticks(range(len(results)), [r["condition"] for r in results])
    ax.axvline(10, color="red", ls="--", lw=1)
    ax.set(xlabel="minutes", title="nas pipeline, phase by phase")
    ax.legend(unique.values(), unique.keys(), fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    from scripts.provenance import provenance

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conditions", default=",".join(CONDITIONS), help=f"comma-separated of {list(CONDITIONS)}")
    parser.add_argument("--work", type=Path, default=Path("runs/bench_pipeline"), help="run folders and records")
    parser.add_argument("--tiny", action="store_true", help="digits at tiny sizes (the test suite's)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", type=Path, default=RESULTS / "bench_pipeline.json")
    parser.add_argument(
        "--quickstart",
        type=Path,
        default=None,
        help="also keep the cold run (README command 1 with every cache empty) as this pipeline JSON, with its "
        "training plot beside it (default: benchmarks/results/pipeline_quickstart.json; none at --tiny)",
    )
    args, extra = parser.parse_known_args()
    if args.quickstart is None and not args.tiny:
        args.quickstart = RESULTS / "pipeline_quickstart.json"
    names = [c.strip() for c in args.conditions.split(",") if c.strip()]
    unknown = [c for c in names if c not in CONDITIONS]
    if unknown:
        parser.error(f"unknown conditions {unknown}; expected some of {list(CONDITIONS)}")
    argv = [*(TINY if args.tiny else ["--dataset", "fashion-mnist"]), "--device", args.device, *extra]
    args.work.mkdir(parents=True, exist_ok=True)
    results = []
    for name in names:
        record = args.work / f"{name}.json"
        if not record.exists():
            cache = args.work / ("cache_before" if name == "before" else "cache")
            shutil.rmtree(args.work / f"run_{name}", ignore_errors=True)  # a cut-short run starts again
            if name != "warm":  # before and cold start from empty caches
                shutil.rmtree(cache, ignore_errors=True)
            flags = condition_flags(name, args.tiny)
            print(f"{name}: nas pipeline {' '.join(argv + flags)}", flush=True)
            record.write_text(json.dumps(run_condition(name, argv, args.work, cache, flags), indent=2))
        results.append(json.loads(record.read_text()))
        print(f"{name}: {results[-1]['wall_s'] / 60:.1f} min wall", flush=True)
    meta = provenance(seeds=[0]) | {"attainable_gflops": matmul_gflops(), "argv": argv}
    report: dict[str, Any] = {"meta": meta, "results": results}
    by = {r["condition"]: r for r in results}
    if "before" in by:
        report["speedup_vs_before"] = {n: by["before"]["wall_s"] / r["wall_s"] for n, r in by.items() if n != "before"}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    plot(results, args.out.with_suffix(".png"))
    print(f"wrote {args.out} and {args.out.with_suffix('.png')}")
    if args.quickstart and "cold" in by:
        keep_quickstart(by["cold"], args.work / "run_cold", meta, args.quickstart)
        print(f"wrote {args.quickstart}")


def keep_quickstart(cold: dict[str, Any], run: Path, meta: dict[str, Any], path: Path) -> None:
    """The cold run's ``pipeline.json`` as the README's quickstart result, with how it was measured, and its
    training plot as ``NAME_training.png``."""
    summary = json.loads((run / "pipeline.json").read_text())
    machine = meta["machine"]
    summary["measured"] = {
        "command": "nas pipeline --dataset fashion-mnist --out runs/quickstart",
        "wall_seconds": cold["wall_s"],
        "cpu_seconds": cold["cpu_s"],
        "machine": f"{machine['cpu_model']} ({machine['cores']} cores, {machine.get('gpu') or 'no GPU'})",
        "date": meta["date"],
        "how": "the cold condition of scripts/bench_pipeline.py: every cache empty",
    }
    path.write_text(json.dumps(summary, indent=2))
    shutil.copyfile(run / "final_training.png", path.with_name(f"{path.stem}_training.png"))


if __name__ == "__main__":
    main()
