"""Faithfulness of the differentiable methods on tiny supernets (CPU)."""

import pytest
import torch
import torch.nn.functional as F
from torch.func import functional_call

from nas_core.spaces import get_space
from supernet.engine.supernet import Supernet
from supernet.methods import StepContext, get_method, method_names
from supernet.methods.rdarts import es_trigger
from supernet.methods.spdarts import information_entropy_sum


def tiny_supernet(dtype=torch.float32) -> Supernet:
    torch.manual_seed(0)
    return Supernet(get_space("nb201"), num_classes=3, in_channels=1, C=4, N=1).to(dtype)


def batches(dtype=torch.float32):
    g = torch.Generator().manual_seed(1)
    xt, xv = torch.randn(32, 1, 16, 16, generator=g, dtype=dtype), torch.randn(32, 1, 16, 16, generator=g, dtype=dtype)
    return (xt, torch.randint(0, 3, (32,), generator=g)), (xv, torch.randint(0, 3, (32,), generator=g))


def test_all_issue_methods_are_registered():
    assert {"darts", "darts-2nd", "sdarts-rs", "sdarts-adv", "drnas", "sp-darts", "r-darts", "darts-plus"} <= set(
        method_names()
    )
    with pytest.raises(KeyError, match="unknown method 'darts-3rd'"):
        get_method("darts-3rd")


def test_second_order_gradient_equals_the_exact_unrolled_hypergradient():
    sn = tiny_supernet(torch.float64)
    method = get_method("darts-2nd")(sn, seed=0, fd_radius=1e-6)
    with torch.no_grad():
        for a in method.arch_parameters():
            a.copy_(torch.randn_like(a) * 0.5)
    train, valid = batches(torch.float64)
    lr, wd = 0.1, 1e-2
    opt = torch.optim.SGD(sn.parameters(), lr=lr, momentum=0.9)
    ctx = StepContext(0, 1, opt, lr, 0.9, wd)
    approx, _ = method.unrolled_gradient(train, valid, ctx)

    # exact: differentiate L_val(w - lr (grad_w L_train(w, α) + wd w), α) through the unrolled step
    names, params = zip(*sn.named_parameters())
    buffers = {n: b.clone() for n, b in sn.named_buffers()}
    weights = method.mixing_weights("valid")
    g = torch.autograd.grad(F.cross_entropy(sn(train[0], weights), train[1]), params, create_graph=True)
    unrolled = {n: p - lr * (gi + wd * p) for n, p, gi in zip(names, params, g)}
    loss = F.cross_entropy(functional_call(sn, {**unrolled, **buffers}, (valid[0], weights)), valid[1])
    exact = torch.autograd.grad(loss, method.arch_parameters())
    for a, e in zip(approx, exact):
        assert torch.allclose(a, e, rtol=1e-6, atol=1e-9), (a - e).abs().max()
    first_order = torch.autograd.grad(
        F.cross_entropy(sn(valid[0], method.mixing_weights("valid")), valid[1]), method.arch_parameters()
    )
    assert not torch.allclose(first_order[0], exact[0], rtol=1e-2)  # the second-order term matters here


def test_drnas_samples_follow_the_dirichlet_mean_and_regularise_toward_uniform():
    sn = tiny_supernet()
    method = get_method("drnas")(sn, stages=None, reg_type="kl", reg_scale=1.0)
    with torch.no_grad():
        method.alphas["normal"].copy_(torch.tensor([[2.0, 0.0, -0.5, 1.0, 0.0]] * 6))
    conc = F.elu(method.alphas["normal"]) + 1
    samples = torch.stack([method.mixing_weights("train")["normal"] for _ in range(4000)])
    assert torch.allclose(samples.mean(0), conc / conc.sum(-1, keepdim=True), atol=0.01)
    assert torch.allclose(samples.sum(-1), torch.ones(4000, 6))
    assert torch.allclose(method.mixing_weights("eval")["normal"], conc / conc.sum(-1, keepdim=True))
    reg = method.regularizer()
    reg.backward()
    grad = method.alphas["normal"].grad
    assert reg > 0 and grad[0, 0] > 0 and grad[0, 2] < 0  # pulls concentrations back toward 1
    assert method.mixing_weights("train")["normal"].requires_grad


