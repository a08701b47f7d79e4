"""The statistics convention (predictor_nas.stats) on cases worked out by hand."""

import math

import pytest

from predictor_nas import stats


def test_summary_uses_the_sample_sd_and_a_t_interval():
    s = stats.summarize([1.0, 2.0, 3.0, None])
    assert s["n"] == 3 and s["mean"] == 2.0
    assert s["sd"] == pytest.approx(1.0)  # ddof = 1 (the population SD would be 0.816)
    half = 4.302652729911275 * 1.0 / math.sqrt(3)  # t(0.975, 2) * sd / sqrt(n)
    assert s["ci95"] == pytest.approx([2.0 - half, 2.0 + half])


def test_a_single_value_has_no_spread_and_no_interval():
    assert stats.summarize([91.5]) == {"n": 1, "mean": 91.5, "sd": None, "ci95": None}
    assert stats.fmt_mean_sd(stats.summarize([91.5])) == "91.50"
    assert stats.fmt_mean_sd(stats.summarize([1.0, 2.0, 3.0])) == "2.00 ± 1.00"


def test_welch_is_two_sided_and_states_it():
    from scipy.stats import ttest_ind

    a, b = [3.0, 4.0, 5.0, 6.0], [1.0, 2.5, 2.0]
    res = stats.welch(a, b)
    one_sided = ttest_ind(a, b, equal_var=False, alternative="greater").pvalue
    assert res["p"] == pytest.approx(2 * one_sided)
    assert res["test"] == "welch_t" and res["sidedness"] == "two-sided" and res["n"] == [4, 3]
    assert res["ci95"][0] < res["diff"] < res["ci95"][1]


def test_paired_test_uses_the_pairs():
    a = [10.0, 20.0, 30.0, 40.0]
    b = [9.0, 19.2, 28.9, 39.1]  # large spread between seeds, a steady gain within each
    assert stats.welch(a, b)["p"] > 0.5
    res = stats.paired(a, b)
    assert res["n"] == 4 and res["diff"] == pytest.approx(0.95)
    assert res["p"] < 0.001 and res["ci95"][0] > 0
    assert res["wilcoxon_p"] == pytest.approx(0.125)  # exact: 4 positive differences, two-sided


def test_constant_differences_give_a_point_interval():
    res = stats.paired([2.0, 3.0, 4.0], [1.0, 2.0, 3.0])
    assert res["ci95"] == [1.0, 1.0] and res["sd"] == 0.0


def test_corrections_match_the_hand_computation():
    assert stats.holm([0.01, 0.04, 0.03, None]) == pytest.approx([0.03, 0.06, 0.06, None])
    assert stats.benjamini_hochberg([0.01, 0.04, 0.03, None]) == pytest.approx([0.03, 0.04, 0.04, None])
    with pytest.raises(ValueError, match="'bonferoni'"):
        stats.adjust([0.1], "bonferoni")


def test_verdict_reads_the_interval_of_the_difference():
    # one retraining each (the old pipeline's 91.53 vs 91.50) cannot beat anything
    assert stats.verdict(stats.welch([91.53], [91.50])) == "ties"
    assert stats.verdict(stats.welch([91.5, 91.6, 91.4], [91.45, 91.6, 91.5])) == "ties"
    assert stats.verdict(stats.welch([92.0, 92.1, 91.9], [91.0, 91.1, 90.9])) == "beats"
    assert stats.verdict(stats.welch([91.0, 91.1, 90.9], [92.0, 92.1, 91.9])) == "loses"
