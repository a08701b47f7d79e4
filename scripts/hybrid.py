"""``nas hybrid --config FILE.yaml``: differentiable searches seed and warm-start a RANK-NOSH search.

The recipe (every step resumes when the command runs again):

1. run each differentiable search of ``diff`` on the pool's dataset, with the pool's network size
   (so that children can inherit the supernet's weights), in ``OUT/diff_<i>_<method>``;
2. add each search's proposals -- its selected cell, ``samples`` draws from its learned
   distribution, its PT runner-ups -- to the pool with the method as lineage; with
   ``warm_start: true`` each starts training from the weights it inherits from the supernet;
3. run RANK-NOSH over the pool with real training; with ``oneshot_proxy: true`` the last
   supernet's one-shot accuracy plays the zero-cost proxy (orders the first admissions and adds
   down-weighted pairs to the ranker's training set); with ``false`` RANK-NOSH keeps its zero-cost
   proxies (``rank_nosh.proxies``, default synflow) and the proposals only join the pool -- the
   default, because it measured better (``scripts/bench_hybrid.py --tabular-zero-cost`` and
   ``--real-zero-cost``, docs/benchmarks.md);
   with ``ranker_pretrain: N`` the ranker is first pre-trained on the last supernet's one-shot
   accuracies of N random children (scores cached in ``OUT/ranker_pretrain.json``) and each round
   fine-tunes it on the pool's pairs (warm start (b) of the issue);
4. write ``OUT/result.json``: the best candidate, costs (pool epochs and supernet epochs, both
   counted), and per lineage how many candidates were trained and their best accuracy.

With ``charge_supernet: true`` (the default) ``rank_nosh.budget_epochs`` is the *total* budget: the
supernet epochs (search and DARTS-PT tuning epochs) are subtracted before RANK-NOSH starts. With
``benchmark: nb201:cifar10`` (or ``nb201:cifar100``, ``nb201:ImageNet16-120``) RANK-NOSH looks its
candidates up in the tabular NAS-Bench-201 benchmark instead of training them (the supernets still
train on ``dataset``; no warm starts). ``diff_dir`` puts the differentiable searches in another
folder: two recipes pointing at one folder share finished searches.

Example config (all keys optional; these are the defaults)::

    dataset: fashion-mnist
    max_train: 6000
    max_test: 5000
    network: {C: 8, N: 1}
    train: {batch_size: 128, lr: 0.05}
    diff:
      - {method: darts, selection: pt, epochs: 10, samples: 10}
      - {method: gdas, selection: magnitude, epochs: 10, samples: 10}
    warm_start: true
    oneshot_proxy: false
    ranker_pretrain: 0
    rank_nosh: {budgets: [1, 3], ratio: 0.5, k: 4, initial: 8, level0_samples: 30, budget_epochs: 60}
    charge_supernet: true
    benchmark: null
    diff_dir: null
    seed: 0
    device: auto

Honest limits: a supernet epoch is counted as one epoch, like a child's (it costs more: every
edge runs every op; ``total_epochs`` is the plain sum); ``curve`` is best-so-far against total epochs.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections import Counter
from pathlib import Path
from typing import Any

from tqdm import tqdm

from pools import Pool, PoolConfig
from predictor_nas.backends import PoolTestReporter, PoolTrainingBackend, TabularBackend
from predictor_nas.evaluators import NB201TestReporter, TabularNB201Evaluator
from predictor_nas.incumbent import report
from predictor_nas.search import RankNosh, RankNoshConfig
from scripts.plots import search_plots
from scripts.rundir import plot_curves, prepare_run_dir
from supernet.diff_search import DiffSearch, DiffSearchConfig
from supernet.options import read_mapping, reject_unknown
from supernet.proposals import OneShotScorer, add_proposals, proposals_from_search

log = logging.getLogger(__name__)

DEFAULTS: dict[str, Any] = {
    "dataset": "fashion-mnist",
    "data_root": None,
    "max_train": 6000,
    "max_test": 5000,
    "pad_to": None,
    "network": {"C": 8, "N": 1},
    "train": {"batch_size": 128, "lr": 0.05},
    "diff": [
        {"method": "darts", "selection": "pt", "epochs": 10, "samples": 10},
        {"method": "gdas", "selection": "magnitude", "epochs": 10, "samples": 10},
    ],
    "warm_start": True,
    "oneshot_proxy": False,
    "ranker_pretrain": 0,
    "rank_nosh": {"budgets": [1, 3], "ratio": 0.5, "k": 4, "initial": 8, "level0_samples": 30, "budget_epochs": 60},
    "charge_supernet": True,
    "benchmark": None,
    "diff_dir": None,
    "seed": 0,
    "device": "auto",
}


def load_config(path: str | Path | None, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """DEFAULTS updated by the YAML/JSON file and ``overrides``; unknown keys are errors."""
    given: dict[str, Any] = {}
    if path is not None:
        given = read_mapping(Path(path), "hybrid config")
    given.update(overrides or {})
    reject_unknown(given, DEFAULTS, "hybrid option(s)")
    config = {**DEFAULTS, **given}
    for i, entry in enumerate(config["diff"]):
        if "method" not in entry:
            raise ValueError(f"diff[{i}] needs a 'method', got {entry!r}")
    n = config["ranker_pretrain"]
    if isinstance(n, bool) or not isinstance(n, int) or n < 0 or n == 1:
        raise ValueError(f"ranker_pretrain must be 0 (off) or a number of children >= 2, got {n!r}")
    return config


def diff_search_config(config: dict[str, Any], entry: dict[str, Any]) -> DiffSearchConfig:
    """The search configuration of one ``diff`` entry: the recipe's data and network size."""
    entry = {k: v for k, v in entry.items() if k != "samples"}
    network = config["network"]
    return DiffSearchConfig.resolve(
        space="nb201",
        dataset=config["dataset"],
        data_root=config["data_root"],
        max_train=config["max_train"],
        pad_to=config["pad_to"],
        C=network.get("C", 16),
        N=network.get("N", 5),
        seed=config["seed"],
        device=config["device"],
        **entry,
    )


