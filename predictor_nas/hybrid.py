"""The hybrid recipe: differentiable searches seed and warm-start a RANK-NOSH search (``nas hybrid``).

``run_hybrid(load_config("recipe.yaml"), "runs/hybrid")`` -- a fixed recipe over :class:`~predictor_nas.study.Study`
and :func:`supernet.api.differentiable_search`; ``examples/mix_by_hand.py`` writes the same by hand. The recipe
(every step resumes when it runs again):

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
supernet epochs (search and DARTS-PT tuning epochs) times ``supernet_cost_ratio`` (child epochs per supernet
epoch; ``null``: measured side by side, :mod:`predictor_nas.supernet_cost`) are subtracted before RANK-NOSH
starts. With
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
    supernet_cost_ratio: null
    benchmark: null
    diff_dir: null
    seed: 0
    device: auto

Cost: a supernet epoch is charged its cost in child epochs, measured side by side
(:mod:`predictor_nas.supernet_cost`; ``supernet_charged_epochs``, ``total_epochs`` counts it so), the plain
1:1 count is kept as ``total_epochs_1to1``; ``curve`` is best-so-far against total charged epochs. The
supernets search the pool's training images only (same seed, the pool's validation share reserved), and
every proposal is trained at least to the first budget. Whether the recipe beats plain RANK-NOSH:
``scripts/bench_hybrid.py`` (docs/benchmarks.md).
"""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path
from typing import Any

from nas_core.options import read_mapping, reject_unknown
from nas_core.presets import NETWORKS
from nas_core.run_record import write_run_config
from nas_core.vocabulary import NetworkSize
from predictor_nas.launch import WorkerFleet, serving
from predictor_nas.plots import plot_curves
from predictor_nas.search import RankNoshConfig
from predictor_nas.study import CandidateTraining, Study
from supernet.api import differentiable_search
from supernet.engine.proposals import OneShotScorer

DEFAULTS: dict[str, Any] = {
    "dataset": "fashion-mnist",
    "data_root": None,
    "max_train": 6000,
    "max_test": 5000,
    "pad_to": None,
    "network": NETWORKS["quick"].to_dict(),  # a NetworkSize mapping or a preset name
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
    "supernet_cost_ratio": None,
    "benchmark": None,
    "diff_dir": None,
    "seed": 0,
    "device": "auto",
}


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
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


def candidate_training(config: dict[str, Any]) -> CandidateTraining:
    """The recipe's data, network size and training settings as a :class:`CandidateTraining`."""
    train = dict(config["train"])
    return CandidateTraining(
        dataset=config["dataset"],
        data_root=config["data_root"],
        max_train=config["max_train"],
        max_test=config["max_test"],
        pad_to=config["pad_to"],
        network=NetworkSize.parse(config["network"]),
        batch_size=train.pop("batch_size", 128),
        lr=train.pop("lr", 0.05),
        train=train,
        device=config["device"],
    )


