"""Differentiable searches as proposal generators: samples follow the learned distribution,
PT runner-ups differ in one edge, proposals enter the pool once with the method as lineage."""

import random

import pytest
import torch

from nas_core.spaces import get_space
from nas_core.vocabulary import NetworkSize
from pools import Pool, PoolConfig
from supernet.engine.diff_search import DiffSearch, DiffSearchConfig
from supernet.engine.proposals import add_proposals, proposals_from_search, sample_architecture
from supernet.engine.supernet import Supernet


def test_samples_follow_the_probabilities_and_never_use_none():
    sn = Supernet(get_space("nb201"), num_classes=3, in_channels=1, C=4, N=1)
    probs = torch.zeros(6, 5)
    probs[:, 0] = 0.9  # `none` is excluded however likely
    probs[torch.arange(6), torch.tensor([1, 2, 3, 4, 1, 2])] = 0.1
    cell = sample_architecture(sn, {"normal": probs}, random.Random(0))
    names = sn.edges_of("normal")[0].ops
    assert cell.ops == tuple(names[k] for k in (1, 2, 3, 4, 1, 2))
    mixed = torch.tensor([[0.0, 0.5, 0.5, 0.0, 0.0]] * 6)
    draws = [sample_architecture(sn, {"normal": mixed}, random.Random(s)).ops[0] for s in range(400)]
    assert abs(draws.count(names[1]) / 400 - 0.5) < 0.08 and set(draws) == {names[1], names[2]}


def test_darts_samples_are_valid_genotypes_with_two_distinct_inputs():
    space = get_space("darts")
    sn = Supernet(space, num_classes=3, in_channels=1, C=4, layers=3)
    probs = {ct: torch.softmax(torch.randn(14, 8), -1) for ct in ("normal", "reduce")}
    for s in range(5):
        g = sample_architecture(sn, probs, random.Random(s))
        assert space.parse(space.to_string(g)) == g
        for cell in (g.normal, g.reduce):
            for node in range(4):
                srcs = [src for _, src in cell[2 * node : 2 * node + 2]]
                assert len(set(srcs)) == 2 and all(op != "none" for op, _ in cell)


def _tiny_search(**kw):
    base = dict(
        method="darts",
        dataset="digits",
        epochs=1,
        network=NetworkSize(4, 1),
        batch_size=32,
        max_train=128,
        crop_padding=1,
        flip=False,
        diag_batches=1,
    )
    return DiffSearch(DiffSearchConfig.resolve(**{**base, **kw}))


def test_proposals_from_a_pt_search_enter_the_pool_once(tmp_path):
    search = _tiny_search(selection="pt", pt_tune_epochs=1, pt_eval_batches=1)
    result = search.run()
    proposals = proposals_from_search(search, result, samples=6, seed=0)
    kinds = [p.kind for p in proposals]
    assert kinds[0] == "selected" and kinds.count("sample") == 6 and kinds.count("runner-up") >= 1
    selected = proposals[0].arch
    for p in proposals:
        if p.kind == "runner-up":
            assert sum(a != b for a, b in zip(p.arch.ops, selected.ops)) == 1
    pool = Pool.create(f"sqlite:///{tmp_path}/pool.db", PoolConfig(space="nb201", dataset="digits"))
    new = add_proposals(pool, proposals, "darts")
    assert new and len(new) == len({get_space("nb201").canonical_hash(p.arch) for p in proposals})
    assert add_proposals(pool, proposals, "darts") == []  # de-duplicated
    cands = pool.candidates()
    assert {c.lineage for c in cands} == {"darts"}
    assert {c.info["proposal"] for c in cands} <= {"selected", "runner-up", "sample"}


def test_one_shot_weights_make_the_supernet_compute_the_child():
    search = _tiny_search()
    search.run()
    arch = get_space("nb201").parse(
        "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|"
    )
    from supernet.engine.proposals import OneShotScorer, one_hot_weights

    sn = search.supernet.eval()
    x = torch.randn(4, 1, 8, 8)
    child = sn.export_child(arch).eval()
    with torch.no_grad():
        assert torch.allclose(sn(x, one_hot_weights(sn, arch)), child(x), atol=1e-5)
    score = OneShotScorer(search, batches=2)([arch])[0]["oneshot"]
    assert score == search.evaluate(one_hot_weights(sn, arch), 2)


