"""Hierarchical ICDARTS version 2 (paper 003, ch. 6): four cell types, then their placement per depth."""

import json

import pytest
import torch

from nas_cli import main
from nas_core.networks.placed import (
    N_TYPES,
    PlacedCells,
    placed_network,
    stretch_placement,
    template_placement,
    type_genotype,
)
from nas_core.ops import DilConv, SepConv
from nas_core.spaces import get_space
from nas_core.spaces.darts import STEPS
from nas_core.vocabulary import NetworkSize
from supernet.cdarts.hierarchical_v2 import PlacementSearch, PlacementSearchNetwork, TypedCellSearch, TypedSearchNetwork
from supernet.engine.diff_search import DiffSearchConfig

OPS = ("sep_conv_3x3", "max_pool_3x3", "dil_conv_3x3", "skip_connect")


def uniform_cell(op: str):
    """A cell whose every node takes ``op`` from its two most recent inputs."""
    return type_genotype([(op, src) for node in range(STEPS) for src in (node, node + 1)])


TYPES = tuple(uniform_cell(op) for op in OPS)


def size(**kw):
    return dict(C=4, num_classes=3, in_channels=1, **kw)


def tiny_config(**kw):
    base = dict(
        method="icdarts", space="darts-nozero", dataset="digits", epochs=3, warmup_epochs=1, network=NetworkSize(4, 1)
    )
    return DiffSearchConfig.resolve(**{**base, "batch_size": 32, "max_train": 128, "device": "cpu", **kw})


def test_architecture_string_round_trips_and_bad_ones_are_clear_errors():
    arch = PlacedCells(TYPES, (0, 1, 2, 3, 0))
    assert PlacedCells.parse(str(arch), "darts-nozero") == arch
    with pytest.raises(ValueError, match="not a version-2 architecture"):
        PlacedCells.parse('{"types": []}')
    with pytest.raises(ValueError, match=r"placement entries must be cell types 0\.\.3, got \[7\]"):
        PlacedCells(TYPES, (0, 7))
    with pytest.raises(ValueError, match="need 4 cell types, got 2"):
        PlacedCells(TYPES[:2], (0, 1))
    with pytest.raises(ValueError, match=r"'none'.* not allowed"):  # the ops are checked against the space
        PlacedCells.parse(str(PlacedCells((uniform_cell("none"), *TYPES[1:]), (0,))), "darts-nozero")


def test_placed_network_puts_each_type_where_the_placement_says_and_downsamples_at_the_template_positions():
    net = placed_network(PlacedCells(TYPES, tuple(template_placement(5))), layers=5, **size())
    kinds = {"sep_conv_3x3": SepConv, "dil_conv_3x3": DilConv}
    for i, cell in enumerate(net.cells):
        op = OPS[i % N_TYPES]
        if op in kinds:
            assert all(isinstance(m, kinds[op]) for m in cell.ops)
    x = torch.randn(2, 1, 16, 16)
    assert net(x).shape == (2, 3)
    # the downsampling cells (1 and 3 of 5) halve the map: the classifier sees 4x4 maps of 4*4*C channels
    assert net.classifier.in_features == 4 * 4 * 4


def test_stretch_placement_keeps_the_downsampling_types_and_resamples_each_stage():
    placement = [0, 1, 2, 3, 0, 1, 2, 3]  # reductions at 2 and 5
    stretched = stretch_placement(placement, 20)  # reductions at 6 and 13
    assert stretched[6] == 2 and stretched[13] == 1
    assert stretched[:6] == [0, 0, 0, 1, 1, 1]
    assert stretched[7:13] == [3, 3, 3, 0, 0, 0]
    assert stretched[14:] == [2, 2, 2, 3, 3, 3]
    assert stretch_placement(placement, 8) == placement
    with pytest.raises(ValueError, match="cannot stretch a 3-cell placement to 8 cells"):
        stretch_placement([0, 1, 2], 8)


def test_typed_search_network_mixes_cell_i_with_type_i_mod_4():
    ops = [get_space("darts-nozero").candidates("normal", 0, 0)] * 14
    net = TypedSearchNetwork(ops, layers=3, **size())
    alphas = [torch.zeros(14, len(ops[0]), requires_grad=True) for _ in range(N_TYPES)]
    net(torch.randn(4, 1, 16, 16), [torch.softmax(a, -1) for a in alphas]).sum().backward()
    assert [a.grad is not None and a.grad.abs().sum() > 0 for a in alphas] == [True, True, True, False]


