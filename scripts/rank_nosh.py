"""``nas rank-nosh``: a RANK-NOSH search, tabular (``--benchmark nb201:cifar10``) or real (``--dataset``).

    nas rank-nosh --space nb201 --benchmark nb201:cifar10 --budget-epochs 3000 --seed 0 --out DIR
    nas rank-nosh --space nb201 --dataset fashion-mnist --pool sqlite:///DIR/pool.db --out DIR

Running the same command again resumes the search from its pool. Real training runs the pool's
jobs in this process unless ``--external-workers`` (then start ``nas worker --pool URL`` processes).
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tqdm import tqdm

from pools import Pool, PoolConfig
from predictor_nas.backends import PoolTestReporter, PoolTrainingBackend, TabularBackend
from predictor_nas.evaluators import NB201TestReporter, TabularNB201Evaluator
from predictor_nas.incumbent import report
from predictor_nas.proxies import PROXIES, ProxyScorer
from predictor_nas.ranker import RankerConfig
from predictor_nas.search import RankNosh, RankNoshConfig
from scripts.plots import search_plots
from scripts.pool_cli import add_pool_file_argument, pool_url
from scripts.rundir import plot_curves, prepare_run_dir
from scripts.train_cmd import add_speed_arguments, speed_settings

PRESETS: dict[str, dict[str, Any]] = {
    # the tabular NAS-Bench-201 benchmark: the two real fidelities, 12 and 200 epochs. Level 0 takes
    # 2,000 proxy-scored samples a round -- proxies cost no training epochs (the paper: they let "more
    # architectures be included in the candidate pool at no cost"); chosen over 200 and 1,000 on the
    # 200-epoch *validation* accuracy of the incumbent, seeds 100-109, never reported
    # (scripts/tune_search.py, benchmarks/results/tune_search.json)
    "tabular": dict(budgets=(12, 200), ratio=0.1, k=20, initial=30, level0_samples=2000, budget_epochs=3000),
    # a real search on Fashion-MNIST that finishes in a few minutes on 2 CPU cores
    "quick": dict(
        budgets=(1, 3),
        ratio=0.5,
        k=4,
        initial=8,
        level0_samples=30,
        budget_epochs=40,
        channels=8,
        cells_per_stage=1,
        max_train=6000,
        max_test=2000,
        batch_size=128,
        lr=0.05,
    ),
    # a real search sized for one GPU
    "gpu": dict(
        budgets=(4, 12, 36),
        ratio=0.34,
        k=16,
        initial=48,
        level0_samples=200,
        budget_epochs=3000,
        channels=16,
        cells_per_stage=5,
        max_train=None,
        max_test=None,
        batch_size=256,
        lr=0.1,
    ),
}
SEARCH_KEYS = (
    "budgets",
    "ratio",
    "k",
    "initial",
    "level0_samples",
    "mutation_share",
    "proxy_weight",
    "budget_epochs",
    "max_candidates",
    "seed",
)
TRAIN_KEYS = ("channels", "cells_per_stage", "max_train", "batch_size", "lr")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--space", default="nb201")
    p.add_argument(
        "--benchmark", default=None, help="tabular search: nb201:cifar10, nb201:cifar100, nb201:ImageNet16-120"
    )
    p.add_argument("--benchmark-dir", default=None, help="folder with the NAS-Bench-201 tables")
    p.add_argument("--dataset", default="fashion-mnist", help="real training on this dataset")
    p.add_argument("--data-root", default=None)
    p.add_argument("--pool", default=None, help="pool URL (default: --pool-file, $NAS_POOL_URL, sqlite:///OUT/pool.db)")
    add_pool_file_argument(p)
    p.add_argument(
        "--checkpoint-store",
        default=None,
        help="where a new pool keeps checkpoints (needed on PostgreSQL: a shared folder, optuna-fs:///path, s3://...)",
    )
    p.add_argument("--out", type=Path, default=Path("runs/rank-nosh"))
    p.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default=None,
        help="defaults for the options below (tabular with --benchmark, else quick)",
    )
    g = p.add_argument_group("search")
    g.add_argument(
        "--budgets",
        type=lambda s: tuple(int(x) for x in s.split(",")),
        default=None,
        help="epoch budgets e(1),...,e(L) of the levels",
    )
    g.add_argument("--ratio", type=float, default=None, help="promotion ratio r")
    g.add_argument("--k", type=int, default=None, help="candidates the ranker admits per round")
    g.add_argument("--initial", type=int, default=None)
    g.add_argument("--level0-samples", type=int, default=None)
    g.add_argument("--mutation-share", type=float, default=None)
    g.add_argument("--proxies", default="synflow", help="comma-separated zero-cost proxies, or 'none'")
    g.add_argument("--proxy-weight", type=float, default=None)
    g.add_argument("--proxy-features", action="store_true", help="feed proxy scores to the ranker")
    g.add_argument("--loss", choices=["hinge", "logistic", "mse"], default="hinge")
    g.add_argument("--uniform-sh", action="store_true", help="ablation: never resume paused candidates")
    g.add_argument(
        "--discount-resume",
        action="store_true",
        help="tabular only: charge a 12 -> 200 promotion 188 epochs instead of 200 (a simulation artefact; "
        "results are labelled 'discounted')",
    )
    g.add_argument("--budget-epochs", type=float, default=None)
    g.add_argument("--max-candidates", type=int, default=None)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument(
        "--baselines",
        default=None,
        help="tabular only: also run these (comma-separated: random,rea,tpe,tpe+hyperband) for curve.png",
    )
    t = p.add_argument_group("real training")
    t.add_argument("--channels", type=int, default=None)
    t.add_argument("--cells-per-stage", type=int, default=None)
    t.add_argument("--max-train", type=int, default=None)
    t.add_argument("--batch-size", type=int, default=None)
    t.add_argument("--lr", type=float, default=None)
    add_speed_arguments(t)
    t.add_argument("--device", default="auto")
    t.add_argument("--external-workers", action="store_true", help="wait for `nas worker` processes")
    p.add_argument("--quiet", action="store_true")


def resolve(args: argparse.Namespace) -> dict[str, Any]:
    """Preset defaults, overridden by every option given on the command line."""
    preset = args.preset or ("tabular" if args.benchmark else "quick")
    values = dict(PRESETS[preset])
    for key in SEARCH_KEYS + TRAIN_KEYS:
        given = getattr(args, key, None)
        if given is not None:
            values[key] = given
    values["preset"] = preset
    return values


def build_config(args: argparse.Namespace, values: dict[str, Any]) -> RankNoshConfig:
    proxies = () if args.proxies.strip().lower() == "none" else tuple(x.strip() for x in args.proxies.split(","))
    unknown = [x for x in proxies if x not in PROXIES]
    if unknown:
        raise ValueError(f"unknown proxies {unknown}; known: {', '.join(sorted(PROXIES))}")
    search = {k: values[k] for k in SEARCH_KEYS if k in values}
    return RankNoshConfig(
        **search,
        proxies=proxies,
        proxy_features=args.proxy_features,
        uniform_sh=args.uniform_sh,
        ranker=RankerConfig(loss=args.loss, steps=100),
    )


def run_baselines(names: str, evaluator: Any, space: Any, budget: float, seed: int) -> dict[str, Any]:
    """The named baselines' results on the same evaluator and budget (validation only until reported)."""
    from predictor_nas.baselines import BASELINES

    wanted = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in BASELINES]
    if unknown:
        raise ValueError(f"unknown baselines {unknown}; known: {', '.join(BASELINES)}")
    return {n: BASELINES[n](evaluator, space, budget, seed=seed) for n in wanted}