def test_warm_started_candidates_train_from_the_inherited_weights(tmp_path):
    from pools.runner import TrainingRunner

    search = _tiny_search()
    result = search.run()
    pool = Pool.create(
        f"sqlite:///{tmp_path}/pool.db",
        PoolConfig(space="nb201", dataset="digits", network={"C": 4, "N": 1}, max_train=128),
    )
    proposals = proposals_from_search(search, result, samples=2)
    ids = add_proposals(pool, proposals, "darts", supernet=search.supernet)
    runner = TrainingRunner(pool, device="cpu")
    for cid in ids:
        cand = pool.candidate(cid)
        inherited = search.supernet.export_child(cand.arch).state_dict()
        model = runner.trainer(cand).model.state_dict()
        assert model.keys() == inherited.keys()
        assert all(torch.equal(model[k], inherited[k]) for k in model)
    wrong = Pool.create(
        f"sqlite:///{tmp_path}/wrong.db", PoolConfig(space="nb201", dataset="digits", network={"C": 8, "N": 1})
    )
    (cid,) = add_proposals(wrong, proposals[:1], "darts", supernet=search.supernet)

    from nas_core.training import CheckpointError

    with pytest.raises(CheckpointError, match="do not fit"):
        TrainingRunner(wrong, device="cpu").trainer(wrong.candidate(cid))


@pytest.mark.parametrize("launcher", [None, "local"])
def test_hybrid_recipe_runs_end_to_end(tmp_path, launcher):
    """``nas hybrid``; with ``--launcher local`` the RANK-NOSH phase's candidates train in worker jobs."""
    import json

    from nas_cli import main

    recipe = tmp_path / "hybrid.yaml"
    recipe.write_text(
        "dataset: digits\nmax_train: 256\nnetwork: {C: 4, N: 1}\ntrain: {batch_size: 64, lr: 0.05}\n"
        "diff:\n  - {method: darts, selection: pt, epochs: 1, samples: 3, batch_size: 32, pt_eval_batches: 1,"
        " pt_tune_epochs: 1, crop_padding: 1, diag_batches: 1}\n"
        "rank_nosh: {budgets: [1, 2], ratio: 0.5, k: 2, initial: 4, level0_samples: 6, budget_epochs: 30}\n"
        "supernet_cost_ratio: 2\n"
    )
    out = tmp_path / "run"
    launch = ["--launcher", launcher, "--workers", "2", "--worker-idle-timeout", "30"] if launcher else []
    assert main(["hybrid", "--config", str(recipe), "--out", str(out), *launch]) == 0
    result = json.loads((out / "result.json").read_text())
    jobs = Pool.open(f"sqlite:///{out / 'pool.db'}").jobs()
    assert jobs and all(j.state == "done" for j in jobs)
    assert all(("/" in j.worker) == bool(launcher) for j in jobs)  # job-id/host: a launched worker
    # 1 search epoch + one DARTS-PT tuning epoch after each of the 6 edge decisions, all charged at the
    # supernet's measured cost in child epochs (the 1:1 count kept beside it)
    (search,) = result["searches"]
    assert result["supernet_epochs"] == 1 + 6 and result["total_epochs_1to1"] == result["pool_epochs"] + 7
    assert search["cost_ratio"] == {"ratio": 2.0, "source": "given"} and result["supernet_charged_epochs"] == 14
    assert result["total_epochs"] == pytest.approx(result["pool_epochs"] + result["supernet_charged_epochs"])
    assert result["lineage_counts"]["darts"] >= 1 and result["best_arch"]
    assert result["searches"][0]["warm_start"] and 0 < result["pool_epochs"] <= 30 - 14
    assert result["curve"][-1][0] == result["total_epochs"]
    with pytest.raises(ValueError, match="unknown hybrid option"):
        from predictor_nas.hybrid import load_config

        load_config(None, {"epochz": 3})


