"""Hierarchical ICDARTS version 1 (paper 003, ch. 6): the skip-input (template) search."""

import json

import pytest
import torch

from nas_cli import main
from nas_core.networks.darts import DartsNetwork
from nas_core.spaces import get_space
from nas_core.vocabulary import NetworkSize
from supernet.cdarts.hierarchical import MacroSearch, SkipNetwork, default_skip, initial_gamma
from supernet.engine.diff_search import DiffSearchConfig

GENOTYPE = get_space("darts").sample(__import__("random").Random(0))


def test_gamma_starts_with_the_nearest_skip_weighted_most():
    gammas = initial_gamma(5)
    assert [len(g) for g in gammas] == [1, 1, 2, 3, 4]
    for i, g in enumerate(gammas):
        w = torch.softmax(g, 0)
        assert int(w.argmax()) == default_skip(i)
        assert torch.all(w[1:] >= w[:-1])  # more recent sources weigh more


def test_default_skips_are_exactly_the_darts_template():
    torch.manual_seed(0)
    darts = DartsNetwork(GENOTYPE, C=4, layers=5, num_classes=3, in_channels=1).eval()
    skip = SkipNetwork(GENOTYPE, [(default_skip(i),) for i in range(5)], C=4, layers=5, num_classes=3, in_channels=1)
    state = {}
    for key, value in darts.state_dict().items():  # DARTS's preprocess0 is the default skip's adapter
        parts = key.split(".")
        if parts[0] == "cells" and parts[2] == "preprocess0":
            key = ".".join(["adapters", parts[1], "0", *parts[3:]])
        state[key] = value
    skip.load_state_dict(state)
    x = torch.randn(2, 1, 16, 16)
    assert torch.allclose(skip.eval()(x), darts(x), atol=1e-6)


def test_mixed_skips_need_weights_and_bad_sources_are_rejected():
    sources = [tuple(range(default_skip(i) + 1)) for i in range(4)]
    net = SkipNetwork(GENOTYPE, sources, C=4, layers=4, num_classes=3, in_channels=1)
    x = torch.randn(2, 1, 16, 16)
    weights = [torch.softmax(g, 0) for g in initial_gamma(4)]
    assert net(x, weights).shape == (2, 3)
    with pytest.raises(ValueError, match="pass mixing weights"):
        net(x)
    with pytest.raises(ValueError, match=r"cell 2 can skip from states 0\.\.1"):
        SkipNetwork(GENOTYPE, [(0,), (0,), (2,), (2,)], C=4, layers=4, num_classes=3, in_channels=1)


def tiny_config(**kw):
    base = dict(method="icdarts", space="darts", dataset="digits", epochs=3, warmup_epochs=1, network=NetworkSize(4, 1))
    return DiffSearchConfig.resolve(**{**base, "batch_size": 32, "max_train": 128, "device": "cpu", **kw})


def test_e_macro_keeps_the_largest_gamma_skip_and_inherits_shared_weights():
    search = MacroSearch(GENOTYPE, tiny_config())
    with torch.no_grad():
        search.gamma[4].copy_(torch.tensor([2.0, 0.0, 0.0, -1.0]))  # cell 4 prefers the stem
    search.regenerate()
    assert search.E_skips == [0, 0, 1, 2, 0] and search.E.sources[4] == (0,)
    with torch.no_grad():  # "train" E_macro
        for p in search.E.parameters():
            p.add_(1.0)
    trained = {k: v.clone() for k, v in search.E.state_dict().items()}
    with torch.no_grad():
        search.gamma[4].copy_(torch.tensor([0.0, 0.0, 0.0, 1.0]))  # cell 4 now prefers its default skip
    search.regenerate()
    state = search.E.state_dict()
    assert search.E_skips[4] == 3 and "adapters.4.0.conv_1.weight" in state  # one reduction: FactorizedReduce
    assert torch.equal(state["cells.0.preprocess1.1.weight"], trained["cells.0.preprocess1.1.weight"])
    assert not torch.equal(state["adapters.4.0.conv_1.weight"], trained["adapters.4.0.1.conv_1.weight"])
    with torch.no_grad():
        search.gamma[4].copy_(torch.tensor([2.0, 0.0, 0.0, -1.0]))  # back to the stem: its trained adapter returns
    search.regenerate()
    assert torch.equal(search.E.state_dict()["adapters.4.0.1.conv_1.weight"], trained["adapters.4.0.1.conv_1.weight"])


def test_macro_search_learns_gamma_and_returns_a_template():
    search = MacroSearch(GENOTYPE, tiny_config())
    before = [g.detach().clone() for g in search.gamma]
    result = search.run()
    assert len(result.skips) == 5 and all(0 <= s <= default_skip(i) for i, s in enumerate(result.skips))
    assert any(not torch.equal(a, b) for a, b in zip(before, search.gamma))
    assert [h["epoch"] for h in result.history] == [0, 1, 2]


def test_cli_runs_the_macro_phase_after_the_cell_search(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["diff", "--method", "icdarts", "--space", "darts", "--dataset", "digits", "--epochs", "2"]
    argv += [
        "--channels",
        "4",
        "--cells-per-stage",
        "1",
        "--max-train",
        "96",
        "--batch-size",
        "32",
        "--macro-epochs",
        "2",
    ]
    argv += ["--method-option", "heads=False", "--out", str(out), "--quiet"]
    assert main(argv) == 0
    macro = json.loads((out / "result.json").read_text())["macro"]
    assert len(macro["skips"]) == 5 and len(macro["history"]) == 2
    bad = ["diff", "--method", "icdarts", "--space", "nb201", "--macro-epochs", "2", "--out", str(tmp_path / "b")]
    assert main(bad) == 2
    assert "needs a positive epoch count and a DARTS-family space" in capsys.readouterr().err


def test_a_phase_resumes_to_the_uninterrupted_result(tmp_path):
    """The phases run in DiffSearch's loop: interrupted after its second epoch and run again with the same
    run directory, the macro search ends with the uninterrupted run's γ, skips and history."""
    from pools.interrupts import Interrupted

    config = tiny_config(epochs=4, warmup_epochs=1)
    whole = MacroSearch(GENOTYPE, config).run()

    def stop_after_two(entry):
        if entry["epoch"] == 1:
            raise Interrupted

    with pytest.raises(Interrupted):
        MacroSearch(GENOTYPE, config, on_epoch=stop_after_two, run_dir=tmp_path).run()
    assert (tmp_path / "search.pt").exists()
    resumed = MacroSearch(GENOTYPE, config, run_dir=tmp_path).run()
    assert resumed.skips == whole.skips and len(resumed.history) == 4
    assert [h["gamma"] for h in resumed.history] == [h["gamma"] for h in whole.history]
    assert [h["train_loss"] for h in resumed.history] == [h["train_loss"] for h in whole.history]
