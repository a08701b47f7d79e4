"""The tabular search never sees a test accuracy: poisoning every test column changes no search.

Each searcher runs twice with the same seed, once on the real NAS-Bench-201 tables and once on a copy
whose every test column holds random numbers. The searches must return the same architecture with
the same trajectory; only the report made afterwards differs (which shows the poison took effect).
"""

from __future__ import annotations

import csv
import random

import pytest
from test_search import scorer, small_config

from pools import Pool, PoolConfig
from predictor_nas.backends import TabularBackend
from predictor_nas.evaluators import NB201TestReporter, TabularNB201Evaluator
from predictor_nas.incumbent import report
from predictor_nas.search import RankNosh
from predictor_nas.strategies import get_strategy
from predictor_nas.study import Study, search_preset


def poison(src, dst) -> None:
    """Copy every table of ``src`` to ``dst`` with random values in each column whose name says test."""
    dst.mkdir()
    rng = random.Random(0)
    for path in src.glob("*.csv"):
        with open(path, newline="") as fh:
            rows = list(csv.DictReader(fh))
        fields = list(rows[0])
        for row in rows:
            for f in fields:
                if "test" in f.lower():
                    row[f] = f"{rng.uniform(0, 100):.4f}"
        with open(dst / path.name, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fields)
            writer.writeheader()
            writer.writerows(rows)


@pytest.fixture(scope="module")
def folders(shared_data, tmp_path_factory):
    real = shared_data / "nb201"
    poisoned = tmp_path_factory.mktemp("tables") / "poisoned"
    poison(real, poisoned)
    return real, poisoned


def rank_nosh(folder, tmp_path, name):
    pool = Pool.create(f"sqlite:///{tmp_path}/{name}.db", PoolConfig(space="nb201", dataset="nb201:cifar10"))
    backend = TabularBackend(TabularNB201Evaluator("cifar10", folder))
    result = RankNosh(pool, small_config(seed=5), backend, scorer(pool)).run()
    pool.close()
    return result


def baseline(folder, tmp_path, name, method, budget):
    """A baseline strategy the way every strategy runs: a Study on the table, its backend observed."""
    pool = Pool.create(f"sqlite:///{tmp_path}/{name}-{method}.db", PoolConfig(space="nb201", dataset="nb201:cifar10"))
    config = search_preset("tabular", budget_epochs=budget, seed=5)
    evaluator = TabularNB201Evaluator("cifar10", folder)
    with Study(pool, config, evaluator=evaluator, strategy=get_strategy(method)) as study:
        return study.optimize()


@pytest.mark.parametrize("method", ["rank-nosh", "random", "rea", "tpe", "tpe+hyperband"])
def test_poisoned_test_columns_change_no_search(folders, tmp_path, method):
    real, poisoned = folders
    results = []
    for name, folder in (("real", real), ("poisoned", poisoned)):
        if method == "rank-nosh":
            result = rank_nosh(folder, tmp_path, name)
        else:
            budget = 1000 if method == "tpe+hyperband" else 600
            result = baseline(folder, tmp_path, name, method, budget)
        results.append(report(result, NB201TestReporter("cifar10", folder)))
    clean, dirty = results
    assert clean.best_arch == dirty.best_arch and clean.trajectory == dirty.trajectory
    assert clean.cost_epochs == dirty.cost_epochs
    assert clean.test_accuracy != dirty.test_accuracy  # the poison reached the report, and only the report
