"""The RANK-NOSH search loop (Wang et al., ICCV 2021; thesis ch. 4.1.2), over any training backend.

Each round:

1. **propose** -- sample candidates (random, and mutations of the current best) into level 0 and
   score them with zero-cost proxies (free: no training epochs are charged);
2. **admit** -- retrain the ranker on pairs from the pool (:func:`ranker.pairs_from_observations`:
   members compare at the highest budget both reached, level-0 members by their proxy score), and
   move its top-K level-0 candidates to level 1 (round 0: the ``initial`` best by proxy, or random);
3. **train and promote** -- train the new level-1 members to e(1); then, level by level, promote
   the top ``ceil(r * intake)`` members (by their accuracy at that level's budget) and *resume*
   their training to the next budget (:mod:`predictor_nas.nosh`). Paused members stay and can be
   promoted in a later round.

It stops when the next training would exceed ``budget_epochs`` or the trained pool reaches
``max_candidates``. Everything lives in the pool (a database): candidates, levels, observations,
proxy scores and the loop's own state, which is committed together with the level changes it
causes -- a killed search resumes where it stopped and ends with the same result as an
uninterrupted one. The search returns the incumbent of :mod:`predictor_nas.incumbent` (the best
validation at the highest budget reached) and its trajectory; it never sees a test accuracy --
:func:`predictor_nas.incumbent.report` adds one after it has returned. Cost: a backend that resumes
(real training) is charged the epochs it trains; one whose budgets are separate schedules (the
NAS-Bench-201 table by default) is charged each budget in full.

Interpretations (the paper's text available here is its abstract and Fig. 2 caption): ``intake``
counts the candidates that entered a level in the current round; level-0 pairs use the first proxy
listed; the ``uniform_sh`` ablation only lets a round's own intake be promoted (classic successive
halving: paused candidates are never resumed).
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nas_core.options import dataclass_from_dict
from pools import Candidate, Pool
from predictor_nas.backends import Backend
from predictor_nas.encoding import GraphEncoder
from predictor_nas.evaluators import epochs_charged
from predictor_nas.incumbent import best, trajectory_point, validation_curve
from predictor_nas.nosh import NoshConfig, Pyramid, promotion_count, select_top
from predictor_nas.proxies import ProxyScorer
from predictor_nas.ranker import Ranker, RankerConfig, pairs_from_observations

log = logging.getLogger(__name__)
#: settings a saved search may be resumed with other values of: more budget continues a finished search
EXTENDABLE = ("budget_epochs", "max_candidates")
STATE_KEY = "rank_nosh"


@dataclass
class RankNoshConfig:
    #: epoch budgets e(1) < ... < e(L) of the NOSH levels (epochs; the defaults are NoshConfig's, declared once)
    budgets: tuple[int, ...] = NoshConfig.budgets
    #: promotion ratio r: the top share of a level's intake promoted to the next level (fraction, (0, 1])
    ratio: float = NoshConfig.ratio
    #: candidates the ranker admits from level 0 into level 1 each round after the first (count)
    k: int = NoshConfig.k
    #: candidates admitted in round 0, ranked by the first proxy, or at random without proxies (count)
    initial: int = NoshConfig.initial
    #: new architectures sampled into level 0 each round; round 0 takes max(initial, this) (count)
    level0_samples: int = 100
    #: share of level-0 samples that mutate one of the 5 best candidates instead of sampling at random (fraction)
    mutation_share: float = 0.5
    #: zero-cost proxies computed for every level-0 candidate (names of predictor_nas.proxies.PROXIES)
    proxies: tuple[str, ...] = ("synflow",)
    #: weight of the proxy-ranked pairs against the trained pairs in the ranker's loss (ratio)
    proxy_weight: float = 0.5
    #: feed the proxy scores to the ranker beside the graph, rank-scaled (on/off; off: no gain measured on NB201)
    proxy_features: bool = False
    #: ``separate``: the ranker compares trained accuracies of warm-started (supernet-inherited) and cold
    #: candidates only within their own kind; ``mixed``: all together (as if warm accuracies were cold ones)
    warm_pairs: str = "separate"
    #: ablation: plain successive halving, never resuming a paused candidate (on/off)
    uniform_sh: bool = False
    #: the search's total training budget (child epochs; promotions charged by resumed epochs)
    budget_epochs: float = 3000.0
    #: stop once this many candidates reached level 1 (count; None: the budget alone ends it)
    max_candidates: int | None = None
    #: the run's seed: sampling, ranker, data split and every candidate's initialisation
    seed: int = 0
    #: the GNN ranker's settings (RankerConfig, below)
    ranker: RankerConfig = field(default_factory=lambda: RankerConfig(steps=100))

    def __post_init__(self) -> None:
        self.budgets = tuple(int(b) for b in self.budgets)
        self.proxies = tuple(self.proxies)
        if isinstance(self.ranker, dict):
            self.ranker = RankerConfig(**self.ranker)
        NoshConfig(self.budgets, self.ratio, self.k, self.initial)  # validates budgets, ratio, k, initial
        if self.budget_epochs <= 0:
            raise ValueError(f"budget_epochs must be positive, got {self.budget_epochs!r}")
        if self.level0_samples < self.k:
            raise ValueError(f"level0_samples ({self.level0_samples}) must be >= k ({self.k})")
        if not 0.0 <= self.mutation_share <= 1.0:
            raise ValueError(f"mutation_share must be in [0, 1], got {self.mutation_share!r}")
        if self.warm_pairs not in ("separate", "mixed"):
            raise ValueError(f"warm_pairs must be 'separate' or 'mixed', got {self.warm_pairs!r}")
        if self.proxy_features and not self.proxies:
            raise ValueError("proxy_features needs at least one proxy")

    @property
    def nosh(self) -> NoshConfig:
        return NoshConfig(self.budgets, self.ratio, self.k, self.initial)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RankNoshConfig:
        return dataclass_from_dict(cls, data, "RANK-NOSH option(s)")


@dataclass
class SearchResult:
    """What the search found, from validation only. ``trajectory``: [cost, incumbent arch, its
    validation, at epoch] after each charge. ``test_accuracy`` / ``test_curve`` stay ``None`` until
    :func:`predictor_nas.incumbent.report` fills them after the search."""

    best_arch: str | None
    best_id: int | None
    observed: float | None
    observed_epoch: int | None
    cost_epochs: int
    charging: str
    n_candidates: int
    n_proposed: int
    rounds: int
    trajectory: list[list[Any]]
    pyramid: dict[int, int]
    test_accuracy: float | None = None
    test_curve: list[tuple[int, float]] | None = None

    @property
    def curve(self) -> list[tuple[int, float]]:
        """(cost, the incumbent's observed validation accuracy) after each charge."""
        return validation_curve(self.trajectory)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "curve": self.curve}


