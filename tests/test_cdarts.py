"""CDARTS / ICDARTS (paper 003): losses, routes, zero-op configurations, latency penalty, I-DARTS cells,
the dynamic op space, end-to-end searches on tiny networks (CPU)."""

import math
import random

import pytest
import torch
import torch.nn.functional as F

from nas_core.ops import build_op
from nas_core.ops_icdarts import OP_SPACES, UniformNoise
from nas_core.spaces import get_space
from nas_core.spaces.darts import STEPS, edge_index
from nas_core.vocabulary import NetworkSize
from supernet.cdarts.dynamic_space import edge_ops_of, merge, random_op_sets, survivors, tournament
from supernet.cdarts.latency import PAPER_LATENCY_WEIGHTS, expected_latency, latency_vector, measure_op_latencies
from supernet.cdarts.method import distillation_loss
from supernet.engine.diff_search import DiffSearch, DiffSearchConfig
from supernet.engine.selection import node_select, node_weights
from supernet.engine.supernet import Supernet
from supernet.methods import StepContext


def config(**kw):
    base = dict(
        method="icdarts",
        dataset="digits",
        epochs=2,
        warmup_epochs=1,
        network=NetworkSize(4, 1),
        batch_size=32,
        max_train=192,
        diag_batches=1,
        device="cpu",
    )
    options = {"eval_width": 1.0, "eval_depth": 1.0, **kw.pop("method_options", {})}
    return DiffSearchConfig.resolve(**{**base, **kw, "method_options": options})


def search_after_pretraining(**kw) -> DiffSearch:
    """A search whose E exists: pre-training epoch run, E generated and warmed up for epoch 1."""
    search = DiffSearch(config(**kw))
    search.train_epoch(update_arch=False)
    search.epoch = 1
    search.method.on_epoch_start(1, search.config.epochs)
    return search


def batches(search: DiffSearch):
    search.train_loader.set_epoch(5)
    search.valid_loader.set_epoch(5)
    return next(iter(search.train_loader)), next(iter(search.valid_loader))


def context(search: DiffSearch) -> StepContext:
    return search._context()


# -- the distillation term (Eq. 3.7) ---------------------------------------------------------------


def test_distillation_is_t_squared_kl_of_teacher_to_student_and_zero_when_they_agree():
    g = torch.Generator().manual_seed(0)
    s, t = torch.randn(5, 4, generator=g, requires_grad=True), torch.randn(5, 4, generator=g, requires_grad=True)
    T = 2.0
    p, q = F.softmax(t / T, 1), F.softmax(s / T, 1)
    by_hand = T * T / 5 * (p * (p / q).log()).sum()
    loss = distillation_loss(s, t, T)
    assert torch.allclose(loss, by_hand, atol=1e-6)
    gs, gt = torch.autograd.grad(loss, [s, t])
    assert gs.abs().sum() > 0 and gt.abs().sum() > 0  # its gradient reaches both networks
    assert float(distillation_loss(t.detach(), t.detach(), T)) == pytest.approx(0.0, abs=1e-7)


# -- routes: which loss updates which network (Eqs. 3.6 and 3.9-3.11, Table 3.6) ---------------------


def _step_with_lambda(method_name: str, lam: float):
    search = search_after_pretraining(method=method_name, method_options={"distill_weight": lam})
    m = search.method
    train, valid = batches(search)
    ctx = context(search)
    torch.manual_seed(0)
    m.arch_step(train, valid, ctx)
    a = {k: v.detach().clone() for k, v in m.alphas.items()}
    e_after_arch = [p.detach().clone() for p in m.eval_net.parameters()]
    m.weight_step(train, ctx, search.config.grad_clip)
    s = [p.detach().clone() for n, p in search.supernet.named_parameters() if "distill_heads" not in n]
    e = [p.detach().clone() for p in m.eval_net.parameters()]
    return a, e_after_arch, s, e