def test_drnas_l2_is_proposition_2s_distance_of_beta_to_the_uniform_prior():
    sn = tiny_supernet()
    method = get_method("drnas")(sn, stages=None, reg_scale=0.5)  # reg_type "l2", the paper's form
    assert method.reg_type == "l2" and method.a_optimizer.param_groups[0]["weight_decay"] == 0.0
    alpha = torch.tensor([[2.0, 0.0, -0.5, 1.0, 0.0]] * 6)
    with torch.no_grad():
        for a in method.alphas.values():
            a.copy_(alpha[: len(a)])
    reg = method.regularizer()
    beta = F.elu(alpha) + 1  # [3, 1, e^-0.5, 2, 1]
    per_edge = torch.linalg.vector_norm(beta - 1, dim=-1)
    assert reg.item() == pytest.approx(0.5 * sum(per_edge[: len(a)].sum().item() for a in method.alphas.values()))
    reg.backward()
    # d/dα of 0.5 ||β - 1||: 0.5 (β - 1) / ||β - 1|| · ELU'(α), ELU'(α) = 1 for α > 0, e^α below
    expected = 0.5 * (beta - 1) / per_edge[:, None] * torch.where(alpha > 0, torch.ones_like(alpha), alpha.exp())
    grad = method.alphas["normal"].grad
    assert torch.allclose(grad, expected[: len(grad)], atol=1e-6)
    assert grad[0, 1] == 0 and grad[0, 0] > 0 and grad[0, 2] < 0  # ops at β = 1 feel no pull
    old = get_method("drnas")(tiny_supernet(), stages=None, reg_type="weight_decay", reg_scale=0.5)
    assert old.regularizer() == 0.0 and old.a_optimizer.param_groups[0]["weight_decay"] == 0.5


def test_drnas_progressive_pruning_keeps_the_top_ops_and_widens():
    sn = Supernet(get_space("nb201"), num_classes=3, in_channels=1, C=8, N=1)
    method = get_method("drnas")(sn, stages=((2, 4, 5), (2, 2, 3)))
    assert sn.partial_k == 4
    with torch.no_grad():
        method.alphas["normal"].copy_(torch.arange(5.0).repeat(6, 1))
    assert method.on_epoch_start(2, 4) is True
    assert sn.partial_k == 2 and method.masks["normal"][0].tolist() == [False, False, True, True, True]
    w = method.mixing_weights("train")["normal"]
    assert torch.all(w[:, :2] == 0) and torch.allclose(w.sum(-1), torch.ones(6))
    assert method.arch_active(2, 0) is False and method.arch_active(0, 0) is False  # per-stage warm-up (10)


def test_sp_darts_uses_t_sp_with_the_scheduled_probability():
    sn = tiny_supernet()
    method = get_method("sp-darts")(sn, t_sp=1e-3, warmup=1, seed=3)
    assert method.probability(0, 50) == 0.0 and method.probability(49, 50) == pytest.approx(1.0)
    assert method.probability(25, 50) == pytest.approx(24 / 48)
    method.on_epoch_start(13, 50)
    p = method.p
    temps = []
    for _ in range(4000):
        method.on_batch_start()
        temps.append(method.temperature)
    assert set(temps) == {1e-3, 1e-2}
    assert abs(temps.count(1e-3) / 4000 - p) < 0.03
    with torch.no_grad():
        method.alphas["normal"].zero_()
        method.alphas["normal"][:, 2] = 0.01  # a 0.01 margin over the other ops
    method.temperature = 1e-3
    top = float(method.mixing_weights("train")["normal"].detach().max())
    assert top > 0.999 and top == pytest.approx(torch.e**10 / (torch.e**10 + 4), rel=1e-5)
    uniform = {"normal": torch.zeros(6, 5)}
    assert information_entropy_sum(uniform, 1.0) == pytest.approx(6 * torch.log(torch.tensor(5.0)).item())


