import csv
import random

import pytest

from nas_core.spaces import ArchitectureError, get_space
from nas_core.spaces.nb201 import official_order

SPACE = get_space("nb201")


def test_all_cells_round_trip_index_string_index():
    strings = official_order()
    assert len(strings) == len(set(strings)) == 15625
    for i, s in enumerate(strings):
        assert SPACE.index(SPACE.from_string(s)) == i
        assert str(SPACE.from_index(i)) == s


@pytest.mark.parametrize(
    "table,column", [("nats_bench_200ep.csv", "ArchitectureString"), ("mini_bench_12ep_val_test.csv", "cellstr")]
)
def test_official_order_matches_the_benchmark_tables(shared_data, table, column):
    with open(shared_data / "nb201" / table) as fh:
        rows = [row[column] for row in csv.DictReader(fh)]
    assert rows == list(official_order())


def test_sanity_indices():
    # the NB201 authors' own assertions about their shuffled order, and the CIFAR-10 optimum (6111)
    assert str(SPACE.from_index(0)) == (
        "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
    )
    assert str(SPACE.from_index(9)) == "|avg_pool_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"
    assert str(SPACE.from_index(6111)) == (
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
    )


def test_isomorphic_cells_share_a_hash():
    h = SPACE.canonical_hash
    # output = x in both: node 2 is zero in the first, its branch is unused in the second
    assert h("|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|nor_conv_1x1~2|") == h(
        "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|none~1|none~2|"
    )
    # output = conv1(x) + conv3(x): the two intermediate nodes are interchangeable
    assert h("|nor_conv_1x1~0|+|nor_conv_3x3~0|none~1|+|none~0|skip_connect~1|skip_connect~2|") == h(
        "|nor_conv_3x3~0|+|nor_conv_1x1~0|none~1|+|none~0|skip_connect~1|skip_connect~2|"
    )
    # x + conv3(conv3(x)) differs from x + conv1(conv3(x)) and from x + conv3(conv1(x))
    a = h("|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|nor_conv_3x3~1|none~2|")
    b = h("|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|nor_conv_1x1~1|none~2|")
    c = h("|nor_conv_1x1~0|+|none~0|none~1|+|skip_connect~0|nor_conv_3x3~1|none~2|")
    assert len({a, b, c}) == 3


def test_hash_partition_refines_nothing_it_should_merge(shared_data):
    """Our classes are unions of NAS-Bench-201's own ``to_unique_str`` classes (we also drop x+0)."""
    with open(shared_data / "nb201" / "nats_bench_200ep.csv") as fh:
        rows = list(csv.DictReader(fh))
    ours: dict[str, str] = {}
    for row in rows:
        h = SPACE.canonical_hash(row["ArchitectureString"])
        assert ours.setdefault(row["UniqueString"], h) == h
    assert len(ours) == 6466  # NAS-Bench-201's published number of unique cells
    assert len(set(ours.values())) == 4930  # after also merging x + 0 = x


def test_sample_and_mutate():
    rng = random.Random(0)
    cells = [SPACE.sample(rng) for _ in range(200)]
    assert len({str(c) for c in cells}) > 190
    for c in cells[:50]:
        m = SPACE.mutate(c, rng)
        assert sum(a != b for a, b in zip(c.ops, m.ops)) == 1


@pytest.mark.parametrize(
    "bad",
    [
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|",
        "|conv_9x9~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|",
        "|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|",
        "nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|",
        "",
    ],
)
def test_malformed_strings_raise_clear_errors(bad):
    with pytest.raises(ArchitectureError, match=r"malformed|unknown"):
        SPACE.from_string(bad)


def test_bad_index():
    with pytest.raises(ArchitectureError, match=r"\[0, 15625\)"):
        SPACE.from_index(15625)


def test_graph_of_a_cell():
    # output = x + conv3(conv3(x)) + conv1(conv3(x) + conv3(conv3(x)))  (index 6111, the CIFAR-10 optimum)
    g = SPACE.to_graph(SPACE.from_index(6111))
    assert g.node_ops[0] == "input" and g.node_ops[-1] == "output"
    assert sorted(g.node_ops[1:-1]) == ["nor_conv_1x1"] + ["nor_conv_3x3"] * 5
    assert sum(1 for _, dst in g.edges if dst == len(g.node_ops) - 1) == 3  # three terms reach the output
    assert (0, len(g.node_ops) - 1) in g.edges  # the skip connection


def test_isomorphic_cells_have_identical_graphs_and_dead_branches_vanish():
    a = SPACE.to_graph("|nor_conv_1x1~0|+|nor_conv_3x3~0|none~1|+|none~0|skip_connect~1|skip_connect~2|")
    b = SPACE.to_graph("|nor_conv_3x3~0|+|nor_conv_1x1~0|none~1|+|none~0|skip_connect~1|skip_connect~2|")
    assert a == b
    dead = SPACE.to_graph("|nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|none~0|none~1|none~2|")
    assert dead.node_ops == ("input", "output") and dead.edges == ()
