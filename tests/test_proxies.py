import math
import random

import pytest
import torch
from torch import nn

from nas_core.spaces import get_space
from predictor_nas.proxies import PROXIES, compute_proxies, flops, params, synflow


def tiny_linear_net() -> nn.Module:
    net = nn.Sequential(nn.Linear(2, 2, bias=False), nn.Linear(2, 1, bias=False))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.0, -2.0], [3.0, 4.0]]))
        net[1].weight.copy_(torch.tensor([[-1.0, 2.0]]))
    return net


def test_synflow_params_flops_on_a_hand_computed_case():
    x, y = torch.zeros(4, 2), torch.zeros(4, dtype=torch.long)
    # |W1| 1 = [3, 7]; R = |W2| [3, 7] = 17. dR/dW2 = [3, 7] -> |W2| dR/dW2 sums to 3 + 14 = 17;
    # dR/dW1 = |W2|^T 1^T = [[1, 1], [2, 2]] -> |W1| dR/dW1 sums to 1 + 2 + 6 + 8 = 17. Total 34.
    assert synflow(tiny_linear_net(), x, y) == pytest.approx(math.log(34.0))
    assert params(tiny_linear_net(), x, y) == pytest.approx(6e-6)
    # one image: 2*2*2 + 2*2*1 multiply-adds = 12 FLOPs
    assert flops(tiny_linear_net(), x, y) == pytest.approx(12e-6)


def test_synflow_ignores_batchnorm_and_sign():
    net = tiny_linear_net()
    flipped = tiny_linear_net()
    with torch.no_grad():
        flipped[0].weight.neg_()
    x, y = torch.zeros(1, 2), torch.zeros(1, dtype=torch.long)
    assert synflow(net, x, y) == pytest.approx(synflow(flipped, x, y))
    with_bn = nn.Sequential(tiny_linear_net()[0], nn.BatchNorm1d(2), tiny_linear_net()[1])
    assert synflow(with_bn, x, y) == pytest.approx(math.log(34.0))


@pytest.mark.parametrize("name", sorted(PROXIES))
def test_every_proxy_is_finite_on_a_two_cell_network(name):
    space = get_space("nb201")
    torch.manual_seed(0)
    batch = (torch.randn(8, 1, 16, 16), torch.randint(0, 4, (8,)))
    cells = [space.from_index(6111), str(space.sample(random.Random(3)))]
    scores = compute_proxies(
        space, cells, [name], num_classes=4, input_shape=(1, 16, 16), batch=batch, network={"C": 4, "N": 1}
    )
    assert all(math.isfinite(s[name]) for s in scores), scores


def test_more_convolutions_more_params_and_synflow():
    space = get_space("nb201")
    lo = "|avg_pool_3x3~0|+|skip_connect~0|none~1|+|skip_connect~0|none~1|skip_connect~2|"
    hi = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    a, b = compute_proxies(
        space,
        [lo, hi],
        ["params", "flops", "synflow"],
        num_classes=10,
        input_shape=(3, 32, 32),
        network={"C": 8, "N": 1},
    )
    assert all(b[k] > a[k] for k in ("params", "flops", "synflow"))


def test_bad_proxy_requests():
    space = get_space("nb201")
    with pytest.raises(KeyError, match="unknown proxies"):
        compute_proxies(space, [space.from_index(0)], ["magic"], num_classes=10, input_shape=(3, 8, 8))
    with pytest.raises(ValueError, match="need a batch"):
        compute_proxies(space, [space.from_index(0)], ["snip"], num_classes=10, input_shape=(3, 8, 8))
