"""scripts/bench_nosh.py is fair: every method is charged the same epoch total (on a fake trainer, so it
is exact and fast), uniform-sh is charged as if it retrained from scratch, and a candidate resumed in the
real pool backend continues its learning curve exactly; --merge's table, Welch p-values and dataset."""

from __future__ import annotations

import gzip
import json
import math
import statistics
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import bench_nosh  # noqa: E402

from nas_core.vocabulary import NetworkSize  # noqa: E402
from pools import EpochRecord  # noqa: E402


class FakeTrainer:
    """Trains instantly: validation accuracy is a fixed function of the cell and the epoch (more
    convolutions and more epochs are better), so searches differ only in what they choose to train."""

    incremental = False
    runner = SimpleNamespace(splits=SimpleNamespace(num_classes=10, shape=(1, 8, 8)), device="cpu")

    def __init__(self, resumes: bool = True) -> None:
        self.resumes, self.charging = resumes, "resumed" if resumes else "scratch"
        self.trained = 0  # epochs really trained, every pool together

    @staticmethod
    def accuracy(arch: str, epoch: int) -> float:
        return 10 + 10 * arch.count("conv_3x3") + 5 * arch.count("conv_1x1") + 20 * (1 - math.exp(-epoch / 5))

    def train(self, pool, candidates, epoch):
        for c in candidates:
            start = pool.candidate(c.id).epochs_trained
            records = [
                EpochRecord(e, 1.0 / e, 50.0, None, self.accuracy(c.arch, e)) for e in range(start + 1, epoch + 1)
            ]
            pool.record_metrics(c.id, records, epochs_trained=max(epoch, start))
            self.trained += len(records)


def test_every_method_is_charged_the_same_epoch_total(tmp_path):
    args = bench_nosh.parse_args(["--out", str(tmp_path), "--budgets", "1", "3", "9", "--budget", "60"])
    args.level0_samples, args.channels = 12, 2
    charged = {}
    for method in bench_nosh.METHODS:
        # the real pools charge as CandidateTraining says (checked below); the fake follows the same rule
        fake = FakeTrainer(resumes=bench_nosh.candidate_training(args, method).charge_resumed)
        run = bench_nosh.search(method, args, seed=0, backend=fake)
        charged[method] = run["epochs_charged"]
        # within the budget, and no further from it than one top-budget job that no longer fitted
        assert 60 - 9 < run["epochs_charged"] <= 60, (method, run["epochs_charged"])
        assert run["epochs_trained"] == fake.trained  # the pool's record is what really trained
        if method == "uniform-sh":  # no resume: a promotion to e2 costs e2, so it trains fewer epochs
            observed = {}
            for row in run["learning_curves"]:
                observed.setdefault(row["arch"], set()).add(row["epoch"])
            budgets_reached = [max(e for e in epochs if e in (1, 3, 9)) for epochs in observed.values()]
            assert run["epochs_trained"] < run["epochs_charged"]
            assert sum(sum(b for b in (1, 3, 9) if b <= top) for top in budgets_reached) == run["epochs_charged"]
        else:
            assert run["epochs_charged"] == run["epochs_trained"]
        assert all(row["seed"] == 0 and "test_acc" not in row for row in run["learning_curves"])
    assert set(charged) == set(bench_nosh.METHODS)


def test_uniform_sh_pools_charge_promotions_from_scratch(tmp_path):
    from predictor_nas.study import Study

    args = bench_nosh.parse_args(["--out", str(tmp_path), "--dataset", "digits", "--device", "cpu"])
    for method, resumes in (("uniform-sh", False), ("rank-nosh", True), ("hyperband", True)):
        training = bench_nosh.candidate_training(args, method)
        config = bench_nosh.search_config(method, args, 0)
        with Study.create(config, training=training, run_dir=tmp_path / method) as study:
            assert (study.backend.resumes, study.backend.charging) == (resumes, "resumed" if resumes else "scratch")
    assert bench_nosh.search_config("uniform-sh", args, 0).uniform_sh
    assert bench_nosh.search_config("regression-loss", args, 0).ranker.loss == "mse"
    assert bench_nosh.search_config("no-proxies", args, 0).proxies == ()


