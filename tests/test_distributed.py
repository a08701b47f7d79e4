"""Data-parallel supernet search: two CPU processes (gloo) launched by torchrun keep α identical."""

import json
import os
import subprocess
import sys

import pytest
import torch


@pytest.mark.parametrize("method", ["darts-2nd", "gaea"])  # hypergradient set by hand; α updated by hand
def test_torchrun_keeps_alpha_and_weights_identical_across_ranks(method, tmp_path):
    out = tmp_path / "run"
    argv = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    argv += ["-m", "nas_cli", "diff", "--method", method, "--space", "nb201", "--dataset", "digits"]
    argv += ["--epochs", "2", "--max-train", "256", "--channels", "4", "--cells-per-stage", "1"]
    argv += ["--batch-size", "32", "--device", "cpu", "--out", str(out), "--quiet"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    history = json.loads((out / "result.json").read_text())["history"]
    assert [h["world_size"] for h in history] == [2, 2]
    assert all(h["alpha_rank_difference"] == 0.0 and h["weight_rank_difference"] == 0.0 for h in history)
    first = torch.tensor(history[0]["alphas"]["normal"])
    last = torch.tensor(history[-1]["alphas"]["normal"])
    assert not torch.equal(first, last)  # α did move


def test_torchrun_runs_the_hierarchical_macro_phase_data_parallel(tmp_path):
    """The ICDARTS template search is a phase of the one loop: under torchrun it shards batches and keeps
    γ and S identical on both ranks (it used to run on rank 0 alone, outside the loop)."""
    out = tmp_path / "run"
    argv = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    argv += ["-m", "nas_cli", "diff", "--method", "darts", "--space", "darts", "--dataset", "digits"]
    argv += ["--epochs", "1", "--max-train", "128", "--channels", "4", "--cells-per-stage", "1", "--macro-epochs", "2"]
    argv += ["--batch-size", "32", "--device", "cpu", "--out", str(out), "--quiet"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    macro = json.loads((out / "result.json").read_text())["macro"]["history"]
    assert [h["world_size"] for h in macro] == [2, 2]
    assert all(h["alpha_rank_difference"] == 0.0 and h["weight_rank_difference"] == 0.0 for h in macro)
    assert (out / "macro" / "search.pt").exists()  # the phase checkpoints like any search


def test_shard_splits_a_global_batch_and_rejects_tiny_ones(monkeypatch):
    from supernet.engine import distributed

    x, y = torch.arange(10).float().view(10, 1), torch.arange(10)
    assert distributed.shard((x, y))[1].tolist() == list(range(10))  # alone: the whole batch
    monkeypatch.setattr(distributed, "rank_and_world", lambda: (1, 3))
    assert distributed.shard((x, y))[1].tolist() == [1, 4, 7]
    with pytest.raises(ValueError, match="cannot be split over 3"):
        distributed.shard((x[:2], y[:2]))
