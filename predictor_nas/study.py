"""A RANK-NOSH search as a library object: create a study on a pool, propose, optimize, report.

    from predictor_nas import Study, search_preset

    study = Study.create(search_preset("tabular", seed=0), benchmark="nb201:cifar10", run_dir="runs/tab")
    result = study.optimize()            # validation only: the search never sees a test accuracy
    study.report(result)                 # then, once, the test accuracy of what it found

A study is bound to a pool (a database: ``sqlite:///...`` by default in ``run_dir``, PostgreSQL for many
machines) and to how its candidates are evaluated: the tabular NAS-Bench-201 benchmark
(``benchmark="nb201:cifar10"``; validation observed, test reported once -- the honest protocol of
``../shared/data/README.md``) or real training (``training=CandidateTraining(...)``). Creating the same study
again resumes it: the pool holds the candidates, their checkpoints and the loop's state.

Differentiable searches feed it (:meth:`Study.propose`): their selected cells, samples of their learned
distribution and DARTS-PT runner-ups join the pool with the method as lineage and, with real training,
start from the weights they inherit from the supernet (a warm start). Their supernet epochs count against
the study's ``budget_epochs`` unless ``optimize(charge_supernets=False)``.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

from nas_core.data.datasets import cache_dir
from nas_core.presets import NETWORKS
from nas_core.run_record import write_run_config
from nas_core.vocabulary import NetworkSize
from pools import Pool, PoolConfig
from predictor_nas.backends import PoolTestReporter, PoolTrainingBackend, TabularBackend
from predictor_nas.constraint import CostLimit, CostOf, write_front
from predictor_nas.evaluators import NB201TestReporter, TabularNB201Evaluator
from predictor_nas.incumbent import report
from predictor_nas.proxies import PROXIES, ProxyScorer
from predictor_nas.search import RankNosh, RankNoshConfig, SearchResult
from predictor_nas.strategies import RankNoshStrategy, get_strategy

log = logging.getLogger(__name__)

#: ``search_preset(name)``: RANK-NOSH settings per setting. ``tabular`` -- the NAS-Bench-201 table's two
#: real fidelities, 12 and 200 epochs; level 0 takes 2,000 proxy-scored samples a round (proxies cost no
#: epochs; the paper: they let "more architectures be included in the candidate pool at no cost"), chosen
#: over 200 and 1,000 on the 200-epoch *validation* accuracy of the incumbent, seeds 100-109, never
#: reported (scripts/tune_search.py, benchmarks/results/tune_search.json). ``quick`` -- real training on
#: Fashion-MNIST in a few minutes on 2 CPU cores. ``gpu`` -- real training sized for one GPU.
SEARCH_PRESETS: dict[str, dict[str, Any]] = {
    "tabular": dict(budgets=(12, 200), ratio=0.1, k=20, initial=30, level0_samples=2000, budget_epochs=3000),
    "quick": dict(budgets=(1, 3), ratio=0.5, k=4, initial=8, level0_samples=30, budget_epochs=40),
    "gpu": dict(budgets=(4, 12, 36), ratio=0.34, k=16, initial=48, level0_samples=200, budget_epochs=3000),
}


def search_preset(name: str, **overrides: Any) -> RankNoshConfig:
    """The RANK-NOSH settings of preset ``name`` (:data:`SEARCH_PRESETS`) with ``overrides`` applied."""
    if name not in SEARCH_PRESETS:
        raise ValueError(f"unknown preset {name!r}; known: {sorted(SEARCH_PRESETS)}")
    return RankNoshConfig(**{**SEARCH_PRESETS[name], **overrides})


#: the ablations of RANK-NOSH (paper 004 §4): each removes one part of the full method
ABLATIONS = ("rank-nosh", "no-proxies", "regression-loss", "uniform-sh")


def ablation(config: RankNoshConfig, name: str) -> RankNoshConfig:
    """``config`` with one part of RANK-NOSH removed: ``no-proxies`` (level 0 ordered by the ranker
    alone), ``regression-loss`` (the ranker regresses accuracy instead of learning pairwise order),
    ``uniform-sh`` (classic successive halving: no resumes across rounds); ``rank-nosh``: unchanged."""
    if name not in ABLATIONS:
        raise ValueError(f"unknown ablation {name!r}; known: {', '.join(ABLATIONS)}")
    if name == "no-proxies":
        return replace(config, proxies=())
    if name == "regression-loss":
        return replace(config, ranker=replace(config.ranker, loss="mse"))
    if name == "uniform-sh":
        return replace(config, uniform_sh=True)
    return config


@dataclass
class CandidateTraining:
    """How a real-training study trains its candidates: data, network size, optimiser settings.

    ``network``: the candidates' :class:`~nas_core.vocabulary.NetworkSize` (channels C, cells per stage N; a
    DARTS candidate has 3N + 2 cells), the vocabulary ``nas diff`` and ``nas train`` use too. ``train``: further
    :class:`nas_core.training.TrainConfig` fields (e.g. ``weight_decay``). The defaults are the ``quick``
    preset (a few CPU minutes); :meth:`preset` gives the others."""

    #: a registered name (fashion-mnist | cifar10 | cifar100 | imagefolder | digits | npz | your own), or the
    #: data itself: (images, labels), a torch Dataset, or a (train, test) pair of them (written to a file)
    dataset: Any = "fashion-mnist"
    #: folder or file holding the dataset (None: the dataset's default places); for data given as tensors,
    #: the .npz file to write them to (None: RUN_DIR/data-<hash>.npz)
    data_root: str | None = None
    #: seed of the train/validation split (None: the run's seed)
    split_seed: int | None = None
    #: seeded subset of the training images the pool uses, validation split included (images; None: all)
    max_train: int | None = 6000
    #: seeded subset of the test images (images; None: all)
    max_test: int | None = 2000
    #: zero-pad images to this side (pixels; None: as stored)
    pad_to: int | None = None
    #: the candidates' size (C channels, N cells per stage; nas_core.presets.NETWORKS names some)
    network: NetworkSize = NETWORKS["quick"]
    #: training batch size (images)
    batch_size: int = 128
    #: SGD learning rate at the start of each candidate's cosine schedule
    lr: float = 0.05
    #: channels-last memory format (GPU speed; on/off)
    channels_last: bool = False
    #: torch.compile mode of the candidates: off | default | reduce-overhead | max-autotune
    compile: str = "off"
    #: further TrainConfig fields (e.g. weight_decay)
    train: dict[str, Any] = field(default_factory=dict)
    #: auto | cpu | cuda | cuda:N
    device: str = "auto"
    #: wait for ``nas worker --pool URL`` processes instead of training in this process
    external_workers: bool = False
    #: False: charge a promotion e1 -> e2 the whole e2, as if retrained from scratch (an ablation)
    charge_resumed: bool = True

    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {},
        "gpu": dict(network=NETWORKS["nb201"], max_train=None, max_test=None, batch_size=256, lr=0.1),
    }

    def __post_init__(self) -> None:
        self.network = NetworkSize.parse(self.network)  # YAML and JSON give a mapping or a preset name

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> CandidateTraining:
        if name not in cls.PRESETS:
            raise ValueError(f"unknown training preset {name!r}; known: {sorted(cls.PRESETS)}")
        return cls(**{**cls.PRESETS[name], **overrides})

    def with_data_written(self, run_dir: str | Path | None) -> CandidateTraining:
        """These settings with data given as tensors (or a Dataset) checked and written to one ``.npz`` file
        (``data_root``, else ``run_dir``) and named as the ``npz`` dataset: what every worker reads."""
        if isinstance(self.dataset, str):
            return self
        from nas_core.data import write_user_data

        return replace(self, dataset="npz", data_root=write_user_data(self.dataset, run_dir, self.data_root))

    def pool_config(self, space: str, top_budget: int, seed: int, checkpoint_store: str | None) -> PoolConfig:
        if not isinstance(self.dataset, str):
            raise ValueError("data given as tensors is written to a file first: with_data_written(run_dir)")
        train = {
            "epochs": top_budget,
            "batch_size": self.batch_size,
            "lr": self.lr,
            "channels_last": self.channels_last,
            "compile": self.compile,
            **self.train,
        }
        return PoolConfig(
            space=space,
            dataset=self.dataset,
            data_root=self.data_root,
            max_train=self.max_train,
            max_test=self.max_test,
            pad_to=self.pad_to,
            network=self.network,
            train=train,
            seed=seed,
            # by default the run's seed splits its data too: seeds differ in data as in everything else
            split_seed=seed if self.split_seed is None else self.split_seed,
            checkpoint_store=checkpoint_store,
        )

    def supernet_settings(
        self, space: str, seed: int, valid_fraction: float = PoolConfig.valid_fraction, split_seed: int | None = None
    ) -> dict[str, Any]:
        """The :func:`supernet.api.differentiable_search` settings whose supernet matches the pool's
        networks (same size), so that its proposals can inherit the supernet's weights, and searches the
        pool's *training* images only (same seed and subset, the pool's ``valid_fraction`` reserved): a
        proposal is never validated on images its inherited weights or its architecture were fitted to."""
        data = {"dataset": self.dataset, "data_root": self.data_root, "max_train": self.max_train}
        return {
            "space": space,
            **data,
            "reserve_fraction": valid_fraction,
            "split_seed": seed if split_seed is None else split_seed,
            "pad_to": self.pad_to,
            "seed": seed,
            "device": self.device,
            "network": self.network,
        }


def proxy_cache_dir() -> Path:
    return cache_dir() / "proxies"


def tabular_proxy_scorer(space: Any, proxies: Sequence[str]) -> ProxyScorer:
    """Proxies of the NB201 network at CIFAR input shape, shared by the three datasets: the shipped
    table for the data-free ones (:mod:`predictor_nas.proxy_table`), a local cache for the rest."""
    from predictor_nas.proxy_table import TABULAR_SETTINGS, load_proxy_table

    return ProxyScorer(
        space,
        tuple(proxies),
        **TABULAR_SETTINGS,
        cache_path=str(proxy_cache_dir() / "nb201_cifar_C16N5.json"),
        precomputed=load_proxy_table(),
    )


def training_proxy_scorer(
    pool: Pool, proxies: Sequence[str], backend: PoolTrainingBackend, cache: Path | None, seed: int
) -> ProxyScorer:
    """Proxies of the pool's own networks on its data (a training batch for the data-dependent ones)."""
    splits = backend.runner.splits
    batch = None
    if any(PROXIES[p].needs_data for p in proxies):
        batch = backend.runner.train_loader.sample_batch(64, seed=seed)
    return ProxyScorer(
        pool.space,
        tuple(proxies),
        num_classes=splits.num_classes,
        input_shape=splits.shape,
        network=pool.config.network,
        batch=batch,
        device=backend.runner.device,
        cache_path=str(cache) if cache else None,
    )


