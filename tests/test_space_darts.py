import random

import pytest
import torch

from nas_core.spaces import ArchitectureError, get_space
from nas_core.spaces.darts import NUM_EDGES, edge_index

DARTS_V2 = (
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
    "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], "
    "normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), "
    "('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), "
    "('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])"
)


def test_published_genotype_parses_and_prints_round_trip():
    space = get_space("darts")
    g = space.from_string(DARTS_V2)
    assert g.normal[7] == ("dil_conv_3x3", 2) and g.reduce_concat == (2, 3, 4, 5)
    text = str(g)
    assert "normal_concat=range(2, 6)" in text
    assert space.from_string(text) == g


@pytest.mark.parametrize("variant", ["darts", "s1", "s2", "s3", "s4"])
def test_sampled_genotypes_round_trip_and_respect_the_space(variant):
    space = get_space(variant)
    rng = random.Random(1)
    for _ in range(50):
        g = space.sample(rng)
        assert space.from_string(space.to_string(g)) == g
        assert all(op != "none" for op, _ in g.normal + g.reduce)
        m = space.mutate(g, rng)
        assert m != g
        space.validate(m)


def test_space_sizes():
    assert 1e18 < get_space("darts").size() < 1.1e18  # "about 10^18" (Liu et al. 2019)
    assert get_space("s2").size() == get_space("s4").size()


def test_edge_numbering():
    assert [edge_index(n, s) for n in range(4) for s in range(n + 2)] == list(range(NUM_EDGES))


def test_s1_restricts_ops_per_edge():
    s1 = get_space("s1")
    assert s1.candidates("normal", 0, 0) == ("skip_connect", "dil_conv_3x3")
    assert s1.candidates("reduce", 3, 4) == ("skip_connect", "dil_conv_5x5")
    bad = DARTS_V2.replace(
        "('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0)",
        "('sep_conv_5x5', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0)",
        1,
    )
    with pytest.raises(ArchitectureError, match="not allowed on edge 0->2 of space 's1'"):
        s1.from_string(bad)


def test_canonical_hash_ignores_input_order_within_a_node():
    space = get_space("darts")
    g = space.from_string(DARTS_V2)
    swapped = g._replace(normal=(g.normal[1], g.normal[0], *g.normal[2:]))
    assert space.canonical_hash(g) == space.canonical_hash(swapped)
    assert space.canonical_hash(g) != space.canonical_hash(space.mutate(g, random.Random(0)))


@pytest.mark.parametrize(
    "bad,match",
    [
        ("Genotype(normal=[('sep_conv_3x3', 0)], normal_concat=[2], reduce=[], reduce_concat=[2])", "needs 8"),
        (DARTS_V2.replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', 5)"), "takes input 5"),
        (DARTS_V2.replace("dil_conv_3x3", "conv_9x9"), "unknown operation"),
        ("Genotype(normal=[", "malformed"),
        ("Network(normal=[])", "malformed"),
        ("Genotype(normal=[('sep_conv_3x3', 0)])", "lacks field"),
    ],
)
def test_malformed_genotypes_raise_clear_errors(bad, match):
    with pytest.raises(ArchitectureError, match=match):
        get_space("darts").from_string(bad)


def test_darts_v2_eval_network_has_the_published_parameter_count():
    net = get_space("darts").build_network(DARTS_V2, num_classes=10, C=36, layers=20, auxiliary=True)
    n = sum(p.numel() for name, p in net.named_parameters() if "auxiliary" not in name)
    assert n == 3_349_342  # DARTS code: "param size = 3.349342MB"


def test_graph_has_two_cells():
    g = get_space("darts").to_graph(DARTS_V2)
    assert len(g.node_ops) == 22 and g.cell_of_node.count(1) == 11
    assert g.node_ops[:3] == ("input_0", "input_1", "sep_conv_3x3")


def test_noise_space_network_runs():
    g = get_space("s4").sample(random.Random(0))
    net = get_space("s4").build_network(g, num_classes=3, in_channels=1, C=4, layers=3)
    assert net(torch.randn(2, 1, 16, 16)).shape == (2, 3)
