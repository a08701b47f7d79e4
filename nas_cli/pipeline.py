"""``nas pipeline``: the main job end to end -- RANK-NOSH search, the winner retrained on every training
image and compared with reference points retrained the same way, exported, reported.

    nas pipeline --dataset fashion-mnist --out runs/quickstart

The phases and what they write are :mod:`predictor_nas.pipeline`'s; this command shows one progress
bar per phase, prints the comparison table at the end and renders ``OUT/report.html`` (``nas report``).
Running the same command again after Ctrl-C continues the phase it was in. ``--launcher slurm|ray|local
--workers N`` trains the searches' candidates in scheduler jobs (their pools are SQLite files in OUT, so the
jobs must share OUT's file system from one node; docs/cluster.md).
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

from nas_cli.bars import PhaseBars
from nas_cli.launch_flags import add_launch_arguments, worker_fleet
from nas_cli.rundir import prepare_run_dir
from nas_cli.size_flags import add_size_arguments, size_from_args
from nas_core.training.retrain_cache import RetrainCache
from nas_core.training.trainer import LR_SCHEDULES
from predictor_nas.constraint import CostLimit
from predictor_nas.pipeline import (
    REFERENCES,
    FinalTraining,
    PipelineConfig,
    default_retrain_processes,
    run_pipeline,
)
from predictor_nas.plots import plot_curves, search_plots
from predictor_nas.study import CandidateTraining, search_preset


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", default="fashion-mnist")
    p.add_argument("--data-root", default=None)
    p.add_argument("--out", type=Path, default=Path("runs/pipeline"))
    g = p.add_argument_group("search (RANK-NOSH, the quick preset)")
    g.add_argument("--budget-epochs", type=float, default=None, help="training epochs the search may spend")
    g.add_argument("--max-train", type=int, default=None, help="training images of the search's candidates")
    add_size_arguments(g, "the search's candidates (default: quick, C=8 N=1)", prefix="search-")
    g = p.add_argument_group("final training (NB201 protocol, shortened)")
    g.add_argument("--final-epochs", type=int, default=None)
    g.add_argument(
        "--final-images",
        type=images_of,
        default=None,
        help="training images of each retraining, a seeded subset ('all': every training image; default: "
        "the recipe bench_final_recipe chose)",
    )
    g.add_argument(
        "--final-lr-schedule",
        choices=LR_SCHEDULES,
        default=None,
        help="the cosine rate moves after every batch (step, NAS-Bench-201's code; default) or once per epoch",
    )
    add_size_arguments(g, "the retrained networks (default: quick, C=8 N=1)", prefix="final-")
    g.add_argument(
        "--final-seeds",
        type=int,
        default=None,
        help="retraining seeds of every network (default 3): the winner beats, ties or loses to each reference "
        "by the 95 %% interval of the difference over them",
    )
    g.add_argument(
        "--references",
        default=",".join(REFERENCES),
        help=f"reference points retrained the same way (comma-separated of {', '.join(REFERENCES)}; 'none')",
    )
    p.add_argument(
        "--limit",
        type=limit_of,
        default=None,
        metavar="COST=VALUE",
        help="both searches keep to it: params (millions), flops (millions per image) or latency_ms, e.g. params=0.05",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument(
        "--retrain-processes",
        type=int,
        default=None,
        help="retrainings run at once, each a process with its share of the cores (default: one single-thread "
        "process per usable core on a CPU, 1 on a GPU)",
    )
    p.add_argument(
        "--no-retrain-cache",
        action="store_true",
        help="retrain every network even where an earlier run on this machine retrained it with every input "
        "equal (data, recipe, seed, device, code, library versions; cache: $NAS_RETRAIN_CACHE, default "
        "~/.cache/nas-suite/retrain)",
    )
    p.add_argument("--quiet", action="store_true")
    add_launch_arguments(p, "the searches' pool workers (the retrainings run here)", workers=True)


def images_of(text: str) -> int | str:
    """``--final-images``: a positive count or ``all``; anything else names what is expected."""
    if text.strip().lower() == "all":
        return "all"
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"--final-images {text!r}: expected a positive image count or 'all'")
    return value


def limit_of(text: str) -> CostLimit:
    """``params=0.05`` -> ``CostLimit("params", 0.05)``; anything else is an error naming what is expected."""
    name, sep, value = text.partition("=")
    try:
        return CostLimit(name.strip(), float(value)) if sep else CostLimit(text, 0)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--limit {text!r}: {exc} (expected COST=VALUE, e.g. params=0.05)") from None


def config_of(args: argparse.Namespace) -> PipelineConfig:
    search = {"budget_epochs": args.budget_epochs, "seed": args.seed}
    training = {"dataset": args.dataset, "data_root": args.data_root, "device": args.device}
    training.update(max_train=args.max_train, network=size_from_args(args, CandidateTraining.network, prefix="search-"))
    final = {
        "epochs": args.final_epochs,
        "network": size_from_args(args, FinalTraining.network, prefix="final-"),
        "seeds": args.final_seeds,
        "lr_schedule": args.final_lr_schedule,
    }
    final = {k: v for k, v in final.items() if v is not None}
    if args.final_images is not None:  # 'all' is None: every training image
        final["images"] = None if args.final_images == "all" else args.final_images
    refs = () if args.references.strip().lower() == "none" else tuple(r.strip() for r in args.references.split(","))
    return PipelineConfig(
        search=search_preset("quick", **{k: v for k, v in search.items() if v is not None}),
        training=CandidateTraining(**{k: v for k, v in training.items() if v is not None}),
        final=FinalTraining(**final),
        references=refs,
        seed=args.seed,
    )


def summary_table(summary: dict[str, Any]) -> str:
    """The comparison as a plain-text table (the terminal's last words)."""
    from predictor_nas.stats import fmt_mean_sd

    seeds = len(summary["retraining_seeds"])
    test = f"test % ({seeds} seed{'s' * (seeds > 1)})"
    header = f"{'network':<16}{test:>18}{'params M':>10}{'MFLOPs':>9}{'ms/image':>10}{'train s':>9}  architecture"
    lines = [header, "-" * len(header)]
    for name, row in summary["final"].items():
        lines.append(
            f"{name:<16}{fmt_mean_sd(row['test']):>18}{row['params_millions']:>10.3f}{row['flops_millions']:>9.1f}"
            f"{row['latency_ms_batch1']:>10.2f}{row['train_seconds']:>9.0f}  {row['arch']}"
        )
    cached = [
        f"{name} {row['cached_seeds']} of {seeds}" for name, row in summary["final"].items() if row["cached_seeds"]
    ]
    if cached:
        lines.append(
            f"reused, not retrained: {', '.join(cached)} seed(s) -- an earlier run on this machine retrained them "
            f"with every input equal (train s is its time); cache {summary['retrain_cache']}, --no-retrain-cache "
            "retrains"
        )
    for name, v in summary["verdicts"].items():
        interval = f"95 % interval {v['ci95'][0]:+.2f} to {v['ci95'][1]:+.2f}" if v["ci95"] else "no interval"
        lines.append(f"winner vs {name}: {v['verdict']} (difference {v['diff']:+.2f} points, {interval})")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    config = config_of(args)
    if not args.verbose:  # the bars tell the progress; per-job log lines would break them up
        for name in ("pools.worker", "pools.runner", "predictor_nas.search"):
            logging.getLogger(name).setLevel(logging.WARNING)
    # a larger --budget-epochs continues the searches; a new winner is retrained (run_pipeline)
    recorded = {**config.to_dict(), **({"limit": args.limit.to_dict()} if args.limit else {})}
    out = prepare_run_dir(args.out, "pipeline", recorded, resume_ignores=("search.budget_epochs",))
    with PhaseBars(disable=args.quiet) as bars:

        def on_epoch(metrics: Any, total: int) -> None:
            bars.at(metrics.epoch, train_acc=f"{metrics.train_acc:.1f}")  # epochs done, counted from 1

        summary = run_pipeline(
            config,
            out,
            on_phase=bars.phase,
            on_progress=bars.progress,
            on_epoch=on_epoch,
            limit=args.limit,
            workers=worker_fleet(args, out),
            cache=None if args.no_retrain_cache else RetrainCache.default(),
            retrain_processes=args.retrain_processes or default_retrain_processes(args.device),
        )
    pipeline_plots(out, summary)
    from nas_cli.report import write_report

    report = write_report(out)
    if getattr(args, "json", False):
        print(json.dumps({k: summary[k] for k in ("search", "final", "exported", "verdicts")}, default=str))
    else:
        print(summary_table(summary))
        print(f"\nmodel: {summary['exported']['torch_export']}  report: {report}")
    return 0


def pipeline_plots(out: Path, summary: dict[str, Any]) -> None:
    """The search curve, the search's pyramid and ranker τ, the winner's cell and the final training curves."""
    from nas_cli.plots import cell_edges, plot_cell, pyplot

    search_dir = out / "search"
    plot_curves(
        {"RANK-NOSH": summary["search"]["curve"]},
        out / "search_curve.png",
        title="search: the incumbent's validation accuracy",
        ylabel="validation accuracy (%)",
    )
    for path in search_plots(search_dir):
        if path.exists():
            path.replace(out / path.name)
    from nas_core.spaces import get_space

    for ct, edges in cell_edges(get_space("nb201").parse(summary["search"]["best_arch"])).items():
        plot_cell(edges, out / f"cell_{ct}.png", title=f"the winner's cell ({ct})")
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for name, history in summary["final_history"].items():
        ax.plot([h["epoch"] for h in history], [h["train_acc"] for h in history], marker="o", label=name)
    ax.set(xlabel="epoch", ylabel="training accuracy (%)", title="final training")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "final_training.png", dpi=110)
    plt.close(fig)
