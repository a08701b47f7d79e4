"""The scripts in examples/ run at their tiny setting, and the CLI is the API: same seed, same result."""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import pytest
import torch

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_example(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [name, "--tiny"])
    runpy.run_path(str(EXAMPLES / name), run_name="__main__")


def test_tabular_example_reports_test_once_after_the_search(tmp_path, monkeypatch, capsys, shared_data):
    monkeypatch.setenv("NAS_NB201_DIR", str(shared_data / "nb201"))
    run_example("tabular_rank_nosh.py", tmp_path, monkeypatch)
    out = capsys.readouterr().out
    assert "found |" in out and "test " in out and "random search at the same budget" in out
    assert (tmp_path / "runs" / "examples" / "tabular" / "pool.db").exists()


def test_darts_pt_example_selects_every_nb201_edge(tmp_path, monkeypatch, capsys, fashion_mnist_root):
    monkeypatch.setenv("NAS_FASHION_MNIST", str(fashion_mnist_root))
    run_example("darts_pt.py", tmp_path, monkeypatch)
    out = capsys.readouterr().out
    assert out.count("PT keeps") == 6  # one perturbation decision per NB201 edge
    assert (tmp_path / "runs" / "examples" / "darts_pt" / "search.pt").exists()  # resumable


def test_mixing_example_proposes_optimizes_retrains_and_exports(tmp_path, monkeypatch, capsys):
    from pools import Pool

    run_example("mix_by_hand.py", tmp_path, monkeypatch)
    out = capsys.readouterr().out
    run = tmp_path / "runs" / "examples" / "mix"
    pool = Pool.open(f"sqlite:///{run / 'pool' / 'pool.db'}")
    lineages = {c.lineage for c in pool.candidates()}
    pool.close()
    assert {"darts", "gdas"} <= lineages  # both methods' proposals joined the pool
    result = json.loads((run / "final" / "result.json").read_text())
    exported = torch.export.load(run / "final" / "model.pt2").module()
    assert exported(torch.zeros(1, *result["input_shape"])).shape == (1, 10)
    assert "RANK-NOSH: |" in out and "retrained: test" in out


def test_cli_and_api_find_the_same_architecture(tmp_path, shared_data, capsys):
    """``nas rank-nosh --benchmark ...`` is parse -> config -> Study: same seed, same search, same report."""
    from nas_cli import main
    from predictor_nas import Study, search_preset

    argv = ["rank-nosh", "--benchmark", "nb201:cifar10", "--benchmark-dir", str(shared_data / "nb201"), "--seed", "3"]
    argv += ["--budget-epochs", "500", "--level0-samples", "200", "--out", str(tmp_path / "cli"), "--json"]
    assert main(argv) == 0
    cli = json.loads(capsys.readouterr().out)
    config = search_preset("tabular", budget_epochs=500, level0_samples=200, seed=3)
    with Study.create(
        config, benchmark="nb201:cifar10", benchmark_dir=str(shared_data / "nb201"), run_dir=tmp_path / "api"
    ) as study:
        api = study.report(study.optimize())
    assert (cli["best_arch"], cli["validation_accuracy"], cli["cost_epochs"]) == (
        api.best_arch,
        api.observed,
        api.cost_epochs,
    )
    assert cli["test_accuracy"] == api.test_accuracy


def test_own_data_example_searches_tensors_written_to_one_file(tmp_path, monkeypatch, capsys):
    run_example("own_data.py", tmp_path, monkeypatch)
    out = capsys.readouterr().out
    assert "found |" in out and "test " in out
    files = list((tmp_path / "runs" / "examples" / "own_data").glob("data-*.npz"))
    assert len(files) == 1 and str(files[0].resolve()) in out


def test_own_space_example_runs_the_hybrid_on_an_unseen_op_set(tmp_path, monkeypatch, capsys):
    from nas_core.spaces import SPACES

    if "my-dag" in SPACES:  # declared by an earlier run in this process: the script declares it again
        monkeypatch.delitem(SPACES._entries, "my-dag")
    from nas_core.ops import OPS

    if "conv_5x5" in OPS:
        monkeypatch.delitem(OPS._entries, "conv_5x5")
    run_example("own_space.py", tmp_path, monkeypatch)
    out = capsys.readouterr().out
    found = out.split("RANK-NOSH + DrNAS found ")[1].split(" ")[0]
    from nas_core.spaces import get_space

    assert get_space("my-dag").parse(found) and "DrNAS selected |" in out


def test_cost_limit_example_keeps_every_trained_candidate_under_the_limit(tmp_path, monkeypatch, capsys):
    run_example("cost_limit.py", tmp_path, monkeypatch)
    out = capsys.readouterr().out
    limited = tmp_path / "runs" / "examples" / "cost_limit" / "limited"
    front = json.loads((limited / "front.json").read_text())
    assert front["cost"] == "params" and front["limit"] > 0 and (limited / "front.png").exists()
    assert front["candidates"] and all(r["cost"] <= front["limit"] for r in front["candidates"])
    assert any(r.get("front") for r in front["candidates"])
    chosen = out.split("<= ")[1].split("M params")[0].split()[-1]
    assert float(chosen) <= front["limit"]
