import pytest
import torch

from nas_core.ops import DARTS_OPS, NB201_OPS, build_op, op_names
from nas_core.ops_icdarts import OP_SPACES

ICDARTS_OPS = sorted({op for ops in OP_SPACES.values() for op in ops} | {"dw_conv_3x3", "dw_conv_5x5"})


def test_registry_holds_the_published_operation_sets():
    assert set(DARTS_OPS) | set(NB201_OPS) | {"noise"} <= set(op_names())
    assert len(DARTS_OPS) == 8 and len(NB201_OPS) == 5


@pytest.mark.parametrize("name", sorted(set(DARTS_OPS) | set(NB201_OPS) | {"noise"} | set(ICDARTS_OPS)))
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("size", [8, 7])
def test_every_op_keeps_shapes(name, stride, size):
    x = torch.randn(2, 6, size, size)
    out = build_op(name, 6, 6, stride)(x)
    expected = size if stride == 1 else -(-size // 2)
    assert out.shape == (2, 6, expected, expected)


@pytest.mark.parametrize("name", ["none", "skip_connect", "avg_pool_3x3", "nor_conv_1x1", "sep_conv_3x3"])
def test_ops_change_channels(name):
    assert build_op(name, 4, 8, 1)(torch.randn(2, 4, 6, 6)).shape == (2, 8, 6, 6)


def test_none_is_zero_and_skip_is_identity():
    x = torch.randn(2, 4, 6, 6)
    assert torch.count_nonzero(build_op("none", 4, 4, 1)(x)) == 0
    assert torch.equal(build_op("skip_connect", 4, 4, 1)(x), x)


def test_noise_ignores_its_input():
    op = build_op("noise", 4, 4, 1)
    torch.manual_seed(0)
    a = op(torch.zeros(64, 4, 8, 8))
    torch.manual_seed(0)
    b = op(torch.full((64, 4, 8, 8), 5.0))
    assert torch.equal(a, b)
    assert abs(a.mean()) < 0.05 and abs(a.std() - 1) < 0.05


def test_unknown_op_lists_known_names():
    with pytest.raises(KeyError, match=r"unknown operation 'conv_9x9'.*sep_conv_3x3"):
        build_op("conv_9x9", 4, 4, 1)
    with pytest.raises(ValueError, match="stride"):
        build_op("skip_connect", 4, 4, 3)


def test_cpu_average_pooling_by_convolution_equals_torch_pooling():
    import torch.nn.functional as F

    from nas_core.ops import avg_pool_3x3_by_conv

    for shape, stride in (((2, 4, 8, 8), 1), ((2, 4, 8, 8), 2), ((1, 3, 7, 5), 2)):
        x = torch.randn(*shape, requires_grad=True)
        ref = F.avg_pool2d(x, 3, stride, 1, count_include_pad=False)
        out = avg_pool_3x3_by_conv(x, stride)
        assert out.shape == ref.shape and torch.allclose(out, ref, atol=1e-6)
        (g_ref,) = torch.autograd.grad(ref.square().sum(), x)
        (g_out,) = torch.autograd.grad(out.square().sum(), x)
        assert torch.allclose(g_out, g_ref, atol=1e-5)
