"""NOSH as pure logic: exact promotion counts, nothing dropped, paused candidates resumable."""

import itertools
import math
import random

import pytest

from predictor_nas.nosh import NoshConfig, Pyramid, promotion_count, select_top


@pytest.mark.parametrize("ratio", [0.1, 0.25, 1 / 3, 0.5, 0.9, 1.0])
def test_promotion_count_is_ceil_r_n(ratio):
    for n in range(1, 101):
        assert promotion_count(n, ratio) == math.ceil(round(ratio * n, 9))
    assert promotion_count(0, ratio) == 0
    assert promotion_count(30, 0.1) == 3 and promotion_count(10, 0.3) == 3  # no float-noise ceil


def test_select_top_breaks_ties_by_age():
    assert select_top({5: 1.0, 3: 2.0, 4: 2.0, 9: 0.5}, 2) == [3, 4]
    assert select_top({1: 1.0}, 5) == [1]


@pytest.mark.parametrize(
    "ratio,n_members,intake", list(itertools.product([0.1, 0.25, 0.5, 1.0], [1, 3, 7, 20], [1, 2, 5, 20]))
)
def test_promote_moves_exactly_ceil_r_intake_of_the_best_and_drops_nothing(ratio, n_members, intake):
    rng = random.Random(n_members * 100 + intake)
    pyramid = Pyramid(NoshConfig(budgets=(1, 2, 4), ratio=ratio))
    ids = list(range(n_members))
    pyramid.add(ids, 1)
    scores = {i: rng.random() for i in ids}
    promoted = pyramid.promote(1, scores, intake)
    expected = min(n_members, promotion_count(intake, ratio))
    assert len(promoted) == expected
    assert set(promoted) == set(sorted(ids, key=lambda i: -scores[i])[:expected])
    assert set(pyramid.members(2)) == set(promoted) and len(pyramid.level) == n_members
    assert sum(pyramid.sizes().values()) == n_members


def test_paused_candidate_is_promoted_in_a_later_round():
    pyramid = Pyramid(NoshConfig(budgets=(12, 200), ratio=1 / 3))
    pyramid.add([1, 2, 3], 1)
    scores = {1: 80.0, 2: 70.0, 3: 60.0}
    assert pyramid.promote(1, scores, intake=3) == [1]  # round 1: 2 and 3 pause at level 1
    pyramid.add([4, 5, 6], 1)  # round 2: three weaker newcomers
    scores.update({4: 50.0, 5: 40.0, 6: 30.0})
    assert pyramid.promote(1, scores, intake=3) == [2]  # the paused candidate resumes
    assert pyramid.members(2) == [1, 2] and pyramid.members(1) == [3, 4, 5, 6]


def test_admission_from_the_proxy_level_and_cascade_sizes():
    pyramid = Pyramid(NoshConfig(budgets=(1, 3, 9), ratio=0.5, k=3))
    pyramid.add(range(10), 0)
    assert pyramid.admit({i: float(i) for i in range(10)}, 3) == [9, 8, 7]
    assert pyramid.sizes() == {0: 7, 1: 3, 2: 0, 3: 0}
    assert pyramid.cascade_intakes(10) == [10, 5, 3]


def test_candidates_only_move_up_and_bad_input_is_refused():
    pyramid = Pyramid(NoshConfig(budgets=(1, 3), ratio=0.5))
    pyramid.add([1], 2)
    with pytest.raises(ValueError, match="only move up"):
        pyramid.move([1], 1)
    with pytest.raises(ValueError, match="already in the pyramid"):
        pyramid.add([1], 1)
    with pytest.raises(ValueError, match=r"level must be in 0\.\.2"):
        pyramid.add([2], 3)
    pyramid.add([5, 6], 1)
    with pytest.raises(ValueError, match=r"have no score at epoch 1"):
        pyramid.promote(1, {5: 1.0}, intake=2)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(budgets=(200, 12)), "strictly increasing"),
        (dict(budgets=()), "strictly increasing"),
        (dict(ratio=0.0), "ratio"),
        (dict(ratio=1.5), "ratio"),
        (dict(k=0), "k and initial"),
    ],
)
def test_bad_nosh_configs(kwargs, match):
    with pytest.raises(ValueError, match=match):
        NoshConfig(**kwargs)
