import random

import pytest
import torch

from nas_core.spaces import get_space
from supernet.engine.supernet import Supernet


def tiny(space: str, **kw) -> Supernet:
    torch.manual_seed(0)
    return Supernet(get_space(space), num_classes=5, in_channels=1, C=kw.pop("C", 4), N=1, layers=4, **kw)


def test_exported_nb201_child_equals_the_supernet_with_one_hot_weights():
    sn = tiny("nb201")
    cell = get_space("nb201").from_index(6111)
    onehot = torch.zeros(6, 5)
    for e, op in enumerate(cell.ops):
        onehot[e, sn.edges[e].ops.index(op)] = 1
    child = sn.export_child(cell)
    x = torch.randn(6, 1, 12, 12)
    sn.train(), child.train()
    assert torch.allclose(sn(x, {"normal": onehot}), child(x), atol=1e-5)


@pytest.mark.parametrize("space", ["nb201", "darts"])
def test_inherited_weights_equal_the_supernet_for_every_op_of_the_child(space):
    sn = tiny(space)
    arch = get_space(space).sample(random.Random(1))
    child = sn.export_child(arch)
    src = sn.state_dict()
    mapped = 0
    if space == "nb201":
        for i, cell in enumerate(child.cells):
            for key, value in cell.state_dict().items():
                if key.startswith("edges."):
                    name, rest = key.split(".", 2)[1:]
                    e = [(s, d) for s, d in [(0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3)]].index(
                        tuple(int(v) for v in name.split("_"))
                    )
                    k = sn.edges[e].ops.index(arch.ops[e])
                    source = src.get(f"net.cells.{i}.edges.{e}.ops.{k}.{rest}")
                    if source is None:  # BN affine parameters exist only in the child: identity init
                        assert rest.endswith(("weight", "bias")) and torch.all(value == float(rest.endswith("weight")))
                    else:
                        assert torch.equal(value, source)
                        mapped += 1
    else:
        from nas_core.spaces.darts import edge_index

        layers = len(child.cells)
        for i, cell in enumerate(child.cells):
            ct = "reduce" if i in (layers // 3, 2 * layers // 3) else "normal"
            for key, value in cell.state_dict().items():
                if not key.startswith("ops."):
                    continue
                _, j, rest = key.split(".", 2)
                op, node_input = arch.cell(ct)[int(j)]
                e = edge_index(int(j) // 2, node_input)
                k = sn.edges_of(ct)[e].ops.index(op)
                source = src.get(f"net.cells.{i}.edges.{e}.ops.{k}.{rest}")
                if source is None:
                    assert rest.endswith(("weight", "bias"))  # child-only BN affine parameters
                else:
                    assert torch.equal(value, source)
                    mapped += 1
        assert torch.equal(child.stem[0].weight, sn.net.stem[0].weight)
    assert mapped > 0 and torch.equal(child.classifier.weight, sn.net.classifier.weight)


def test_partial_channels_and_widening_keep_shapes():
    sn = tiny("nb201", C=8, partial_k=4)
    x = torch.randn(2, 1, 8, 8)
    w = {"normal": torch.softmax(torch.randn(6, 5), -1)}
    assert sn(x, w).shape == (2, 5)
    op = sn.net.cells[0].edges[0].ops[3]  # nor_conv_3x3 on 8 / 4 = 2 channels
    old = op[1].weight.detach().clone()
    sn.set_partial_k(2)
    new = sn.net.cells[0].edges[0].ops[3][1].weight
    assert new.shape[:2] == (4, 4) and torch.equal(new[:2, :2], old)  # existing channels kept
    assert sn(x, w).shape == (2, 5)


def test_masked_ops_are_not_run():
    sn = tiny("nb201")
    calls = []
    sn.net.cells[0].edges[0].ops[3].register_forward_hook(lambda *a: calls.append(1))
    w = {"normal": torch.full((6, 5), 0.2)}
    sn(torch.randn(2, 1, 8, 8), w)
    assert calls
    calls.clear()
    w["normal"][0, 3] = 0.0  # constant weights: a zero weight skips the op
    sn(torch.randn(2, 1, 8, 8), w)
    assert not calls


@pytest.mark.parametrize("space", ["darts", "nb201"])
def test_checkpointed_cells_give_the_same_gradients(space, monkeypatch):
    import supernet.engine.supernet as module

    calls = []
    real = module.checkpoint
    monkeypatch.setattr(module, "checkpoint", lambda *a, **k: calls.append(1) or real(*a, **k))
    torch.manual_seed(0)
    sn = Supernet(get_space(space), num_classes=3, in_channels=1, C=4, N=1, layers=3).double()
    g = torch.Generator().manual_seed(1)
    alphas = {
        ct: torch.randn(*sn.alpha_shape(ct), generator=g, dtype=torch.float64).requires_grad_() for ct in sn.cell_types
    }
    x, y = torch.randn(4, 1, 8, 8, generator=g, dtype=torch.float64), torch.tensor([0, 1, 2, 0])

    def grads(checkpointed: bool):
        sn.checkpoint_cells = checkpointed
        sn.zero_grad()
        for a in alphas.values():
            a.grad = None
        weights = {ct: torch.softmax(a, -1) for ct, a in alphas.items()}
        torch.nn.functional.cross_entropy(sn(x, weights), y).backward()
        return [p.grad.clone() for p in sn.parameters() if p.grad is not None] + [
            a.grad.clone() for a in alphas.values()
        ]

    plain, ckpt = grads(False), grads(True)
    assert len(calls) == 3  # every search cell (3 in both tiny layouts) ran checkpointed
    assert len(plain) == len(ckpt) and all(torch.allclose(a, b, atol=1e-10) for a, b in zip(plain, ckpt))
