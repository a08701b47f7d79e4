import csv
import sys
import types

import pytest

from nas_core.spaces import ArchitectureError
from predictor_nas.evaluators import (
    CostLedger,
    NatsBenchEvaluator,
    NatsBenchTestReporter,
    NB201TestReporter,
    TabularNB201Evaluator,
    epochs_charged,
)
from predictor_nas.tables import load_validation


def test_tabular_evaluator_observes_validation_and_only_the_reporter_sees_test(shared_data):
    ev = TabularNB201Evaluator("cifar10", shared_data / "nb201")
    reporter = NB201TestReporter("cifar10", shared_data / "nb201")
    with open(shared_data / "nb201" / "mini_bench_12ep_val_test.csv") as fh:
        mini = list(csv.DictReader(fh))
    with open(shared_data / "nb201" / "nb201_200ep_val_test_v1_0.csv") as fh:
        v1_0 = list(csv.DictReader(fh))
    for i in (0, 6111, 15624):
        arch = v1_0[i]["arch_str"]
        assert ev.observe(arch, 12) == float(mini[i]["cifar10-val"])
        assert ev.observe(arch, 200) == float(v1_0[i]["c10_val200"])
        assert reporter.report(arch) == float(v1_0[i]["c10_test200"])
    # the data README's optimum: index 6111, test 94.37; by validation also 6111 (val 91.61)
    assert reporter.report(ev.space.from_index(6111)) == pytest.approx(94.37, abs=5e-3) == reporter.optimum
    assert int(ev.validation.val200.argmax()) == 6111
    # what a search holds has no test column and no way to report one
    assert not hasattr(ev, "report") and not any("test" in name for name in vars(ev.validation))
    with pytest.raises(ValueError, match="observes budgets"):
        ev.observe(v1_0[0]["arch_str"], 50)
    with pytest.raises(ArchitectureError):
        ev.observe("|nor_conv_3x3~0|", 12)


def test_a_promotion_is_charged_in_full_unless_discounted():
    assert epochs_charged(12, 200, resumes=False) == 200  # the table's 200-epoch run is its own schedule
    assert epochs_charged(12, 200, resumes=True) == 188
    assert epochs_charged(200, 12, resumes=False) == 0 and epochs_charged(0, 12, resumes=False) == 12
    full, discounted = CostLedger(), CostLedger(resumes=True)
    for ledger in (full, discounted):
        ledger.charge("a", 12)
        ledger.charge("a", 200)
        ledger.charge("a", 12)
        ledger.charge("b", 200)
    assert (full.total, discounted.total) == (412, 400)


def test_the_evaluator_labels_its_charging(shared_data):
    assert TabularNB201Evaluator("cifar10", shared_data / "nb201").charging == "full"
    assert TabularNB201Evaluator("cifar10", shared_data / "nb201", discount_resume=True).charging == "discounted"


def test_missing_tables_are_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"mini_bench_12ep_val_test\.csv"):
        load_validation("cifar10", tmp_path)
    with pytest.raises(KeyError, match="unknown NAS-Bench-201 dataset"):
        load_validation("svhn")


def test_nats_bench_adapter_queries_the_official_api(monkeypatch):
    calls = []

    class FakeApi:
        def get_more_info(self, index, dataset, iepoch=None, hp="12", is_random=True):
            calls.append((index, dataset, iepoch, hp, is_random))
            return {"valid-accuracy": 80.0 + (iepoch or 0) / 10, "test-accuracy": 91.5}

    monkeypatch.setitem(sys.modules, "nats_bench", types.SimpleNamespace(create=lambda *a, **k: FakeApi()))
    ev = NatsBenchEvaluator("cifar10", seed=777)
    arch = ev.space.from_index(42)
    assert ev.observe(arch, 50) == pytest.approx(84.9)
    assert not hasattr(ev, "report") and ev.resumes
    assert NatsBenchTestReporter("cifar10").report(arch) == 91.5
    assert calls == [(42, "cifar10-valid", 49, "200", 777), (42, "cifar10", None, "200", False)]
    with pytest.raises(ValueError, match=r"1\.\.200"):
        ev.observe(arch, 0)
