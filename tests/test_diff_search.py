"""The differentiable search loop: resumable, runs every method end to end on a tiny setup."""

import json

import pytest
import torch

from nas_cli import main
from nas_core.spaces import get_space
from nas_core.vocabulary import NetworkSize
from supernet.engine.diff_search import DiffSearch, DiffSearchConfig


def tiny(method="darts", **kw) -> DiffSearchConfig:
    base = dict(
        method=method,
        dataset="digits",
        epochs=4,
        network=NetworkSize(4, 1),
        batch_size=32,
        max_train=256,
        crop_padding=1,
        flip=False,
        diag_batches=2,
        seed=0,
    )
    base.update(kw)
    return DiffSearchConfig.resolve(**base)


class InterruptedSearchError(Exception):
    pass


@pytest.mark.parametrize("method", ["darts", "drnas", "gdas", "sgas", "p-darts"])
def test_resumed_search_equals_uninterrupted(tmp_path, method):
    options = {
        "drnas": {"method_options": {"stages": ((2, 2, 5), (2, 1, 3)), "stage_warmup": 1}},
        "sgas": {"method_options": {"warmup": 1, "decision_freq": 1}},
        "p-darts": {"method_options": {"stages": ((2, 1, 5, 0.1), (2, 2, 3, 0.4)), "stage_warmup": 1}},
    }.get(method, {})
    full = DiffSearch(tiny(method, **options)).run()

    def stop_after_two(entry):
        if entry["epoch"] == 2:
            raise InterruptedSearchError

    with pytest.raises(InterruptedSearchError):
        DiffSearch(tiny(method, **options), run_dir=tmp_path, on_epoch=stop_after_two).run()
    resumed = DiffSearch(tiny(method, **options), run_dir=tmp_path).run()
    assert resumed.genotype == full.genotype
    assert [h["alphas"] for h in resumed.history] == [h["alphas"] for h in full.history]
    assert [h["train_loss"] for h in resumed.history] == [h["train_loss"] for h in full.history]


def test_compile_option_compiles_the_supernet_in_place(tmp_path):
    """--compile wraps the supernet's call without renaming its state (checkpoints stay compatible);
    CUDA-graph mode is refused (a search step runs the supernet with several sets of edge weights)."""
    eager = DiffSearch(tiny(), run_dir=tmp_path / "eager")
    compiled = DiffSearch(tiny(compile="default"), run_dir=tmp_path / "compiled")
    assert eager.supernet._compiled_call_impl is None and compiled.supernet._compiled_call_impl is not None
    assert list(compiled.supernet.state_dict()) == list(eager.supernet.state_dict())
    with pytest.raises(ValueError, match=r"compile must be one of.*got 'reduce-overhead'"):
        tiny(compile="reduce-overhead")


@pytest.mark.gpu
def test_compiled_search_matches_eager_on_gpu(tmp_path):
    alphas = {}
    for mode in ("off", "default"):
        search = DiffSearch(tiny(compile=mode, epochs=1, amp="off", device="cuda"), run_dir=tmp_path / mode)
        search.run()
        alphas[mode] = torch.tensor(search.history[-1]["alphas"]["normal"])
    assert alphas["off"].abs().max() > 1e-4  # alpha moved, so the comparison means something
    assert torch.allclose(alphas["default"], alphas["off"], atol=1e-4)


def test_method_defaults_apply_unless_overridden():
    sp = DiffSearchConfig.resolve(method="sp-darts")
    assert sp.w_lr == 0.05 and sp.w_lr_min == 0.05 and sp.a_weight_decay == 0.0 and sp.batch_size == 256
    assert DiffSearchConfig.resolve(method="sp-darts", batch_size=32).batch_size == 32
    assert DiffSearchConfig.resolve(method="drnas").epochs == 100
    with pytest.raises(ValueError, match="unknown search option"):
        DiffSearchConfig.resolve(method="darts", epoch=3)
    with pytest.raises(ValueError, match="selection"):
        DiffSearchConfig.resolve(selection="random")
    with pytest.raises(ValueError, match=r"epochs and batch_size must be >= 1, got epochs=0, batch_size=-2"):
        DiffSearchConfig.resolve(epochs=0, batch_size=-2)
    with pytest.raises(ValueError, match=r"train_portion must be in \(0, 1\), got 1.5"):
        DiffSearchConfig.resolve(train_portion=1.5)


@pytest.mark.parametrize(
    "method",
    [
        "darts",
        "darts-2nd",
        "sdarts-rs",
        "sdarts-adv",
        "drnas",
        "sp-darts",
        "r-darts",
        "darts-plus",
        "pc-darts",
        "gdas",
        "snas",
        "fair-darts",
        "gaea",
        "sgas",
        "p-darts",
    ],
)
def test_every_method_runs_and_returns_a_valid_cell(method):
    options = {"method_options": {"stages": ((1, 2, 5), (1, 1, 3)), "stage_warmup": 0}} if method == "drnas" else {}
    if method == "pc-darts":
        options = {"warmup_epochs": 0}  # (the published 15 frozen epochs would leave α untouched here)
    if method == "sgas":
        options = {"method_options": {"warmup": 1, "decision_freq": 1}}
    if method == "p-darts":
        options = {"method_options": {"stages": ((1, 1, 5, 0.1), (1, 2, 3, 0.4)), "stage_warmup": 0}}
    result = DiffSearch(tiny(method, epochs=2, hessian_every=1, **options)).run()
    get_space("nb201").from_string(result.genotype)
    assert result.history and "hessian_eigenvalue" in result.history[-1]


