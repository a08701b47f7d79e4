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

from nas_core.spaces import get_space
from pools import Pool, PoolConfig
from predictor_nas.backends import TabularBackend
from predictor_nas.baselines import BASELINES
from predictor_nas.evaluators import NB201TestReporter, TabularNB201Evaluator
from predictor_nas.incumbent import report
from predictor_nas.search import RankNosh


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


@pytest.mark.parametrize("method", ["rank-nosh", *BASELINES])
def test_poisoned_test_columns_change_no_search(folders, tmp_path, method):
    real, poisoned = folders
    results = []
    for name, folder in (("real", real), ("poisoned", poisoned)):
        if method == "rank-nosh":
            result = rank_nosh(folder, tmp_path, name)
        else:
            budget = 1000 if method == "tpe+hyperband" else 600
            result = BASELINES[method](TabularNB201Evaluator("cifar10", folder), get_space("nb201"), budget, seed=5)
        results.append(report(result, NB201TestReporter("cifar10", folder)))
    clean, dirty = results
    assert clean.best_arch == dirty.best_arch and clean.trajectory == dirty.trajectory
    assert clean.cost_epochs == dirty.cost_epochs
    assert clean.test_accuracy != dirty.test_accuracy  # the poison reached the report, and only the report
