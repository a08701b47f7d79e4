"""The hybrid's harness is honest: the supernet never sees a candidate's validation images, a cell trains
alike in every pool of a seed, isomorphs are charged once, the supernet is charged at its measured cost,
proposals are trained, and the ranker never compares a warm-started accuracy with a cold one."""

import pytest
import torch

from nas_core.spaces import get_space
from nas_core.vocabulary import NetworkSize
from pools import Pool, PoolConfig
from pools.runner import TrainingRunner
from predictor_nas.baselines import BudgetedEvaluator
from predictor_nas.ranker import pairs_from_observations
from predictor_nas.search import RankNosh, RankNoshConfig
from predictor_nas.study import CandidateTraining, Study
from supernet.api import differentiable_search
from supernet.engine.diff_search import DiffSearchConfig, search_loaders

A = "|none~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
A_ISOMORPH = "|nor_conv_1x1~0|+|nor_conv_3x3~0|none~1|+|none~0|skip_connect~1|skip_connect~2|"
B = "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|"
TINY = CandidateTraining(
    dataset="digits", max_train=300, max_test=100, network=NetworkSize(4, 1), batch_size=64, device="cpu"
)


def _rows(images: torch.Tensor) -> set[bytes]:
    return {bytes(x.flatten().tolist()) for x in images.cpu()}


def test_the_supernet_searches_only_the_pools_training_images(tmp_path):
    seed = 3
    study = Study.create(
        RankNoshConfig(seed=seed, budgets=(1, 2), k=2, initial=2, level0_samples=4), training=TINY, run_dir=tmp_path
    )
    assert study.pool.config.split_seed == seed  # the run's seed splits the data
    runner = TrainingRunner(study.pool, device="cpu")
    pool_train, pool_valid = _rows(runner.train_loader.images), _rows(runner.valid_loader.images)
    config = DiffSearchConfig.resolve(**{**study.supernet_settings(), "batch_size": 32})
    loaders = search_loaders(config, torch.device("cpu"))
    weights, architecture = _rows(loaders.train.images), _rows(loaders.valid.images)
    assert not (weights | architecture) & pool_valid  # never a candidate's validation image
    assert weights | architecture == pool_train and not weights & architecture
    study.close()


def test_one_seed_trains_a_cell_identically_in_every_pool(tmp_path):
    """The initial weights depend on (architecture, seed), not on the order a pool added the cell in."""
    config = TINY.pool_config("nb201", top_budget=2, seed=5, checkpoint_store=None)
    first = Pool.create(f"sqlite:///{tmp_path}/a.db", config)
    second = Pool.create(f"sqlite:///{tmp_path}/b.db", config)
    first.add_candidates([A, B])
    second.add_candidates([B, A_ISOMORPH.replace("skip_connect~2", "nor_conv_3x3~2"), A])  # A gets another id
    weights = []
    for pool in (first, second):
        trainer = TrainingRunner(pool, device="cpu").trainer(pool.find(A))
        trainer.train_to(1)
        weights.append(trainer.model.state_dict())
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    other = Pool.create(f"sqlite:///{tmp_path}/c.db", TINY.pool_config("nb201", 2, seed=6, checkpoint_store=None))
    other.add_candidates([A])
    init = TrainingRunner(other, device="cpu").trainer(other.find(A)).model.state_dict()
    assert not all(torch.equal(init[k], weights[0][k]) for k in init if init[k].is_floating_point())


class _Table:
    resumes, charging = True, "resumed"

    def __init__(self):
        self.calls = []

    def observe(self, arch, epoch):
        self.calls.append(arch)
        return 50.0


def test_duplicate_isomorphs_are_charged_once():
    space = get_space("nb201")
    assert space.canonical_hash(space.parse(A)) == space.canonical_hash(space.parse(A_ISOMORPH))
    be = BudgetedEvaluator(_Table(), space, budget_epochs=100)
    be.observe(A, 3)
    be.observe(A_ISOMORPH, 3)  # the same cell: trained already
    assert be.ledger.total == 3 and len(be.observed) == 1
    be.observe(A_ISOMORPH, 5)  # resumed from 3
    assert be.ledger.total == 5 and be.evaluator.calls == [A, A, A]


def test_trained_pairs_compare_warm_with_warm_and_cold_with_cold():
    obs = [{1: 80.0, 0: 1.0}, {1: 70.0, 0: 3.0}, {1: 75.0, 0: 2.0}]
    mixed = pairs_from_observations(obs)
    assert len(mixed.better) == 3
    separate = pairs_from_observations(obs, groups=[True, False, True])
    pairs = set(zip(separate.better.tolist(), separate.worse.tolist()))
    # 0 vs 2 at epoch 1 (both warm); 1 (cold) meets the others only by its proxy score (budget 0)
    assert pairs == {(0, 2), (1, 0), (1, 2)}
    with pytest.raises(ValueError, match="groups"):
        pairs_from_observations(obs, groups=[True])