def test_resumed_training_continues_the_learning_curve_exactly(tmp_path):
    """Real training in the pool backend: 0 -> 1 then resumed 1 -> 3 gives the epoch metrics of 0 -> 3."""
    from predictor_nas.study import CandidateTraining, Study, search_preset

    arch = "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|"
    training = CandidateTraining(
        dataset="digits", max_train=240, max_test=60, network=NetworkSize(4, 1), batch_size=32, device="cpu"
    )
    config = search_preset("quick", budgets=(1, 3), budget_epochs=10)
    metrics = {}
    for name, steps in (("resumed", (1, 3)), ("straight", (3,))):
        with Study.create(config, training=training, run_dir=tmp_path / name) as study:
            ((cid, _),) = study.pool.add_candidates([arch])
            for epoch in steps:
                study.backend.train(study.pool, [study.pool.candidate(cid)], epoch)
            metrics[name] = [(r.epoch, r.train_loss, r.train_acc, r.valid_acc) for r in study.pool.metrics(cid)[cid]]
    assert [m[0] for m in metrics["resumed"]] == [1, 2, 3]
    assert metrics["resumed"] == metrics["straight"]


def _run(method, seed, test, valid, curves):
    return {
        "method": method,
        "seed": seed,
        "found": {"arch": "a", "valid": valid, "epoch": 9},
        "epochs_charged": 60,
        "epochs_trained": 60,
        "candidates": 5,
        "search_seconds": 30.0,
        "curve": [[9, valid - 1], [60, valid]],
        "learning_curves": curves,
        "final": {"test_acc": test},
    }


def test_merge_table_welch_p_values_and_the_dataset(tmp_path, monkeypatch):
    from scipy.stats import ttest_ind

    curve = [{"seed": 0, "arch": "x", "epoch": 1, "train_loss": 2.0, "train_acc": 30.0, "valid_acc": 40.0}]
    full, random, rea = [80.0, 81.0, 83.0], [78.0, 79.0, 78.5], [80.5, 82.0, 80.0]
    for seed, (a, b, c) in enumerate(zip(full, random, rea)):
        (tmp_path / f"rank-nosh_s{seed}.json").write_text(json.dumps(_run("rank-nosh", seed, a, 70.0, curve)))
        (tmp_path / f"random_s{seed}.json").write_text(json.dumps(_run("random", seed, b, 69.0, curve)))
        (tmp_path / f"rea_s{seed}.json").write_text(json.dumps(_run("rea", seed, c, 69.0, curve)))
    out = tmp_path / "merged.json"
    summary = bench_nosh.merge(tmp_path, out)
    rows = {r["method"]: r for r in summary["table"]}
    assert rows["rank-nosh"]["test_mean"] == pytest.approx(sum(full) / 3)
    versus = rows["random"]["vs_rank_nosh"]
    assert versus["p"] == pytest.approx(ttest_ind(full, random, equal_var=False).pvalue)  # two-sided
    assert versus["sidedness"] == "two-sided" and versus["diff"] == pytest.approx((sum(random) - sum(full)) / 3)
    assert rows["rank-nosh"]["vs_rank_nosh"] is None
    assert rows["rank-nosh"]["test_std"] == pytest.approx(statistics.stdev(full))  # the sample SD
    # Benjamini-Hochberg over the two comparisons: the larger p stays, the smaller doubles (capped by it)
    p_random, p_rea = versus["p"], rows["rea"]["vs_rank_nosh"]["p"]
    assert p_random < p_rea / 2 and rows["rea"]["vs_rank_nosh"]["p_bh"] == pytest.approx(p_rea)
    assert versus["p_bh"] == pytest.approx(2 * p_random)
    assert summary["meta"]["seeds"] == [0, 1, 2] and "two-sided" in summary["meta"]["statistics"]
    markdown = bench_nosh.markdown_table(summary["table"]).splitlines()
    assert markdown[2].startswith(f"| rank-nosh | 3 | {sum(full) / 3:.2f} ± ") and markdown[2].endswith("| — | — |")
    with gzip.open(tmp_path / "nosh_learning_curves.csv.gz", "rt") as fh:
        lines = fh.read().splitlines()
    assert lines[0] == "seed,arch,epoch,train_loss,train_acc,valid_acc" and len(lines) == 2  # one measurement
    assert (tmp_path / "merged.png").exists()


def test_best_so_far_steps_up_only_when_an_observation_beats_the_best():
    curve = [[1, 40.0], [3, 35.0], [9, 70.0], [27, 60.0]]
    assert bench_nosh.best_so_far(curve, [0, 1, 2, 3, 9, 20, 27, 100]) == [None, 40, 40, 40, 70, 70, 70, 70]
    assert bench_nosh.best_so_far([], [0, 5]) == [None, None]


