"""The shipped zero-cost proxy table: a fresh computation agrees, NASLib agrees, a search uses it."""

from __future__ import annotations

import json
import random

import pytest
from scipy.stats import spearmanr

from nas_core.spaces import get_space
from nas_core.spaces.nb201 import official_order
from predictor_nas import proxies as proxies_module
from predictor_nas.proxies import ProxyScorer, compute_proxies
from predictor_nas.proxy_table import DATA_FREE_PROXIES, TABLE_PATH, TABULAR_SETTINGS, load_proxy_table
from scripts.bench_proxies import load_naslib


@pytest.fixture(scope="module")
def table():
    if not TABLE_PATH.exists():
        pytest.fail(f"{TABLE_PATH} is missing: run python scripts/make_proxy_table.py")
    return load_proxy_table()


def test_the_table_has_every_cell_and_every_data_free_proxy(table):
    assert len(table) == 15_625 and set(table) == set(official_order())
    assert all(set(scores) == set(DATA_FREE_PROXIES) for scores in table.values())


def test_a_sample_of_rows_matches_a_fresh_computation(table):
    space = get_space("nb201")
    archs = random.Random(0).sample(official_order(), 6)
    fresh = compute_proxies(space, archs, DATA_FREE_PROXIES, **TABULAR_SETTINGS)
    for arch, scores in zip(archs, fresh):
        for name in DATA_FREE_PROXIES:
            assert table[arch][name] == pytest.approx(scores[name], rel=1e-6, abs=1e-9), (arch, name)


def test_the_table_agrees_with_naslib(table, shared_data):
    entries = load_naslib(shared_data / "zero_cost" / "zc_nasbench201.json")
    for name in ("synflow", "params", "flops"):
        scored = [(a, e[name]["score"]) for a, e in entries if name in e]
        assert len(scored) > 700
        rho = spearmanr([table[a][name] for a, _ in scored], [v for _, v in scored]).statistic
        assert rho > 0.99, (name, rho)


def test_a_scorer_with_the_table_computes_nothing(table, monkeypatch, tmp_path):
    def refuse(*args, **kwargs):
        raise AssertionError("computed a proxy the table has")

    monkeypatch.setattr(proxies_module, "compute_proxies", refuse)
    scorer = ProxyScorer(
        get_space("nb201"), ["synflow"], **TABULAR_SETTINGS, cache_path=str(tmp_path / "c.json"), precomputed=table
    )
    archs = official_order()[:50]
    assert [s["synflow"] for s in scorer(archs)] == [table[a]["synflow"] for a in archs]
    assert not (tmp_path / "c.json").exists()  # the table is never copied into the cache


def test_an_interrupted_scorer_keeps_what_it_computed(tmp_path, monkeypatch):
    calls = []
    real = proxies_module.compute_proxies

    def interrupted_on_second_chunk(space, archs, names, **kwargs):
        calls.append(len(archs))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(space, archs, names, **kwargs)

    monkeypatch.setattr(proxies_module, "compute_proxies", interrupted_on_second_chunk)
    cache = tmp_path / "cache.json"
    scorer = ProxyScorer(
        get_space("nb201"),
        ["params"],
        num_classes=10,
        input_shape=(3, 8, 8),
        network={"C": 2, "N": 1},
        cache_path=str(cache),
        save_every=3,
    )
    with pytest.raises(KeyboardInterrupt):
        scorer(official_order()[:9])
    assert calls == [3, 3] and len(json.loads(cache.read_text())) == 3
