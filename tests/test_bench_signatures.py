"""scripts/bench_signatures.py at a tiny size: every signature is recorded per epoch, DARTS is selected by
magnitude and by PT on the same supernet, finished runs are skipped, --merge builds the table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_tiny_signature_run_records_every_signature_and_merges(tmp_path, fashion_mnist_root):
    # through the GPU script's CPU mode: the prepared device run and the benchmark share one path
    env = {**os.environ, "OUT": str(tmp_path), "DATA_ROOT": str(fashion_mnist_root)}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"  # its python3: this interpreter
    run = subprocess.run(
        ["bash", str(ROOT / "scripts" / "gpu_signatures.sh"), "tiny"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,  # ~30 s on 2 cores; under pytest's 600-s limit, so a hang fails here with its output
    )
    assert run.returncode == 0, run.stderr[-2000:]
    tmp_path = tmp_path / "signatures_gpu"
    env_cmd = [sys.executable, str(ROOT / "scripts" / "bench_signatures.py"), "--tiny", "--out", str(tmp_path)]
    darts = json.loads((tmp_path / "darts_s0.json").read_text())
    assert [e["epoch"] for e in darts["epochs"]] == [0, 1]
    assert all(e["eigenvalue"] is not None and 0 <= e["parameter_free"] <= 6 for e in darts["epochs"])
    assert set(darts["selections"]) == {"magnitude", "pt"} and len(darts["magnitude_vs_strength"]) == 6
    drnas = json.loads((tmp_path / "drnas_s0.json").read_text())
    assert "pt" not in drnas["selections"] and all(e["concentration"] > 0 for e in drnas["epochs"])
    again = subprocess.run([*env_cmd, "--methods", "darts", "--seeds", "0"], cwd=ROOT, capture_output=True, text=True)
    assert again.returncode == 0 and "darts seed 0" not in again.stdout  # finished: skipped
    merged = subprocess.run([*env_cmd, "--merge"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert merged.returncode == 0, merged.stderr[-2000:]
    table = json.loads((tmp_path / "merged.json").read_text())["table"]
    assert {(r["method"], r["selection"]) for r in table} == {
        ("darts", "magnitude"),
        ("darts", "pt"),
        ("drnas", "magnitude"),
    }
    assert (tmp_path / "merged.png").exists()
    darts_epochs = darts["epochs"]
    assert [e["arch_steps"] for e in darts_epochs] == [2, 4]  # 128 search-training images, batch 64
    assert all(0 <= e["train_acc"] <= 100 for e in darts_epochs)


def test_alpha_step_rates_and_a_reduced_darts_space(tmp_path, fashion_mnist_root):
    """Issue 40: --rate measures α updates per second on an α-active epoch (DrNAS's stage warm-up off) and
    the cost of --alpha-steps; --space s2 searches R-DARTS's skip/sep_conv space, its runs named by space."""
    bench = [sys.executable, str(ROOT / "scripts" / "bench_signatures.py"), "--tiny", "--out", str(tmp_path)]
    bench += ["--data-root", str(fashion_mnist_root), "--device", "cpu", "--seeds", "0", "--batch-size", "16"]
    rate = subprocess.run(
        [*bench, "--methods", "darts,drnas", "--rate", "--alpha-steps", "800"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert rate.returncode == 0, rate.stderr[-2000:]
    rates = {r["method"]: r for r in json.loads((tmp_path / "rate-nb201-b16.json").read_text())["rates"]}
    for r in rates.values():
        assert r["alpha_steps_per_epoch"] == 8 and r["alpha_steps_per_s"] > 0 and r["epochs_for_target"] >= 100
    s2 = subprocess.run(
        [*bench, "--methods", "gdas", "--space", "s2", "--alpha-steps", "16"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert s2.returncode == 0, s2.stderr[-2000:]
    run = json.loads((tmp_path / "s2-gdas_s0.json").read_text())
    assert run["space"] == "s2" and run["epochs"][-1]["arch_steps"] == 16
    cell = run["selections"]["magnitude"]
    assert cell["transfer"] is None and 0 <= cell["skips"] <= 8 and cell["collapsed"] == (cell["skips"] >= 4)