def _same(xs, ys):
    return all(torch.equal(x, y) for x, y in zip(xs, ys))


def test_icdarts_trains_e_on_its_own_cross_entropy_and_s_with_the_distillation_term():
    a0, _, s0, e0 = _step_with_lambda("icdarts", 0.0)
    a1, _, s1, e1 = _step_with_lambda("icdarts", 3.0)
    assert _same(e0, e1)  # Eq. 3.11: w_E sees only CE_E(train)
    assert not _same(s0, s1)  # Eq. 3.10: λ KD enters the w_S update
    assert not all(torch.equal(a0[k], a1[k]) for k in a0)  # Eq. 3.9: and the α update


def test_cdarts_updates_e_with_alpha_on_val_and_s_with_cross_entropy_only():
    a0, ea0, *_ = _step_with_lambda("cdarts", 0.0)
    a1, ea1, *_ = _step_with_lambda("cdarts", 3.0)
    assert not _same(ea0, ea1)  # Eq. 3.6: E's val step includes λ KD
    assert not all(torch.equal(a0[k], a1[k]) for k in a0)
    # w_S sees CE only; its input (α after the arch step) differs, so compare with λ-free α
    search = search_after_pretraining(method="cdarts", method_options={"distill_weight": 3.0})
    m = search.method
    train, _ = batches(search)
    before = [p.detach().clone() for p in search.supernet.parameters()]
    ctx = context(search)
    torch.manual_seed(0)
    m.weight_step(train, ctx, None)
    search2 = search_after_pretraining(method="cdarts", method_options={"distill_weight": 0.0})
    torch.manual_seed(0)
    search2.method.weight_step(train, context(search2), None)
    assert _same(search.supernet.parameters(), search2.supernet.parameters())
    assert not _same(before, search.supernet.parameters())


def test_routes_and_bad_options_are_checked():
    with pytest.raises(ValueError, match="route must be one of"):
        DiffSearch(config(method_options={"route": "C3"}))
    with pytest.raises(ValueError, match=r"zero_op V2 does not fit space 'darts-nozero'.*darts-random"):
        DiffSearch(config(method_options={"zero_op": "V2"}))
    with pytest.raises(ValueError, match="cell must be 'darts', 'idarts' or 'xdarts'"):
        DiffSearch(config(method_options={"cell": "ydarts"}))
    with pytest.raises(ValueError, match="unknown option"):
        DiffSearch(config(method_options={"lambda": 1}))


# -- zero-op configurations (Table 3.1) ---------------------------------------------------------------


def _favour(method, op: str) -> None:
    with torch.no_grad():
        for ct, a in method.alphas.items():
            k = method.supernet.edges_of(ct)[0].ops.index(op)
            a.zero_()
            a[:, k] = 5.0


@pytest.mark.parametrize(
    ("zero_op", "in_eval", "in_final"),
    [("V2", "random", "random"), ("V3", "random", "none"), ("V4", "none", "none")],
)
def test_zero_op_configuration_sets_what_e_and_the_retrained_network_hold(zero_op, in_eval, in_final):
    search = DiffSearch(config(space="darts-random", method_options={"zero_op": zero_op}))
    m = search.method
    _favour(m, "random")
    m.on_epoch_start(1, 2)
    eval_ops = [op for op, _ in m.eval_arch.normal]
    assert set(eval_ops) == {in_eval}
    noise_modules = [mod for mod in m.eval_net.modules() if isinstance(mod, UniformNoise)]
    assert bool(noise_modules) == (in_eval == "random")
    final = m.final_architecture(m.derive_architecture())
    assert {op for op, _ in final.normal} == {in_final}
    assert search.space.to_string(final)  # a valid genotype of the space