def test_micro_phase_derives_each_type_from_its_own_alpha_and_builds_e_micro_from_them():
    search = TypedCellSearch(tiny_config())
    ops = search.node_inputs[0][0][2]
    with torch.no_grad():
        for t, op in enumerate(OPS):
            search.arch[t].zero_()
            search.arch[t][:, ops.index(op)] = 5.0
    choice = search.choice()
    assert [{op for op, _ in t.normal} for t in choice.types] == [{op} for op in OPS]
    assert choice.placement == (0, 1, 2, 3, 0)
    search.regenerate()
    assert all(isinstance(m, SepConv) for m in search.E.cells[4].ops)  # depth 4 has type 0 again
    assert all(isinstance(m, DilConv) for m in search.E.cells[2].ops)
    with torch.no_grad():  # "train" E, then regenerate with type 2 switched to separable convolutions
        for p in search.E.parameters():
            p.add_(1.0)
    trained = {k: v.clone() for k, v in search.E.state_dict().items()}
    with torch.no_grad():
        search.arch[2].zero_()
        search.arch[2][:, ops.index("sep_conv_3x3")] = 5.0
    search.regenerate()
    assert isinstance(search.E.cells[2].ops[0], SepConv)  # depth 2 now has separable convolutions
    key = "cells.0.ops.0.0.1.weight"  # unchanged depth 0 keeps its trained weights
    assert torch.equal(search.E.state_dict()[key], trained[key])
    with torch.no_grad():  # type 2 back to dilated convolutions: depth 2's trained weights return
        search.arch[2].zero_()
        search.arch[2][:, ops.index("dil_conv_3x3")] = 5.0
    search.regenerate()
    key = "cells.2.ops.0.1.weight"
    assert torch.equal(search.E.state_dict()[key], trained[key])


def test_s_macro_with_one_hot_gamma_is_exactly_e_macro():
    torch.manual_seed(0)
    placement = (2, 0, 3, 1, 0)
    S = PlacementSearchNetwork(TYPES, layers=5, **size()).eval()
    E = placed_network(PlacedCells(TYPES, placement), layers=5, **size()).eval()
    state = {}
    for key, value in S.state_dict().items():
        parts = key.split(".")
        if parts[0] == "levels":
            if int(parts[2]) != placement[int(parts[1])]:
                continue
            key = ".".join(["cells", parts[1], *parts[3:]])
        state[key] = value
    E.load_state_dict(state)
    x = torch.randn(2, 1, 16, 16)
    one_hot = [torch.nn.functional.one_hot(torch.tensor(t), N_TYPES).float() for t in placement]
    assert torch.allclose(S(x, one_hot), E(x), atol=1e-5)


def test_e_macro_keeps_the_largest_gamma_type_per_depth_and_inherits_by_depth_and_type():
    search = PlacementSearch(PlacedCells(TYPES, (0, 1, 2, 3, 0)), tiny_config())
    assert search.placement() == template_placement(5)  # γ = 0: the micro template
    with torch.no_grad():
        search.gamma[2].copy_(torch.tensor([1.0, 0.0, 0.0, 0.0]))
    search.regenerate()
    assert search.E_choice.placement == (0, 1, 0, 3, 0)
    with torch.no_grad():
        for p in search.E.parameters():
            p.add_(1.0)
    trained = {k: v.clone() for k, v in search.E.state_dict().items()}
    with torch.no_grad():
        search.gamma[2].copy_(torch.tensor([0.0, 0.0, 1.0, 0.0]))  # depth 2 back to type 2
    search.regenerate()
    assert not isinstance(search.E.cells[2].ops[0], SepConv)
    assert torch.equal(search.E.state_dict()["cells.0.ops.0.0.1.weight"], trained["cells.0.ops.0.0.1.weight"])
    with torch.no_grad():
        search.gamma[2].copy_(torch.tensor([1.0, 0.0, 0.0, 0.0]))  # type 0 at depth 2 again: its weights return
    search.regenerate()
    key = "cells.2.ops.0.0.1.weight"  # type 0: separable convolutions
    assert torch.equal(search.E.state_dict()[key], trained[key])
    assert PlacementSearch.eval_warmup_epochs == 2  # the dissertation's two warm-up epochs per iteration


def test_both_phases_learn_and_the_cli_writes_a_retrainable_architecture(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["diff", "--method", "icdarts", "--dataset", "digits", "--epochs", "2", "--channels", "4"]
    argv += ["--cells-per-stage", "1", "--max-train", "96", "--batch-size", "32", "--macro-epochs", "2"]
    argv += ["--macro-version", "2", "--out", str(out), "--quiet"]
    assert main(argv) == 0
    result = json.loads((out / "result.json").read_text())
    arch = PlacedCells.parse(result["genotype"], "darts-nozero")
    assert len(arch.placement) == 5 and result["initial_architecture"] != ""
    gammas = [h["gamma"] for h in result["macro"]["history"]]
    assert gammas[0] == [[0.0] * 4] * 5 and gammas[-1] != gammas[0]  # pre-training, then γ moves
    assert len(result["micro"]["history"]) == 2
    train = ["train", "--arch", f"@{out / 'result.json'}", "--space", "darts-nozero", "--dataset", "digits"]
    train += ["--epochs", "1", "--channels", "4", "--cells-per-stage", "2", "--max-train", "64", "--batch-size", "32"]
    train += ["--export", "none", "--quiet", "--out", str(tmp_path / "t")]
    assert main(train) == 0  # the 5-cell placement stretched to 8 cells
    assert json.loads((tmp_path / "t" / "result.json").read_text())["test_accuracy"] >= 0
    bad = ["diff", "--method", "darts", "--space", "darts", "--macro-epochs", "2", "--macro-version", "2"]
    bad += ["--out", str(tmp_path / "b")]
    assert main(bad) == 2
    assert "--macro-version 2 runs ICDARTS's phases; use --method icdarts" in capsys.readouterr().err
