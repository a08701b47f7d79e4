import random

import pytest
import torch

from nas_core.spaces import get_space

NB201 = get_space("nb201")


def n_params(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def test_nb201_parameter_range_matches_the_published_one():
    """C=16, N=5, 10 classes: ~0.07 M (no convolutions) to ~1.53 M (all nor_conv_3x3)."""
    counts = {}
    for i in range(0, 15625, 97):
        counts[i] = n_params(NB201.build_network(NB201.from_index(i), num_classes=10))
    all_conv3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    no_conv = "|none~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|none~1|skip_connect~2|"
    hi, lo = (n_params(NB201.build_network(a, num_classes=10)) for a in (all_conv3, no_conv))
    assert round(hi / 1e6, 2) == 1.53 and round(lo / 1e6, 2) == 0.07
    assert lo <= min(counts.values()) and max(counts.values()) <= hi


@pytest.mark.parametrize("in_channels,size", [(1, 28), (3, 32), (3, 17), (1, 8)])
def test_nb201_network_takes_any_input(in_channels, size):
    net = NB201.build_network(NB201.sample(random.Random(size)), num_classes=7, in_channels=in_channels, C=4, N=1)
    assert net(torch.randn(2, in_channels, size, size)).shape == (2, 7)


def test_all_none_cell_still_trains_the_skeleton():
    net = NB201.build_network("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", num_classes=3, C=4, N=1)
    out = net(torch.randn(2, 3, 16, 16))
    out.sum().backward()
    assert net.classifier.weight.grad is not None


@pytest.mark.parametrize("size", [32, 28, 19])
def test_darts_network_auxiliary_and_drop_path(size):
    space = get_space("darts")
    net = space.build_network(
        space.sample(random.Random(0)), num_classes=5, in_channels=1, C=4, layers=5, auxiliary=True, drop_path_prob=0.3
    )
    net.train()
    logits, aux = net(torch.randn(3, 1, size, size))
    assert logits.shape == aux.shape == (3, 5)
    net.eval()
    assert net(torch.randn(3, 1, size, size)).shape == (3, 5)


def test_drop_path_drops_whole_samples():
    from nas_core.ops import DropPath

    torch.manual_seed(0)
    drop = DropPath()
    drop.set(0.3)
    out = drop(torch.ones(1000, 2, 3, 3))
    per_sample = out.flatten(1)
    kept = (per_sample != 0).all(1)
    assert ((per_sample == 0).all(1) | kept).all()
    assert 0.6 < kept.float().mean() < 0.8
    assert torch.allclose(per_sample[kept], torch.full_like(per_sample[kept], 1 / 0.7))
    x = torch.randn(4, 2, 3, 3)
    assert torch.equal(drop.eval()(x), x)  # training only
    with pytest.raises(ValueError, match=r"must be in \[0, 1\), got 1\.0"):
        drop.set(1.0)


def test_drop_path_schedule_does_not_recompile_a_compiled_network():
    """DARTS's per-epoch drop-path ramp changes a 0-d buffer, not a guarded Python constant: one graph
    for p = 0 and one for p > 0, however many epochs (a float attribute compiled a graph per value)."""
    space = get_space("darts")
    net = space.build_network(space.sample(random.Random(0)), num_classes=5, in_channels=1, C=4, layers=3)
    graphs = []

    def counting_backend(gm, example_inputs):
        graphs.append(gm)
        return gm.forward

    compiled = torch.compile(net, backend=counting_backend)
    x = torch.randn(2, 1, 8, 8)
    for epoch in range(6):
        net.drop_path_prob = 0.2 * epoch / 6  # what Trainer does at each epoch
        compiled(x)
    assert len(graphs) == 2 and net.drop_path_prob == pytest.approx(0.2 * 5 / 6)
