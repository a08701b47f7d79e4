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
