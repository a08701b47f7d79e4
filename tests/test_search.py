"""The RANK-NOSH loop on the tabular NAS-Bench-201 evaluator: reproducible, resumable, within budget."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pools import Pool, PoolConfig
from predictor_nas.backends import TabularBackend
from predictor_nas.evaluators import NB201TestReporter, TabularNB201Evaluator
from predictor_nas.incumbent import report
from predictor_nas.proxies import ProxyScorer
from predictor_nas.ranker import RankerConfig
from predictor_nas.search import RankNosh, RankNoshConfig


def small_config(**overrides) -> RankNoshConfig:
    base = dict(
        budgets=(12, 200),
        ratio=0.25,
        k=4,
        initial=8,
        level0_samples=16,
        budget_epochs=900,
        proxies=("params",),
        ranker=RankerConfig(steps=25, hidden=16, layers=2),
        seed=3,
    )
    base.update(overrides)
    return RankNoshConfig(**base)


@pytest.fixture
def evaluator(shared_data):
    return TabularNB201Evaluator("cifar10", shared_data / "nb201")


def scorer(pool: Pool) -> ProxyScorer:
    return ProxyScorer(pool.space, ["params"], num_classes=10, input_shape=(3, 16, 16), network={"C": 4, "N": 1})


def run(tmp_path, name, evaluator, config, backend=None):
    pool = Pool.create(
        f"sqlite:///{tmp_path}/{name}.db", PoolConfig(space="nb201", dataset="nb201:cifar10"), exist_ok=True
    )
    search = RankNosh(pool, config, backend or TabularBackend(evaluator), scorer(pool) if config.proxies else None)
    return search.run(), pool


class CrashingBackend(TabularBackend):
    """Dies (like a killed process) after ``calls`` training calls."""

    def __init__(self, evaluator, calls: int):
        super().__init__(evaluator)
        self.calls = calls

    def train(self, pool, candidates, epoch):
        if self.calls == 0:
            raise KeyboardInterrupt("killed")
        self.calls -= 1
        return super().train(pool, candidates, epoch)


def test_search_is_reproducible_and_stays_within_budget(tmp_path, evaluator, shared_data):
    a, pool = run(tmp_path, "a", evaluator, small_config())
    b, _ = run(tmp_path, "b", evaluator, small_config())
    assert a.to_dict() == b.to_dict()
    assert a.cost_epochs <= 900 and a.rounds >= 2
    assert a.test_accuracy is None  # the search itself never reads a test accuracy
    reporter = NB201TestReporter("cifar10", shared_data / "nb201")
    report(a, reporter)
    assert a.test_accuracy == reporter.report(a.best_arch) and len(a.test_curve) == len(a.curve)
    assert a.observed == evaluator.observe(a.best_arch, a.observed_epoch)
    costs = [c for c, _ in a.curve]
    assert costs == sorted(costs) and costs[-1] == a.cost_epochs
    levels = {c.level for c in pool.candidates()}
    assert levels <= {0, 1, 2} and sum(a.pyramid.values()) == len(pool.candidates())  # nothing dropped
    assert all(c.epochs_trained == {0: 0, 1: 12}[c.level] for c in pool.candidates() if c.level < 2)
    # at level 2: trained to 200, except those promoted when the budget ran out (still at 12)
    unfinished = [c for c in pool.candidates() if c.level == 2 and c.epochs_trained < 200]
    assert all(c.epochs_trained == 12 for c in unfinished) and a.cost_epochs + 200 > 900 if unfinished else True


@pytest.mark.parametrize("discount", [False, True])
def test_a_promotion_to_200_epochs_costs_200_unless_discounted(tmp_path, shared_data, discount):
    evaluator = TabularNB201Evaluator("cifar10", shared_data / "nb201", discount_resume=discount)
    result, pool = run(tmp_path, "c", evaluator, small_config())
    observed = pool.metrics()
    at_12 = sum(any(r.epoch == 12 for r in recs) for recs in observed.values())
    at_200 = sum(any(r.epoch == 200 for r in recs) for recs in observed.values())
    assert at_200 >= 1
    assert result.cost_epochs == 12 * at_12 + (188 if discount else 200) * at_200
    assert result.charging == ("discounted" if discount else "full")


@pytest.mark.parametrize("crash_after", [0, 3, 9, 15])
def test_killed_search_resumes_to_the_same_result(tmp_path, evaluator, crash_after):
    reference, _ = run(tmp_path, "ref", evaluator, small_config())
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path, "resumed", evaluator, small_config(), CrashingBackend(evaluator, crash_after))
    resumed, _ = run(tmp_path, "resumed", evaluator, small_config())
    assert resumed.to_dict() == reference.to_dict()


def test_resuming_with_another_configuration_is_refused(tmp_path, evaluator):
    run(tmp_path, "p", evaluator, small_config(budget_epochs=300))
    with pytest.raises(ValueError, match="another configuration"):
        run(tmp_path, "p", evaluator, small_config(ratio=0.5, budget_epochs=300))


def test_a_finished_search_given_more_budget_continues_to_the_uninterrupted_result(tmp_path, evaluator):
    reference, _ = run(tmp_path, "ref", evaluator, small_config(budget_epochs=900))
    short, _ = run(tmp_path, "more", evaluator, small_config(budget_epochs=300))
    assert short.cost_epochs <= 300
    extended, _ = run(tmp_path, "more", evaluator, small_config(budget_epochs=900))
    assert extended.to_dict() == reference.to_dict()  # nothing retrained, nothing lost: the same search


def test_mutations_record_their_parent_and_every_admission_its_tau(tmp_path, evaluator):
    result, pool = run(tmp_path, "lineage", evaluator, small_config(mutation_share=0.5))
    cands = {c.id: c for c in pool.candidates()}
    mutations = [c for c in cands.values() if c.lineage == "mutation"]
    assert mutations and all(c.parent_id in cands for c in mutations)  # the dashboard's lineage has edges
    space = pool.space
    for c in mutations:  # one mutation step from its parent: the two cells differ on exactly one edge
        child, parent = space.to_string(space.parse(c.arch)), space.to_string(space.parse(cands[c.parent_id].arch))
        assert sum(a != b for a, b in zip(child.split("|"), parent.split("|"))) == 1
    assert all(c.parent_id is None for c in cands.values() if c.lineage == "random")
    state = pool.get_state("rank_nosh")
    taus = state["ranker_tau"]  # one point per admission whose level-1 results exist, not per finished round
    assert [t["round"] for t in taus] == list(range(len(taus))) and len(taus) in (result.rounds, result.rounds + 1)
    assert len(taus) >= len(state.get("rounds", [])) and taus[0]["ranked_by"] == "proxy"
    assert all(t["tau"] is None or -1 <= t["tau"] <= 1 for t in taus)
    by_round = {r["round"]: r["admission_tau"] for r in state.get("rounds", [])}
    assert all(by_round[t["round"]] == t["tau"] for t in taus if t["round"] in by_round)


def test_ablations_run(tmp_path, evaluator):
    for name, cfg in {
        "noproxy": small_config(proxies=()),
        "mse": small_config(ranker=RankerConfig(loss="mse", steps=25, hidden=16, layers=2)),
        "uniform": small_config(uniform_sh=True),
    }.items():
        result, _ = run(tmp_path, name, evaluator, cfg)
        assert result.best_arch and result.cost_epochs <= 900


def test_proxy_features_are_ranked_among_every_scored_candidate(tmp_path, evaluator, monkeypatch):
    """With ``proxy_features`` the ranker sees each candidate's proxy scores, rank-scaled against every
    candidate the pool has scored (trained or not); its training rows are a subset of that reference."""
    from predictor_nas.ranker import Ranker

    fits = []
    fit = Ranker.fit

    def spy(self, archs, pairs=None, targets=None, features=None, init_from=None, feature_reference=None):
        fits.append((len(archs), features, feature_reference))
        return fit(self, archs, pairs, targets, features, init_from, feature_reference)

    monkeypatch.setattr(Ranker, "fit", spy)
    result, pool = run(tmp_path, "features", evaluator, small_config(proxy_features=True))
    assert result.best_arch and fits
    scored = pool.proxy_scores()
    for n_train, features, reference in fits:
        assert features.shape == (n_train, 1) and reference.shape[1] == 1
        assert n_train < len(reference) <= len(scored)
        assert set(features[:, 0]) <= set(reference[:, 0])
    assert len(fits[-1][2]) == len(scored)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(ratio=1.5), "ratio"),
        (dict(budgets=(200, 12)), "strictly increasing"),
        (dict(level0_samples=2), "level0_samples"),
        (dict(budget_epochs=0), "budget_epochs"),
        (dict(proxies=(), proxy_features=True), "proxy_features needs"),
    ],
)
def test_bad_search_configs(kwargs, match):
    with pytest.raises(ValueError, match=match):
        small_config(**kwargs)
    with pytest.raises(ValueError, match="unknown RANK-NOSH option"):
        RankNoshConfig.from_dict({"ratios": 0.5})


def test_one_search_per_pool(tmp_path, evaluator):
    from pools import PoolError

    pool = Pool.create(f"sqlite:///{tmp_path}/shared.db", PoolConfig(space="nb201", dataset="nb201:cifar10"))
    pool.hold("rank_nosh", "host:1234:other", timeout=pool.config.heartbeat_timeout)  # a live search elsewhere
    search = RankNosh(pool, small_config(), TabularBackend(evaluator), scorer(pool))
    with pytest.raises(PoolError, match="running in 'host:1234:other'"):
        search.run()
    assert pool.get_state("rank_nosh") is None and not pool.candidates()  # nothing was written
    pool.let_go("rank_nosh", "host:1234:other")  # it finished (or its lease expired): this one may run
    assert search.run().best_arch
    assert pool.get_state("lock:rank_nosh") is None  # released at the end


def test_a_dead_searchs_lease_expires(tmp_path, evaluator):
    import time

    pool = Pool.create(
        f"sqlite:///{tmp_path}/p.db", PoolConfig(space="nb201", dataset="nb201:cifar10", heartbeat_timeout=0.5)
    )
    pool.hold("rank_nosh", "crashed-host:1:x", timeout=0.5)  # never renewed: its process died
    time.sleep(0.7)
    assert RankNosh(pool, small_config(), TabularBackend(evaluator), scorer(pool)).run().best_arch


def test_ablation_removes_exactly_one_part():
    from predictor_nas.study import ABLATIONS, ablation

    full = small_config()
    assert ablation(full, "rank-nosh") == full
    assert ablation(full, "no-proxies") == replace(full, proxies=())
    mse = ablation(full, "regression-loss")
    assert mse.ranker.loss == "mse" and replace(mse.ranker, loss=full.ranker.loss) == full.ranker
    assert replace(mse, ranker=full.ranker) == full
    assert ablation(full, "uniform-sh") == replace(full, uniform_sh=True)
    assert full.ranker.loss != "mse" and full.proxies and not full.uniform_sh  # each ablation changed something
    assert set(ABLATIONS) == {"rank-nosh", "no-proxies", "regression-loss", "uniform-sh"}
    with pytest.raises(ValueError, match="unknown ablation 'no-ranker'"):
        ablation(full, "no-ranker")
