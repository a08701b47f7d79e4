"""Do the differentiable methods show their papers' signature behaviours? (issue: DARTS collapse, the cures,
selection.) One run = one method and seed: a search on the NB201 space with Fashion-MNIST (a fixed subset,
split half search-train / half search-valid as the papers split CIFAR), recording per epoch the argmax
cell's skip and parameter-free op counts, the mean edge entropy of α, DrNAS's concentration and, every
``--hessian-every`` epochs, the dominant eigenvalue of ∇²_α L_valid on a fixed validation batch. DARTS and
SDARTS are selected twice **on the same trained supernet**: by magnitude and by DARTS-PT. Each found cell's
NAS-Bench-201 200-epoch test accuracy is the transfer figure (the search saw Fashion-MNIST only).

    python scripts/bench_signatures.py --methods darts,sdarts-rs,r-darts,drnas,sp-darts --seeds 0,1,2
    python scripts/bench_signatures.py --merge          # the table, plots and JSON of every finished run
    python scripts/bench_signatures.py --tiny --out /tmp/sig   # a 2-epoch smoke run (the test suite's)

Reaching the papers' number of α updates (issue 40; ~19,500 in a 50-epoch CIFAR-10 search at batch 64):
``--rate`` measures each method's α updates per second on one α-active epoch and what ``--alpha-steps N``
then costs (``rate-SPACE-bBATCH.json``); ``--alpha-steps N --batch-size 16`` runs the epochs that reach N
(every epoch records the running count, ``arch_steps``, and the supernet's train/valid accuracy);
``--space s2|s3`` searches R-DARTS's reduced DARTS spaces; ``--retrain-epochs E`` retrains each found cell
by the pipeline's final recipe (its 25,000-image subset) and tests it once.

    python scripts/bench_signatures.py --rate --batch-size 16 --methods darts,drnas,gdas,pc-darts
    python scripts/bench_signatures.py --alpha-steps 19500 --batch-size 16 --methods darts --seeds 0,1,2 \
        --retrain-epochs 1 --out benchmarks/results/signatures_long
    python scripts/bench_signatures.py --merge --out benchmarks/results/signatures_long \
        --core benchmarks/results/signatures    # + each cure minus DARTS, each run minus its 30-epoch twin

Each run writes ``benchmarks/results/signatures/METHOD_sSEED.json`` (off NB201: ``SPACE-METHOD_sSEED.json``)
when it finishes and is skipped when that file exists, so the grid runs in chunks; an unfinished run
resumes from its checkpoint in ``work/``.
Settings within a CPU's reach: C=8, N=1 (the papers: C=16, N=5); ``--pad-to 32`` pads the images to CIFAR's
size (off by default: more pixels per epoch).
"""

from __future__ import annotations

import sys
from pathlib import Path

# run as `python scripts/NAME.py` from a checkout: its modules import each other as scripts.*
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import hashlib
import json
import math
import platform
import statistics
import time
from dataclasses import replace
from typing import Any

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
#: selected by magnitude and by DARTS-PT on the same supernet (paper 004's Table 2.x comparison)
PT_ON_SAME_SUPERNET = ("darts", "darts-2nd", "sdarts-rs", "sdarts-adv")
#: NAS-Bench-201 CIFAR-10 test accuracy of the found cell as the seed papers report it (SP-DARTS, Table I in
#: ../shared/papers/001_*; searched on CIFAR-10 there, Fashion-MNIST here -- a reference, not a target)
PAPER_CIFAR10 = {
    "darts": 54.30,
    "gdas": 93.51,
    "drnas": 93.74,
    "pc-darts": 93.41,
    "gaea": 84.64,
    "sp-darts": 94.01,
}


