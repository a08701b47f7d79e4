import csv
import sys
import types

import pytest

from predictor_nas.evaluators import CostLedger, NatsBenchEvaluator, TabularNB201Evaluator
from predictor_nas.tables import load_table
from supernet.spaces import ArchitectureError


def test_tabular_evaluator_returns_the_table_numbers(shared_data):
    ev = TabularNB201Evaluator("cifar10", shared_data / "nb201")
    with open(shared_data / "nb201" / "mini_bench_12ep_val_test.csv") as fh:
        mini = list(csv.DictReader(fh))
    with open(shared_data / "nb201" / "nats_bench_12ep_200ep_old.csv") as fh:
        old = list(csv.DictReader(fh))
    with open(shared_data / "nb201" / "nats_bench_200ep.csv") as fh:
        new = list(csv.DictReader(fh))
    for i in (0, 6111, 15624):
        arch = new[i]["ArchitectureString"]
        assert ev.observe(arch, 12) == float(mini[i]["cifar10-val"])
        assert ev.observe(arch, 200) == float(old[i]["Cifar10TestAccuracy200Epochs"])
        assert ev.report(arch) == float(new[i]["CIFAR10TestAccuracy200Epochs"])
    assert ev.report(ev.space.from_index(6111)) == pytest.approx(94.3733, abs=1e-3) == ev.table.optimum
    with pytest.raises(ValueError, match="observes budgets"):
        ev.observe(new[0]["ArchitectureString"], 50)
    with pytest.raises(ArchitectureError):
        ev.observe("|nor_conv_3x3~0|", 12)


def test_cost_is_charged_in_epochs():
    ledger = CostLedger()
    assert ledger.charge("a", 12) == 12
    assert ledger.charge("a", 200) == 188  # resumed, not restarted
    assert ledger.charge("a", 12) == 0 and ledger.charge("b", 200) == 200
    assert ledger.total == 400


def test_missing_tables_are_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nats_bench_200ep\.csv"):
        load_table("cifar10", tmp_path)
    with pytest.raises(KeyError, match="unknown NAS-Bench-201 dataset"):
        load_table("svhn")


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
    assert ev.report(arch) == 91.5
    assert calls == [(42, "cifar10-valid", 49, "200", 777), (42, "cifar10", None, "200", False)]
    with pytest.raises(ValueError, match=r"1\.\.200"):
        ev.observe(arch, 0)