def test_v0_searches_with_zero_but_never_selects_it_and_v1_has_no_zero():
    search = DiffSearch(config(method="cdarts"))
    assert search.method.zero_op == "V0" and "none" in search.supernet.edges[0].ops
    _favour(search.method, "none")
    assert "none" not in str(search.method.derive_architecture())
    search = DiffSearch(config())
    assert search.method.zero_op == "V1" and {"none", "random"}.isdisjoint(search.supernet.edges[0].ops)


def test_random_op_is_uniform_noise_of_the_input_shape():
    x = torch.full((4, 3, 6, 6), 7.0)
    out = build_op("random", 3, 3, 2)(x)
    assert out.shape == (4, 3, 3, 3) and float(out.min()) >= 0 and float(out.max()) < 1
    assert not torch.equal(out, build_op("random", 3, 3, 2)(x))


# -- expected latency (Algorithm 3) and the penalty ------------------------------------------------------


def _latency_by_hand(weights: dict, lat: list[float], counts: dict) -> float:
    total = 0.0
    for ct, w in weights.items():
        node_lat = []
        for j in range(STEPS):
            value = 0.0
            for k in range(j + 2):
                for o, lo in enumerate(lat):
                    extra = node_lat[k - 2] if k >= 2 else 0.0
                    value += float(w[edge_index(j, k), o]) * (lo + extra)
            node_lat.append(value)
        z = sum(math.exp(v) for v in node_lat)
        total += counts[ct] * sum(v * math.exp(v) / z for v in node_lat)
    return total


def test_expected_latency_equals_algorithm_3_by_hand():
    g = torch.Generator().manual_seed(3)
    ops = list(PAPER_LATENCY_WEIGHTS)
    weights = {ct: node_weights(torch.randn(14, len(ops), generator=g)) for ct in ("normal", "reduce")}
    for ct in weights:  # node-level weights sum to one over each node
        for j in range(STEPS):
            assert float(weights[ct][edge_index(j, 0) : edge_index(j, 0) + j + 2].sum()) == pytest.approx(1.0)
    lat = latency_vector(ops, PAPER_LATENCY_WEIGHTS)
    counts = {"normal": 6, "reduce": 2}
    got = float(expected_latency(weights, lat, counts))
    assert got == pytest.approx(_latency_by_hand(weights, lat.tolist(), counts), rel=1e-6)
    with pytest.raises(KeyError, match="no latency weight for op"):
        latency_vector(["sep_conv_3x3", "mbconv_3x3"], PAPER_LATENCY_WEIGHTS)


def test_measured_latency_weights_rank_a_heavy_conv_above_a_skip_and_sum_to_one():
    space = get_space("nb201")
    net = space.build_network(space.sample(random.Random(0)), num_classes=10, in_channels=1, C=8, N=1)
    ops = ["none", "skip_connect", "avg_pool_3x3", "sep_conv_5x5"]
    weights = measure_op_latencies(net, 8, ops, (4, 1, 28, 28), min_run_time=0.05)
    assert list(weights) == ops and sum(weights.values()) == pytest.approx(1.0)
    assert weights["none"] == 0.0
    # ten 5x5 separable convolutions cost far more than ten identities, however busy the machine
    assert weights["sep_conv_5x5"] > 2 * weights["skip_connect"] and weights["sep_conv_5x5"] > 0.25
    assert isinstance(net.stem, torch.nn.Sequential) and len(net.stem) == 2  # the stem is put back