def make_pool(config: dict[str, Any], out: Path, top_budget: int) -> Pool:
    url = f"sqlite:///{out.resolve()}/pool.db"
    if config["benchmark"]:
        return Pool.create(url, PoolConfig(space="nb201", dataset=config["benchmark"]), exist_ok=True)
    return Pool.create(
        url,
        PoolConfig(
            space="nb201",
            dataset=config["dataset"],
            data_root=config["data_root"],
            max_train=config["max_train"],
            max_test=config["max_test"],
            pad_to=config["pad_to"],
            network=dict(config["network"]),
            train={**config["train"], "epochs": top_budget},
            seed=config["seed"],
        ),
        exist_ok=True,
    )


def _backend(config: dict[str, Any], pool: Pool) -> Any:
    if config["benchmark"]:
        name = config["benchmark"].split(":", 1)[-1]
        return TabularBackend(TabularNB201Evaluator(name))
    return PoolTrainingBackend(pool, config["device"], config["data_root"])


def _reporter(config: dict[str, Any], pool: Pool, backend: Any) -> Any:
    """The test reporter for the finished search (made only after it has returned)."""
    if config["benchmark"]:
        return NB201TestReporter(config["benchmark"].split(":", 1)[-1])
    return PoolTestReporter(pool, backend)


def _pretrain_scores(config: dict[str, Any], pool: Pool, search: Any, out: Path) -> tuple[list[str], list[float]]:
    """One-shot accuracies of ``ranker_pretrain`` random children (seeded; cached in the run dir)."""
    import random

    cache = out / "ranker_pretrain.json"
    if cache.exists():
        data = json.loads(cache.read_text())
        return data["archs"], data["scores"]
    rng = random.Random(config["seed"] * 7919 + 1)
    archs = [pool.space.to_string(pool.space.sample(rng)) for _ in range(int(config["ranker_pretrain"]))]
    scores = [s["oneshot"] for s in OneShotScorer(search)(archs)]
    cache.write_text(json.dumps({"archs": archs, "scores": scores}))
    return archs, scores


def _proxy_scorer(config: dict[str, Any], pool: Pool, proxies: list[str], out: Path) -> Any:
    """RANK-NOSH's own zero-cost proxies (``oneshot_proxy: false``), as ``nas rank-nosh`` builds them."""
    from scripts.rank_nosh import tabular_proxy_scorer, training_proxy_scorer

    if not proxies:
        return None
    if config["benchmark"]:
        return tabular_proxy_scorer(pool.space, tuple(proxies))
    backend = PoolTrainingBackend(pool, config["device"], config["data_root"])
    return training_proxy_scorer(
        pool, tuple(proxies), backend, config["network"], out / "proxy_cache.json", config["seed"]
    )