def test_sdarts_adv_stays_in_the_ball_and_raises_the_loss():
    sn = tiny_supernet()
    method = get_method("sdarts-adv")(sn, epsilon=0.3)
    train, _ = batches()
    base = {ct: w.detach() for ct, w in method.mixing_weights("train").items()}
    adv, before, after = method.attack(train, 0.2)
    for ct in adv:
        assert (adv[ct] - base[ct]).abs().max() <= 0.2 + 1e-5
        assert torch.allclose(adv[ct].sum(-1), torch.ones(6), atol=1e-5) and adv[ct].min() >= 0
    assert after > before
    method.on_epoch_start(25, 50)
    assert method.epsilon == pytest.approx(0.03 + 0.27 * 0.5)


def test_sdarts_rs_perturbs_within_epsilon():
    sn = tiny_supernet()
    method = get_method("sdarts-rs")(sn, epsilon=0.3)
    method.on_epoch_start(50, 50)
    base = method.mixing_weights("train")["normal"].detach()
    w = method.train_weights(batches()[0], None)["normal"]
    assert 0 < (w - base).abs().max() <= 0.3 + 1e-5


def test_r_darts_early_stopping_rule():
    rising = [0.1] * 5 + [0.3] * 5  # the window mean grew by 3x: 0.1 / 0.3 < 0.75
    assert es_trigger(rising) and not es_trigger([0.1] * 10) and not es_trigger(rising[:8])


def test_darts_plus_criteria():
    sn = tiny_supernet()
    one = get_method("darts-plus")(sn, criterion=1)
    assert one.should_stop([{"skip_connections": {"normal": 2}}])
    assert not one.should_stop([{"skip_connections": {"normal": 1}}])
    two = get_method("darts-plus")(sn, criterion=2, patience=3)
    same = {"normal": torch.arange(5.0).repeat(6, 1).tolist()}
    assert two.should_stop([{"alphas": same}] * 4) and not two.should_stop([{"alphas": same}] * 3)


def test_unknown_method_options_are_rejected():
    with pytest.raises(ValueError, match="unknown option"):
        get_method("darts")(tiny_supernet(), temperature=3)
    with pytest.raises(ValueError, match="reg_type"):
        get_method("drnas")(tiny_supernet(), reg_type="l1", stages=None)


# --- the rest of the family: PC-DARTS, GDAS, SNAS, Fair DARTS, GAEA ---------------------------------