def test_latency_penalty_adds_delta_times_its_gradient_and_delta_zero_is_plain_icdarts():
    def alpha_grads(delta: float):
        opts = {"cell": "idarts", "latency_weight": delta, "latency_table": "paper"}
        search = search_after_pretraining(method_options=opts)
        m = search.method
        _, valid = batches(search)
        m.a_optimizer.zero_grad()
        torch.manual_seed(0)
        zs, ze = m.search_logits(valid[0], "valid"), m._eval_logits_for(valid[0], False)
        loss = F.cross_entropy(zs, valid[1]) + m.kd(zs, ze) + m.regularizer()
        grads = torch.autograd.grad(loss, m.arch_parameters())
        penalty = torch.autograd.grad(m.latency(), m.arch_parameters()) if delta else None
        return grads, penalty, m

    g0, _, plain = alpha_grads(0.0)
    g1, dp, _ = alpha_grads(0.1)
    for a, b, p in zip(g0, g1, dp):
        assert torch.allclose(b - a, 0.1 * p, atol=1e-6)
    assert plain.regularizer() == 0.0
    # δ = 0 gives exactly ICDARTS: same α after a search with and without the latency option
    r0 = DiffSearch(config(method_options={"cell": "idarts"})).run()
    r1 = DiffSearch(config(method_options={"cell": "idarts", "latency_weight": 0.0, "latency_table": "paper"})).run()
    assert r0.history[-1]["alphas"] == r1.history[-1]["alphas"]


def test_penalty_lowers_the_weight_of_expensive_ops():
    search = search_after_pretraining(
        method_options={"cell": "idarts", "latency_weight": 5.0, "latency_table": "paper"}
    )
    m = search.method
    ops = search.supernet.edges[0].ops
    before = m.probabilities()["normal"][:, ops.index("sep_conv_5x5")].sum()
    for _ in range(20):
        m.a_optimizer.zero_grad()
        m.regularizer().backward()
        m.a_optimizer.step()
    assert m.probabilities()["normal"][:, ops.index("sep_conv_5x5")].sum() < before


# -- I-DARTS cells ----------------------------------------------------------------------------------------


def test_idarts_selection_takes_the_top_two_pairs_per_node_even_from_one_input():
    sn = Supernet(get_space("darts-nozero"), num_classes=3, in_channels=1, C=4, layers=3)
    ops = sn.edges[0].ops
    alpha = torch.zeros(14, len(ops))
    alpha[edge_index(0, 1), ops.index("sep_conv_3x3")] = 4.0
    alpha[edge_index(0, 1), ops.index("dil_conv_5x5")] = 3.0
    alpha[edge_index(0, 0), ops.index("max_pool_3x3")] = 2.0
    w = node_weights(alpha)
    arch = node_select(sn, {"normal": w, "reduce": w})
    assert arch.normal[:2] == (("sep_conv_3x3", 1), ("dil_conv_5x5", 1))
    assert get_space("darts-nozero").to_string(arch)


# -- evaluation network weights survive regeneration -------------------------------------------------------


def test_regenerated_e_inherits_the_op_weights_of_the_previous_e():
    search = search_after_pretraining()
    m = search.method
    old = {n: p.detach().clone() for n, p in m.eval_net.named_parameters()}
    old_arch = m.eval_arch
    with torch.no_grad():  # a new α for the last node only
        for a in m.alphas.values():
            a[edge_index(3, 0) :] = torch.randn_like(a[edge_index(3, 0) :])
    m._regenerate()  # as at the start of an epoch, before E's warm-up
    assert m.eval_arch != old_arch
    kept = 0
    for i, cell in enumerate(m.eval_net.cells):
        edges = m.eval_arch.reduce if i in (1, 2) else m.eval_arch.normal
        old_edges = old_arch.reduce if i in (1, 2) else old_arch.normal
        for j, edge in enumerate(edges):
            if j < len(old_edges) and old_edges[j] == edge:
                for name, p in cell.ops[j].named_parameters():
                    assert torch.equal(p, old[f"cells.{i}.ops.{j}.{name}"])
                    kept += 1
    assert kept > 0
    assert torch.equal(m.eval_net.classifier.weight, old["classifier.weight"])