class Study:
    """One RANK-NOSH search on one pool. Make it with :meth:`create`; everything it does resumes."""

    def __init__(
        self,
        pool: Pool,
        config: RankNoshConfig,
        *,
        evaluator: TabularNB201Evaluator | None = None,
        training: CandidateTraining | None = None,
        run_dir: str | Path | None = None,
        benchmark_dir: str | None = None,
        backend: Any = None,
        strategy: Any = None,
        limit: CostLimit | None = None,
    ):
        """``backend``: trains candidates in place of the pool's own (a simulation, a test double);
        it has ``train(pool, candidates, epoch)``, ``resumes`` and ``charging``. ``strategy``: how candidates
        are chosen (:mod:`predictor_nas.strategies`; default RANK-NOSH). ``limit``: see :meth:`create`."""
        if (evaluator is None) == (training is None):
            raise ValueError("a study evaluates candidates on a tabular benchmark or by training, exactly one")
        self.pool, self.config, self.evaluator, self.training = pool, config, evaluator, training
        self.strategy = strategy if strategy is not None else RankNoshStrategy()
        if limit is not None and not getattr(self.strategy, "takes_limit", False):
            raise ValueError(
                f"strategy {self.strategy.name!r} does not take a cost limit (rank-nosh, random and rea do)"
            )
        self.limit = limit
        self._cost: CostOf | None = None
        self.run_dir = Path(run_dir) if run_dir else None
        self.benchmark_dir = benchmark_dir
        self.supernet_epochs = 0  # the proposing supernets' epochs, as run
        self.supernet_charge = 0.0  # the same in child epochs (each search's epochs x its measured cost ratio)
        self.searches: list[dict[str, Any]] = []
        self._backend: Any = backend
        self._warm_source: Any = None
        self._result: SearchResult | None = None  # the search's, once optimize() returned
        self._baselines: dict[str, Any] = {}
        if self.run_dir is not None:  # the record `nas rank-nosh` writes (its own, written first, stays)
            write_run_config(self.run_dir, self.strategy.name, self.settings(), keep=True)

    @classmethod
    def create(
        cls,
        config: RankNoshConfig | None = None,
        *,
        benchmark: str | None = None,
        training: CandidateTraining | None = None,
        space: str = "nb201",
        pool: str | None = None,
        run_dir: str | Path | None = None,
        benchmark_dir: str | None = None,
        discount_resume: bool = False,
        checkpoint_store: str | None = None,
        backend: Any = None,
        strategy: Any = None,
        limit: CostLimit | None = None,
    ) -> Study:
        """Create the study (or open it again: same arguments, same pool).

        ``benchmark``: ``nb201:cifar10`` | ``nb201:cifar100`` | ``nb201:ImageNet16-120`` (the tabular
        NAS-Bench-201, ``benchmark_dir`` holding its tables), else ``training`` (default
        :class:`CandidateTraining`: Fashion-MNIST, quick size). ``pool``: a database URL (default
        ``sqlite:///RUN_DIR/pool.db``). ``config`` default: ``search_preset("tabular")`` on a benchmark,
        ``search_preset("quick")`` with training. ``discount_resume`` (tabular only): charge a 12 -> 200
        promotion 188 epochs (a simulation artefact; results are labelled so). ``checkpoint_store``: where a
        new pool keeps checkpoints (needed on PostgreSQL: a shared folder, ``optuna-fs:///path``, ``s3://``).
        ``backend`` (training studies): trains the candidates in place of the pool's own runner.
        ``strategy``: how candidates are chosen, RANK-NOSH by default, or any of
        :data:`predictor_nas.strategies.STRATEGIES` (``REA()``, ``RandomSearch()``, ``get_strategy("asha")``,
        ...) on the same backend: the table, in-process training or ``nas worker`` processes. ``limit``: a
        :class:`~predictor_nas.constraint.CostLimit` (parameters, FLOPs, latency or your own cost): RANK-NOSH
        never adds a candidate over it, proposals over it are dropped, and :meth:`report` writes the
        accuracy-cost front (``front.json``, ``front.png``)."""
        if benchmark is not None and training is not None:
            raise ValueError("give a tabular benchmark or a training setup, not both")
        config = config or search_preset("tabular" if benchmark else "quick")
        if pool is None:
            if run_dir is None:
                raise ValueError("give a pool URL or a run_dir to hold the default SQLite pool")
            Path(run_dir).mkdir(parents=True, exist_ok=True)
            pool = f"sqlite:///{Path(run_dir).resolve()}/pool.db"
        if benchmark is not None:
            kind, _, dataset = benchmark.partition(":")
            if kind != "nb201" or space != "nb201":
                raise ValueError(
                    f"tabular benchmarks: nb201:cifar10|cifar100|ImageNet16-120 on space nb201, "
                    f"got {benchmark!r} on {space!r}"
                )
            evaluator = TabularNB201Evaluator(dataset or "cifar10", benchmark_dir, discount_resume)
            bound = PoolConfig(space="nb201", dataset=f"nb201:{evaluator.dataset}", checkpoint_store=checkpoint_store)
            opened = Pool.create(pool, bound, exist_ok=True)
            return cls(
                opened,
                config,
                evaluator=evaluator,
                run_dir=run_dir,
                benchmark_dir=benchmark_dir,
                strategy=strategy,
                limit=limit,
            )
        if discount_resume:
            raise ValueError("discount_resume is for tabular benchmarks; real training resumes for real")
        training = (training or CandidateTraining()).with_data_written(run_dir)
        bound = training.pool_config(space, max(config.budgets), config.seed, checkpoint_store)
        opened = Pool.create(pool, bound, exist_ok=True)
        return cls(opened, config, training=training, run_dir=run_dir, backend=backend, strategy=strategy, limit=limit)

    # -- what it evaluates with -----------------------------------------------------------------
    @property
    def cost_of(self) -> CostOf:
        """The cost of an architecture under :attr:`limit` (default: parameters), computed once each."""
        if self._cost is None:
            limit = self.limit or CostLimit("params", float("inf"))

            def scorer(name: str) -> ProxyScorer:
                if self.tabular:
                    return tabular_proxy_scorer(self.pool.space, (name,))
                return training_proxy_scorer(self.pool, (name,), self.backend, None, self.config.seed)

            self._cost = CostOf(limit, scorer)
        return self._cost

    def front(self) -> dict[str, Any]:
        """Every trained candidate's cost (:attr:`cost_of`) and validation accuracy at its highest budget,
        and the accuracy-cost front among those trained to the top budget; with a run directory also
        ``front.json`` and ``front.png``."""
        rows = []
        space, metrics = self.pool.space, self.pool.metrics()
        for c in self.pool.candidates():
            seen = [r for r in metrics.get(c.id, []) if r.valid_acc is not None]
            if not seen:
                continue
            last = max(seen, key=lambda r: r.epoch)
            cost = self.cost_of(space.parse(c.arch), c.arch)
            rows.append(
                {"arch": c.arch, "cost": cost, "valid_acc": last.valid_acc, "epochs": last.epoch, "lineage": c.lineage}
            )
        return write_front(rows, self.limit, self.cost_of.limit.label, self.run_dir)

    @property
    def tabular(self) -> bool:
        return self.evaluator is not None

    @property
    def backend(self) -> Any:
        if self._backend is None:
            if self.evaluator is not None:
                self._backend = TabularBackend(self.evaluator)
            else:
                assert self.training is not None
                t = self.training
                self._backend = PoolTrainingBackend(
                    self.pool, t.device, t.data_root, t.external_workers, charge_resumed=t.charge_resumed
                )
        return self._backend

    def supernet_settings(self, **overrides: Any) -> dict[str, Any]:
        """Settings for :func:`supernet.api.differentiable_search` that match this study's pool, so that its
        proposals can be warm-started and are never validated on images the supernet trained on.

        Args:
            overrides: any other search setting (``epochs``, ``w_lr``, ``method_options``, ``device``, ...)
                replacing or adding to the matched ones. The pool-bound ones (space, data, seed, network
                size) may only be given their matched value: another would break the warm starts or let
                the supernet train on the pool's validation images.

        Returns:
            A dict to pass as ``differentiable_search(method, run_dir=..., **study.supernet_settings(...))``.
        """
        if self.training is None:
            raise ValueError("a tabular study has no training data; give the supernet its own settings")
        pool = self.pool.config
        matched = self.training.supernet_settings(pool.space, self.config.seed, pool.valid_fraction, pool.split_seed)
        bound = {k: v for k, v in matched.items() if k != "device"}
        clash = {k: v for k, v in overrides.items() if k in bound and v != bound[k]}
        if clash:
            wanted = ", ".join(f"{k}={v!r} (the pool's: {bound[k]!r})" for k, v in clash.items())
            raise ValueError(
                f"supernet_settings: {wanted} would not match the study's pool (its space, training images, "
                "seed and network size bind the supernet: warm starts and an unseen validation split need "
                "them); build the settings yourself to search something else, and propose with warm_start=False"
            )
        return {**matched, **overrides}

    def proxy_scorer(self) -> ProxyScorer | None:
        """The zero-cost proxies of ``config.proxies``, computed for this study's networks."""
        if not self.config.proxies:
            return None
        unknown = [p for p in self.config.proxies if p not in PROXIES]
        if unknown:
            raise ValueError(f"unknown proxies {unknown}; known: {', '.join(sorted(PROXIES))}")
        if self.tabular:
            return tabular_proxy_scorer(self.pool.space, self.config.proxies)
        cache = self.run_dir / "proxy_cache.json" if self.run_dir else None
        return training_proxy_scorer(self.pool, self.config.proxies, self.backend, cache, self.config.seed)

    # -- the three steps ------------------------------------------------------------------------
    def propose(
        self,
        run: Any,
        samples: int = 10,
        warm_start: bool = True,
        seed: int | None = None,
        cost_ratio: float | None = None,
    ) -> list[int]:
        """Add a finished differentiable search's proposals to the pool and charge its supernet.

        Args:
            run: a finished :class:`supernet.api.DifferentiableRun`; its selected cell, ``samples`` draws from
                its learned distribution and its PT runner-ups join the pool, lineage = its method, and are
                trained at least to the first budget (:meth:`optimize`).
            samples: draws from the learned distribution.
            warm_start: the proposals start from the weights they inherit from the supernet (real training,
                a supernet without partial channels).
            seed: the draws' seed (default: the study's seed plus the number of searches proposed before).
            cost_ratio: child epochs one supernet epoch is charged. Default: measured side by side
                (:func:`predictor_nas.supernet_cost.measure_cost_ratio`, three seeded random cells as the
                child) with real training, stored in the pool
                so a resumed study charges the same; 1.0 on a tabular benchmark (no child to time; labelled).

        Returns:
            The ids of the new candidates. ``run.supernet_epochs x cost_ratio`` child epochs count against the
            study's budget (:meth:`optimize`); ``searches[-1]`` records both figures and how the ratio was got.
        """
        from supernet.engine.proposals import add_proposals

        proposals = run.proposals(samples=samples, seed=self.config.seed + len(self.searches) if seed is None else seed)
        if self.limit is not None:  # a proposal over the limit never joins the pool
            space = self.pool.space
            proposals = [p for p in proposals if self.cost_of.allows(space.parse(p.arch), space.to_string(p.arch))]
        partial = run.supernet.partial_k != 1
        inherit = warm_start and not self.tabular and not partial
        if warm_start and not self.tabular and partial:
            log.warning(
                "%s ends with partial channels (k=%d): its proposals train from scratch",
                run.method,
                run.supernet.partial_k,
            )
        added = add_proposals(self.pool, proposals, run.method, supernet=run.supernet if inherit else None)
        record = self.charge_supernet(run, cost_ratio)
        record.update(proposals=len(proposals), new_candidates=len(added), warm_start=inherit)
        return added

    def _cost_ratio(self, run: Any, given: float | None) -> dict[str, Any]:
        """The child epochs a supernet epoch of ``run`` costs: given, stored by an earlier call, or measured."""
        if given is not None:
            if not given > 0:
                raise ValueError(f"cost_ratio must be a positive number of child epochs, got {given!r}")
            return {"ratio": float(given), "source": "given"}
        if self.tabular:
            return {"ratio": 1.0, "source": "assumed 1:1 (a tabular study trains no child to time)"}
        key = f"supernet_cost/{len(self.searches)}/{run.method}"
        stored = self.pool.get_state(key)
        if stored is None:
            from predictor_nas.supernet_cost import measure_cost_ratio

            stored = measure_cost_ratio(run.search.config, self.backend.runner, self.config.seed)
            self.pool.set_state(key, stored)
        return stored

    def warm_start_all(self, run: Any) -> None:
        """Every candidate that enters training without weights of its own (random samples, mutations) starts
        from the weights it inherits from ``run``'s supernet (real training; a supernet without partial
        channels). The supernet is charged by :meth:`propose` or, without proposals, here: call one of the
        two per search, not both."""
        if self.tabular or run.supernet.partial_k != 1:
            raise ValueError(
                f"warm starts need real training and a supernet without partial channels "
                f"(tabular: {self.tabular}, partial_k: {run.supernet.partial_k})"
            )
        self._warm_source = run.supernet

    def charge_supernet(self, run: Any, cost_ratio: float | None = None) -> dict[str, Any]:
        """Charge ``run``'s supernet to this study (:meth:`propose` does; call it alone for a study that only
        warm-starts from it). Returns the record appended to :attr:`searches`."""
        cost = self._cost_ratio(run, cost_ratio)
        self.supernet_epochs += run.supernet_epochs
        self.supernet_charge += run.supernet_epochs * cost["ratio"]
        record = {
            "method": run.method,
            "selection": run.result.selection,
            "genotype": run.genotype,
            "epochs": run.supernet_epochs,
            "cost_ratio": cost,
            "charged_epochs": run.supernet_epochs * cost["ratio"],
            "proposals": 0,
        }
        self.searches.append(record)
        return record

    def _inherit(self, candidate: Any) -> str:
        from supernet.engine.proposals import save_warm_start

        return save_warm_start(self.pool, self._warm_source, self.pool.space.parse(candidate.arch))

    def optimize(
        self,
        *,
        on_progress: Callable[[int, float | None], None] | None = None,
        proxy_scorer: Any = None,
        pretrain: tuple[Sequence[Any], Sequence[float]] | None = None,
        charge_supernets: bool = True,
        progress: bool = False,
    ) -> Any:
        """Run (or resume) the study's strategy (RANK-NOSH unless ``Study.create(strategy=...)`` named another)
        until ``config.budget_epochs`` is spent, with ``config.seed``.

        Args:
            on_progress: ``on_progress(epochs_spent, best_validation)`` after each charge.
            proxy_scorer: RANK-NOSH: replaces the zero-cost proxies (e.g.
                :class:`supernet.engine.proposals.OneShotScorer`; its ``names`` must match ``config.proxies``).
            pretrain: RANK-NOSH: (architectures, scores) the ranker is pre-trained on.
            charge_supernets: RANK-NOSH: the proposing supernets' cost (:attr:`supernet_charge`, child epochs)
                counts against the budget.
            progress: a tqdm bar while proxies are computed.

        Returns:
            What the search found, from validation only (``result.test_accuracy`` stays ``None`` until
            :meth:`report`): a :class:`SearchResult` for RANK-NOSH, a ``BaselineResult`` for the others.
        """
        if not isinstance(self.strategy, RankNoshStrategy):
            if proxy_scorer is not None or pretrain is not None:
                raise ValueError(
                    f"proxy_scorer and pretrain are RANK-NOSH's; strategy {self.strategy.name!r} takes neither"
                )
            self._result = self.strategy.run(self, on_progress)
            return self._result
        config = self.config
        if charge_supernets and self.supernet_charge:
            left = config.budget_epochs - self.supernet_charge
            if left <= 0:
                raise ValueError(
                    f"the supernets cost {self.supernet_charge:.1f} child epochs ({self.supernet_epochs} supernet "
                    f"epochs) of the total budget of {config.budget_epochs:g}: nothing is left for RANK-NOSH "
                    "(raise budget_epochs)"
                )
            config = replace(config, budget_epochs=round(left, 6))
        scorer = proxy_scorer if proxy_scorer is not None else self.proxy_scorer()
        search = RankNosh(
            self.pool,
            config,
            self.backend,
            scorer if config.proxies else None,
            run_dir=self.run_dir,
            on_progress=on_progress,
            pretrain=pretrain,
            progress=progress,
            initializer=self._inherit if self._warm_source is not None else None,
            feasible=self.cost_of.allows if self.limit is not None else None,
        )
        self._result = search.run()
        return self._result

    def report(self, result: Any) -> Any:
        """After the search: fill ``result.test_accuracy`` (tabular: also ``test_curve``, the incumbent's
        test accuracy at each cost) -- each architecture's test accuracy read once. Works for baseline
        results too. Returns ``result``. With a run directory, it also writes what ``nas rank-nosh`` leaves
        there: ``result.json`` (with the test accuracy), ``baselines.json``, ``curve.png``, ``pyramid.png`` and
        ``ranker_tau.png``."""
        if self.tabular:
            assert self.evaluator is not None
            report(result, NB201TestReporter(self.evaluator.dataset, self.benchmark_dir))
        else:
            report(result, PoolTestReporter(self.pool, self.backend), curve=False)
        if self.run_dir is not None:
            self._write_run_files()
            if not self.tabular:
                self.front()
        return result

    def _write_run_files(self) -> None:
        from predictor_nas.plots import plot_curves, search_plots

        assert self.run_dir is not None
        found, baselines = self._result, self._baselines
        if found is not None:
            (self.run_dir / "result.json").write_text(json.dumps(found.to_dict(), indent=2))
        if baselines:
            (self.run_dir / "baselines.json").write_text(json.dumps({k: v.to_dict() for k, v in baselines.items()}))
        label = "RANK-NOSH" if isinstance(self.strategy, RankNoshStrategy) else self.strategy.name
        runs = {label: found, **baselines} if found is not None else dict(baselines)
        if self.tabular:  # the incumbents' test accuracies, read after the searches returned
            curves = {name: r.test_curve for name, r in runs.items() if r.test_accuracy is not None}
            plot_curves(curves, self.run_dir / "curve.png", title=self.pool.config.dataset, optimum=self.optimum())
        elif found is not None:
            plot_curves(
                {label: found.curve},
                self.run_dir / "curve.png",
                title=self.pool.config.dataset,
                ylabel="incumbent's validation accuracy (%)",
            )
        search_plots(self.run_dir)

    def optimum(self) -> float | None:
        """The benchmark's best 200-epoch test accuracy (tabular only; for plots, after the search)."""
        if not self.tabular:
            return None
        assert self.evaluator is not None
        return NB201TestReporter(self.evaluator.dataset, self.benchmark_dir).optimum

    def baseline(self, name: str, seed: int | None = None) -> Any:
        """A non-predictor baseline (``random``, ``rea``, ``tpe``, ``tpe+hyperband``) on the same tabular
        benchmark and budget (validation only until :meth:`report`)."""
        if not self.tabular:
            raise ValueError(
                "a baseline beside RANK-NOSH shares a tabular benchmark only; on real training give it a study "
                f"(and pool) of its own: Study.create(..., strategy=get_strategy({name!r}))"
            )
        if name == "rank-nosh":
            raise ValueError("rank-nosh is this study's own search (optimize); baselines: random, rea, tpe, ...")
        strategy = get_strategy(name)
        with tempfile.TemporaryDirectory() as tmp:  # its cells stay out of RANK-NOSH's pool
            side = Pool.create(f"sqlite:///{tmp}/side.db", PoolConfig(space="nb201", dataset=self.pool.config.dataset))
            try:
                result = strategy.run(self, seed=self.config.seed if seed is None else seed, pool=side)
            finally:
                side.close()
        self._baselines[name] = result  # into the run directory's baselines.json at report()
        return result

    # -- what it holds --------------------------------------------------------------------------
    def spent_epochs(self) -> int:
        """Epochs the search has charged so far (0 for a new study; a resumed one's progress bar starts here)."""
        from predictor_nas.search import STATE_KEY

        state = self.pool.get_state(STATE_KEY)
        return int(state["curve"][-1][0]) if state and state.get("curve") else 0

    def lineages(self) -> dict[str, dict[str, Any]]:
        """Per lineage (random, mutation, a differentiable method ...): candidates, trained, best validation."""
        metrics = self.pool.metrics()
        out: dict[str, dict[str, Any]] = {}
        for cand in self.pool.candidates():
            best = max((r.valid_acc for r in metrics.get(cand.id, []) if r.valid_acc is not None), default=None)
            entry = out.setdefault(cand.lineage, {"candidates": 0, "trained": 0, "best_valid": None})
            entry["candidates"] += 1
            if best is not None:
                entry["trained"] += 1
                entry["best_valid"] = best if entry["best_valid"] is None else max(entry["best_valid"], best)
        return out

    def candidates_dataframe(self) -> Any:
        """One row per candidate (lineage, level, epochs, validation, proxies) as a pandas DataFrame, like
        Optuna's ``study.trials_dataframe()``; ``pools.frames`` also writes it as CSV."""
        from pools.frames import candidates_dataframe

        return candidates_dataframe(self.pool)

    def curves_dataframe(self) -> Any:
        """Every candidate's learning curve (one row per trained epoch) as a pandas DataFrame."""
        from pools.frames import curves_dataframe

        return curves_dataframe(self.pool)

    def lineage_of(self, arch: str | None) -> str | None:
        found = self.pool.find(arch) if arch else None
        return found.lineage if found else None

    def lineage_counts(self) -> dict[str, int]:
        return dict(Counter(c.lineage for c in self.pool.candidates()))

    def settings(self) -> dict[str, Any]:
        """What the study was made with (for a run directory's config.json)."""
        return {
            "strategy": {"name": self.strategy.name, **asdict(self.strategy)},
            "search": asdict(self.config),
            "pool": self.pool.url,
            "benchmark": f"nb201:{self.evaluator.dataset}" if self.evaluator else None,
            "training": asdict(self.training) if self.training else None,
        }

    def close(self) -> None:
        self.pool.close()

    def __enter__(self) -> Study:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
