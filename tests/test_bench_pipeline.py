"""scripts/bench_pipeline.py at --tiny: the three conditions of README command 1 (issue 44)."""

import json

from scripts import bench_pipeline


def test_the_warm_run_reuses_every_retraining_and_the_before_run_none(tmp_path, monkeypatch):
    out = tmp_path / "bench_pipeline.json"
    quickstart = tmp_path / "quickstart.json"
    argv = ["bench_pipeline.py", "--tiny", "--device", "cpu", "--work", str(tmp_path / "work"), "--out", str(out)]
    argv += ["--quickstart", str(quickstart)]
    monkeypatch.setattr("sys.argv", argv)
    monkeypatch.setattr(bench_pipeline, "matmul_gflops", lambda: 1.0)
    bench_pipeline.main()
    report = json.loads(out.read_text())
    by = {r["condition"]: r for r in report["results"]}
    assert list(by) == ["before", "cold", "warm"]
    assert set(by["before"]["cached_seeds"].values()) == {0} and set(by["before"]["threads"].values()) == {1}
    assert set(by["cold"]["cached_seeds"].values()) == {0}
    assert set(by["warm"]["cached_seeds"].values()) == {2}  # every network, both seeds
    assert by["warm"]["test"] == by["cold"]["test"] and by["warm"]["best_arch"] == by["cold"]["best_arch"]
    assert by["warm"]["train_gflops"] == {} and by["cold"]["train_gflops"]
    assert "retrain winner" in by["before"]["phase_seconds"]
    assert any(p.startswith("retrain (") for p in by["cold"]["phase_seconds"])
    assert set(report["speedup_vs_before"]) == {"cold", "warm"} and out.with_suffix(".png").exists()
    # the cold run is kept as the README's quickstart result, with how it was measured
    kept = json.loads(quickstart.read_text())
    assert kept["measured"]["wall_seconds"] == by["cold"]["wall_s"]
    assert kept["search"]["best_arch"] == by["cold"]["best_arch"]
    assert kept["final"]["winner"]["test"] == by["cold"]["test"]["winner"]
    assert (tmp_path / "quickstart_training.png").exists()
