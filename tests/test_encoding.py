import torch

from nas_core.spaces import get_space
from predictor_nas.encoding import GraphEncoder


def test_nb201_encoding_of_a_known_cell():
    enc = GraphEncoder(get_space("nb201"))
    data = enc.encode("|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|nor_conv_1x1~1|none~2|")
    # output = x + conv1(conv3(x)): input, conv3, conv1, output; links input->conv3->conv1->output, input->output
    assert data.num_nodes == 4 and data.x.shape == (4, enc.num_node_types)
    assert data.edge_index.shape[1] == 2 * 4  # both directions
    assert [enc.vocab[t] for t in data.node_type] == ["input", "nor_conv_3x3", "nor_conv_1x1", "output"]


def test_isomorphic_cells_encode_identically():
    enc = GraphEncoder(get_space("nb201"))
    # both compute conv1(x) + conv3(x); the intermediate nodes are swapped
    d = enc.encode("|nor_conv_3x3~0|+|nor_conv_1x1~0|none~1|+|none~0|skip_connect~1|skip_connect~2|")
    e = enc.encode("|nor_conv_1x1~0|+|nor_conv_3x3~0|none~1|+|none~0|skip_connect~1|skip_connect~2|")
    assert torch.equal(d.x, e.x) and torch.equal(d.edge_index, e.edge_index)
    # conv1(x) + avg(conv1(x)) ... is a different function
    c = enc.encode("|nor_conv_3x3~0|+|nor_conv_1x1~0|none~1|+|none~0|skip_connect~1|avg_pool_3x3~2|")
    assert d.x.shape != c.x.shape or not torch.equal(d.x, c.x)


def test_darts_genotype_is_two_cells_in_one_graph():
    space = get_space("darts")
    enc = GraphEncoder(space)
    g = space.sample(__import__("random").Random(0))
    data = enc.encode(g)
    assert data.num_nodes == 22 and int(data.cell.sum()) == 11
    batch = enc.batch([g, space.mutate(g, __import__("random").Random(1))])
    assert batch.num_graphs == 2 and batch.x.shape[0] == 44