def test_gpu_script_runs_its_path_at_a_tiny_size_and_merges(tmp_path):
    """scripts/gpu_nosh.sh waits for a GPU; its `tiny` mode runs the same bench_nosh path on the CPU."""
    import os
    import subprocess

    env = {**os.environ, "OUT": str(tmp_path), "OMP_NUM_THREADS": "1"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"  # its python3: this interpreter
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "gpu_nosh.sh"), "tiny"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    runs = {p.name: json.loads(p.read_text()) for p in (tmp_path / "nosh_gpu").glob("*_s0.json")}
    assert sorted(runs) == ["rank-nosh_s0.json", "uniform-sh_s0.json"]
    assert all(r["final"]["test_acc"] is not None and r["resumed_from_epochs"] == 0 for r in runs.values())
    bench_nosh.merge(tmp_path / "nosh_gpu", tmp_path / "merged.json")
    assert {row["method"] for row in json.loads((tmp_path / "merged.json").read_text())["table"]} == {
        "rank-nosh",
        "uniform-sh",
    }


def test_an_architecture_retrained_by_an_earlier_run_of_the_seed_is_not_retrained(tmp_path, monkeypatch):
    import predictor_nas.pipeline

    args = bench_nosh.parse_args(["--out", str(tmp_path)])
    arch = "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"
    run = _run("rank-nosh", 0, 88.5, 70.0, [])
    run["found"]["arch"], run["settings"] = arch, bench_nosh.settings(args)
    (tmp_path / "rank-nosh_s0.json").write_text(json.dumps(run))
    monkeypatch.setattr(predictor_nas.pipeline, "retrain_final", lambda *a, **k: pytest.fail("retrained again"))
    final = bench_nosh.final_training(args, arch, 0)
    assert final["test_acc"] == 88.5 and final["reused_from"] == "rank-nosh_s0.json"
    called = []
    monkeypatch.setattr(
        predictor_nas.pipeline,
        "retrain_final",
        lambda *a, **k: called.append(a[1]) or {"test_accuracy": 80.0, "train_seconds": 1.0},
    )
    longer = bench_nosh.parse_args(["--out", str(tmp_path), "--final-epochs", "9"])
    assert bench_nosh.final_training(longer, arch, 0)["test_acc"] == 80.0  # another protocol: retrained
    other = arch.replace("none~2", "nor_conv_1x1~2")
    assert bench_nosh.final_training(args, other, 0)["test_acc"] == 80.0  # another cell: retrained
    assert called == [arch, other]


def test_two_runs_that_find_the_same_cell_at_once_do_not_train_it_side_by_side(tmp_path, monkeypatch):
    """--processes 2: two searches of a seed may finish on the same cell together (seed 4's Hyperband and
    ASHA did); its retraining runs in one folder, so the second must wait for the first."""
    import threading
    import time

    import predictor_nas.pipeline

    active, overlaps = [], []

    def slow_retrain(name, arch, *a, **k):
        active.append(name)
        overlaps.append(len(active))
        time.sleep(0.3)
        active.remove(name)
        return {"test_accuracy": 80.0, "train_seconds": 1.0}

    monkeypatch.setattr(predictor_nas.pipeline, "retrain_final", slow_retrain)
    args = bench_nosh.parse_args(["--out", str(tmp_path)])
    arch = "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"
    runs = [threading.Thread(target=bench_nosh.final_training, args=(args, arch, 4)) for _ in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    assert overlaps == [1, 1]


def test_sigterm_to_the_parent_stops_its_runs(tmp_path):
    """`kill PID` of a --processes run: its worker processes stop too instead of training on orphaned."""
    import os
    import signal
    import subprocess
    import time

    command = [sys.executable, str(ROOT / "scripts" / "bench_nosh.py"), "--tiny", "--processes", "2"]
    parent = subprocess.Popen([*command, "--out", str(tmp_path)], env={**os.environ, "OMP_NUM_THREADS": "1"})
    children: list[str] = []
    deadline = time.monotonic() + 60
    while len(children) < 3 and time.monotonic() < deadline:  # the two workers and the resource tracker
        time.sleep(0.2)
        children = subprocess.run(["pgrep", "-P", str(parent.pid)], capture_output=True, text=True).stdout.split()
    assert len(children) >= 2, children
    time.sleep(3)  # inside their runs (importing torch, training)
    parent.send_signal(signal.SIGTERM)
    try:
        assert parent.wait(timeout=60) == 128 + signal.SIGTERM
        time.sleep(1)
        alive = [pid for pid in children if "spawn_main" in _cmdline(pid)]
        assert not alive, f"worker processes {alive} outlived their parent"
    finally:
        for pid in children:  # orphans of a failure would train on
            if "spawn_main" in _cmdline(pid):
                os.kill(int(pid), signal.SIGKILL)


def _cmdline(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""
