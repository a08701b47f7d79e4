"""The signature measurements of the differentiable papers, each on a constructed case."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from nas_core.spaces import get_space
from supernet.engine.signatures import (
    dominant_eigenvalue,
    edge_entropy,
    exact_hessian,
    magnitude_vs_strength,
    parameter_free_ops,
)


def test_power_iteration_finds_the_exact_hessians_top_eigenvalue_of_a_tiny_supernet():
    """∇²_α L_valid of a tiny NB201 supernet in float64: the estimate equals the eigenvalue of largest
    magnitude of the full Hessian (autograd)."""
    from supernet.engine.supernet import Supernet

    torch.manual_seed(0)
    space = get_space("nb201")
    net = Supernet(space, num_classes=3, in_channels=1, C=2, N=1).double().eval()
    shape = net.alpha_shape("normal")
    x, y = torch.randn(8, 1, 8, 8, dtype=torch.float64), torch.randint(0, 3, (8,))

    def loss_of(flat: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(net(x, {"normal": F.softmax(flat.view(shape), -1)}), y)

    alpha = (0.5 * torch.randn(shape, dtype=torch.float64)).requires_grad_()
    exact = torch.linalg.eigvalsh(exact_hessian(loss_of, alpha.detach().flatten()))
    top = exact[exact.abs().argmax()].item()
    estimate = dominant_eigenvalue(
        loss_of(alpha.flatten()), [alpha], iters=200, generator=torch.Generator().manual_seed(0)
    )
    assert math.isclose(estimate, top, rel_tol=1e-6), (estimate, exact.tolist())


def test_parameter_free_ops_count_skips_pools_and_zeros():
    space = get_space("nb201")
    cell = space.parse("|skip_connect~0|+|none~0|nor_conv_3x3~1|+|avg_pool_3x3~0|nor_conv_1x1~1|skip_connect~2|")
    assert parameter_free_ops(cell) == 4
    darts = get_space("darts").parse(
        "Genotype(normal=[('skip_connect', 0), ('skip_connect', 1), ('sep_conv_3x3', 0), ('max_pool_3x3', 1), "
        "('skip_connect', 0), ('dil_conv_3x3', 2), ('sep_conv_5x5', 1), ('skip_connect', 3)], "
        "normal_concat=range(2, 6), reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), "
        "('max_pool_3x3', 0), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('avg_pool_3x3', 0)], "
        "reduce_concat=range(2, 6))"
    )
    assert parameter_free_ops(darts) == 5 + 8


def test_edge_entropy_is_log_k_for_uniform_and_zero_for_one_hot():
    uniform = {"normal": [[0.2] * 5] * 6}
    one_hot = {"normal": [[1.0, 0.0, 0.0, 0.0, 0.0]] * 6}
    assert math.isclose(edge_entropy(uniform), math.log(5)) and edge_entropy(one_hot) == 0.0
    half = {"normal": [[0.2] * 5] * 3 + [[1.0, 0.0, 0.0, 0.0, 0.0]] * 3}
    assert math.isclose(edge_entropy(half), math.log(5) / 2)


def test_magnitude_and_strength_disagree_where_the_largest_alpha_is_not_the_one_that_hurts_most():
    ops = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
    probabilities = {"normal": [[0.1, 0.5, 0.1, 0.2, 0.1], [0.1, 0.1, 0.1, 0.6, 0.1]]}
    log = [
        # edge 0: skip has the largest α, but removing the 3x3 conv drops accuracy most
        {"edge": ["normal", 0], "removal_accuracy": dict(zip(ops, [80.0, 78.0, 79.0, 60.0, 80.0])), "chosen": "x"},
        {"edge": ["normal", 1], "removal_accuracy": dict(zip(ops, [80.0, 79.0, 79.0, 50.0, 80.0])), "chosen": "x"},
        {"node": ["normal", 2], "removal_accuracy": {"0": 1.0}, "kept_edges": [0, 1]},  # topology: skipped
    ]
    rows = magnitude_vs_strength(log, probabilities, ops)
    assert [(r["largest_alpha"], r["strongest"], r["agree"]) for r in rows] == [
        ("skip_connect", "nor_conv_3x3", False),
        ("nor_conv_3x3", "nor_conv_3x3", True),
    ]
