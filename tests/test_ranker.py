import random

import numpy as np
import pytest
import torch
from scipy.stats import kendalltau

from nas_core.spaces import get_space
from predictor_nas.ranker import Ranker, RankerConfig, pairs_from_observations, pairs_from_scores, pairwise_loss


def test_hinge_loss_is_zero_only_for_correct_margin_separated_pairs():
    better = torch.tensor([1.0, 1.0, 0.0, 0.5])
    worse = torch.tensor([0.5, 0.95, 1.0, 0.5])
    loss = pairwise_loss(better, worse, "hinge", margin=0.1)
    assert loss[0] == 0  # correct order, separated by more than the margin
    assert loss[1] > 0 and loss[2] > 0 and loss[3] > 0  # inside the margin, wrong order, tie
    assert torch.isclose(loss[2], torch.tensor(1.1))


def test_logistic_loss_decreases_with_the_score_gap():
    gaps = torch.tensor([-2.0, 0.0, 2.0])
    loss = pairwise_loss(gaps, torch.zeros(3), "logistic")
    assert loss[0] > loss[1] > loss[2] > 0 and torch.isclose(loss[1], torch.log(torch.tensor(2.0)))
    with pytest.raises(ValueError, match="hinge"):
        pairwise_loss(gaps, gaps, "square")


def test_pairs_use_the_highest_common_budget():
    obs = [
        {12: 50.0, 200: 90.0},  # 0
        {12: 60.0},  # 1: paused at level 1
        {0: 5.0},  # 2: proxy only
        {12: 40.0, 200: 92.0},  # 3: promoted, better at 200 though worse at 12
        {0: 7.0, 12: 30.0},  # 4: has a proxy score and 12 epochs
    ]
    p = pairs_from_observations(obs)
    got = set(zip(p.better.tolist(), p.worse.tolist()))
    assert (3, 0) in got and (0, 3) not in got  # compared at 200, not at 12
    assert {(1, 0), (1, 3), (0, 4), (1, 4), (3, 4)} <= got  # at 12 epochs
    assert (4, 2) in got  # the only budget 2 and 4 share is the proxy level
    assert len(got) == len(p) == 7


def test_pairs_skip_ties_and_weight_by_budget():
    p = pairs_from_observations([{12: 50.0}, {12: 50.2}, {12: 40.0}], min_gap=0.5, budget_weight={12: 0.25})
    assert set(zip(p.better.tolist(), p.worse.tolist())) == {(0, 2), (1, 2)} and set(p.weight) == {0.25}


def synthetic_score(space, arch) -> float:
    """Convolutions reaching the output, weighted by kind (a made-up but learnable target)."""
    graph = space.to_graph(arch)
    return sum({"nor_conv_3x3": 2.0, "nor_conv_1x1": 1.0, "avg_pool_3x3": 0.3}.get(op, 0) for op in graph.node_ops)


def test_ranker_learns_a_synthetic_ordering():
    space = get_space("nb201")
    rng = random.Random(0)
    train = [str(space.sample(rng)) for _ in range(150)]
    test = [str(space.sample(rng)) for _ in range(400)]
    ranker = Ranker(space, RankerConfig(steps=150, seed=0))
    ranker.fit(train, pairs_from_scores([synthetic_score(space, a) for a in train]))
    tau = kendalltau(ranker.score(test), [synthetic_score(space, a) for a in test]).statistic
    assert tau > 0.9


def test_regression_ablation_and_features():
    space = get_space("nb201")
    rng = random.Random(1)
    archs = [str(space.sample(rng)) for _ in range(60)]
    y = [synthetic_score(space, a) for a in archs]
    feats = np.array([[v + rng.gauss(0, 0.1)] for v in y])
    ranker = Ranker(space, RankerConfig(loss="mse", steps=100, ensemble=2)).fit(archs, targets=y, features=feats)
    assert kendalltau(ranker.score(archs, feats), y).statistic > 0.8
    with pytest.raises(ValueError, match="one target per architecture"):
        Ranker(space, RankerConfig(loss="mse")).fit(archs, targets=y[:3])
    with pytest.raises(ValueError, match="at least one pair"):
        Ranker(space).fit(archs, pairs_from_scores([1.0] * len(archs)))
    with pytest.raises(ValueError, match="loss must be one of"):
        RankerConfig(loss="listwise")