def search_settings(config: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    """The :func:`~supernet.api.differentiable_search` arguments of one ``diff`` entry: the recipe's data
    and network size (so that children can inherit the supernet's weights)."""
    base = candidate_training(config).supernet_settings("nb201", config["seed"])
    return {**base, **{k: v for k, v in entry.items() if k != "samples"}}


def open_study(
    config: dict[str, Any], out: Path, proxies: list[str] | None = None, external_workers: bool = False
) -> Study:
    """The recipe's RANK-NOSH study in ``out`` (tabular with ``benchmark``, else real training; with
    ``external_workers`` its jobs wait for pool workers of their own)."""
    settings = {**config["rank_nosh"], "seed": config["seed"]}
    if proxies is not None:
        settings["proxies"] = proxies
    search = RankNoshConfig.from_dict(settings)
    if config["benchmark"]:
        return Study.create(search, benchmark=config["benchmark"], run_dir=out)
    training = replace(candidate_training(config), external_workers=external_workers)
    return Study.create(search, training=training, run_dir=out)


def _pretrain_scores(config: dict[str, Any], study: Study, search: Any, out: Path) -> tuple[list[str], list[float]]:
    """One-shot accuracies of ``ranker_pretrain`` random children (seeded; cached in the run dir)."""
    cache = out / "ranker_pretrain.json"
    if cache.exists():
        data = json.loads(cache.read_text())
        return data["archs"], data["scores"]
    rng = random.Random(config["seed"] * 7919 + 1)
    space = study.pool.space
    archs = [space.to_string(space.sample(rng)) for _ in range(int(config["ranker_pretrain"]))]
    scores = [s["oneshot"] for s in OneShotScorer(search)(archs)]
    cache.write_text(json.dumps({"archs": archs, "scores": scores}))
    return archs, scores


def run_hybrid(
    config: dict[str, Any],
    out: str | Path,
    on_phase: Any = None,
    on_epoch: Any = None,
    on_progress: Any = None,
    workers: WorkerFleet | None = None,
) -> dict[str, Any]:
    """Run (or resume) the recipe ``config`` in run directory ``out``; returns the summary (also
    ``out/result.json``, with ``config.json`` and the plots beside it). Progress: ``on_phase(name,
    total_epochs)`` when a phase starts, ``on_epoch(entry)`` after each supernet epoch,
    ``on_progress(epochs_spent, best_validation)`` during RANK-NOSH. ``workers``: the RANK-NOSH phase's
    candidates are trained by these scheduler jobs (:class:`~predictor_nas.launch.WorkerFleet`) on the
    pool in ``out``; the supernets train here."""
    out = Path(out)
    if workers is not None and config["benchmark"]:
        raise ValueError("workers train candidates for real; a tabular recipe (benchmark) has none to train")
    write_run_config(out, "hybrid", config, keep=True)  # `nas hybrid` writes the same one first
    zero_cost = list(config["rank_nosh"].get("proxies", RankNoshConfig.proxies))
    proxies = ["oneshot"] if config["oneshot_proxy"] else zero_cost
    study = open_study(config, out, proxies, external_workers=workers is not None)
    diff_dir = Path(config["diff_dir"]) if config["diff_dir"] else out
    last = None
    for i, entry in enumerate(config["diff"]):
        settings = search_settings(config, entry)
        if on_phase:
            on_phase(f"{entry['method']} supernet", settings.get("epochs", 50))
        run = differentiable_search(**settings, run_dir=diff_dir / f"diff_{i}_{entry['method']}", on_epoch=on_epoch)
        study.propose(
            run,
            samples=int(entry.get("samples", 10)),
            warm_start=config["warm_start"],
            cost_ratio=config["supernet_cost_ratio"],
        )
        if run.supernet.partial_k == 1:
            last = run
    if (config["oneshot_proxy"] or config["ranker_pretrain"]) and last is None:
        raise ValueError(
            "oneshot_proxy and ranker_pretrain need at least one differentiable search without partial channels"
        )
    pretrain = _pretrain_scores(config, study, last.search, out) if config["ranker_pretrain"] and last else None
    scorer = OneShotScorer(last.search) if config["oneshot_proxy"] and last else None
    if on_phase:
        on_phase("rank-nosh", study.config.budget_epochs - (study.supernet_charge if config["charge_supernet"] else 0))
    with serving(workers, study.pool.url):
        result = study.optimize(
            on_progress=on_progress,
            proxy_scorer=scorer,
            pretrain=pretrain,
            charge_supernets=config["charge_supernet"],
            progress=on_phase is not None,
        )
    study.report(result)
    supernet_epochs, charged = study.supernet_epochs, study.supernet_charge
    summary = {
        "best_arch": result.best_arch,
        "best_lineage": study.lineage_of(result.best_arch),
        "validation_accuracy": result.observed,
        "test_accuracy": result.test_accuracy,
        "charging": result.charging,
        "pool_epochs": result.cost_epochs,
        "supernet_epochs": supernet_epochs,
        "supernet_charged_epochs": charged,
        "total_epochs": result.cost_epochs + charged,
        "total_epochs_1to1": result.cost_epochs + supernet_epochs,
        "n_candidates": result.n_candidates,
        "lineages": study.lineages(),
        "lineage_counts": study.lineage_counts(),
        "searches": study.searches,
        # tabular: the incumbent's test accuracy after the search; real training: its validation accuracy
        "curve": [(cost + charged, acc) for cost, acc in (result.test_curve if study.tabular else result.curve)],
        "curve_of": "test (reported after the search)" if study.tabular else "validation",
    }
    study.close()
    (out / "result.json").write_text(json.dumps(summary, indent=2))
    plot_curves(  # replaces the study's RANK-NOSH-only curve: this one counts the supernets too
        {"hybrid": summary["curve"]},
        out / "curve.png",
        title="hybrid",
        xlabel="total epochs (supernet charged)",
        ylabel="reported test accuracy (%)" if study.tabular else "incumbent's validation accuracy (%)",
    )
    return summary