def tabular_proxy_scorer(space: Any, proxies: tuple[str, ...]) -> ProxyScorer:
    """Proxies of the NB201 network at CIFAR input shape, shared by the three datasets: the shipped
    table for the data-free ones (:mod:`predictor_nas.proxy_table`), a local cache for the rest."""
    from predictor_nas.proxy_table import TABULAR_SETTINGS, load_proxy_table

    return ProxyScorer(
        space,
        proxies,
        **TABULAR_SETTINGS,
        cache_path=str(_cache_dir() / "nb201_cifar_C16N5.json"),
        precomputed=load_proxy_table(),
    )


def training_proxy_scorer(
    pool: Pool, proxies: tuple[str, ...], backend: PoolTrainingBackend, network: dict, cache: Path, seed: int
) -> ProxyScorer:
    """Proxies of the pool's own networks on its data (a training batch for the data-dependent ones)."""
    splits = backend.runner.splits
    batch = None
    if any(PROXIES[p].needs_data for p in proxies):
        batch = backend.runner.train_loader.sample_batch(64, seed=seed)
    return ProxyScorer(
        pool.space,
        proxies,
        num_classes=splits.num_classes,
        input_shape=splits.shape,
        network=network,
        batch=batch,
        device=backend.runner.device,
        cache_path=str(cache),
    )