def test_fine_tuning_starts_from_the_pretrained_models():
    import random

    from nas_core.spaces import get_space
    from predictor_nas.ranker import Ranker, RankerConfig, pairs_from_observations

    space = get_space("nb201")
    rng = random.Random(0)
    archs = [space.sample(rng) for _ in range(12)]
    pairs = pairs_from_observations([{0: float(i)} for i in range(12)])
    pre = Ranker(space, RankerConfig(steps=30, ensemble=2, seed=1)).fit(archs, pairs)
    # a fine-tuning step of size 0: the fine-tuned ranker is the pretrained one
    still = RankerConfig(steps=1, ensemble=2, seed=5, lr=1e-30)
    few = pairs_from_observations([{0: float(i)} for i in range(4)])
    tuned = Ranker(space, still).fit(archs[:4], few, init_from=pre)
    assert np.allclose(tuned.score(archs), pre.score(archs), atol=1e-5)
    fresh = Ranker(space, still).fit(archs[:4], few)
    assert not np.allclose(fresh.score(archs), pre.score(archs))
    with pytest.raises(ValueError, match="never fitted"):
        Ranker(space, RankerConfig(steps=1)).fit(archs, pairs, init_from=Ranker(space))


def test_rank_scale_orders_infinities_and_puts_nan_at_the_median():
    from predictor_nas.ranker import rank_scale

    reference = np.array([[-np.inf, 1.0], [0.0, 1e6], [2.0, 10.0], [5.0, 1e9]])
    scaled = rank_scale(np.array([[-np.inf, 1.0], [3.0, 1e12], [np.nan, np.inf]]), reference)
    assert np.all(np.isfinite(scaled))
    # -inf ties with the reference's -inf: mid-rank 1/8; 3.0 lies above 3 of 4 references: 3/4
    assert np.allclose(scaled[:, 0], (np.array([0.125, 0.75, 0.5]) - 0.5) * np.sqrt(12))
    assert np.allclose(scaled[:, 1], (np.array([0.125, 1.0, 1.0]) - 0.5) * np.sqrt(12))
    # a monotone transform of the scores (e.g. log of params) changes nothing
    pos = np.abs(reference[1:]) + 1
    assert np.allclose(rank_scale(pos, pos), rank_scale(np.log(pos), np.log(pos)))
    with pytest.raises(ValueError, match="3 columns, the reference 2"):
        rank_scale(np.zeros((1, 3)), reference)


def test_ranker_learns_from_a_proxy_feature_with_infinite_scores():
    """A feature that knows what the graph cannot (here: the target's noise), with -inf for some cells (as
    synflow gives a cell with no path to the output), lifts a tiny ranker far above the same ranker without
    it; scoring must use the same features."""
    space = get_space("nb201")
    rng = random.Random(2)
    archs = [str(space.sample(rng)) for _ in range(40)]
    test = [str(space.sample(rng)) for _ in range(300)]
    y = np.array([synthetic_score(space, a) + rng.gauss(0, 2.0) for a in archs + test])
    with np.errstate(divide="ignore"):
        proxy = np.log(np.maximum(y, 0))[:, None]  # log(0) = -inf below zero
    assert np.isneginf(proxy).any()
    cfg = RankerConfig(steps=25, hidden=8, layers=1, seed=0)
    pairs = pairs_from_scores(y[:40])
    with_proxy = Ranker(space, cfg).fit(archs, pairs, features=proxy[:40], feature_reference=proxy)
    without = Ranker(space, cfg).fit(archs, pairs)
    tau_with = kendalltau(with_proxy.score(test, proxy[40:]), y[40:]).statistic
    tau_without = kendalltau(without.score(test), y[40:]).statistic
    assert tau_with > 0.7 and tau_with > tau_without + 0.2
    with pytest.raises(ValueError, match="fitted with features"):
        with_proxy.score(test)
    with pytest.raises(ValueError, match="fitted without features"):
        without.score(test, proxy[40:])