class _Lookup:
    """A backend whose accuracy grows with the epoch (no training)."""

    incremental, resumes, charging = True, True, "resumed"

    def train(self, pool, candidates, epoch):
        from pools import EpochRecord

        for c in candidates:
            pool.record_metrics(c.id, [EpochRecord(epoch, valid_acc=float(c.id + epoch))], epoch, None)
        return {c.id: [EpochRecord(epoch, valid_acc=float(c.id + epoch))] for c in candidates}


def test_proposals_are_trained_to_the_first_budget(tmp_path):
    pool = Pool.create(f"sqlite:///{tmp_path}/p.db", PoolConfig(space="nb201", dataset="nb201:cifar10"))
    space = pool.space
    proposed = [space.to_string(space.sample(__import__("random").Random(s))) for s in range(5)]
    ids = [pool.add_candidates([a], lineage="darts", info={"proposal": "sample"})[0][0] for a in proposed]
    config = RankNoshConfig(
        budgets=(1, 3), ratio=0.5, k=2, initial=2, level0_samples=40, proxies=(), budget_epochs=12, max_candidates=7
    )
    RankNosh(pool, config, _Lookup()).run()
    trained = {c.id for c in pool.candidates() if c.epochs_trained >= 1}
    assert set(ids) <= trained  # 5 proposals beside the 2 admitted by the round's own rule
    assert len(trained) == 7


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    settings = TINY.supernet_settings("nb201", seed=0)
    return differentiable_search(
        "darts",
        run_dir=tmp_path_factory.mktemp("diff"),
        epochs=1,
        batch_size=32,
        crop_padding=1,
        diag_batches=1,
        **settings,
    )


def test_the_supernet_is_charged_at_its_measured_ratio(tmp_path, tiny_run):
    config = RankNoshConfig(budgets=(1, 2), ratio=0.5, k=2, initial=2, level0_samples=4, budget_epochs=60, proxies=())
    with Study.create(config, training=TINY, run_dir=tmp_path / "measured") as study:
        study.propose(tiny_run, samples=1)
        cost = study.searches[-1]["cost_ratio"]
        assert cost["source"] == "measured" and cost["supernet_epoch_seconds"] > 0
        assert cost["ratio"] == pytest.approx(cost["supernet_epoch_seconds"] / cost["child_epoch_seconds"], rel=0.01)
        assert cost["ratio"] > 1  # every op of every edge, and an architecture step per batch
        assert study.supernet_charge == pytest.approx(tiny_run.supernet_epochs * cost["ratio"])
    with Study.create(config, training=TINY, run_dir=tmp_path / "measured") as again:  # resumed: same charge
        again.propose(tiny_run, samples=1)
        assert again.searches[-1]["cost_ratio"] == cost
    with Study.create(config, training=TINY, run_dir=tmp_path / "given") as study:
        study.propose(tiny_run, samples=1, cost_ratio=4.0)
        assert study.supernet_charge == 4.0 * tiny_run.supernet_epochs
        result = study.optimize()
        assert result.cost_epochs <= 60 - 4.0 * tiny_run.supernet_epochs
        saved = RankNoshConfig.from_dict(study.pool.get_state("rank_nosh")["config"])
        assert saved.budget_epochs == 60 - 4.0 * tiny_run.supernet_epochs
        proposals = [c for c in study.pool.candidates() if c.lineage == "darts"]
        assert proposals and all(c.epochs_trained >= 1 for c in proposals)


def test_warm_starts_for_all_give_every_trained_candidate_the_supernets_weights(tmp_path, tiny_run):
    config = RankNoshConfig(
        budgets=(1, 2), ratio=0.5, k=2, initial=3, level0_samples=4, budget_epochs=12, proxies=(), max_candidates=3
    )
    with Study.create(config, training=TINY, run_dir=tmp_path) as study:
        study.charge_supernet(tiny_run, cost_ratio=2.0)
        study.warm_start_all(tiny_run)
        study.optimize()
        trained = [c for c in study.pool.candidates() if c.epochs_trained]
        assert trained and all(c.info and c.info["init"] and c.info["warm"] == "inherited" for c in trained)
        cand = trained[0]
        inherited = tiny_run.supernet.export_child(study.pool.space.parse(cand.arch)).state_dict()
        start = study.backend.runner.trainer(cand).model.state_dict()
        assert all(torch.equal(start[k], inherited[k]) for k in start)


def test_supernet_settings_take_overrides_but_keep_the_pool_binding(tmp_path):
    """Issue 43 (5): a user adding a setting the dict holds got 'multiple values'; now it is an override,
    and a pool-bound one (the seed, the data, the size) is refused with the reason."""
    with Study.create(RankNoshConfig(seed=2), training=TINY, run_dir=tmp_path) as study:
        settings = study.supernet_settings(epochs=3, device="cpu", seed=2)
        assert settings["epochs"] == 3 and settings["device"] == "cpu" and settings["seed"] == 2
        assert settings["reserve_fraction"] == study.pool.config.valid_fraction
        with pytest.raises(ValueError, match=r"seed=5 \(the pool's: 2\)"):
            study.supernet_settings(seed=5)
        with pytest.raises(ValueError, match="max_train"):
            study.supernet_settings(max_train=100)