def test_pc_darts_on_the_darts_space_picks_inputs_by_beta_times_alpha():
    search = DiffSearch(tiny("pc-darts", space="darts", epochs=1, warmup_epochs=0, max_train=64))
    result = search.run()
    assert search.supernet.partial_k == 4
    get_space("darts").from_string(result.genotype)
    edge = search.method.edge_weights("eval")["normal"]
    assert torch.allclose(edge[0:2].sum(), torch.tensor(1.0)) and torch.allclose(edge[2:5].sum(), torch.tensor(1.0))
    scaled = search.method.selection_weights()["normal"]
    assert torch.allclose(scaled, search.method.probabilities()["normal"] * edge[:, None])


def test_darts_space_search_with_pt_selection():
    result = DiffSearch(
        tiny(space="darts", epochs=1, selection="pt", pt_tune_epochs=1, max_train=64, pt_eval_batches=1)
    ).run()
    g = get_space("darts").from_string(result.genotype)
    assert len(result.selection_log) == 28 + 2 * 3  # every edge, then the nodes with > 2 inputs
    assert all(op != "none" for op, _ in g.normal + g.reduce)


#: a one-epoch search of a tiny NB201 supernet (C=4, N=1) on 128 images
TINY_NB201_FLAGS = [
    "--space",
    "nb201",
    "--epochs",
    "1",
    "--channels",
    "4",
    "--cells-per-stage",
    "1",
    "--max-train",
    "128",
]


def test_nas_diff_cli(tmp_path, capsys):
    out = tmp_path / "run"
    argv = [
        "diff",
        "--method",
        "darts",
        "--selection",
        "pt",
        *TINY_NB201_FLAGS,
        "--dataset",
        "digits",
        "--pt-tune-epochs",
        "1",
        "--out",
        str(out),
        "--quiet",
    ]
    assert main(argv) == 0
    result = json.loads((out / "result.json").read_text())
    assert get_space("nb201").from_string(result["genotype"])
    assert len(result["history"]) == 1 and len(result["selection_log"]) == 6
    assert result["cost"]["supernet_epochs"] == 1 + 6  # one PT tuning epoch after each edge decision
    for name in ("weights_normal.png", "skip_connections.png", "cell_normal.png"):  # valid PNG files
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    printed = capsys.readouterr()
    hint = printed.err.split("to measure the cell: ")[1]  # no --retrain: how to retrain is printed
    assert hint.startswith(f"nas train --arch @{out / 'result.json'} --space nb201 --dataset digits --protocol nb201")
    assert "--valid-fraction 0" in hint and "retrained_test_accuracy" in printed.out
    # the same command with --retrain: the finished search is read back, its cell retrained and tested once
    assert main([*argv, "--retrain", "--retrain-epochs", "1"]) == 0
    retrained = json.loads((out / "result.json").read_text())["retrained"]
    assert (
        retrained["recipe"]["network"] == {"channels": 8, "cells_per_stage": 1}
        and retrained["train_config"]["epochs"] == 1
    )
    assert 0 <= retrained["test_accuracy"] <= 100 and (out / "retrain" / "model.pt2").exists()
    assert json.loads(capsys.readouterr().out)["retrained_test_accuracy"] == retrained["test_accuracy"]
    assert main(["diff", "--method", "nope", "--out", str(out)]) == 2
    assert "unknown method" in capsys.readouterr().err


def test_allegronas_searches_the_allegro_space_with_neca():
    config = tiny("allegronas", epochs=2, max_train=64)
    assert config.space == "allegro" and config.lr_schedule == "neca" and config.lr_period == 90
    search = DiffSearch(config)
    result = search.run()
    g = get_space("allegro").from_string(result.genotype)
    assert all(op in get_space("allegro").ops for op, _ in g.normal + g.reduce)
    lrs = [h["lr"] for h in result.history]
    assert lrs[0] == pytest.approx(config.w_lr) and lrs[1] < config.w_lr


@pytest.mark.parametrize("method", ["pc-darts", "gdas", "snas", "fair-darts", "p-darts", "sgas", "gaea", "allegronas"])
def test_survey_methods_run_through_nas_diff_on_fashion_mnist(method, tmp_path, fashion_mnist_root):
    out = tmp_path / "run"
    argv = [
        "diff",
        "--method",
        method,
        "--dataset",
        "fashion-mnist",
        "--data-root",
        str(fashion_mnist_root),
        *TINY_NB201_FLAGS,
        "--batch-size",
        "32",
        "--out",
        str(out),
        "--quiet",
    ]
    if method == "p-darts":
        argv += ["--method-option", "stages=((1, 1, 5, 0.1),)"]
    assert main(argv) == 0
    result = json.loads((out / "result.json").read_text())
    get_space("nb201").from_string(result["genotype"])
    assert result["method"] == method and len(result["history"]) == 1