def warm_started(candidate: Candidate) -> bool:
    """Whether ``candidate`` starts training from inherited (supernet) weights instead of a fresh init."""
    return bool((candidate.info or {}).get("init"))


class RankNosh:
    """One RANK-NOSH search on a pool; :meth:`run` resumes from the pool's saved state."""

    def __init__(
        self,
        pool: Pool,
        config: RankNoshConfig,
        backend: Backend,
        proxy_scorer: ProxyScorer | None = None,
        run_dir: str | Path | None = None,
        on_progress: Callable[[int, float | None], None] | None = None,
        pretrain: tuple[Sequence[Any], Sequence[float]] | None = None,
        progress: bool = False,
        initializer: Callable[[Candidate], str] | None = None,
        feasible: Callable[[Any, str], bool] | None = None,
    ):
        """``pretrain``: (architectures, scores) of a cheap noisy signal -- the hybrid's supernet one-shot
        accuracies -- on which the ranker is pre-trained once; every round then fine-tunes it on the
        pool's pairs instead of training from scratch. ``progress``: a tqdm bar while proxies are
        computed (a cold cache can take minutes). ``initializer(candidate)``: the checkpoint key of weights
        an admitted candidate without weights of its own starts from (the hybrid's warm starts for all).
        ``feasible(architecture, its string)``: False keeps a sampled architecture out of the pool, so it never
        trains (a :class:`~predictor_nas.constraint.CostLimit`)."""
        if config.proxies and proxy_scorer is None:
            raise ValueError(f"proxies {config.proxies} need a proxy_scorer")
        if proxy_scorer is not None and config.proxies and tuple(proxy_scorer.names) != config.proxies:
            raise ValueError(f"the proxy scorer computes {proxy_scorer.names}, the config asks for {config.proxies}")
        self.pool, self.config, self.backend = pool, config, backend
        self.space = pool.space
        self.proxy_scorer = proxy_scorer if config.proxies else None
        self.encoder = GraphEncoder(self.space)  # encodings are reused by every round's ranker
        self.pretrained: Ranker | None = None
        if pretrain is not None:
            if config.proxy_features or config.ranker.loss == "mse":
                raise ValueError("ranker pre-training needs a ranking loss and no proxy features")
            archs, scores = list(pretrain[0]), list(pretrain[1])
            pairs = pairs_from_observations([{0: v} for v in scores])
            self.pretrained = Ranker(
                self.space, RankerConfig(**{**asdict(config.ranker), "seed": config.seed}), encoder=self.encoder
            ).fit(archs, pairs)
        self.run_dir = Path(run_dir) if run_dir else None
        self.on_progress = on_progress
        self.progress = progress
        self.initializer = initializer
        self.feasible = feasible
        self.nosh = config.nosh

    # -- state ----------------------------------------------------------------------------------
    def _load_state(self) -> dict[str, Any]:
        state = self.pool.get_state(STATE_KEY)
        if state is None:
            return {
                "config": self.config.to_dict(),
                "round": 0,
                "phase": "propose",
                "intake": {},
                "curve": [],
                "done": False,
            }
        if any(len(p) != 4 for p in state["curve"]):
            raise ValueError(
                "this pool holds a RANK-NOSH search saved before the honest protocol (its curve holds test "
                "accuracies); start a new pool"
            )
        saved = RankNoshConfig.from_dict(state["config"])
        old, new = saved.to_dict(), self.config.to_dict()
        changed = {k: (old[k], new[k]) for k in old if old[k] != new[k]}
        fixed = {k: v for k, v in changed.items() if k not in EXTENDABLE}
        if fixed:
            listed = "; ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in fixed.items())
            raise ValueError(
                f"this pool holds a RANK-NOSH search with another configuration ({listed}); resume it with the "
                f"same configuration (only {' and '.join(EXTENDABLE)} may change) or use a new pool"
            )
        if changed:  # a new budget: the search goes on from where it stopped (or stops where it is)
            log.info("RANK-NOSH continues with %s", "; ".join(f"{k} {a} -> {b}" for k, (a, b) in changed.items()))
            state.update(config=new, done=False)
        return state

    def _save(self, state: dict[str, Any], levels: dict[int, int] | None = None) -> None:
        self.pool.set_levels(levels or {}, state=(STATE_KEY, state))

    def _pyramid(self) -> Pyramid:
        return Pyramid(self.nosh, {c.id: c.level for c in self.pool.candidates()})

    @property
    def resumes(self) -> bool:
        return getattr(self.backend, "resumes", True)

    def cost(
        self, pending: dict[int, dict[int, float]] | None = None, observed: dict[int, dict[int, float]] | None = None
    ) -> int:
        """Epochs charged so far, counting ``pending`` (not yet committed) observations as done;
        ``observed``: :meth:`_observed_with` of ``pending`` when the caller already has it."""
        if self.resumes:
            cost = self.pool.total_epochs()
            if pending:
                trained = {cid: self.pool.candidate(cid).epochs_trained for cid in pending}
                cost += sum(max(0, max(obs) - trained[cid]) for cid, obs in pending.items())
            return cost
        observed = observed if observed is not None else self._observed_with(pending)
        return sum(sum(obs) for obs in observed.values())  # every budget a schedule of its own

    # -- the loop ---------------------------------------------------------------------------------
    def run(self) -> SearchResult:
        """Run (or resume) the search to its end. One search per pool: a second one on the same pool
        while this one runs is a :class:`pools.PoolError` naming this one (``nas worker`` processes
        are how more machines join it)."""
        from pools.worker import SearchLease

        with SearchLease(self.pool, STATE_KEY) as lease:
            return self._run(lease)

    def _run(self, lease: Any) -> SearchResult:
        state = self._load_state()
        while not state["done"]:
            lease.check()  # taken over by another search (this one was presumed dead): stop, write nothing
            phase = state["phase"]
            if phase == "propose":
                self._propose(state["round"])
                state["phase"] = "admit"
                self._save(state)
            elif phase == "admit":
                admitted = self._admit(state["round"])
                self._initialize(admitted)
                state.update(phase="train:1", intake={"1": admitted})
                self._save(state, {cid: 1 for cid in admitted})
            elif phase.startswith("train:"):
                self._train_and_promote(state, int(phase.split(":")[1]))
            elif phase == "round_done":
                self._finish_round(state)
            else:
                raise ValueError(f"corrupt RANK-NOSH state: unknown phase {phase!r}")
        result = self.result(state)
        if self.run_dir:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            (self.run_dir / "result.json").write_text(json.dumps(result.to_dict(), indent=2))
        return result

    def _rng(self, round_: int, purpose: str) -> random.Random:
        return random.Random(f"{self.config.seed}:{round_}:{purpose}")

    def _propose(self, round_: int) -> None:
        """Sample new candidates into level 0 and score them with the proxies."""
        cfg = self.config
        rng = self._rng(round_, "propose")
        n_target = max(cfg.initial, cfg.level0_samples) if round_ == 0 else cfg.level0_samples
        best = [(c.id, self.space.parse(c.arch)) for c in self._best_candidates(5)]
        seen = {c.arch_hash for c in self.pool.candidates()}
        new, parents = [], []  # parent: the candidate a mutation came from, None for a random sample
        for _ in range(20 * n_target):
            if len(new) == n_target:
                break
            parent = rng.choice(best) if best and rng.random() < cfg.mutation_share else None
            arch = self.space.mutate(parent[1], rng) if parent else self.space.sample(rng)
            h = self.space.canonical_hash(arch)
            if h not in seen:
                seen.add(h)
                if self.feasible is not None and not self.feasible(arch, self.space.to_string(arch)):
                    continue  # over the cost limit: never trains
                new.append(arch)
                parents.append(parent[0] if parent else None)
        randoms = [a for a, p in zip(new, parents) if p is None]
        if randoms:
            self.pool.add_candidates(randoms, lineage="random")
        for arch, parent_id in zip(new, parents):  # after the random ones, in the order they were made
            if parent_id is not None:
                self.pool.add_candidate(arch, lineage="mutation", parent_id=parent_id)
        if self.proxy_scorer is not None:
            level0 = [c for c in self.pool.candidates(level=0)]
            scores = self.pool.proxy_scores()
            todo = [c for c in level0 if not all(p in scores.get(c.id, {}) for p in self.config.proxies)]
            if todo:
                values = self.proxy_scorer([c.arch for c in todo], progress=self.progress)
                self.pool.set_proxy_scores_many({c.id: v for c, v in zip(todo, values)})

    def _admit(self, round_: int) -> list[int]:
        """Level-0 candidates moving to level 1, best first: the ranker's top-K (round 0:
        ``initial`` by proxy / random)."""
        cfg = self.config
        level0 = self.pool.candidates(level=0)
        # proposals a user added (Study.propose) are trained at least to e(1): admitted first, on top of
        # the round's own intake, in the order they were proposed (the selected cell first)
        promised = [c.id for c in level0 if (c.info or {}).get("proposal")]
        level0 = [c for c in level0 if not (c.info or {}).get("proposal")]
        if round_ == 0:
            if self.proxy_scorer is not None:
                proxies = self.pool.proxy_scores()
                scores = {c.id: proxies[c.id][cfg.proxies[0]] for c in level0}
            else:
                rng = self._rng(round_, "admit")
                scores = {c.id: rng.random() for c in level0}
            return promised + select_top(scores, cfg.initial)
        ranker, features = self._fit_ranker(round_)
        predicted = ranker.score([c.arch for c in level0], features(level0))
        return promised + select_top({c.id: float(s) for c, s in zip(level0, predicted)}, cfg.k)

    def _initialize(self, admitted: Sequence[int]) -> None:
        """Give admitted, untrained candidates without weights of their own the initializer's (idempotent:
        a resumed admission stores the same keys again)."""
        if self.initializer is None:
            return
        for cid in admitted:
            c = self.pool.candidate(cid)
            if c.epochs_trained == 0 and not warm_started(c):
                self.pool.set_info(cid, {**(c.info or {}), "init": self.initializer(c), "warm": "inherited"})

    def observations(self) -> dict[int, dict[int, float]]:
        """Per candidate: {epoch budget: observed validation accuracy}, plus {0: proxy} with proxies."""
        budgets = set(self.config.budgets)
        out: dict[int, dict[int, float]] = {}
        for cid, records in self.pool.metrics().items():
            obs = {r.epoch: r.valid_acc for r in records if r.epoch in budgets and r.valid_acc is not None}
            if obs:
                out[cid] = obs
        return out

    def _fit_ranker(self, round_: int) -> tuple[Ranker, Callable[[Sequence[Candidate]], np.ndarray | None]]:
        cfg = self.config
        observed = self.observations()
        proxies = self.pool.proxy_scores() if cfg.proxies else {}
        trained = [c for c in self.pool.candidates() if c.id in observed]
        train = list(trained)
        if cfg.proxies:
            # level-0 members ordered by proxy: at most as many as the trained ones (keeps pairs balanced)
            level0 = [c for c in self.pool.candidates(level=0) if c.id in proxies]
            rng = self._rng(round_, "ranker-sample")
            train += rng.sample(level0, min(len(level0), max(len(trained), cfg.k)))
        obs = []
        for c in train:
            o = dict(observed.get(c.id, {}))
            if cfg.proxies and c.id in proxies:
                o[0] = proxies[c.id][cfg.proxies[0]]
            obs.append(o)
        # a warm-started candidate's accuracy at e epochs is not a cold one's: trained pairs compare only
        # candidates started alike (proxy pairs, scored at initialisation, compare everyone)
        starts = [warm_started(c) for c in train] if cfg.warm_pairs == "separate" else None
        pairs = pairs_from_observations(obs, budget_weight={0: cfg.proxy_weight}, groups=starts)

        def features(cands: Sequence[Candidate]) -> np.ndarray | None:
            if not cfg.proxy_features:
                return None
            return np.array([[proxies[c.id][p] for p in cfg.proxies] for c in cands], dtype=float)

        ranker_config = RankerConfig(**{**asdict(cfg.ranker), "seed": cfg.seed * 100_003 + round_})
        ranker = Ranker(self.space, ranker_config, encoder=self.encoder)
        fit_features: dict[str, np.ndarray | None] = {}
        if cfg.proxy_features:  # ranked among every candidate the pool has scored (labels play no part)
            scored = [c for c in self.pool.candidates() if all(p in proxies.get(c.id, {}) for p in cfg.proxies)]
            fit_features = dict(features=features(train), feature_reference=features(scored) if scored else None)
        if ranker_config.loss == "mse":
            targets = [o.get(max(o), 0.0) if o else 0.0 for o in obs]  # the highest budget each reached
            ranker.fit([c.arch for c in train], targets=targets, **fit_features)
        else:
            ranker.fit([c.arch for c in train], pairs, init_from=self.pretrained, **fit_features)
        return ranker, features

    def _train_and_promote(self, state: dict[str, Any], level: int) -> None:
        """Train this round's intake at ``level`` to e(level), then promote to ``level + 1``."""
        cfg = self.config
        epoch = self.nosh.budget(level)
        members = self.pool.candidates(level=level)
        todo = [c for c in members if c.epochs_trained < epoch and c.status != "failed"]
        cost = self.cost()
        # best-ranked first (the intake is in rank order), so a budget that runs out mid-level
        # spends its last epochs on the most promising candidates
        rank = {cid: i for i, cid in enumerate(state["intake"].get(str(level), []))}
        affordable = []
        for c in sorted(todo, key=lambda c: (rank.get(c.id, len(rank)), c.id)):
            step = epochs_charged(c.epochs_trained, epoch, self.resumes)
            if cost + step > cfg.budget_epochs:
                break
            affordable.append(c)
            cost += step
        # a backend that looks results up trains one candidate at a time (a curve point after each);
        # one that really trains gets the whole group at once (for parallel workers)
        groups = [[c] for c in affordable] if getattr(self.backend, "incremental", False) else [affordable]
        for group in groups if affordable else []:
            records = self.backend.train(self.pool, group, epoch)
            if records is None:  # a training backend: its workers already committed the metrics
                state["curve"].append(self._curve_point())
                self._save(state)
            else:  # observations and the curve point they produce commit together
                pending = {cid: {r.epoch: r.valid_acc for r in recs} for cid, recs in records.items()}
                state["curve"].append(self._curve_point(pending))
                self.pool.record_observations(records, state=(STATE_KEY, state))
            if self.on_progress:
                self.on_progress(state["curve"][-1][0], state["curve"][-1][2])
        if level == 1:  # this admission's τ as soon as its level-1 accuracies exist, a round cut short included
            self._record_tau(state)
        if len(affordable) < len(todo):
            log.info("budget of %s epochs reached in round %d", cfg.budget_epochs, state["round"])
            state["done"] = True
            self._save(state)
            return
        if level == self.nosh.levels:
            state["phase"] = "round_done"
            self._save(state)
            return
        observed = self.observations()
        pyramid = self._pyramid()
        intake = state["intake"][str(level)]
        eligible = set(intake) if cfg.uniform_sh else set(pyramid.members(level))
        scores = {c: observed.get(c, {}).get(epoch, -1.0) for c in eligible}
        promoted = select_top(scores, promotion_count(len(intake), cfg.ratio)) if intake else []
        state["intake"][str(level + 1)] = promoted
        state["phase"] = f"train:{level + 1}"
        self._save(state, {cid: level + 1 for cid in promoted})

    def _finish_round(self, state: dict[str, Any]) -> None:
        cfg = self.config
        round_ = state["round"]
        record = {
            "round": round_,
            "cost_epochs": self.cost(),
            "pyramid": self._pyramid().sizes(),
            "intake": {k: len(v) for k, v in state["intake"].items()},
            "best_valid_so_far": state["curve"][-1][2] if state["curve"] else None,
            "admission_tau": self._admission_tau(state),
            "time": time.time(),
        }
        if self.run_dir:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            with open(self.run_dir / "rounds.jsonl", "a") as fh:
                fh.write(json.dumps(record) + "\n")
        state.setdefault("rounds", []).append(record)  # in the pool too: `nas dashboard --pool URL` draws them
        trained = sum(1 for c in self.pool.candidates() if c.level >= 1)
        state.update(round=round_ + 1, phase="propose", intake={})
        if cfg.max_candidates is not None and trained >= cfg.max_candidates:
            state["done"] = True
        self._save(state)

    # -- reporting --------------------------------------------------------------------------------
    def _record_tau(self, state: dict[str, Any]) -> None:
        """``state["ranker_tau"]``: one entry per admission (each ranker refit; round 0 by proxy or at random),
        replaced when a resumed level 1 records it again."""
        round_ = state["round"]
        ranked_by = "ranker" if round_ else "proxy" if self.proxy_scorer is not None else "random"
        entry = {"round": round_, "cost_epochs": self.cost(), "tau": self._admission_tau(state), "ranked_by": ranked_by}
        state["ranker_tau"] = [t for t in state.get("ranker_tau", []) if t["round"] != round_] + [entry]

    def _admission_tau(self, state: dict[str, Any]) -> float | None:
        """Kendall tau between this round's admission order (the intake, best first) and the level-1
        accuracy the admitted candidates reached (out of sample: ranked before they were trained)."""
        epoch = self.nosh.budget(1)
        observed = self.observations()
        pairs = [
            (-i, observed[c][epoch]) for i, c in enumerate(state["intake"].get("1", [])) if epoch in observed.get(c, {})
        ]
        if len(pairs) < 3:
            return None
        from scipy.stats import kendalltau  # here: scipy.stats costs ~0.7 s to import

        tau = kendalltau([p[0] for p in pairs], [p[1] for p in pairs]).statistic
        return None if np.isnan(tau) else float(tau)

    def _observed_with(self, pending: dict[int, dict[int, float]] | None) -> dict[int, dict[int, float]]:
        """Observations by candidate id (oldest first), ``pending`` (not yet committed) ones included."""
        observed = self.observations()
        for cid, obs in (pending or {}).items():
            observed.setdefault(cid, {}).update(obs)
        return dict(sorted(observed.items()))

    def _best_candidates(self, n: int, pending: dict[int, dict[int, float]] | None = None) -> list[Candidate]:
        """The top ``n`` candidates by the incumbent rule (:func:`predictor_nas.incumbent.best`)."""
        return [self.pool.candidate(cid) for cid in best(self._observed_with(pending), n)]

    def _curve_point(self, pending: dict[int, dict[int, float]] | None = None) -> list[Any]:
        """The trajectory point [cost, incumbent arch, its validation, epoch] with ``pending`` counted."""
        observed = self._observed_with(pending)
        (cid,) = best(observed)
        return trajectory_point(self.cost(pending, observed), self.pool.candidate(cid).arch, observed[cid])

    def result(self, state: dict[str, Any] | None = None) -> SearchResult:
        state = state or self._load_state()
        best = self._best_candidates(1)
        cands = self.pool.candidates()
        observed = self.observations()
        b = best[0] if best else None
        top_epoch = max(observed[b.id]) if b else None
        return SearchResult(
            best_arch=b.arch if b else None,
            best_id=b.id if b else None,
            observed=observed[b.id][top_epoch] if b else None,
            observed_epoch=top_epoch,
            cost_epochs=self.cost(),
            charging=getattr(self.backend, "charging", "resumed"),
            n_candidates=sum(1 for c in cands if c.level >= 1),
            n_proposed=len(cands),
            rounds=state["round"],
            trajectory=[list(p) for p in state["curve"]],
            pyramid=self._pyramid().sizes(),
        )