def search_settings(args: argparse.Namespace, method: str, seed: int) -> dict[str, Any]:
    from nas_core.vocabulary import NetworkSize
    from supernet.methods import get_method

    # a method whose own rule reads the eigenvalue more often keeps its rate (R-DARTS's early stop: every epoch)
    own = get_method(method).defaults.get("hessian_every")
    return dict(
        method=method,
        space=args.space,
        dataset=args.dataset,
        max_train=args.max_train,
        train_portion=0.5,
        pad_to=args.pad_to,
        epochs=epochs_for(args, method),
        **({"batch_size": args.batch_size} if args.batch_size else {}),
        network=NetworkSize(args.channels, args.cells_per_stage),
        hessian_every=min(args.hessian_every, own) if own else args.hessian_every,
        pt_tune_epochs=args.pt_tune_epochs,
        seed=seed,
        device=args.device,
        **({"data_root": args.data_root} if args.data_root else {}),
    )


def alpha_steps_per_epoch(args: argparse.Namespace, method: str) -> int:
    """α updates in one α-active epoch: one per batch (``--batch-size``, else the method's published one, else
    64) of the search-training half of ``--max-train`` images."""
    from supernet.methods import get_method

    batch = args.batch_size or get_method(method).defaults.get("batch_size", 64)
    return math.ceil(args.max_train * 0.5 / batch)


def epochs_for(args: argparse.Namespace, method: str) -> int:
    """``--epochs``, or with ``--alpha-steps N`` the epochs that reach N α updates (issue 40: the papers'
    ~19,500 of a 50-epoch CIFAR-10 search at batch 64); epochs whose α is frozen (warm-up) add to them."""
    if not args.alpha_steps:
        return args.epochs
    return math.ceil(args.alpha_steps / alpha_steps_per_epoch(args, method)) + frozen_epochs(method)


def frozen_epochs(method: str) -> int:
    """Epochs whose α the method's published settings freeze: its warm-up, or each stage's (DrNAS, P-DARTS:
    ``stage_warmup`` per stage). An estimate for sizing ``--alpha-steps`` runs; every run records the α
    updates it reached."""
    import inspect

    from supernet.methods import get_method

    cls = get_method(method)
    params = inspect.signature(cls.__init__).parameters
    if "stage_warmup" in params:
        stages = params["stages"].default if "stages" in params else None
        return int(params["stage_warmup"].default) * (len(stages) if stages else 1)
    return int(cls.defaults.get("warmup_epochs", 0))


def run_name(args: argparse.Namespace, method: str, seed: int) -> str:
    """``METHOD_sSEED`` on NB201, ``SPACE-METHOD_sSEED`` on R-DARTS's reduced DARTS spaces."""
    return f"{method}_s{seed}" if args.space == "nb201" else f"{args.space}-{method}_s{seed}"


def normal_skips(arch: Any) -> int:
    """skip_connect edges of the cell (NB201: its 6 edges) or of a DARTS genotype's normal cell (8 edges)."""
    if hasattr(arch, "ops"):
        return arch.ops.count("skip_connect")
    return sum(op == "skip_connect" for op, _ in arch.cell("normal"))


#: issue 40's collapse criterion on the selected cell: 4 of NB201's 6 edges skip, or half of a DARTS normal
#: cell's 8 edges -- 4 either way
COLLAPSE_SKIPS = 4


def concentration(alphas: dict[str, list[list[float]]]) -> float:
    """DrNAS: the mean over edges of Σ_ops β, β = ELU(α) + 1 (it grows as the Dirichlet sharpens)."""
    import torch
    import torch.nn.functional as F

    rows = [torch.tensor(r) for rows in alphas.values() for r in rows]
    return float(statistics.mean(float((F.elu(r) + 1).sum()) for r in rows))


def transfer(genotype: str) -> dict[str, float] | None:
    """The found cell's NAS-Bench-201 200-epoch test accuracy per dataset (None without the tables)."""
    from predictor_nas.evaluators import NB201TestReporter
    from predictor_nas.tables import DATASETS

    try:
        return {d: NB201TestReporter(d).report(genotype) for d in DATASETS}
    except (FileNotFoundError, ValueError):
        return None


