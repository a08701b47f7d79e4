"""Selection rules on constructed cases: magnitude (DARTS) and perturbation-based (DARTS-PT)."""

import torch

from nas_core.spaces import get_space
from supernet.engine.selection import magnitude_select, perturbation_select
from supernet.engine.supernet import Supernet


def nb201_supernet() -> Supernet:
    return Supernet(get_space("nb201"), num_classes=3, in_channels=1, C=4, N=1)


def test_pt_picks_the_op_whose_removal_hurts_most_where_magnitude_picks_the_largest_alpha():
    sn = nb201_supernet()
    ops = sn.edges[0].ops
    skip, conv = ops.index("skip_connect"), ops.index("nor_conv_3x3")
    # α favours skip on every edge (the DARTS failure mode) ...
    probs = torch.full((6, 5), 0.1)
    probs[:, skip] = 0.5

    # ... but the supernet really relies on the conv: removing it costs 30 points, removing skip 2
    def evaluate(weights):
        w = weights["normal"]
        acc = 90.0
        acc -= 30.0 * float((w[:, conv] == 0).sum())
        acc -= 2.0 * float((w[:, skip] == 0).sum())
        return acc

    tuned = []
    magnitude = magnitude_select(sn, {"normal": probs})
    pt = perturbation_select(sn, lambda: {"normal": probs.clone()}, evaluate, lambda: tuned.append(1), seed=0)
    assert set(magnitude.ops) == {"skip_connect"}
    assert set(pt.ops) == {"nor_conv_3x3"}
    assert len(tuned) == 6 and set(sn.fixed.values()) == {conv}  # tuned after every decision


def test_pt_visits_edges_in_random_order_and_keeps_decisions():
    sn = nb201_supernet()
    log = []
    perturbation_select(
        sn, lambda: {"normal": torch.full((6, 5), 0.2)}, lambda w: 50.0, lambda: None, seed=1, log=log.append
    )
    order = [entry["edge"][1] for entry in log]
    assert sorted(order) == list(range(6)) and order != list(range(6))


def test_darts_magnitude_keeps_two_strongest_inputs_excluding_none():
    space = get_space("darts")
    sn = Supernet(space, num_classes=3, in_channels=1, C=4, layers=3)
    ops = sn.edges_of("normal")[0].ops
    probs = {ct: torch.full((14, 8), 0.05) for ct in ("normal", "reduce")}
    none, sep3, skip = ops.index("none"), ops.index("sep_conv_3x3"), ops.index("skip_connect")
    probs["normal"][:, none] = 0.9  # 'none' dominates everywhere: never selected
    probs["normal"][9, sep3] = 0.6  # node 5: edge from node 0
    probs["normal"][12, skip] = 0.5  # node 5: edge from node 3
    probs["normal"][11, sep3] = 0.3  # node 5: edge from node 2, weaker
    g = magnitude_select(sn, probs)
    assert g.normal[6:] == (("sep_conv_3x3", 0), ("skip_connect", 3))
    assert all(op != "none" for op, _ in g.normal + g.reduce)
    space.validate(g)


def test_darts_pt_selects_topology_by_edge_removal():
    space = get_space("darts")
    sn = Supernet(space, num_classes=3, in_channels=1, C=4, layers=3)
    probs = {ct: torch.full((14, 8), 1 / 8) for ct in ("normal", "reduce")}
    important = {("normal", 9), ("normal", 13)}  # node 5 needs its edges from nodes 0 and 4

    def evaluate(weights):
        return 80.0 - sum(20.0 for key in important if key in sn.removed)

    g = perturbation_select(sn, lambda: {k: v.clone() for k, v in probs.items()}, evaluate, lambda: None, seed=0)
    assert sorted(src for _, src in g.normal[6:]) == [0, 4]
    space.validate(g)
