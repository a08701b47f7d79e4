"""Differentiable methods on NAS-Bench-201 with Fashion-MNIST (inputs zero-padded to 32x32).

For each method (and selection rule) and seed: the genotype found, its published NAS-Bench-201
200-epoch CIFAR-10 test accuracy (a *transfer* check -- the search ran on Fashion-MNIST), search wall
time, peak memory (CUDA) and the skip-connection count per epoch (the DARTS collapse signal; the
all-skip cell scores 54.30 on CIFAR-10). CPU-sized by default (C=8, N=1, 2,000 images); ``--full``
uses the NB201 supernet (C=16, N=5, all images), for a GPU.

    python scripts/bench_diff.py [--methods darts darts-2nd ...] [--seeds 3] [--epochs 20] [--full]

``--cyclic`` runs the CDARTS/ICDARTS family instead, in the DARTS space (where its latency penalty
lives): CDARTS, ICDARTS, and ICDARTS with XDARTS cells and the expected-latency penalty at
δ ∈ {0, 0.01, 0.05, 0.1} (latency weights measured on this device). Each found genotype is retrained
briefly from scratch (``nas train``) on Fashion-MNIST; the JSON holds its test accuracy and measured
latency, the plot accuracy against latency (the dissertation's Table 4.7 view). Writes
``bench_diff_cyclic.json``/``.png``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from nas_core.presets import NETWORKS
from nas_core.spaces import get_space
from nas_core.vocabulary import NetworkSize
from predictor_nas.evaluators import NB201TestReporter
from supernet.engine.diff_search import DiffSearch, DiffSearchConfig
from supernet.methods import method_names

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
DEFAULT_RUNS = [
    "darts:magnitude",
    "darts:pt",
    "darts-2nd:magnitude",
    "sdarts-rs:magnitude",
    "sdarts-rs:pt",
    "sdarts-adv:magnitude",
    "drnas:magnitude",
    "sp-darts:magnitude",
    "r-darts:magnitude",
    "darts-plus:magnitude",
    "pc-darts:magnitude",
    "gdas:magnitude",
    "snas:magnitude",
    "fair-darts:magnitude",
    "gaea:magnitude",
    "sgas:magnitude",
    "p-darts:magnitude",
    "allegronas:magnitude",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", nargs="+", default=DEFAULT_RUNS, help="METHOD:SELECTION pairs")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--full", action="store_true", help="the full NB201 supernet and data (GPU)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--cyclic", action="store_true", help="the CDARTS/ICDARTS runs (module docstring)")
    parser.add_argument("--retrain-epochs", type=int, default=5, help="--cyclic: epochs of the brief retraining")
    parser.add_argument("--variants", nargs="+", default=None, help="--cyclic: a subset of the runs (default all)")
    parser.add_argument("--first-seed", type=int, default=0, help="--cyclic: seeds first-seed .. first-seed+seeds-1")
    parser.add_argument(
        "--merge", action="store_true", help="--cyclic: keep the JSON's other runs (re-run variants replace theirs)"
    )
    parser.add_argument("--max-train", type=int, default=2000, help="--cyclic: search images on the CPU")
    parser.add_argument(
        "--remeasure", action="store_true", help="--cyclic: only re-measure the latencies of the JSON's networks"
    )
    args = parser.parse_args()
    if args.cyclic:
        return cyclic(args)
    args.out = args.out or RESULTS / "bench_diff.json"

    transfer = NB201TestReporter("cifar10")  # reports the found cells; the searches see Fashion-MNIST only
    size = (
        dict(network=NETWORKS["nb201"], max_train=None, batch_size=64)
        if args.full
        else dict(network=NETWORKS["quick"], max_train=2000, batch_size=64)
    )
    rows = []
    for run in args.runs:
        method, _, selection = run.partition(":")
        if method not in method_names():
            raise SystemExit(f"unknown method {method!r}; known: {', '.join(method_names())}")
        for seed in range(args.seeds):
            options = {}
            if method == "drnas":  # the progressive schedule, scaled to the run's epochs
                half = max(args.epochs // 2, 1)
                options = {
                    "method_options": {
                        "stages": ((half, 2, 5), (args.epochs - half, 1, 3)),
                        "stage_warmup": max(half // 5, 1),
                    }
                }
            elif method == "sgas":  # warm-up, then all 6 NB201 edges decided before the end
                warmup = max(args.epochs // 5, 1)
                options = {"method_options": {"warmup": warmup, "decision_freq": max((args.epochs - warmup) // 6, 1)}}
            elif method == "pc-darts":  # the published 15 of 50 frozen epochs, scaled
                options = {"warmup_epochs": int(0.3 * args.epochs)}
            elif method == "p-darts":  # three stages in the run's epochs; CPU-sized depths 1 / 1 / 2
                third = max(args.epochs // 3, 1)
                depths = (1, 3, 5) if args.full else (1, 1, 2)
                stages = tuple(
                    (third if i < 2 else args.epochs - 2 * third, d, k, r)
                    for i, (d, k, r) in enumerate(zip(depths, (5, 4, 3), (0.1, 0.4, 0.7)))
                )
                options = {"method_options": {"stages": stages, "stage_warmup": max(third // 3, 1)}}
            elif method == "allegronas":  # regulariser + NECA on NB201 (no table for Allegro ops); H, E scaled
                options = {
                    "lr_period": max(args.epochs * 9 // 5, 1),
                    "method_options": {"chi_ramp": max(args.epochs // 2, 1)},
                }
            config = DiffSearchConfig.resolve(
                method=method,
                selection=selection or "magnitude",
                space="nb201",
                dataset="fashion-mnist",
                pad_to=32,
                epochs=args.epochs,
                seed=seed,
                device=args.device,
                pt_tune_epochs=1,
                pt_eval_batches=8,
                **size,
                **options,
            )
            start = time.time()
            result = DiffSearch(config).run()
            rows.append(
                {
                    "method": method,
                    "selection": config.selection,
                    "seed": seed,
                    "genotype": result.genotype,
                    "cifar10_test_200ep_transfer": transfer.report(result.genotype),
                    "seconds": time.time() - start,
                    "peak_memory_bytes": result.cost["peak_memory_bytes"],
                    "skips_per_epoch": [h["skip_connections"]["normal"] for h in result.history],
                    "valid_acc_per_epoch": [h["valid_acc"] for h in result.history],
                }
            )
            r = rows[-1]
            print(
                f"{run:22s} seed {seed}: {r['cifar10_test_200ep_transfer']:6.2f}  skips {r['skips_per_epoch']}  "
                f"{r['seconds']:.0f} s  {result.genotype}",
                flush=True,
            )
    summary = {}
    for run in args.runs:
        method, _, selection = run.partition(":")
        sel = [r for r in rows if r["method"] == method and r["selection"] == (selection or "magnitude")]
        accs = [r["cifar10_test_200ep_transfer"] for r in sel]
        summary[run] = {
            "cifar10_transfer_mean": float(np.mean(accs)),
            "cifar10_transfer_std": float(np.std(accs)),
            "final_skips_mean": float(np.mean([r["skips_per_epoch"][-1] for r in sel])),
            "seconds_mean": float(np.mean([r["seconds"] for r in sel])),
        }
    result = {
        "meta": {
            "machine": platform.node(),
            "epochs": args.epochs,
            "seeds": args.seeds,
            "full": args.full,
            "data": "fashion-mnist padded to 32x32; accuracy = NB201 CIFAR-10 200-epoch test "
            "(transfer check, not the searched dataset)",
            "size": {**size, "network": size["network"].to_dict()},
        },
        "summary": summary,
        "runs": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    plot(rows, args.runs, args.out.with_suffix(".png"))
    for run, s in summary.items():
        print(
            f"{run:22s} CIFAR-10 (transfer) {s['cifar10_transfer_mean']:.2f} ± {s['cifar10_transfer_std']:.2f}  "
            f"final skips {s['final_skips_mean']:.1f}  {s['seconds_mean']:.0f} s"
        )
    print(f"wrote {args.out}")


HIERARCHICAL_V2 = "icdarts-hier-v2"  # two rows: the micro phase's network and the macro phase's placement
CYCLIC_RUNS = {
    "cdarts": ("cdarts", {}),
    "icdarts": ("icdarts", {}),
    **{
        f"icdarts-xdarts-d{delta:g}": ("icdarts", {"cell": "xdarts", "latency_weight": delta})
        for delta in (0.0, 0.01, 0.05, 0.1)
    },
}


def cyclic(args: argparse.Namespace) -> None:
    """CDARTS / ICDARTS / latency-penalised ICDARTS: search, brief retrain, test accuracy and latency."""

    out = args.out or RESULTS / "bench_diff_cyclic.json"
    size = dict(C=16, layers=8, max_train=None) if args.full else dict(C=8, layers=5, max_train=args.max_train)
    if args.remeasure:
        data = json.loads(out.read_text())
        remeasure_latency(data["runs"], data["meta"]["size"], args.device)
        names = list(dict.fromkeys(r["run"] for r in data["runs"]))
        write_cyclic(data["runs"], names, args, data["meta"]["size"], out, meta=data["meta"])
        return
    names = args.variants or list(CYCLIC_RUNS)
    unknown = sorted(set(names) - set(CYCLIC_RUNS) - {HIERARCHICAL_V2})
    if unknown:
        raise SystemExit(f"unknown --variants {unknown}; known: {[*CYCLIC_RUNS, HIERARCHICAL_V2]}")
    rows = json.loads(out.read_text())["runs"] if args.merge and out.exists() else []
    run_names = [n for n in names if n != HIERARCHICAL_V2]
    if HIERARCHICAL_V2 in names:
        run_names += [f"{HIERARCHICAL_V2}:initial", f"{HIERARCHICAL_V2}:intermediate"]
    all_names = list(dict.fromkeys([*(r["run"] for r in rows), *run_names]))
    for name in names:
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            rows = [r for r in rows if not (r["run"].split(":")[0] == name and r["seed"] == seed)]
            new = (
                hierarchical_v2_rows(args, size, seed)
                if name == HIERARCHICAL_V2
                else [cyclic_row(name, args, size, seed)]
            )
            rows += new
            for r in new:
                print(
                    f"{r['run']:24s} seed {seed}: test {r['test_accuracy']:.2f}  {r['latency_ms_batch1']:.2f} ms  "
                    f"search {r['search_seconds']:.0f} s  {r['genotype']}",
                    flush=True,
                )
            summary = write_cyclic(rows, all_names, args, size, out)  # after every run: partial results survive
    remeasure_latency(rows, size, args.device)
    summary = write_cyclic(rows, all_names, args, size, out)
    for name, s in summary.items():
        print(f"{name:24s} test {s['test_accuracy_mean']:.2f}  latency {s['latency_ms_mean']:.2f} ms")
    print(f"wrote {out}")


def retrain(genotype: str, space: str, run_dir: Path, args: argparse.Namespace, size: dict, seed: int) -> dict:
    """A found architecture retrained for ``--retrain-epochs`` (darts-eval protocol; CPU: on 4,000 images)."""
    from nas_core.training.retrain import retrain as retrain_arch

    return retrain_arch(
        genotype,
        space=space,
        run_dir=run_dir,
        network=NetworkSize.parse({"C": size["C"], "layers": size["layers"]}),
        max_train=None if args.full else 4000,
        seed=seed,
        device=args.device,
        export=False,
        epochs=args.retrain_epochs,
    ).to_dict()


def cyclic_config(method: str, args: argparse.Namespace, size: dict, seed: int, options: dict) -> DiffSearchConfig:
    return DiffSearchConfig.resolve(
        method=method,
        dataset="fashion-mnist",
        epochs=args.epochs,
        warmup_epochs=min(2, args.epochs - 1),
        seed=seed,
        device=args.device,
        method_options=options,
        network=NetworkSize.parse({"C": size["C"], "layers": size["layers"]}),
        max_train=size["max_train"],
    )


def cyclic_row(name: str, args: argparse.Namespace, size: dict, seed: int) -> dict:
    method, options = CYCLIC_RUNS[name]
    if not args.full:  # CPU: E as large as S (the paper's E is 36/16 wider and 20/8 deeper)
        options = {**options, "eval_width": 1.0, "eval_depth": 1.0}
    config = cyclic_config(method, args, size, seed, options)
    start = time.time()
    result = DiffSearch(config).run()
    seconds = time.time() - start
    trained = retrain(
        result.genotype, config.space, RESULTS.parent / "runs" / f"cyclic_{name}_s{seed}", args, size, seed
    )
    return cyclic_result(name, seed, result.genotype, seconds, trained, result.history[-1].get("expected_latency"))


def cyclic_result(
    run: str, seed: int, genotype: str, seconds: float, trained: dict, expected_latency: float | None = None
) -> dict:
    """One row of ``bench_diff_cyclic.json``: the found architecture and its brief retraining."""
    return {
        "run": run,
        "seed": seed,
        "genotype": genotype,
        "search_seconds": seconds,
        "expected_latency": expected_latency,
        "test_accuracy": trained["test_accuracy"],
        "latency_ms_batch1": trained["latency_ms_batch1"],
        "params_millions": trained.get("params_millions"),
    }


def hierarchical_v2_rows(args: argparse.Namespace, size: dict, seed: int) -> list[dict]:
    """Hierarchical ICDARTS v2: the micro phase's network (four types alternating, Table 6.2's "initial")
    and the macro phase's placement ("intermediate"), each retrained the same way; ``--epochs`` each phase."""
    from supernet.cdarts.hierarchical_v2 import PlacementSearch, TypedCellSearch

    config = cyclic_config("icdarts", args, size, seed, {})
    start = time.time()
    micro = TypedCellSearch(config).run()
    middle = time.time()
    macro = PlacementSearch(micro.architecture, config).run()
    seconds = {"initial": middle - start, "intermediate": time.time() - start}
    rows = []
    for stage, arch in (("initial", micro.architecture), ("intermediate", macro.architecture)):
        run_dir = RESULTS.parent / "runs" / f"cyclic_{HIERARCHICAL_V2}_{stage}_s{seed}"
        trained = retrain(arch, config.space, run_dir, args, size, seed)
        rows.append(cyclic_result(f"{HIERARCHICAL_V2}:{stage}", seed, arch, seconds[stage], trained))
    return rows