def _cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "nas-suite" / "proxies"


def run(args: argparse.Namespace) -> int:
    values = resolve(args)
    config = build_config(args, values)
    out = prepare_run_dir(
        args.out, "rank-nosh", {"search": asdict(config), **values, "args": vars(args)}, resume_ignores=("args",)
    )
    url = pool_url(args.pool, args.pool_file, required=False) or f"sqlite:///{out.resolve()}/pool.db"
    if args.benchmark:
        kind, _, dataset = args.benchmark.partition(":")
        if kind != "nb201" or args.space != "nb201":
            raise ValueError(
                f"tabular benchmarks: nb201:cifar10|cifar100|ImageNet16-120 on --space nb201, "
                f"got {args.benchmark!r} on {args.space!r}"
            )
        evaluator = TabularNB201Evaluator(dataset or "cifar10", args.benchmark_dir, args.discount_resume)
        pool = Pool.create(
            url,
            PoolConfig(space="nb201", dataset=f"nb201:{evaluator.dataset}", checkpoint_store=args.checkpoint_store),
            exist_ok=True,
        )
        backend: Any = TabularBackend(evaluator)
        scorer = tabular_proxy_scorer(pool.space, config.proxies)
    else:
        if args.discount_resume:
            raise ValueError("--discount-resume is for tabular benchmarks; real training resumes for real")
        network = (
            {"C": values["channels"], "N": values["cells_per_stage"]}
            if args.space == "nb201"
            else {"C": values["channels"], "layers": values["cells_per_stage"]}
        )
        train = {
            "epochs": max(config.budgets),
            "batch_size": values["batch_size"],
            "lr": values["lr"],
            **speed_settings(args),
        }
        pool = Pool.create(
            url,
            PoolConfig(
                space=args.space,
                dataset=args.dataset,
                data_root=args.data_root,
                max_train=values.get("max_train"),
                max_test=values.get("max_test"),
                network=network,
                train=train,
                seed=config.seed,
                checkpoint_store=args.checkpoint_store,
            ),
            exist_ok=True,
        )
        backend = PoolTrainingBackend(pool, args.device, args.data_root, external_workers=args.external_workers)
        scorer = training_proxy_scorer(pool, config.proxies, backend, network, out / "proxy_cache.json", config.seed)
    bar = tqdm(total=int(config.budget_epochs), unit="epoch", desc="rank-nosh", disable=args.quiet)

    def progress(cost: int, valid: float | None) -> None:
        bar.n = min(cost, int(config.budget_epochs))
        bar.set_postfix(best_valid=f"{valid:.2f}" if valid is not None else "-")
        bar.refresh()

    search = RankNosh(
        pool,
        config,
        backend,
        scorer if config.proxies else None,
        run_dir=out,
        on_progress=progress,
        progress=not args.quiet,
    )
    result = search.run()
    bar.close()
    baselines = {}
    if args.baselines:
        if not args.benchmark:
            raise ValueError("--baselines runs on a tabular benchmark only (--benchmark nb201:...)")
        baselines = run_baselines(args.baselines, evaluator, pool.space, config.budget_epochs, config.seed)
    # the searches have returned: only now is a test accuracy read (once, for the report)
    if args.benchmark:
        reporter: Any = NB201TestReporter(evaluator.dataset, args.benchmark_dir)
        for r in (result, *baselines.values()):
            report(r, reporter)
        curves = {"RANK-NOSH": result.test_curve, **{k: v.test_curve for k, v in baselines.items()}}
        plot_curves(curves, out / "curve.png", title=args.benchmark, optimum=reporter.optimum)
    else:
        report(result, PoolTestReporter(pool, backend), curve=False)
        plot_curves(
            {"RANK-NOSH": result.curve},
            out / "curve.png",
            title=args.dataset,
            ylabel="incumbent's validation accuracy (%)",
        )
    if baselines:
        (out / "baselines.json").write_text(json.dumps({k: v.to_dict() for k, v in baselines.items()}))
    (out / "result.json").write_text(json.dumps(result.to_dict(), indent=2))
    search_plots(out)
    summary = {
        "best_arch": result.best_arch,
        "validation_accuracy": result.observed,
        "test_accuracy": result.test_accuracy,
        "cost_epochs": result.cost_epochs,
        "charging": result.charging,
        "n_candidates": result.n_candidates,
        "pool": pool.url,
        "out": str(out),
    }
    print(json.dumps(summary, indent=2))
    return 0
