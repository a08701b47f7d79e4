"""``nas hybrid --config FILE.yaml``: differentiable searches seed and warm-start a RANK-NOSH search.

The recipe (every step resumes when the command runs again):

1. run each differentiable search of ``diff`` on the pool's dataset, with the pool's network size
   (so that children can inherit the supernet's weights), in ``OUT/diff_<i>_<method>``;
2. add each search's proposals -- its selected cell, ``samples`` draws from its learned
   distribution, its PT runner-ups -- to the pool with the method as lineage; with
   ``warm_start: true`` each starts training from the weights it inherits from the supernet;
3. run RANK-NOSH over the pool with real training; with ``oneshot_proxy: true`` the last
   supernet's one-shot accuracy plays the zero-cost proxy (orders the first admissions and adds
   down-weighted pairs to the ranker's training set);
4. write ``OUT/result.json``: the best candidate, costs (pool epochs and supernet epochs, both
   counted), and per lineage how many candidates were trained and their best accuracy.

Example config (all keys optional; these are the defaults)::

    dataset: fashion-mnist
    max_train: 6000
    network: {C: 8, N: 1}
    train: {batch_size: 128, lr: 0.05}
    diff:
      - {method: darts, selection: pt, epochs: 10, samples: 10}
      - {method: gdas, selection: magnitude, epochs: 10, samples: 10}
    warm_start: true
    oneshot_proxy: true
    rank_nosh: {budgets: [1, 3], ratio: 0.5, k: 4, initial: 8, level0_samples: 30, budget_epochs: 40}
    seed: 0
    device: auto

Honest limits: the supernet epochs are reported next to the pool's epochs, not converted into one
currency (a supernet epoch costs more than a child epoch; ``total_epochs`` is their plain sum).
"""

from __future__ import annotations

import argparse
import json
import logging
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from pools import Pool, PoolConfig
from predictor_nas.backends import PoolTrainingBackend
from predictor_nas.search import RankNosh, RankNoshConfig
from supernet.diff_search import DiffSearch, DiffSearchConfig
from supernet.proposals import OneShotScorer, add_proposals, proposals_from_search

log = logging.getLogger(__name__)

DEFAULTS: dict[str, Any] = {
    "dataset": "fashion-mnist",
    "data_root": None,
    "max_train": 6000,
    "pad_to": None,
    "network": {"C": 8, "N": 1},
    "train": {"batch_size": 128, "lr": 0.05},
    "diff": [
        {"method": "darts", "selection": "pt", "epochs": 10, "samples": 10},
        {"method": "gdas", "selection": "magnitude", "epochs": 10, "samples": 10},
    ],
    "warm_start": True,
    "oneshot_proxy": True,
    "rank_nosh": {"budgets": [1, 3], "ratio": 0.5, "k": 4, "initial": 8, "level0_samples": 30, "budget_epochs": 40},
    "seed": 0,
    "device": "auto",
}


def load_config(path: str | Path | None, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """DEFAULTS updated by the YAML/JSON file and ``overrides``; unknown keys are errors."""
    given: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"hybrid config {path} does not exist")
        given = yaml.safe_load(path.read_text()) or {}
        if not isinstance(given, dict):
            raise ValueError(f"hybrid config {path} must be a mapping, got {type(given).__name__}")
    given.update(overrides or {})
    unknown = sorted(set(given) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"unknown hybrid option(s) {unknown}; valid options: {sorted(DEFAULTS)}")
    config = {**DEFAULTS, **given}
    for i, entry in enumerate(config["diff"]):
        if "method" not in entry:
            raise ValueError(f"diff[{i}] needs a 'method', got {entry!r}")
    return config


def run_hybrid(config: dict[str, Any], out: str | Path) -> dict[str, Any]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "hybrid_config.json").write_text(json.dumps(config, indent=2))
    network = dict(config["network"])
    nosh = RankNoshConfig.from_dict(
        {**config["rank_nosh"], "seed": config["seed"], "proxies": ["oneshot"] if config["oneshot_proxy"] else []}
    )
    pool = Pool.create(
        f"sqlite:///{out.resolve()}/pool.db",
        PoolConfig(
            space="nb201",
            dataset=config["dataset"],
            data_root=config["data_root"],
            max_train=config["max_train"],
            max_test=5000,
            pad_to=config["pad_to"],
            network=network,
            train={**config["train"], "epochs": max(nosh.budgets)},
            seed=config["seed"],
        ),
        exist_ok=True,
    )
    supernet_epochs, searches, last_search = 0, [], None
    for i, entry in enumerate(config["diff"]):
        entry = dict(entry)
        samples = int(entry.pop("samples", 10))
        method = entry["method"]
        diff_config = DiffSearchConfig.resolve(
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
        search = DiffSearch(diff_config, run_dir=out / f"diff_{i}_{method}")
        result = search.run()
        supernet_epochs += result.epochs_run
        proposals = proposals_from_search(search, result, samples=samples, seed=config["seed"] + i)
        inherit = config["warm_start"] and search.supernet.partial_k == 1
        if config["warm_start"] and not inherit:
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
                "epochs": result.epochs_run,
                "proposals": len(proposals),
                "new_candidates": len(added),
                "warm_start": inherit,
            }
        )
        if search.supernet.partial_k == 1:
            last_search = search
    if config["oneshot_proxy"] and last_search is None:
        raise ValueError("oneshot_proxy needs at least one differentiable search without partial channels")
    scorer = OneShotScorer(last_search) if config["oneshot_proxy"] else None
    backend = PoolTrainingBackend(pool, config["device"], config["data_root"])
    result = RankNosh(pool, nosh, backend, scorer, run_dir=out).run()
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
        "test_accuracy": result.test_accuracy,
        "pool_epochs": result.cost_epochs,
        "supernet_epochs": supernet_epochs,
        "total_epochs": result.cost_epochs + supernet_epochs,
        "n_candidates": result.n_candidates,
        "lineages": lineages,
        "lineage_counts": dict(Counter(c.lineage for c in pool.candidates())),
        "searches": searches,
        "curve": result.curve,
    }
    (out / "result.json").write_text(json.dumps(summary, indent=2))
    return summary


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, default=None, help="YAML or JSON recipe (see above)")
    parser.add_argument("--out", type=Path, required=True, help="run directory (resumes from it)")
    parser.add_argument("--dataset", default=None, help="override the config's dataset")
    parser.add_argument("--seed", type=int, default=None)


def run(args: argparse.Namespace) -> int:
    overrides = {k: v for k, v in (("dataset", args.dataset), ("seed", args.seed)) if v is not None}
    summary = run_hybrid(load_config(args.config, overrides), args.out)
    print(json.dumps({k: v for k, v in summary.items() if k != "curve"}, indent=2))
    return 0