def remeasure_latency(rows: list[dict], size: dict, device: str, rounds: int = 5) -> None:
    """All found networks timed together, round-robin, in this process (batch 1 and batch 64): the
    per-run figures were taken minutes apart, under whatever else the machine was doing."""
    import statistics

    import torch

    from nas_core.networks.placed import PlacedCells, placed_network
    from nas_core.training import resolve_device
    from nas_core.training.retrain import latency_ms

    dev = resolve_device(device)
    space = get_space("darts")
    shape = dict(num_classes=10, in_channels=1, C=size["C"], layers=size["layers"])
    nets = [
        (
            placed_network(PlacedCells.parse(r["genotype"]), **shape)
            if r["genotype"].startswith("{")
            else space.build_network(space.parse(r["genotype"]), **shape)
        )
        .to(dev)
        .eval()
        for r in rows
    ]
    times: list[list[float]] = [[] for _ in rows]
    batch: list[list[float]] = [[] for _ in rows]
    for _ in range(rounds):
        for i, net in enumerate(nets):
            times[i].append(latency_ms(net, (1, 28, 28), dev, runs=20))
            x = torch.randn(64, 1, 28, 28, device=dev)
            with torch.no_grad():
                net(x)
                start = time.perf_counter()
                net(x)
                batch[i].append(1000 * (time.perf_counter() - start))
    for r, t, b in zip(rows, times, batch):
        r["latency_ms_batch1"] = statistics.median(t)
        r["latency_ms_batch64"] = statistics.median(b)