def run_hybrid(config: dict[str, Any], out: str | Path, progress: bool = False) -> dict[str, Any]:
    """Run (or resume) the recipe ``config`` in run directory ``out``; tqdm bars with ``progress``."""
    out = prepare_run_dir(out, "hybrid", config)
    budgets = tuple(config["rank_nosh"].get("budgets", RankNoshConfig.budgets))
    pool = make_pool(config, out, max(budgets))
    diff_dir = Path(config["diff_dir"]) if config["diff_dir"] else out
    supernet_epochs, searches, last_search = 0, [], None
    for i, entry in enumerate(config["diff"]):
        method = entry["method"]
        diff_config = diff_search_config(config, entry)
        bar = tqdm(total=diff_config.epochs, desc=f"{method} supernet", unit="epoch", disable=not progress)
        search = DiffSearch(
            diff_config, run_dir=diff_dir / f"diff_{i}_{method}", on_epoch=lambda _, bar=bar: bar.update(1)
        )
        bar.update(search.epoch)
        result = search.run()
        bar.close()
        supernet_epochs += result.cost["supernet_epochs"]
        proposals = proposals_from_search(
            search, result, samples=int(entry.get("samples", 10)), seed=config["seed"] + i
        )
        inherit = config["warm_start"] and not config["benchmark"] and search.supernet.partial_k == 1
        if config["warm_start"] and not config["benchmark"] and not inherit:
            log.warning(
                "%s ends with partial channels (k=%d): its proposals train from scratch",
                method,
                search.supernet.partial_k,
            )
        added = add_proposals(pool, proposals, method, supernet=search.supernet if inherit else None)
        searches.append(
            {
                "method": method,
                "selection": result.selection,
                "genotype": result.genotype,
                "epochs": result.cost["supernet_epochs"],
                "proposals": len(proposals),
                "new_candidates": len(added),
                "warm_start": inherit,
            }
        )
        if search.supernet.partial_k == 1:
            last_search = search
    if (config["oneshot_proxy"] or config["ranker_pretrain"]) and last_search is None:
        raise ValueError(
            "oneshot_proxy and ranker_pretrain need at least one differentiable search without partial channels"
        )
    budget = float(config["rank_nosh"].get("budget_epochs", RankNoshConfig.budget_epochs))
    if config["charge_supernet"]:
        budget -= supernet_epochs
        if budget <= 0:
            raise ValueError(
                f"the supernets used {supernet_epochs} epochs of the total budget of "
                f"{budget + supernet_epochs:g}: nothing is left for RANK-NOSH (raise rank_nosh.budget_epochs)"
            )
    zero_cost = list(config["rank_nosh"].get("proxies", RankNoshConfig.proxies))
    nosh = RankNoshConfig.from_dict(
        {
            **config["rank_nosh"],
            "budget_epochs": budget,
            "seed": config["seed"],
            "proxies": ["oneshot"] if config["oneshot_proxy"] else zero_cost,
        }
    )
    scorer = OneShotScorer(last_search) if config["oneshot_proxy"] else _proxy_scorer(config, pool, zero_cost, out)
    bar = tqdm(total=budget, desc="rank-nosh", unit="epoch", disable=not progress)

    def on_progress(cost: int, valid: float | None) -> None:
        bar.n = min(cost, budget)
        bar.set_postfix(best_valid=f"{valid:.2f}" if valid is not None else "-")
        bar.refresh()

    pretrain = _pretrain_scores(config, pool, last_search, out) if config["ranker_pretrain"] else None
    backend = _backend(config, pool)
    result = RankNosh(
        pool, nosh, backend, scorer, run_dir=out, on_progress=on_progress, pretrain=pretrain, progress=progress
    ).run()
    bar.close()
    tabular = bool(config["benchmark"])
    report(result, _reporter(config, pool, backend), curve=tabular)
    metrics = pool.metrics()
    lineages: dict[str, dict[str, Any]] = {}
    for cand in pool.candidates():
        best = max((r.valid_acc for r in metrics.get(cand.id, []) if r.valid_acc is not None), default=None)
        entry = lineages.setdefault(cand.lineage, {"candidates": 0, "trained": 0, "best_valid": None})
        entry["candidates"] += 1
        if best is not None:
            entry["trained"] += 1
            entry["best_valid"] = best if entry["best_valid"] is None else max(entry["best_valid"], best)
    best_lineage = next((c.lineage for c in pool.candidates() if c.id == result.best_id), None)
    summary = {
        "best_arch": result.best_arch,
        "best_lineage": best_lineage,
        "validation_accuracy": result.observed,
        "test_accuracy": result.test_accuracy,
        "charging": result.charging,
        "pool_epochs": result.cost_epochs,
        "supernet_epochs": supernet_epochs,
        "total_epochs": result.cost_epochs + supernet_epochs,
        "n_candidates": result.n_candidates,
        "lineages": lineages,
        "lineage_counts": dict(Counter(c.lineage for c in pool.candidates())),
        "searches": searches,
        # tabular: the incumbent's test accuracy after the search; real training: its validation accuracy
        "curve": [(cost + supernet_epochs, acc) for cost, acc in (result.test_curve if tabular else result.curve)],
        "curve_of": "test (reported after the search)" if tabular else "validation",
    }
    pool.close()
    (out / "result.json").write_text(json.dumps(summary, indent=2))
    plot_curves(
        {"hybrid": summary["curve"]},
        out / "curve.png",
        title="hybrid",
        xlabel="total epochs (supernet charged)",
        ylabel="reported test accuracy (%)" if tabular else "incumbent's validation accuracy (%)",
    )
    search_plots(out)
    return summary


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, default=None, help="YAML or JSON recipe (see above)")
    parser.add_argument("--out", type=Path, required=True, help="run directory (resumes from it)")
    parser.add_argument("--dataset", default=None, help="override the config's dataset")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    overrides = {k: v for k, v in (("dataset", args.dataset), ("seed", args.seed)) if v is not None}
    summary = run_hybrid(load_config(args.config, overrides), args.out, progress=not args.quiet)
    print(json.dumps({k: v for k, v in summary.items() if k != "curve"}, indent=2))
    return 0