def test_pc_darts_mixes_exactly_c_over_k_channels_and_normalises_edges():
    torch.manual_seed(0)
    sn = Supernet(get_space("nb201"), num_classes=3, in_channels=1, C=8, N=1, partial_k=4)
    method = get_method("pc-darts")(sn, seed=0)
    seen = []
    op = sn.mixed_ops("normal")[0][0].ops[3]  # nor_conv_3x3 of the first cell's first edge
    op.register_forward_hook(lambda m, inputs, out: seen.append(inputs[0].shape[1]))
    train, _ = batches()
    out = method.forward(train[0], "train")
    assert seen == [8 // 4] and out.shape == (32, 3)
    edge = method.edge_weights()["normal"]  # NB201 edges 0..5 enter nodes 1, 2, 2, 3, 3, 3
    for group in ([0], [1, 2], [3, 4, 5]):
        assert torch.allclose(edge[group].sum(), torch.tensor(1.0))
    F.cross_entropy(out, train[1]).backward()
    assert method.betas["normal"].grad is not None and method.betas["normal"].grad.abs().sum() > 0


def test_gdas_forward_is_one_hot_runs_one_op_and_passes_straight_through_gradients():
    sn = tiny_supernet()
    method = get_method("gdas")(sn, seed=0)
    method.on_epoch_start(0, 5)
    with torch.no_grad():  # favour the convolutions, so that the sampled path connects input and output
        method.alphas["normal"][:, 2:4] += 4.0
    torch.manual_seed(3)
    weights = method.mixing_weights("train")["normal"]
    hard = weights.detach()
    assert torch.equal(hard.sum(-1), torch.ones(6)) and set(hard.unique().tolist()) <= {0.0, 1.0}
    calls = []
    mixed = sn.mixed_ops("normal")[0][0]
    for op in mixed.ops:
        op.register_forward_hook(lambda m, i, o: calls.append(m))
    train, _ = batches()
    loss = F.cross_entropy(method.forward(train[0], "train", {"normal": weights}), train[1])
    assert len(calls) == int(hard[0].sum()) == 1  # only the sampled op of edge 0 ran
    loss.backward()
    assert method.alphas["normal"].grad.abs().sum() > 0
    assert method.tau(0, 5) == pytest.approx(10.0) and method.tau(4, 5) == pytest.approx(0.1)
    assert method.tau(2, 5) == pytest.approx(5.05)
    ev = method.mixing_weights("eval")["normal"]
    assert torch.allclose(ev, F.softmax(method.alphas["normal"], -1))


def test_snas_weights_are_concrete_samples_and_alpha_learns_on_the_training_loss():
    sn = tiny_supernet()
    method = get_method("snas")(sn, seed=0)
    method.on_epoch_start(0, 3)
    w = method.mixing_weights("train")["normal"]
    assert torch.allclose(w.sum(-1), torch.ones(6)) and (w > 0).all() and (w < 1).all()
    assert method.tau(0, 3) == pytest.approx(1.0) and method.tau(2, 3) == pytest.approx(0.03)
    train, valid = batches()
    opt = torch.optim.SGD(sn.parameters(), lr=0.1)
    ctx = StepContext(0, 3, opt, 0.1, 0.0, 0.0)
    junk_valid = (valid[0] * float("nan"), valid[1])  # single level: the valid batch must not matter
    before = method.alphas["normal"].detach().clone()
    torch.manual_seed(5)
    method.arch_step(train, junk_valid, ctx)
    assert torch.isfinite(method.alphas["normal"]).all() and not torch.equal(before, method.alphas["normal"])


def test_fair_darts_uses_independent_sigmoids_and_the_zero_one_loss_pushes_to_the_ends():
    sn = tiny_supernet()
    method = get_method("fair-darts")(sn, seed=0)
    with torch.no_grad():
        method.alphas["normal"].copy_(torch.linspace(-2, 2, 30).reshape(6, 5))
    w = method.mixing_weights()["normal"]
    assert torch.allclose(w, torch.sigmoid(method.alphas["normal"]))
    assert not torch.allclose(w.sum(-1), torch.ones(6))  # independent, not a distribution
    method.regularizer().backward()
    grad, alpha = method.alphas["normal"].grad, method.alphas["normal"].detach()
    # gradient descent on w01 * L_01 moves every α away from 0 (σ away from 0.5)
    assert ((-grad * alpha)[alpha.abs() > 1e-6] > 0).all()


def test_gaea_takes_an_exponentiated_gradient_step_on_the_simplex():
    sn = tiny_supernet()
    method = get_method("gaea")(sn, seed=0, eta=0.5)
    theta = method.alphas["normal"].detach().clone()
    assert torch.allclose(theta, torch.full((6, 5), 0.2))
    train, valid = batches()
    grad = torch.autograd.grad(F.cross_entropy(method.forward(valid[0], "valid"), valid[1]), method.alphas["normal"])[0]
    expected = theta * torch.exp(-0.5 * grad)
    expected = expected / expected.sum(-1, keepdim=True)
    ctx = StepContext(0, 1, torch.optim.SGD(sn.parameters(), lr=0.1), 0.1, 0.0, 0.0)
    method.arch_step(train, valid, ctx)
    assert torch.allclose(method.alphas["normal"], expected, atol=1e-6)
    assert torch.allclose(method.alphas["normal"].sum(-1), torch.ones(6))
    with pytest.raises(ValueError, match="objective"):
        get_method("gaea")(sn, objective="bayes")


def test_sgas_fixes_the_most_important_and_certain_edge_first():
    sn = tiny_supernet()
    method = get_method("sgas")(sn, seed=0)
    ops = sn.edges_of("normal")[0].ops
    conv = ops.index("nor_conv_3x3")
    with torch.no_grad():
        a = method.alphas["normal"]
        a.zero_()
        a[0, ops.index("none")] = 4.0  # certain, but mostly `none`: unimportant
        a[2, conv] = 3.0  # important and certain
        a[4, conv] = 1.0  # important, less certain
    method.decide()
    assert sn.fixed == {("normal", 2): conv}
    method.decide()
    assert sn.fixed[("normal", 4)] == conv and len(sn.fixed) == 2
    assert [d["edge"] for d in method.decisions] == [2, 4]


def test_sgas_topology_rule_and_stability_criterion_on_darts():
    torch.manual_seed(0)
    sn = Supernet(get_space("darts"), num_classes=3, in_channels=1, C=4, layers=3)
    method = get_method("sgas")(sn, seed=0, criterion=2)
    ops = sn.edges_of("normal")[0].ops
    with torch.no_grad():
        for ct in ("normal", "reduce"):
            a = method.alphas[ct]
            a.zero_()
            a[2, ops.index("sep_conv_3x3")] = 5.0  # node 1 <- input 0
            a[3, ops.index("sep_conv_3x3")] = 4.0  # node 1 <- input 1
    method.decide()
    method.decide()
    assert sn.fixed[("normal", 2)] == sn.fixed[("normal", 3)] == ops.index("sep_conv_3x3")
    assert ("normal", 4) in sn.removed  # node 1 has its two inputs; its third edge goes
    with torch.no_grad():  # a distribution that moved since the last decisions is less stable
        method.alphas["normal"][5].copy_(torch.linspace(-3, 3, 8))
    stable = method.scores("normal")
    method.criterion = 1
    plain = method.scores("normal")
    p = torch.softmax(torch.linspace(-3, 3, 8), 0)
    p[ops.index("none")] = 0
    p = p / p.sum()
    uniform = torch.full((8,), 1 / 7)
    uniform[ops.index("none")] = 0  # edge 5's distribution at both decisions
    ss = float(torch.minimum(p, uniform).sum())
    assert ss < 1 and float(stable[5]) == pytest.approx(float(plain[5]) * ss, rel=1e-5)
    assert stable[2] == float("-inf")


def test_p_darts_stage_change_prunes_deepens_and_resets_alpha():
    sn = tiny_supernet()
    method = get_method("p-darts")(sn, seed=0, stages=((2, 1, 5, 0.2), (2, 2, 3, 0.4)), stage_warmup=1)
    with torch.no_grad():
        method.alphas["normal"].copy_(torch.tensor([[0.0, 1.0, 2.0, 3.0, 4.0]] * 6))
    assert not method.on_epoch_start(0, 4) and sn.N == 1
    assert sn.mixed_ops("normal")[0][0].skip_dropout == pytest.approx(0.2 * 1 / 2)
    assert not method.arch_active(0, 0) and method.arch_active(1, 0) and not method.arch_active(2, 0)
    assert method.on_epoch_start(2, 4)  # stage 2: new weights
    assert sn.N == 2 and len(sn.mixed_ops("normal")[0]) == 3 * 2
    assert method.masks["normal"][0].tolist() == [False, False, True, True, True]
    w = method.mixing_weights("train")["normal"]
    assert torch.equal(w[:, :2], torch.zeros(6, 2)) and torch.allclose(w.sum(-1), torch.ones(6))
    assert method.alphas["normal"].abs().max() < 0.01  # re-initialised
    assert all(m.active == [False, False, True, True, True] for m in sn.mixed_ops("normal")[0])
    assert sn.mixed_ops("normal")[0][0].skip_dropout == pytest.approx(0.4 * 1 / 2)
    train, _ = batches()
    assert method.forward(train[0], "train").shape == (32, 3)


def test_p_darts_keeps_at_most_two_skips_dropping_the_weakest():
    sn = tiny_supernet()
    method = get_method("p-darts")(sn, seed=0, stages=((1, 1, 5, 0.0),))
    ops = sn.edges_of("normal")[0].ops
    skip, conv = ops.index("skip_connect"), ops.index("nor_conv_3x3")
    with torch.no_grad():
        a = method.alphas["normal"]
        a.zero_()
        a[:, conv] = 1.0
        for e, strength in zip(range(4), (3.0, 2.0, 4.0, 1.5)):  # skips win on edges 0-3
            a[e, skip] = strength
    from supernet.engine.selection import magnitude_select

    assert sum(op == "skip_connect" for op in magnitude_select(sn, method.probabilities()).ops) == 4
    cell = magnitude_select(sn, method.selection_weights())
    assert [op == "skip_connect" for op in cell.ops[:4]] == [True, False, True, False]
    assert cell.ops[1] == cell.ops[3] == "nor_conv_3x3"


def test_allegronas_gradient_is_the_unrolled_gradient_of_val_plus_chi_train():
    sn = tiny_supernet(torch.float64)
    method = get_method("allegronas")(sn, seed=0, fd_radius=1e-6, chi_max=0.5, chi_ramp=10)
    method.on_epoch_start(5, 20)
    assert method.chi() == pytest.approx(0.25) and method.chi(0) == 0 and method.chi(30) == pytest.approx(0.5)
    with torch.no_grad():
        for a in method.arch_parameters():
            a.copy_(torch.randn_like(a) * 0.5)
    train, valid = batches(torch.float64)
    lr, wd = 0.1, 1e-2
    ctx = StepContext(5, 20, torch.optim.SGD(sn.parameters(), lr=lr), lr, 0.0, wd)
    approx, _ = method.unrolled_gradient(train, valid, ctx)
    names, params = zip(*sn.named_parameters())
    buffers = {n: b.clone() for n, b in sn.named_buffers()}
    weights = method.mixing_weights("valid")
    g = torch.autograd.grad(F.cross_entropy(sn(train[0], weights), train[1]), params, create_graph=True)
    unrolled = {n: p - lr * (gi + wd * p) for n, p, gi in zip(names, params, g)}

    def loss_at(batch):
        return F.cross_entropy(functional_call(sn, {**unrolled, **buffers}, (batch[0], weights)), batch[1])

    exact = torch.autograd.grad(loss_at(valid) + 0.25 * loss_at(train), method.arch_parameters())
    for a, e in zip(approx, exact):
        assert torch.allclose(a, e, rtol=1e-5, atol=1e-8), (a - e).abs().max()


def test_neca_schedule_matches_the_corrected_equation_8():
    import math

    from supernet.engine.diff_search import neca_lr

    assert neca_lr(0, 90, 0.025, 0.001) == pytest.approx(0.025)
    assert neca_lr(90, 90, 0.025, 0.001) == pytest.approx(0.001)
    for frac, expected in ((0.25, 0.785), (0.5, 0.378), (0.75, 0.092)):  # the notes' computed fractions
        assert neca_lr(frac * 90, 90, 1.0, 0.0) == pytest.approx(expected, abs=1e-3)
    cosine = 0.5 * (1 + math.cos(math.pi * 0.5))
    assert neca_lr(45, 90, 1.0, 0.0) < cosine  # below cosine in the interior


def test_allegro_ops_keep_shapes_and_are_wider_than_darts():
    from nas_core.ops import build_op

    x = torch.randn(2, 8, 16, 16)
    for name in ("allegro_sep_conv_3x3", "allegro_sep_conv_5x5", "allegro_dil_conv_3x3", "allegro_dil_conv_5x5"):
        assert build_op(name, 8, 8, 1)(x).shape == (2, 8, 16, 16)
        assert build_op(name, 8, 16, 2)(x).shape == (2, 16, 8, 8)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(build_op("allegro_sep_conv_3x3", 8, 8)) > count(build_op("sep_conv_3x3", 8, 8))
    assert count(build_op("allegro_dil_conv_3x3", 8, 8)) > count(build_op("dil_conv_3x3", 8, 8))
    assert "allegro_sep_conv_5x5" in get_space("allegro").ops