def run_one(args: argparse.Namespace, method: str, seed: int) -> dict[str, Any]:
    from nas_core.vocabulary import NetworkSize
    from supernet.api import differentiable_search
    from supernet.engine.signatures import edge_entropy, magnitude_vs_strength, parameter_free_ops

    start = time.time()
    # the search checkpoints every epoch: a chunk killed mid-run resumes there (the JSON is written at the end)
    run = differentiable_search(**search_settings(args, method, seed), run_dir=args.out / "work" / f"{method}_s{seed}")
    space = run.search.space
    epochs = []
    for entry in run.result.history:
        arch = space.parse(entry["genotype"])
        epochs.append(
            {
                "epoch": entry["epoch"],
                "arch_steps": entry.get("arch_steps"),
                "train_acc": entry["train_acc"],
                "valid_acc": entry["valid_acc"],
                "seconds": entry["seconds"],
                "skips": entry["skip_connections"]["normal"],
                "parameter_free": parameter_free_ops(arch),
                "entropy": edge_entropy(entry["probabilities"]),
                "concentration": concentration(entry["alphas"]) if method == "drnas" else None,
                "eigenvalue": entry.get("hessian_eigenvalue"),
            }
        )
    selections = {"magnitude": run.genotype}
    strength = None
    if method in PT_ON_SAME_SUPERNET:
        probabilities = run.alpha_history[-1]
        run.search.config = replace(run.search.config, selection="pt")
        selections["pt"] = space.to_string(run.search.select())  # the same trained supernet, now by PT
        strength = magnitude_vs_strength(run.search.selection_log, probabilities, space.ops)
    nb201 = args.space == "nb201"
    return {
        "method": method,
        "space": args.space,
        "seed": seed,
        "settings": {
            **search_settings(args, method, seed),
            "network": NetworkSize(args.channels, args.cells_per_stage).to_dict(),
        },
        "epochs_run": run.result.epochs_run,  # < epochs: the method stopped early (R-DARTS, DARTS+)
        "epochs": epochs,
        "selections": {
            name: {
                "genotype": g,
                "skips": normal_skips(space.parse(g)),
                "collapsed": normal_skips(space.parse(g)) >= COLLAPSE_SKIPS,
                "parameter_free": parameter_free_ops(space.parse(g)),
                "transfer": transfer(g) if nb201 else None,
                "retrained": retrained(args, g, seed) if args.retrain_epochs else None,
            }
            for name, g in selections.items()
        },
        "magnitude_vs_strength": strength,
        "seconds": round(time.time() - start, 1),
        "machine": platform.node(),
    }


def retrained(args: argparse.Namespace, genotype: str, seed: int) -> dict[str, Any]:
    """The found cell retrained from scratch by the pipeline's final recipe
    (:class:`predictor_nas.pipeline.FinalTraining`: C=8 N=1, ``--retrain-epochs`` on its seeded 25,000-image
    subset of the training split, batch 128, lr 0.1 cosine-annealed every batch; NB201's protocol, DARTS's
    evaluation protocol on the reduced DARTS spaces), tested once."""
    from nas_core.training.retrain import retrain
    from predictor_nas.pipeline import FinalTraining

    final = FinalTraining(epochs=args.retrain_epochs)
    space = args.space
    key = f"{space}_{hashlib.sha1(genotype.encode()).hexdigest()[:12]}"  # one folder per genotype
    result = retrain(
        genotype,
        space=space,
        network=final.network,
        dataset=args.dataset,
        data_root=args.data_root,
        run_dir=args.out / "work" / "retrain" / f"{key}_s{seed}",
        valid_fraction=0.0,
        seed=seed,
        device=args.device,
        export=False,
        **final.train_options(),
    )
    return {
        "test_accuracy": result.test_accuracy,
        "epochs": final.epochs,
        "images": final.images,
        "lr_schedule": final.lr_schedule,
        "seconds": sum(h["seconds"] for h in result.history),
    }