def test_hybrid_tabular_shares_searches_and_charges_supernet(tmp_path, shared_data):
    import json

    from predictor_nas.hybrid import load_config, run_hybrid

    common = {
        "dataset": "digits",
        "max_train": 256,
        "network": {"C": 4, "N": 1},
        "diff": [{"method": "darts", "selection": "magnitude", "epochs": 2, "samples": 4, "batch_size": 32}],
        "diff_dir": str(tmp_path / "searches"),
        "benchmark": "nb201:cifar10",
        "oneshot_proxy": True,  # the one-shot scorer as the proxy (the other tests keep a zero-cost one)
        "rank_nosh": {"budgets": [12, 200], "ratio": 0.5, "k": 4, "initial": 4, "level0_samples": 8},
    }
    first = run_hybrid(
        load_config(None, {**common, "rank_nosh": {**common["rank_nosh"], "budget_epochs": 600}}), tmp_path / "a"
    )
    search_state = (tmp_path / "searches" / "diff_0_darts" / "search.pt").stat().st_mtime_ns
    second = run_hybrid(
        load_config(None, {**common, "rank_nosh": {**common["rank_nosh"], "budget_epochs": 900}}), tmp_path / "b"
    )
    # the second recipe reuses the finished search (not retrained) and both charge its 2 epochs
    assert (tmp_path / "searches" / "diff_0_darts" / "search.pt").stat().st_mtime_ns == search_state
    assert first["supernet_epochs"] == second["supernet_epochs"] == 2
    assert first["total_epochs"] <= 600 and second["total_epochs"] <= 900
    assert first["searches"][0]["genotype"] == second["searches"][0]["genotype"]
    assert not first["searches"][0]["warm_start"]  # table lookups cannot inherit weights
    assert 50 < second["test_accuracy"] < 95  # a CIFAR-10 200-epoch test accuracy from the table
    assert json.loads((tmp_path / "b" / "result.json").read_text())["lineage_counts"]["darts"] >= 1


def tabular_recipe(budget_epochs: int, **changes):
    """A tiny tabular hybrid recipe: a 1-epoch DARTS supernet on digits, RANK-NOSH on the NB201 table."""
    from predictor_nas.hybrid import load_config

    rank_nosh = {"budgets": [12, 200], "ratio": 0.5, "k": 4, "initial": 4, "level0_samples": 8}
    rank_nosh.update(budget_epochs=budget_epochs, proxies=["params"])
    base = {
        "dataset": "digits",
        "max_train": 256,
        "network": {"C": 4, "N": 1},
        "diff": [{"method": "darts", "selection": "magnitude", "epochs": 1, "samples": 4, "batch_size": 32}],
        "benchmark": "nb201:cifar10",
        "oneshot_proxy": False,
        "rank_nosh": rank_nosh,
    }
    return load_config(None, {**base, **changes})


def test_hybrid_without_oneshot_proxy_keeps_rank_noshs_zero_cost_proxy(tmp_path, shared_data):
    from predictor_nas.hybrid import run_hybrid

    result = run_hybrid(tabular_recipe(400), tmp_path / "run")
    assert result["lineage_counts"]["darts"] >= 1 and result["total_epochs"] <= 400
    pool = Pool.open(f"sqlite:///{tmp_path / 'run' / 'pool.db'}")
    scores = pool.proxy_scores()
    pool.close()
    assert scores and all(set(s) == {"params"} for s in scores.values())  # the zero-cost proxy, not "oneshot"


def test_hybrid_pretrains_the_ranker_on_one_shot_scores(tmp_path, shared_data):
    import json

    from predictor_nas.hybrid import load_config, run_hybrid

    result = run_hybrid(tabular_recipe(400, ranker_pretrain=16), tmp_path / "run")
    cache = json.loads((tmp_path / "run" / "ranker_pretrain.json").read_text())
    assert len(cache["archs"]) == len(cache["scores"]) == 16 and result["total_epochs"] <= 400
    assert all(0.0 <= s <= 100.0 for s in cache["scores"])  # one-shot validation accuracies
    with pytest.raises(ValueError, match="ranker_pretrain must be 0"):
        load_config(None, {"ranker_pretrain": -3})
