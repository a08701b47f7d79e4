"""The one incumbent rule of every search, and the report made after it."""

from types import SimpleNamespace

from predictor_nas.incumbent import best, report, trajectory_point


def test_a_higher_budget_wins_and_ties_go_to_the_first_observed():
    observed = {
        "a": {12: 90.0},
        "b": {12: 85.0, 200: 80.0},
        "c": {200: 80.0},  # ties b at 200 epochs: b was observed first
        "d": {12: 95.0},  # the best 12-epoch value, but 12 epochs lose to 200
        "e": {},
    }
    assert best(observed) == ["b"]
    assert best(observed, 4) == ["b", "c", "d", "a"]
    assert best({"x": {12: 70.0}, "y": {12: 70.0}}) == ["x"]
    assert best({}) == []
    assert trajectory_point(212, "b", observed["b"]) == [212, "b", 80.0, 200]


def test_report_reads_test_once_per_incumbent_after_the_search():
    calls = []

    class Reporter:
        def report(self, arch):
            calls.append(arch)
            return {"a": 91.0, "b": 93.0}[arch]

    result = SimpleNamespace(
        best_arch="b", trajectory=[[12, "a", 80.0, 12], [24, "a", 80.0, 12], [224, "b", 85.0, 200]]
    )
    report(result, Reporter())
    assert result.test_accuracy == 93.0
    assert result.test_curve == [(12, 91.0), (24, 91.0), (224, 93.0)]
    assert sorted(calls) == ["a", "b"]  # each architecture read once