# -- end to end -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "space", "options"),
    [
        ("cdarts", None, {}),
        ("cdarts", "nb201", {"eval_init": "fresh"}),
        ("icdarts", None, {"heads": False, "route": "B1"}),
        ("icdarts", "darts-random", {"zero_op": "V3"}),
        ("icdarts", None, {"cell": "xdarts", "latency_weight": 0.05, "latency_table": "measured", "latency_batch": 4}),
        ("icdarts", "icdarts-simple", {}),
    ],
)
def test_variants_run_end_to_end_on_fashion_mnist(method, space, options):
    kw = {"space": space} if space else {}
    cfg = config(method=method, dataset="fashion-mnist", max_train=128, method_options=options, **kw)
    result = DiffSearch(cfg).run()
    genotype = get_space(cfg.space).parse(result.genotype)
    expected = 6 if space == "nb201" else 14 if options.get("cell") == "xdarts" else 8
    assert len(genotype.ops if space == "nb201" else genotype.normal) == expected
    assert "eval_net_train_acc" in result.history[-1] and "eval_net_arch" in result.history[-1]
    if options.get("latency_weight"):
        assert result.history[-1]["expected_latency"] > 0


class InterruptedSearchError(Exception):
    pass


@pytest.mark.parametrize("method", ["cdarts", "icdarts"])
def test_resumed_search_equals_uninterrupted(tmp_path, method):
    cfg = config(method=method, epochs=3, max_train=96)
    full = DiffSearch(cfg).run()

    def stop_after_two(entry):
        if entry["epoch"] == 1:
            raise InterruptedSearchError

    with pytest.raises(InterruptedSearchError):
        DiffSearch(cfg, run_dir=tmp_path, on_epoch=stop_after_two).run()
    resumed = DiffSearch(cfg, run_dir=tmp_path).run()
    assert resumed.genotype == full.genotype
    assert [h["alphas"] for h in resumed.history] == [h["alphas"] for h in full.history]
    assert [h["eval_net_train_acc"] for h in resumed.history[1:]] == [h["eval_net_train_acc"] for h in full.history[1:]]


# -- the tournament-style dynamic op space (Algorithm 2) ---------------------------------------------------


def test_op_spaces_have_the_dissertation_sizes():
    sizes = {name: len(ops) for name, ops in OP_SPACES.items()}
    assert sizes == {
        "icdarts-basic": 12,
        "icdarts-simple": 9,
        "darts-nozero": 7,
        "icdarts-mbconv": 6,
        "icdarts-dynamic": 33,
        "darts-random": 8,
    }


def test_tournament_plays_four_two_one_games_and_keeps_the_top_half():
    master = [f"op{i}" for i in range(20)]
    rank = {op: i for i, op in enumerate(master)}  # constructed: a higher index is a better op
    played = []

    def game(op_sets, name):
        played.append((name, op_sets))
        return {node: {op: float(rank[op]) for op in ops} for node, ops in op_sets.items()}, name

    result = tournament(master, game, tiers=3, o_max=4, seed=0)
    assert [n for n, _ in played] == [
        "tier3_game0",
        "tier3_game1",
        "tier3_game2",
        "tier3_game3",
        "tier2_game0",
        "tier2_game1",
        "tier1_game0",
    ]
    tier3 = [s for n, s in played[:4]]
    node = ("normal", 0)
    best_half = [sorted(s[node], key=rank.get)[-2:] for s in tier3]
    # a tier-2 game plays the union of two tier-3 games' survivors (top up only if they overlap)
    union = set(best_half[0]) | set(best_half[1])
    assert union <= set(played[4][1][node]) and len(played[4][1][node]) == 4
    if len(union) == 4:
        assert set(played[4][1][node]) == union
    assert result.result == "tier1_game0" and result.op_sets == played[-1][1]