def write_cyclic(
    rows: list[dict], names: list[str], args: argparse.Namespace, size: dict, out: Path, meta: dict | None = None
) -> dict:
    summary = {
        name: {
            "test_accuracy_mean": float(np.mean([r["test_accuracy"] for r in rows if r["run"] == name])),
            "latency_ms_mean": float(np.mean([r["latency_ms_batch1"] for r in rows if r["run"] == name])),
            "latency_ms_batch64_mean": float(
                np.mean([r.get("latency_ms_batch64", float("nan")) for r in rows if r["run"] == name])
            ),
            "test_accuracy_std": float(np.std([r["test_accuracy"] for r in rows if r["run"] == name])),
            "seeds": sum(r["run"] == name for r in rows),
        }
        for name in names
        if any(r["run"] == name for r in rows)
    }
    data = {
        "meta": meta
        or {
            "machine": platform.node(),
            "epochs": args.epochs,
            "retrain_epochs": args.retrain_epochs,
            "seeds": "per run: summary.<run>.seeds",
            "size": size,
            "data": "fashion-mnist: search on its training split, retrain and test on its test split",
            "latency": "all found networks timed together at the end, round-robin, median of 5 rounds",
        },
        "summary": summary,
        "runs": rows,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=1))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name in summary:
        sel = [r for r in rows if r["run"] == name]
        key = "latency_ms_batch64" if all("latency_ms_batch64" in r for r in rows) else "latency_ms_batch1"
        ax.scatter([r[key] for r in sel], [r["test_accuracy"] for r in sel], label=name)
    ax.set_xlabel(f"latency of the found network (ms, batch {64 if key.endswith('64') else 1})")
    ax.set_ylabel("test accuracy after brief retraining (%)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out.with_suffix(".png"), dpi=120)
    plt.close(fig)
    return summary


def plot(rows: list[dict], runs: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    for run in runs:
        method, _, selection = run.partition(":")
        sel = [r for r in rows if r["method"] == method and r["selection"] == (selection or "magnitude")]
        if not sel:
            continue
        axes[0].plot(np.mean([r["skips_per_epoch"] for r in sel], axis=0), label=run)
        axes[1].bar(
            run,
            np.mean([r["cifar10_test_200ep_transfer"] for r in sel]),
            yerr=np.std([r["cifar10_test_200ep_transfer"] for r in sel]),
        )
    axes[0].set(xlabel="search epoch", ylabel="skip connections in the derived cell (mean)")
    axes[0].legend(fontsize=7)
    axes[1].axhline(54.30, color="red", ls=":", lw=1, label="all-skip cell")
    axes[1].set(ylabel="NB201 CIFAR-10 accuracy of the found cell (transfer)")
    axes[1].tick_params(axis="x", rotation=60)
    axes[1].set_ylim(40, 95)
    axes[1].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
