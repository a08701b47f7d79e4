"""scripts/bench_pool.py's scale run: its operation count and capacity model (issue 41, item 4)."""

import pytest

from scripts.bench_pool import capacity, gpus_served, medians, run


def test_forked_workers_count_every_pool_operation(tmp_path):
    """Each job is a claim, its epoch records, a heartbeat and a complete; each worker's last claim finds
    nothing. Forked workers (the scale run's) finish every job."""
    r = run(f"sqlite:///{tmp_path}/pool.db", 2, 5, 3, str(tmp_path / "ckpt"), 0.0, start_method="fork")
    assert r["operations"] == 5 * (1 + 3 + 1 + 1) + 2
    assert r["latency_ms"]["claim"]["p99"] >= r["latency_ms"]["claim"]["median"]


def test_gpus_served_is_the_rate_over_each_workers_demand():
    # a worker on 60-s candidates with 4 epoch records: 6 / 60 + 1 / 30 operations per second
    assert gpus_served(100.0, 4, 60.0, 30.0) == pytest.approx(100 / (0.1 + 1 / 30))


def test_capacity_takes_each_backends_peak_median_over_repeats():
    def row(backend, workers, ops):
        return {
            "backend": backend,
            "workers": workers,
            "operations_per_s": ops,
            "jobs_per_s": ops / 7,
            "latency_ms": {"claim": {"median": 1.0, "p99": 2.0}},
        }

    results = [row("sqlite", 1, x) for x in (100, 300, 110)] + [row("sqlite", 4, x) for x in (150, 160, 90)]
    summary = medians(results)
    assert [(r["workers"], r["operations_per_s"], r["operations_per_s_range"]) for r in summary] == [
        (1, 110, [100, 300]),
        (4, 150, [90, 160]),
    ]
    c = capacity(summary, 4, 30.0)["sqlite"]
    assert (c["peak_at_workers"], c["peak_operations_per_s"]) == (4, 150)
    assert c["gpus_served"]["10 min"] == pytest.approx(gpus_served(150, 4, 600.0, 30.0))