def mean_std(values: list[float]) -> tuple[float | None, float | None]:
    """Mean and sample SD (``predictor_nas.stats``; the SD is None below two values)."""
    from predictor_nas.stats import summarize

    summary = summarize(values)
    return summary["mean"], summary["sd"]


def pt_vs_magnitude(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per method, DARTS-PT minus magnitude transfer on the same supernets: a two-sided paired test over
    that method's seeds (the pairs of one method; two methods are not pooled, their seeds share data)."""
    from predictor_nas.stats import paired

    out = {}
    runs = [r for r in runs if r.get("space", "nb201") == "nb201"]  # the NB201 tables give the transfer
    for method in sorted({r["method"] for r in runs}):
        both = [r for r in runs if r["method"] == method and {"pt", "magnitude"} <= set(r["selections"])]
        if both:
            pt, mag = (
                [(r["selections"][s]["transfer"] or {}).get("cifar10") for r in both] for s in ("pt", "magnitude")
            )
            out[method] = {"seeds": [r["seed"] for r in both], "pt": pt, "magnitude": mag, **paired(pt, mag)}
    return out


def first_eigenvalue(run: dict[str, Any]) -> float | None:
    return next((e["eigenvalue"] for e in run["epochs"] if e["eigenvalue"] is not None), None)


def agreement(runs: list[dict[str, Any]]) -> float | None:
    rows = [row for r in runs for row in r["magnitude_vs_strength"] or []]
    return sum(row["agree"] for row in rows) / len(rows) if rows else None


def last_eigenvalue(run: dict[str, Any]) -> float | None:
    return next((e["eigenvalue"] for e in reversed(run["epochs"]) if e["eigenvalue"] is not None), None)


def collapse_step(run: dict[str, Any]) -> int | None:
    """The α updates (else the epoch) at which the argmax cell first had ``COLLAPSE_SKIPS`` skip edges."""
    hit = next((e for e in run["epochs"] if e["skips"] >= COLLAPSE_SKIPS), None)
    return None if hit is None else hit.get("arch_steps") or hit["epoch"]


def eigenvalue_ratio(run: dict[str, Any]) -> float | None:
    """Last over first recorded dominant eigenvalue: > 1 when the curvature rose over the search."""
    first, last = first_eigenvalue(run), last_eigenvalue(run)
    return last / first if first and last is not None else None


def accuracy(chosen: dict[str, Any], measure: str) -> float | None:
    """A selected cell's ``transfer`` (NB201 CIFAR-10 test) or ``retrained`` (Fashion-MNIST test) accuracy."""
    if measure == "transfer":
        return (chosen["transfer"] or {}).get("cifar10")
    return (chosen.get("retrained") or {}).get("test_accuracy")


def cures_vs_darts(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per method and measure (transfer, retrained), the method's magnitude cell minus DARTS's on the same
    seed and space: a two-sided paired t-test over the seeds both ran (issue 40: did the cure help?)."""
    from predictor_nas.stats import paired

    darts = {(r["space"], r["seed"]): r for r in runs if r["method"] == "darts"}
    out: dict[str, Any] = {}
    for space, method in sorted({(r["space"], r["method"]) for r in runs if r["method"] != "darts"}):
        pairs = [
            (r, darts[space, r["seed"]])
            for r in runs
            if (r["space"], r["method"]) == (space, method) and (space, r["seed"]) in darts
        ]
        if not pairs:
            continue
        out[f"{space}:{method}"] = {
            "seeds": [a["seed"] for a, _ in pairs],
            **{
                measure: paired(
                    [accuracy(a["selections"]["magnitude"], measure) for a, _ in pairs],
                    [accuracy(b["selections"]["magnitude"], measure) for _, b in pairs],
                )
                for measure in ("transfer", "retrained")
            },
        }
    return out


def against_core(runs: list[dict[str, Any]], core: Path) -> dict[str, Any]:
    """Per method, this grid's magnitude cell minus the same method and seed in the ``core`` grid's folder
    (the 30-epoch searches): two-sided paired t-tests of the transfer accuracy and of the skip count, over the
    seeds both grids ran. Did the papers' α-step count change what DARTS finds?"""
    from predictor_nas.stats import paired

    short = {(r["space"], r["method"], r["seed"]): r for r in map(load_run, sorted(core.glob("*_s*.json")))}
    out: dict[str, Any] = {}
    for space, method in sorted({(r["space"], r["method"]) for r in runs}):
        pairs = [
            (r, short[space, method, r["seed"]])
            for r in runs
            if (r["space"], r["method"]) == (space, method) and (space, method, r["seed"]) in short
        ]
        if not pairs:
            continue
        long_cells, core_cells = ([p[i]["selections"]["magnitude"] for p in pairs] for i in (0, 1))
        out[f"{space}:{method}"] = {
            "seeds": [a["seed"] for a, _ in pairs],
            "alpha_steps": [a["epochs"][-1].get("arch_steps") for a, _ in pairs],
            "core_epochs": [b["epochs_run"] for _, b in pairs],
            "transfer": paired(
                [accuracy(c, "transfer") for c in long_cells], [accuracy(c, "transfer") for c in core_cells]
            ),
            "skips": paired([c["skips"] for c in long_cells], [c["skips"] for c in core_cells]),
        }
    return out


def load_run(path: Path) -> dict[str, Any]:
    """A run's JSON, its NB201 cells' transfer looked up where the run could not (a GPU machine)."""
    r = json.loads(path.read_text())
    r.setdefault("space", "nb201")
    for chosen in r["selections"].values():
        if r["space"] == "nb201":
            chosen["transfer"] = chosen["transfer"] or transfer(chosen["genotype"])
    return r


def merge(folder: Path, out: Path, core: Path | None = None) -> dict[str, Any]:
    """One table row per (method, selection) over the finished seeds, each cure against DARTS, and (``core``:
    a folder of shorter searches) each run against its shorter twin; the per-epoch plots."""
    runs = [load_run(p) for p in sorted(folder.glob("*_s*.json"))]
    table = []
    for space, method in sorted({(r["space"], r["method"]) for r in runs}):
        mine = [r for r in runs if (r["space"], r["method"]) == (space, method)]
        for selection in ("magnitude", "pt"):
            chosen = [r["selections"][selection] for r in mine if selection in r["selections"]]
            if not chosen:
                continue
            acc, std = mean_std([(c["transfer"] or {}).get("cifar10") for c in chosen])
            eig = [last_eigenvalue(r) for r in mine]
            retrained = [(c.get("retrained") or {}).get("test_accuracy") for c in chosen]
            table.append(
                {
                    "space": space,
                    "method": method,
                    "selection": selection,
                    "collapsed": sum(c["skips"] >= COLLAPSE_SKIPS for c in chosen),
                    "alpha_steps": [r["epochs"][-1].get("arch_steps") for r in mine],
                    # when the argmax cell first reached the collapse criterion (α steps; None: never)
                    "collapse_steps": [collapse_step(r) for r in mine],
                    "eigenvalue_ratio_mean": mean_std([eigenvalue_ratio(r) for r in mine])[0],
                    "retrained_mean": mean_std(retrained)[0] if None not in retrained else None,
                    "retrained_std": mean_std(retrained)[1] if None not in retrained else None,
                    "seeds": [r["seed"] for r in mine],
                    "cifar10_mean": acc,
                    "cifar10_std": std,
                    "skips_mean": statistics.mean(c["skips"] for c in chosen),
                    "parameter_free_mean": statistics.mean(c["parameter_free"] for c in chosen),
                    "final_eigenvalue_mean": mean_std(eig)[0],
                    "first_eigenvalue_mean": mean_std([first_eigenvalue(r) for r in mine])[0],
                    "final_entropy_mean": statistics.mean(r["epochs"][-1]["entropy"] for r in mine),
                    "final_concentration_mean": mean_std([r["epochs"][-1]["concentration"] for r in mine])[0],
                    # magnitude != strength: edges where the largest alpha is the op whose removal hurts most
                    "alpha_is_strongest_share": agreement(mine) if selection == "pt" else None,
                    "epochs_run": [r["epochs_run"] for r in mine],
                    "paper_cifar10": PAPER_CIFAR10.get(method),
                }
            )
    from scripts.provenance import provenance

    meta = {
        **provenance(sorted({r["seed"] for r in runs})),
        "runs_measured_on": sorted({r.get("machine", "vm") for r in runs}),
        "run_minutes": [min(r["seconds"] for r in runs) / 60, max(r["seconds"] for r in runs) / 60],
        "statistics": "mean, sample SD (ddof 1); pt_vs_magnitude, cures_vs_darts, against_core: two-sided paired "
        "t-tests over the seeds both sides ran",
    }
    summary = {
        "meta": meta,
        "runs": len(runs),
        "table": table,
        "pt_vs_magnitude": pt_vs_magnitude(runs),
        "cures_vs_darts": cures_vs_darts(runs),
        **({"against_core": against_core(runs, core)} if core else {}),
    }
    out.write_text(json.dumps(summary, indent=1))
    plot(runs, table, out.with_suffix(".png"))
    return summary


def plot(runs: list[dict[str, Any]], table: list[dict[str, Any]], path: Path) -> None:
    """Per epoch (every run, one colour per method; against α updates where every run counted them): skips,
    eigenvalue, entropy, DrNAS's concentration, the supernet's train (dashed) and valid accuracy; then per
    method and selection the transfer accuracy against the papers' NB201 CIFAR-10 figures and the retrained
    Fashion-MNIST accuracy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not runs:
        return
    counted = all(e.get("arch_steps") is not None for r in runs for e in r["epochs"])
    step, xlabel = ("arch_steps", "α updates") if counted else ("epoch", "epoch")
    fig, axes = plt.subplots(2, 4, figsize=(21, 8))
    axes = axes.ravel()
    colours: dict[str, Any] = {}
    for r in runs:
        label = r["method"] if r["method"] not in colours else None  # one legend entry per method
        colour = colours.setdefault(r["method"], f"C{len(colours)}")
        xs = [e[step] for e in r["epochs"]]
        axes[0].plot(xs, [e["skips"] for e in r["epochs"]], color=colour, alpha=0.7, label=label)
        eig = [(e[step], e["eigenvalue"]) for e in r["epochs"] if e["eigenvalue"] is not None]
        if eig:
            axes[1].plot(*zip(*eig), marker="o", ms=3, color=colour, alpha=0.7)
        axes[2].plot(xs, [e["entropy"] for e in r["epochs"]], color=colour, alpha=0.7)
        if r["epochs"][0]["concentration"] is not None:
            axes[3].plot(xs, [e["concentration"] for e in r["epochs"]], color=colour, alpha=0.7, label=r["method"])
        if "train_acc" in r["epochs"][0]:  # recorded since issue 40
            axes[4].plot(xs, [e["train_acc"] for e in r["epochs"]], color=colour, alpha=0.5, ls="--")
        axes[4].plot(xs, [e["valid_acc"] for e in r["epochs"]], color=colour, alpha=0.7)
    axes[0].set(title="skip_connect in the argmax cell", xlabel=xlabel)
    axes[0].axhline(COLLAPSE_SKIPS, color="grey", ls=":", lw=1)
    # symlog: SP-DARTS differentiates softmax(α/t), so its eigenvalue is 1/t² (~1e6) times the others'
    axes[1].set(title="dominant eigenvalue of ∇²_α L_valid (symlog)", xlabel=xlabel, yscale="symlog")
    axes[2].set(title="mean edge entropy of α (nats; log 5 dotted)", xlabel=xlabel)
    axes[2].axhline(math.log(5), color="grey", ls=":", lw=1)
    axes[3].set(title="DrNAS: mean Σ β per edge (concentration)", xlabel=xlabel)
    axes[4].set(title="supernet accuracy (%): train dashed, valid solid", xlabel=xlabel)
    axes[0].legend(fontsize=8)
    rows = [t for t in table if t["cifar10_mean"] is not None]
    xs = range(len(rows))
    axes[5].bar(xs, [t["cifar10_mean"] for t in rows], yerr=[t["cifar10_std"] or 0 for t in rows], alpha=0.8)
    papers = [
        (i, t["paper_cifar10"]) for i, t in enumerate(rows) if t["paper_cifar10"] and t["selection"] == "magnitude"
    ]
    if papers:
        axes[5].scatter(*zip(*papers), marker="_", s=400, color="k", label="seed paper (searched on CIFAR-10)")
        axes[5].legend(fontsize=8)
    axes[5].set_xticks(list(xs), [f"{t['method']}\n{t['selection']}" for t in rows], fontsize=7)
    axes[5].set(title="found cell: NB201 CIFAR-10 test (mean ± std over seeds)", ylim=(40, 96))
    shares = [t for t in table if t["alpha_is_strongest_share"] is not None]
    axes[6].bar(range(len(shares)), [100 * t["alpha_is_strongest_share"] for t in shares], color="C7")
    axes[6].set_xticks(range(len(shares)), [t["method"] for t in shares], fontsize=8)
    axes[6].set(title="edges where the largest α is the strongest op (%)", ylim=(0, 100))
    done = [t for t in table if t["retrained_mean"] is not None]
    if not done:
        axes[7].text(0.5, 0.5, "no cell retrained in this grid", ha="center", transform=axes[7].transAxes)
    axes[7].bar(
        range(len(done)), [t["retrained_mean"] for t in done], yerr=[t["retrained_std"] or 0 for t in done], color="C2"
    )
    axes[7].set_xticks(range(len(done)), [f"{t['method']}\n{t['selection']}" for t in done], fontsize=7)
    axes[7].set(title="found cell retrained: Fashion-MNIST test (mean ± std)")
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--methods", default="darts,sdarts-rs,r-darts,drnas,sp-darts")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--alpha-steps", type=int, default=None, help="run the epochs that reach this many α updates")
    p.add_argument("--batch-size", type=int, default=None, help="search batch (default 64; 16: 4x the α steps)")
    p.add_argument("--space", default="nb201", choices=("nb201", "s2", "s3"), help="R-DARTS's S2/S3: DARTS space")
    p.add_argument("--retrain-epochs", type=int, default=0, help="retrain each found cell (0: off)")
    p.add_argument("--rate", action="store_true", help="measure each method's α-step rate (one epoch) and exit")
    p.add_argument("--max-train", type=int, default=5000, help="Fashion-MNIST images, half for w, half for α")
    p.add_argument("--channels", type=int, default=8)
    p.add_argument("--cells-per-stage", type=int, default=1, help="N (the papers: 5)")
    p.add_argument("--processes", type=int, default=1, help="runs at once (a GPU fits many)")
    p.add_argument("--pad-to", type=int, default=None)
    p.add_argument("--hessian-every", type=int, default=5)
    p.add_argument("--pt-tune-epochs", type=int, default=1, help="DARTS-PT tuning between edges (paper: 5)")
    p.add_argument("--device", default="auto")
    p.add_argument("--dataset", default="fashion-mnist", help="cifar10 with --data-root: the papers' setting")
    p.add_argument("--data-root", default=None, help="the dataset's folder (Fashion-MNIST default: Debian's)")
    p.add_argument("--out", type=Path, default=RESULTS / "signatures")
    p.add_argument("--merge", action="store_true")
    p.add_argument("--core", type=Path, default=None, help="with --merge: pair each run with this grid's twin")
    p.add_argument("--tiny", action="store_true", help="2 epochs on 256 images: a smoke run")
    args = p.parse_args()
    if args.tiny:
        args.epochs, args.max_train, args.channels, args.hessian_every, args.pad_to = 2, 256, 4, 1, None
    args.out.mkdir(parents=True, exist_ok=True)
    if args.merge:
        default = args.out == RESULTS / "signatures" and not args.tiny  # else beside the runs it merges
        merged = RESULTS / "bench_signatures.json" if default else args.out / "merged.json"
        summary = merge(args.out, merged, args.core)
        print(json.dumps(summary["table"], indent=1))
        return
    if args.rate:
        measure_rates(args)
        return
    tasks = [
        (args, method, seed)
        for seed in (int(x) for x in args.seeds.split(","))  # seed-major: a cut-short grid has whole seeds
        for method in args.methods.split(",")
        if not (args.out / f"{run_name(args, method, seed)}.json").exists()  # finished in an earlier chunk
    ]
    if args.processes > 1:
        from nas_core.training import spawned_process_pool

        with spawned_process_pool(args.processes) as pool:  # GPU runs: many searches on one device
            for row in pool.map(run_and_write, tasks):
                report(row)
    else:
        for task in tasks:
            report(run_and_write(task))


def run_and_write(task: tuple[argparse.Namespace, str, int]) -> dict[str, Any]:
    args, method, seed = task
    row = run_one(args, method, seed)
    (args.out / f"{run_name(args, method, seed)}.json").write_text(json.dumps(row, indent=1))
    return row


def measure_rates(args: argparse.Namespace) -> None:
    """Issue 40, item 1: each method's α updates per second over one search epoch at these settings (a fresh
    supernet, nothing kept), and what a run reaching ``--alpha-steps`` (default 19,500) then costs."""
    import inspect
    import tempfile

    from supernet.api import differentiable_search
    from supernet.methods import get_method

    target = args.alpha_steps or 19_500
    rows = []
    for method in args.methods.split(","):
        one = argparse.Namespace(**{**vars(args), "alpha_steps": None, "epochs": 1, "hessian_every": 0})
        settings = search_settings(one, method, 0) | {"warmup_epochs": 0}  # an epoch that updates α
        if "stage_warmup" in inspect.signature(get_method(method).__init__).parameters:
            settings["method_options"] = {"stage_warmup": 0}  # DrNAS / P-DARTS: each stage's own warm-up
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            run = differentiable_search(**settings, run_dir=Path(tmp))
            wall = time.perf_counter() - start
        entry = run.result.history[-1]
        steps = entry["arch_steps"]
        rate = steps / entry["seconds"] if steps else None
        rows.append(
            {
                "method": method,
                "alpha_steps_per_epoch": steps,
                "epoch_seconds": entry["seconds"],
                "alpha_steps_per_s": rate,
                "epochs_for_target": math.ceil(target / steps) + frozen_epochs(method) if steps else None,
                "hours_for_target": (math.ceil(target / steps) + frozen_epochs(method)) * entry["seconds"] / 3600
                if steps
                else None,
                "wall_with_setup_s": wall,
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    from scripts.provenance import provenance

    settings = {k: getattr(args, k) for k in ("space", "batch_size", "max_train", "channels", "cells_per_stage")}
    report = {"meta": provenance([0]) | {"target_alpha_steps": target, "settings": settings}, "rates": rows}
    out = args.out / f"rate-{args.space}-b{args.batch_size or 64}.json"  # not a run: merge reads *_s*.json
    out.write_text(json.dumps(report, indent=1))
    print(f"wrote {out}")


def report(row: dict[str, Any]) -> None:
    sel = {k: (v["transfer"] or {}).get("cifar10") for k, v in row["selections"].items()}
    print(f"{row['method']} seed {row['seed']}: {row['seconds']:.0f} s, CIFAR-10 transfer {sel}", flush=True)


if __name__ == "__main__":
    main()