def test_tournament_helpers():
    rng = random.Random(0)
    sets = random_op_sets(list("abcdefgh"), 4, rng)
    assert all(len(v) == 4 for v in sets.values())
    scores = {k: {op: float(ord(op)) for op in v} for k, v in sets.items()}
    kept = survivors(sets, scores)
    assert all(set(kept[k]) == set(sorted(v)[-2:]) for k, v in sets.items())
    merged = merge(kept, kept, list("abcdefgh"), 4, rng)  # identical survivors: topped up to o_max
    assert all(len(v) == 4 and set(kept[k]) <= set(v) for k, v in merged.items())
    with pytest.raises(ValueError, match="o_max must be even"):
        random_op_sets(list("abc"), 3, rng)
    edge_ops = edge_ops_of(sets)
    assert len(edge_ops["normal"]) == 14 and edge_ops["normal"][edge_index(3, 4)] == sets[("normal", 3)]


def test_dynamic_search_runs_games_on_per_node_op_sets(tmp_path):
    from supernet.cdarts.dynamic_space import dynamic_search

    cfg = config(space="icdarts-dynamic", epochs=2, max_train=96, method_options={"heads": False})
    result = dynamic_search(cfg, tiers=2, o_max=4, run_dir=str(tmp_path))
    assert [g["tier"] for g in result.games] == [2, 2, 1]
    genotype = get_space("icdarts-dynamic").parse(result.result.genotype)
    for j, (op, _) in enumerate(genotype.normal):
        assert op in result.op_sets[("normal", j // 2)]


def test_cli_runs_the_dynamic_space_tournament_and_writes_its_games(tmp_path):
    import json

    from nas_cli import main

    out = tmp_path / "run"
    argv = ["diff", "--method", "icdarts", "--space", "icdarts-dynamic", "--dataset", "digits"]
    argv += ["--epochs", "3", "--channels", "4", "--cells-per-stage", "1", "--max-train", "96", "--batch-size", "32"]
    argv += ["--dynamic-tiers", "2", "--o-max", "4", "--method-option", "heads=False", "--out", str(out), "--quiet"]
    assert main(argv) == 0
    result = json.loads((out / "result.json").read_text())
    assert [g["tier"] for g in result["dynamic_space"]["games"]] == [2, 2, 1]
    assert get_space("icdarts-dynamic").parse(result["genotype"])
    assert (out / "tier1_game0" / "search.pt").exists()
    assert (out / "cyclic.png").read_bytes().startswith(b"\x89PNG")  # S and E accuracy per epoch


# -- XDARTS cells (§4.2, Fig. 4.8c) --------------------------------------------------------------------------


def test_xdarts_keeps_j_plus_two_inputs_per_node_and_the_genotype_round_trips():
    space = get_space("darts-nozero")
    sn = Supernet(space, num_classes=3, in_channels=1, C=4, layers=3)
    g = torch.Generator().manual_seed(0)
    w = node_weights(torch.randn(14, len(sn.edges[0].ops), generator=g))
    arch = node_select(sn, {"normal": w, "reduce": w}, xdarts=True)
    assert arch.nodes("normal") == (2, 3, 4, 5) and len(arch.normal) == 14
    text = space.to_string(arch)
    assert "normal_nodes=[2, 3, 4, 5]" in text and space.from_string(text) == arch
    assert space.canonical_form(space.parse(text)) == space.canonical_form(arch)
    graph = space.to_graph(arch)
    assert graph.node_ops.count("output") == 2 and len(graph.node_ops) == 2 * (14 + 3)
    net = space.build_network(arch, num_classes=3, in_channels=1, C=4, layers=3)
    assert len(net.cells[0].ops) == 14 and net(torch.randn(2, 1, 16, 16)).shape == (2, 3)
    child = sn.export_child(arch)  # weight inheritance maps every kept (node, input, op)
    op, src = arch.normal[13]  # node 3's fifth input
    supernet_op = sn.net.cells[0].edges[edge_index(3, src)].ops[sn.edges[0].ops.index(op)]
    for (name, p), (_, q) in zip(child.cells[0].ops[13].named_parameters(), supernet_op.named_parameters()):
        assert torch.equal(p, q), name
    with pytest.raises(ValueError, match="needs 14"):
        space.validate(arch._replace(normal=arch.normal[:-1]))


def test_excluded_ops_leave_every_edge_and_are_never_selected():
    search = DiffSearch(config(exclude_ops=("max_pool_3x3", "avg_pool_3x3")))  # Table 3.4: pooling removed
    assert all(not {"max_pool_3x3", "avg_pool_3x3"} & set(e.ops) for e in search.supernet.edges)
    assert len(search.supernet.edges[0].ops) == 5
    assert "pool" not in str(search.method.derive_architecture())
    with pytest.raises(ValueError, match=r"exclude_ops \['conv_9x9'\]"):
        config(exclude_ops=("conv_9x9",))


# -- template ablations (Table 3.4) ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stem", "reduce_cells"), [("identity", "avg_pool"), ("conv1x1", "conv1x1"), ("conv3x3", "max_pool")]
)
def test_template_ablations_reach_s_e_and_the_retrained_network(stem, reduce_cells):
    from nas_core.networks.darts import FixedReduction

    search = DiffSearch(config(method="icdarts", stem=stem, reduce_cells=reduce_cells, epochs=2))
    result = search.run()
    m = search.method
    for net in (search.supernet.net, m.eval_net):  # S and E share the template
        reductions = [c for c in net.cells if isinstance(c, FixedReduction)]
        assert len(reductions) == 2
        assert isinstance(net.stem, torch.nn.Identity) == (stem == "identity")
    child = search.supernet.export_child(result.genotype)
    assert sum(isinstance(c, FixedReduction) for c in child.cells) == 2
    with pytest.raises(ValueError, match="stem must be one of"):
        config(stem="resnet")


def test_concat_stem_repeats_the_input_up_to_the_stem_width_and_learns_nothing():
    from nas_core.networks.darts import ConcatInputs, DartsNetwork

    x = torch.randn(2, 3, 8, 8)
    y = ConcatInputs(8)(x)
    assert y.shape == (2, 8, 8, 8)
    assert torch.equal(y[:, :3], x) and torch.equal(y[:, 3:6], x) and torch.equal(y[:, 6:], x[:, :2])
    genotype = get_space("darts").sample(random.Random(0))
    net = DartsNetwork(genotype, C=4, layers=3, num_classes=5, in_channels=1, stem="concat")
    conv = DartsNetwork(genotype, C=4, layers=3, num_classes=5, in_channels=1)
    assert isinstance(net.stem, ConcatInputs) and not list(net.stem.parameters())
    assert net.cells[0].preprocess0[1].in_channels == conv.cells[0].preprocess0[1].in_channels == 12
    assert net(torch.randn(2, 1, 16, 16)).shape == (2, 5)


def test_nas_train_rebuilds_the_template_the_search_used(tmp_path, capsys):
    import json

    from nas_cli import main

    arch = get_space("darts-nozero").to_string(get_space("darts-nozero").sample(random.Random(1)))
    argv = ["train", "--arch", arch, "--space", "darts-nozero", "--dataset", "digits", "--epochs", "1"]
    argv += ["--channels", "4", "--cells-per-stage", "1", "--max-train", "64", "--batch-size", "32", "--export", "none"]
    argv += ["--reduce-cells", "max_pool", "--stem", "conv1x1", "--quiet", "--out", str(tmp_path / "t")]
    assert main(argv) == 0
    full = json.loads((tmp_path / "t" / "result.json").read_text())
    argv[-1] = str(tmp_path / "u")
    argv[argv.index("max_pool")] = "searched"
    assert main(argv) == 0
    assert json.loads((tmp_path / "u" / "result.json").read_text())["params_millions"] > full["params_millions"]
    bad = ["train", "--arch", "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "--stem", "identity"]
    assert main([*bad, "--out", str(tmp_path / "v")]) == 2
    assert "DARTS template options" in capsys.readouterr().err
