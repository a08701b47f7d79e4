"""``nas rank-nosh``: a RANK-NOSH search, tabular (``--benchmark nb201:cifar10``) or real (``--dataset``).

    nas rank-nosh --space nb201 --benchmark nb201:cifar10 --budget-epochs 3000 --seed 0 --out DIR
    nas rank-nosh --space nb201 --dataset fashion-mnist --pool sqlite:///DIR/pool.db --out DIR

Running the same command again resumes the search from its pool. Real training runs the pool's
jobs in this process unless ``--external-workers`` (then start ``nas worker --pool URL`` processes) or
``--launcher slurm|local`` (``--workers N`` pool workers sent out as a job array; docs/cluster.md)::

    nas rank-nosh --dataset cifar10 --pool postgresql://HOST/nas --launcher slurm --workers 8 \
        --partition gpu --gpus-per-job 1 --time-min 240 --out DIR
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import asdict
from pathlib import Path

from nas_cli.bars import PhaseBars
from nas_cli.launch_flags import add_launch_arguments, worker_fleet
from nas_cli.pool_cli import add_pool_file_argument, pool_url
from nas_cli.rundir import prepare_run_dir
from nas_cli.size_flags import add_size_arguments, size_from_args
from nas_cli.train_cmd import add_speed_arguments, speed_settings
from predictor_nas.launch import serving
from predictor_nas.proxies import PROXIES
from predictor_nas.ranker import RankerConfig
from predictor_nas.search import RankNoshConfig
from predictor_nas.study import CandidateTraining, Study, search_preset

log = logging.getLogger(__name__)

#: ``--preset``: the RANK-NOSH settings (predictor_nas.study.SEARCH_PRESETS) and, for real training,
#: the candidates' size and data (CandidateTraining.PRESETS; quick is its defaults)
PRESETS = {
    "tabular": ("tabular", None),
    "quick": ("quick", "quick"),
    "gpu": ("gpu", "gpu"),
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
TRAIN_KEYS = ("max_train", "batch_size", "lr")


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
    add_size_arguments(t, "the candidates (default: the preset's; quick C=8 N=1, gpu C=16 N=5)")
    t.add_argument("--max-train", type=int, default=None)
    t.add_argument("--batch-size", type=int, default=None)
    t.add_argument("--lr", type=float, default=None)
    add_speed_arguments(t)
    t.add_argument("--device", default="auto")
    t.add_argument("--external-workers", action="store_true", help="wait for `nas worker` processes")
    t.add_argument(
        "--charge-from-scratch",
        action="store_true",
        help="ablation: charge a promotion e1 -> e2 the whole e2, as if the candidate were retrained",
    )
    add_launch_arguments(p, "the pool workers (real training; implies --external-workers)", workers=True)
    p.add_argument("--quiet", action="store_true")


def resolve(args: argparse.Namespace) -> tuple[str, RankNoshConfig, CandidateTraining | None]:
    """The preset, overridden by every option given on the command line: (preset, search, training)."""
    preset = args.preset or ("tabular" if args.benchmark else "quick")
    search_name, training_name = PRESETS[preset]
    proxies = () if args.proxies.strip().lower() == "none" else tuple(x.strip() for x in args.proxies.split(","))
    unknown = [x for x in proxies if x not in PROXIES]
    if unknown:
        raise ValueError(f"unknown proxies {unknown}; known: {', '.join(sorted(PROXIES))}")
    search = {k: getattr(args, k) for k in SEARCH_KEYS if getattr(args, k, None) is not None}
    config = search_preset(
        search_name,
        **search,
        proxies=proxies,
        proxy_features=args.proxy_features,
        uniform_sh=args.uniform_sh,
        ranker=RankerConfig(loss=args.loss, steps=100),
    )
    if args.benchmark:
        if args.charge_from_scratch:
            raise ValueError(
                "--charge-from-scratch is for real training: the tabular benchmark charges every budget whole"
            )
        return preset, config, None
    given = {k: getattr(args, k) for k in TRAIN_KEYS if getattr(args, k, None) is not None}
    name = training_name or "quick"
    training = CandidateTraining.preset(
        name,
        **given,
        network=size_from_args(args, CandidateTraining.preset(name).network),
        **speed_settings(args),
        dataset=args.dataset,
        data_root=args.data_root,
        device=args.device,
        external_workers=args.external_workers or args.launcher is not None,
        charge_resumed=not args.charge_from_scratch,
    )
    return preset, config, training


def run(args: argparse.Namespace) -> int:
    preset, config, training = resolve(args)
    settings = {"preset": preset, "search": asdict(config), "training": asdict(training) if training else None}
    pool = pool_url(args.pool, args.pool_file, required=False)  # None: sqlite:///OUT/pool.db
    # a larger budget continues a finished search (RankNosh resumes it), as optimize() does with more trials
    extendable = ("args", "search.budget_epochs", "search.max_candidates")
    out = prepare_run_dir(args.out, "rank-nosh", {**settings, "args": vars(args)}, extendable, pool)
    study = Study.create(
        config,
        benchmark=args.benchmark,
        training=training,
        space=args.space,
        pool=pool,
        run_dir=out,
        benchmark_dir=args.benchmark_dir,
        discount_resume=args.discount_resume,
        checkpoint_store=args.checkpoint_store,
    )
    fleet = worker_fleet(args, out)
    if fleet is not None and args.benchmark:
        raise ValueError("--launcher sends out pool workers for real training; a --benchmark search has none")
    # the workers get the URL as given (the pool's own hides a password)
    with serving(fleet, pool or study.pool.url), PhaseBars(disable=args.quiet) as bars:
        bars.phase("rank-nosh", config.budget_epochs, study.spent_epochs())  # a resumed search starts there
        result = study.optimize(on_progress=bars.progress, progress=not args.quiet)
    wanted = [n.strip() for n in (args.baselines or "").split(",") if n.strip()]
    if wanted and not args.benchmark:
        raise ValueError("--baselines runs on a tabular benchmark only (--benchmark nb201:...)")
    baselines = {name: study.baseline(name) for name in wanted}
    # the searches have returned: only now is a test accuracy read (once, for the report); the study writes
    # result.json, baselines.json and the plots into its run directory
    for r in (result, *baselines.values()):
        study.report(r)
    summary = {
        "best_arch": result.best_arch,
        "validation_accuracy": result.observed,
        "test_accuracy": result.test_accuracy,
        "cost_epochs": result.cost_epochs,
        "charging": result.charging,
        "n_candidates": result.n_candidates,
        "pool": study.pool.url,
        "out": str(out),
    }
    study.close()
    print(json.dumps(summary, indent=2))
    return 0
