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


def constructed_run(method: str, seed: int, skips: list[int], eigenvalues: list, transfer: float, retrained: float):
    """A run file's shape with chosen numbers: one epoch per ``skips`` entry, 156 α updates an epoch."""
    epochs = [
        {"epoch": i, "arch_steps": 156 * (i + 1), "skips": s, "eigenvalue": e, "entropy": 1.0}
        for i, (s, e) in enumerate(zip(skips, eigenvalues, strict=True))
    ]
    cell = {"skips": skips[-1], "transfer": {"cifar10": transfer}, "retrained": {"test_accuracy": retrained}}
    return {
        "method": method,
        "space": "nb201",
        "seed": seed,
        "epochs": epochs,
        "epochs_run": len(epochs),
        "selections": {"magnitude": cell},
    }


def test_collapse_reading_and_paired_comparisons(tmp_path):
    """Issue 40's merge: the α updates at which the argmax cell first has 4 skips, the eigenvalue's rise, each
    cure minus DARTS on the same seeds, and each long run minus its short twin of the core grid."""
    sys.path.insert(0, str(ROOT))
    from scripts.bench_signatures import against_core, collapse_step, cures_vs_darts, eigenvalue_ratio

    darts = [
        constructed_run("darts", 0, [0, 2, 4, 5], [1.0, None, 3.0, 4.0], transfer=60.0, retrained=80.0),
        constructed_run("darts", 1, [0, 1, 1, 1], [2.0, None, None, 1.0], transfer=90.0, retrained=85.0),
    ]
    cure = [
        constructed_run("sdarts-rs", 0, [0, 0, 0, 0], [1.0, None, None, 1.0], transfer=91.0, retrained=86.0),
        constructed_run("sdarts-rs", 1, [0, 0, 0, 1], [1.0, None, None, 1.0], transfer=92.0, retrained=85.0),
        constructed_run("sdarts-rs", 2, [0, 0, 0, 0], [1.0, None, None, 1.0], transfer=99.0, retrained=99.0),
    ]
    assert [collapse_step(r) for r in darts] == [468, None]  # the third epoch: 3 x 156 α updates
    assert eigenvalue_ratio(darts[0]) == 4.0 and eigenvalue_ratio(darts[1]) == 0.5
    vs = cures_vs_darts(darts + cure)["nb201:sdarts-rs"]
    assert vs["seeds"] == [0, 1]  # seed 2 has no DARTS twin
    assert vs["transfer"]["n"] == 2 and vs["transfer"]["diff"] == (31.0 + 2.0) / 2
    assert vs["retrained"]["diff"] == (6.0 + 0.0) / 2
    core = tmp_path / "core"
    core.mkdir()
    short = constructed_run("darts", 1, [0, 0], [1.0, 1.0], transfer=93.0, retrained=0.0)
    (core / "darts_s1.json").write_text(json.dumps(short))
    twin = against_core(darts, core)["nb201:darts"]
    assert twin["seeds"] == [1] and twin["alpha_steps"] == [624]
    assert twin["transfer"]["diff"] == -3.0 and twin["skips"]["diff"] == 1.0
