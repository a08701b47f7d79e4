"""A user's own data and own search space (issue 39): tensors, Datasets and .npz files become one checked
file every worker reads; a cell space declared from an op list works for the pool, the supernet, the ranker
and the proxies; every bad input is one clear error that changes nothing stored."""

from __future__ import annotations

import random
import re

import numpy as np
import pytest
import torch
from torch import nn

from nas_core.data import as_image_data, load_npz, make_splits, register_dataset, user_dataset, write_user_data
from nas_core.data.datasets import DATASETS
from nas_core.ops import OPS, ReLUConvBN, register_op
from nas_core.spaces import SPACES, ArchitectureError, declare_space, get_space
from nas_core.vocabulary import NetworkSize
from predictor_nas.encoding import GraphEncoder
from supernet.engine.supernet import Supernet

UNSEEN_OPS = ("none", "skip_connect", "conv_5x5", "dil_conv_3x3", "max_pool_3x3")


def digits_tensors(n: int = 400, float_images: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's digits as a user would hold them: float (N, H, W, 1) images in [0, 1], int labels."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = torch.tensor(bunch.images[:n] / 16.0, dtype=torch.float32).unsqueeze(-1)
    return (images if float_images else (images * 255).round().to(torch.uint8)), torch.tensor(bunch.target[:n])


@pytest.fixture(scope="module")
def user_space():
    """NAS-Bench-201's DAG with ops it never had (one of them a user op registered here)."""
    if "conv_5x5" not in OPS:
        register_op("conv_5x5")(
            lambda C_in, C_out, stride, affine: ReLUConvBN(C_in, C_out, 5, stride, 2, affine=affine)
        )
    if "user-dag" not in SPACES:
        declare_space("user-dag", UNSEEN_OPS, nodes=4)
    return get_space("user-dag")


# -- data --------------------------------------------------------------------------------------------


def test_float_channels_last_tensors_become_the_uint8_images_they_encode(tmp_path):
    images, labels = digits_tensors(50)
    data = as_image_data((images, labels))
    assert data.images.dtype == torch.uint8 and data.shape == (1, 8, 8) and data.num_classes == 10
    assert torch.equal(data.images, (images.permute(0, 3, 1, 2) * 255).round().to(torch.uint8))
    # any other float range maps linearly: a standardised copy stores the same images up to rounding
    standardised = (images - images.mean()) / images.std()
    again = as_image_data((standardised, labels))
    assert (again.images.int() - data.images.int()).abs().max() <= 1


def test_a_float_test_split_shares_a_float_train_splits_range_and_follows_its_own_beside_uint8():
    from nas_core.data.user_data import user_dataset

    images, labels = digits_tensors(60)
    as_bytes = (images * 255).round().to(torch.uint8)
    # uint8 training images, float test images in [0, 1]: the test split is the same images, not x1
    train, test = user_dataset((as_bytes[:40], labels[:40]), (images[40:], labels[40:]))
    assert torch.equal(test.images, train.images.new_tensor(as_bytes[40:].permute(0, 3, 1, 2)))
    # float training images on another range: the test split is mapped by the training range
    train, test = user_dataset((images[:40] * 4 - 2, labels[:40]), (images[40:] * 4 - 2, labels[40:]))
    low, high = float((images[:40] * 4 - 2).min()), float((images[:40] * 4 - 2).max())
    expected = ((images[40:] * 4 - 2 - low) / (high - low) * 255).round().clamp(0, 255).to(torch.uint8)
    assert (test.images.int() - expected.permute(0, 3, 1, 2).int()).abs().max() <= 1


def test_a_tensor_dataset_is_written_once_and_read_back_identically(tmp_path):
    images, labels = digits_tensors(200, float_images=False)
    written = write_user_data(torch.utils.data.TensorDataset(images.permute(0, 3, 1, 2), labels), tmp_path)
    assert written.endswith(".npz") and write_user_data((images, labels), tmp_path) == written  # content-named
    train, test = load_npz(written)
    assert len(train) == 160 and len(test) == 40  # 20 % held out as the test split
    assert torch.equal(torch.cat([train.labels, test.labels]).sort().values, labels.sort().values)
    splits = make_splits("npz", written, valid_fraction=0.5, seed=3)
    assert len(splits.train) + len(splits.valid) == 160 and splits.shape == (1, 8, 8)


def test_register_dataset_adds_a_named_loader_in_two_lines(tmp_path):
    if "digits-as-tensors" not in DATASETS:
        register_dataset("digits-as-tensors", lambda: digits_tensors(300))
    splits = make_splits("digits-as-tensors", valid_fraction=0.5, seed=0)
    assert splits.num_classes == 10 and len(splits.train) == 120 and len(splits.test) == 60


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda x, y: (x.int(), y), "images must be uint8 or float, got torch.int32"),
        (lambda x, y: (x.reshape(len(x), -1), y), "images must be \\(N, H, W\\), \\(N, C, H, W\\)"),
        (lambda x, y: (x, y.float()), "labels must be a 1-D integer tensor"),
        (lambda x, y: (x, y[:-3]), "200 images but 197 labels"),
        (lambda x, y: (x * float("nan"), y), "NaN or infinite"),
        (lambda x, y: (x, torch.where(y == 9, -1, y)), "labels must lie in \\[0, 9\\), got -1"),
        (lambda x, y: ["images", "labels", "extra"], "must be \\(images, labels\\), a torch.utils.data.Dataset"),
    ],
)
def test_bad_tensors_get_one_error_naming_the_value_and_write_nothing(tmp_path, make, message):
    images, labels = digits_tensors(200)
    with pytest.raises((ValueError, TypeError), match=message):
        write_user_data(make(images, labels), tmp_path)
    assert not list(tmp_path.iterdir())


def test_labels_beyond_num_classes_are_refused():
    images, labels = digits_tensors(40)
    with pytest.raises(ValueError, match="train labels must lie in \\[0, 5\\), got "):
        user_dataset((images, labels), num_classes=5)


def test_a_class_missing_from_the_validation_split_is_an_error(tmp_path):
    images, labels = digits_tensors(200)
    labels = labels.clone()
    labels[labels == 9] = 0
    labels[0] = 9  # class 9 has one image: the validation split cannot hold it as well as the training one
    written = write_user_data((images, labels), tmp_path)
    errors = []
    for seed in range(8):
        try:
            splits = make_splits("npz", written, valid_fraction=0.5, seed=seed)
        except ValueError as exc:
            errors.append(str(exc))
        else:  # no error: the one image of class 9 validates (or sits in neither part)
            assert 9 not in splits.train.labels
    assert errors and all("class(es) [9] have no image in the validation split" in e for e in errors)


def test_fewer_training_images_than_a_batch_fail_before_any_step(tmp_path):
    """40 images and batch 64 used to search for 0 steps and report 0.00 %, exit status 0."""
    from supernet import differentiable_search

    images, labels = digits_tensors(100)
    with pytest.raises(ValueError, match="fewer than one batch of 64"):
        differentiable_search(
            "darts", preset="quick", dataset=(images, labels), run_dir=tmp_path, epochs=1, batch_size=64, device="cpu"
        )
    assert not (tmp_path / "search.pt").exists()


def test_bad_data_given_to_a_study_leaves_its_pool_readable_and_unchanged(tmp_path):
    """A TensorDataset given to the training settings used to end in a KeyError or a SQLAlchemy error that
    left pool.db unreadable."""
    from pools import Pool
    from predictor_nas import CandidateTraining, Study, search_preset

    images, labels = digits_tensors(400)
    good = CandidateTraining(dataset=torch.utils.data.TensorDataset(images, labels), network=NetworkSize(4, 1))
    config = search_preset("quick", budgets=(1, 2), budget_epochs=4)
    study = Study.create(config, training=good, run_dir=tmp_path)
    assert study.pool.config.dataset == "npz" and study.pool.config.data_root.startswith(str(tmp_path))
    count = len(study.pool.candidates())
    study.close()
    before = (tmp_path / "pool.db").read_bytes()
    bad = CandidateTraining(dataset=(images, labels - 1), network=NetworkSize(4, 1))  # a label -1
    with pytest.raises(ValueError, match="train labels must lie in"):
        Study.create(config, training=bad, run_dir=tmp_path)
    assert (tmp_path / "pool.db").read_bytes() == before
    pool = Pool.open(f"sqlite:///{tmp_path / 'pool.db'}")
    assert len(pool.candidates()) == count
    pool.close()


# -- search spaces -----------------------------------------------------------------------------------


def test_a_declared_space_parses_hashes_encodes_and_builds(user_space):
    assert user_space.family == "nb201" and user_space.size() == 5**6 and not user_space.is_benchmark
    rng = random.Random(0)
    cell = user_space.sample(rng)
    assert user_space.from_string(str(cell)) == cell
    # isomorphism: a branch that never reaches the output does not change the hash
    a = user_space.from_string("|conv_5x5~0|+|none~0|none~1|+|skip_connect~0|none~1|max_pool_3x3~2|")
    b = user_space.from_string("|dil_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|max_pool_3x3~2|")
    c = user_space.from_string("|conv_5x5~0|+|none~0|none~1|+|skip_connect~0|conv_5x5~1|max_pool_3x3~2|")
    assert user_space.canonical_hash(a) == user_space.canonical_hash(b) != user_space.canonical_hash(c)
    graph = GraphEncoder(user_space).encode(c)
    assert "conv_5x5" in GraphEncoder(user_space).vocab and graph.x.shape[1] == 4 + len(UNSEEN_OPS)
    net = user_space.build_network(c, num_classes=3, in_channels=1, **user_space.size_kwargs(NetworkSize(4, 1)))
    assert net(torch.zeros(2, 1, 8, 8)).shape == (2, 3)
    assert any(isinstance(m, nn.Conv2d) and m.kernel_size == (5, 5) for m in net.modules())
    supernet = Supernet(user_space, num_classes=3, in_channels=1, C=4, N=1)
    assert len(supernet.edges) == 6 and all(e.ops == UNSEEN_OPS for e in supernet.edges)


def test_a_five_node_dag_space_has_ten_edges_everywhere():
    space = (
        declare_space("dag5-test", ("none", "skip_connect", "nor_conv_3x3"), nodes=5)
        if "dag5-test" not in (SPACES)
        else get_space("dag5-test")
    )
    cell = space.sample(random.Random(1))
    assert len(cell.ops) == 10 and str(cell).count("+") == 3 and space.from_string(str(cell)) == cell
    supernet = Supernet(space, num_classes=2, in_channels=1, C=4, N=1)
    weights = {"normal": torch.full((10, 3), 1 / 3)}
    assert supernet(torch.zeros(2, 1, 8, 8), weights).shape == (2, 2)
    child = supernet.export_child(cell)
    assert child(torch.zeros(2, 1, 8, 8)).shape == (2, 2)


def test_a_pool_remembers_its_declared_space_for_a_process_that_never_declared_it(tmp_path):
    """The pool stores the declaration; a fresh process (a worker) that opens the pool gets the same space
    without declaring it, and a process that declared the name otherwise is refused."""
    import subprocess
    import sys

    from pools import Pool, PoolConfig

    if "pool-declared" not in SPACES:
        declare_space("pool-declared", ("nor_conv_3x3", "skip_connect", "none"), nodes=3)
    url = f"sqlite:///{tmp_path}/pool.db"
    pool = Pool.create(url, PoolConfig(space="pool-declared", dataset="digits"))
    assert pool.config.space_declaration == {
        "ops": ["nor_conv_3x3", "skip_connect", "none"],
        "nodes": 3,
        "style": "nb201",
    }
    fresh = f"from pools import Pool; s = Pool.open({url!r}).space; print(s.ops, len(s.edges))"
    out = subprocess.run([sys.executable, "-c", fresh], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["('nor_conv_3x3',", "'skip_connect',", "'none')", "3"]
    other = (
        "from nas_core.spaces import declare_space; from pools import Pool;"
        f"declare_space('pool-declared', ['nor_conv_1x1', 'none']); Pool.open({url!r})"
    )
    err = subprocess.run([sys.executable, "-c", other], capture_output=True, text=True).stderr
    assert "space 'pool-declared' is declared here as" in err and "nor_conv_1x1" in err


def test_nas_train_retrains_a_cell_of_a_declared_space_in_a_fresh_process(tmp_path):
    """`nas train --space NAME --space-from POOL_URL` (the dashboard's retrain line) declares the space from the
    pool in a process that never declared it."""
    import json
    import subprocess
    import sys

    from nas_cli.dashboard.views import retrain_command
    from pools import Pool, PoolConfig

    if "train-declared" not in SPACES:
        declare_space("train-declared", ("nor_conv_3x3", "skip_connect", "avg_pool_3x3"), nodes=3)
    url = f"sqlite:///{tmp_path}/pool.db"
    pool = Pool.create(url, PoolConfig(space="train-declared", dataset="digits"))
    arch = "|nor_conv_3x3~0|+|skip_connect~0|avg_pool_3x3~1|"
    line = retrain_command(pool, arch, 1)
    assert f"--space train-declared --dataset digits --space-from {url}" in line
    argv = ["train", "--arch", arch, "--space", "train-declared", "--space-from", url, "--dataset", "digits"]
    argv += ["--epochs", "1", "--channels", "4", "--cells-per-stage", "1", "--max-train", "64", "--batch-size", "32"]
    argv += ["--export", "none", "--quiet", "--out", str(tmp_path / "t")]
    subprocess.run([sys.executable, "-m", "nas_cli", *argv], check=True, capture_output=True, timeout=300)
    assert json.loads((tmp_path / "t" / "result.json").read_text())["arch"] == arch


def test_the_cli_imports_a_plugin_and_declares_a_space_from_its_ops(tmp_path):
    """``nas --plugin FILE --declare-space SPEC``: the plugin's op is registered before the space using it."""
    import json
    import subprocess
    import sys

    plugin = tmp_path / "my_ops.py"
    plugin.write_text(
        "from nas_core.ops import ReLUConvBN, register_op\n"
        "register_op('conv_7x7_cli')(lambda ci, co, s, affine: ReLUConvBN(ci, co, 7, s, 3, affine=affine))\n"
    )
    argv = ["--plugin", str(plugin), "--declare-space", "cli-darts3:darts:3:skip_connect,conv_7x7_cli", "spaces"]
    out = subprocess.run(
        [sys.executable, "-m", "nas_cli", *argv, "--json"], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    info = {s["name"]: s for s in json.loads(out.stdout)["spaces"]}["cli-darts3"]
    assert info["steps"] == 3 and set(info["ops"]) == {"skip_connect", "conv_7x7_cli"}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("only:two", "expected NAME:STYLE:NODES:OP,OP,..."),
        ("s:darts:three:skip_connect,sep_conv_3x3", "NODES must be an integer, got 'three'"),
        ("s:dag:3:skip_connect,sep_conv_3x3", "style must be 'nb201' or 'darts', got 'dag'"),
    ],
)
def test_a_bad_declare_space_spec_names_what_is_wrong(spec, message):
    from nas_core.plugins import declare_from_spec

    with pytest.raises(ValueError, match=re.escape(message)):
        declare_from_spec(spec)
    assert "s" not in SPACES and "only" not in SPACES


def test_declaring_a_space_checks_its_ops_and_shape():
    with pytest.raises(ValueError, match=r"unknown operation\(s\) \['conv_9x9'\]; register them"):
        declare_space("bad-ops", ("none", "conv_9x9"))
    with pytest.raises(ValueError, match="DARTS-style cell needs nodes >= 1 intermediate nodes, got 0"):
        declare_space("bad-darts", ("sep_conv_3x3", "skip_connect"), nodes=0, style="darts")
    with pytest.raises(ValueError, match="at least two distinct operations"):
        declare_space("bad-one", ("skip_connect",))
    assert "bad-ops" not in SPACES and "bad-darts" not in SPACES


def test_a_darts_style_declared_space_samples_genotypes_of_its_ops():
    name = "darts-user-test"
    space = get_space(name) if name in SPACES else declare_space(name, ("skip_connect", "dil_conv_3x3"), style="darts")
    genotype = space.sample(random.Random(0))
    assert {op for op, _ in genotype.normal + genotype.reduce} <= {"skip_connect", "dil_conv_3x3"}
    assert space.from_string(str(genotype)) == genotype


@pytest.mark.parametrize("nodes", [1, 3, 5])
def test_a_darts_style_space_of_any_node_count_builds_its_cells_and_supernet(nodes):
    """Node k of a ``nodes``-node cell reads two of nodes 0..k+1; the output concatenates every node."""
    from nas_core.cells import edge_index
    from supernet.cdarts.latency import cell_latency, edge_to_node_weights
    from supernet.engine.proposals import sample_architecture
    from supernet.engine.selection import magnitude_select, node_select, node_weights

    name = f"darts-nodes-{nodes}"
    ops = ("skip_connect", "sep_conv_3x3", "max_pool_3x3")
    space = get_space(name) if name in SPACES else declare_space(name, ops, nodes=nodes, style="darts")
    assert space.steps == nodes and space.concat == tuple(range(2, nodes + 2))
    genotype = space.sample(random.Random(0))
    assert len(genotype.normal) == len(genotype.reduce) == 2 * nodes and genotype.steps == nodes
    assert space.from_string(str(genotype)) == genotype
    net = space.build_network(genotype, num_classes=10, in_channels=1, C=4, layers=5)
    assert net(torch.randn(2, 1, 8, 8)).shape == (2, 10)
    assert net.classifier.in_features == nodes * 16  # the last cell concatenates `nodes` nodes of 4 * 4 channels
    supernet = Supernet(space, num_classes=10, in_channels=1, C=4, layers=5)
    edges = nodes * (nodes + 3) // 2
    assert supernet.alpha_shape("normal") == (edges, 3)
    weights = {ct: torch.softmax(torch.randn(edges, 3), -1) for ct in supernet.cell_types}
    assert supernet(torch.randn(2, 1, 8, 8), weights).shape == (2, 10)
    for arch in (
        magnitude_select(supernet, weights),
        node_select(supernet, weights, xdarts=True),
        sample_architecture(supernet, weights, random.Random(0)),
    ):
        assert space.validate(arch).steps == nodes
    for per_node in (node_weights(torch.randn(edges, 3)), edge_to_node_weights(weights["normal"])):
        sums = [float(per_node[edge_index(n, 0) : edge_index(n, 0) + n + 2].sum()) for n in range(nodes)]
        assert sums == pytest.approx([1.0] * nodes)  # I-DARTS / ICDARTS latency: each node's weights sum to 1
    assert float(cell_latency(node_weights(torch.zeros(edges, 3)), torch.tensor([0.0, 1.0, 1.0]))) > 0


def test_a_darts_style_space_names_its_node_count_when_a_genotype_does_not_fit():
    name = "darts-nodes-3"
    space = (
        get_space(name)
        if name in SPACES
        else declare_space(name, ("skip_connect", "sep_conv_3x3", "max_pool_3x3"), nodes=3, style="darts")
    )
    four_node = get_space("darts").sample(random.Random(0))
    with pytest.raises(ArchitectureError, match="needs 6 \\(op, input\\) pairs, two for each of the 3 intermediate"):
        space.validate(four_node._replace(normal=tuple((("skip_connect", s) for _, s in four_node.normal))))


def test_a_darts_network_sizes_each_cell_by_the_nodes_it_concatenates():
    """A genotype concatenating 2 nodes in the normal cell and 3 in the reduction cell builds (the
    channels a cell puts out follow its own concat, not DARTS's 4)."""
    genotype = get_space("darts").sample(random.Random(1))
    genotype = genotype._replace(normal_concat=(2, 5), reduce_concat=(3, 4, 5))
    net = get_space("darts").build_network(genotype, num_classes=10, in_channels=1, C=4, layers=5)
    assert net(torch.randn(2, 1, 8, 8)).shape == (2, 10)
    assert net.classifier.in_features == 2 * 16


# -- end to end: own space, own tensors, every job -------------------------------------------------------


def test_rank_nosh_drnas_and_the_hybrid_run_on_a_declared_space_and_tensor_data(tmp_path, user_space):
    from predictor_nas import CandidateTraining, Study, search_preset
    from supernet import differentiable_search

    images, labels = digits_tensors(600)
    training = CandidateTraining(dataset=(images, labels), max_train=400, network=NetworkSize(4, 1), batch_size=64)
    config = search_preset("quick", budgets=(1, 2), k=2, initial=3, level0_samples=5, budget_epochs=16)
    study = Study.create(config, training=training, space="user-dag", run_dir=tmp_path / "pool")
    run = differentiable_search(
        "drnas", preset="quick", run_dir=tmp_path / "drnas", **study.supernet_settings(epochs=1)
    )
    assert isinstance(user_space.parse(run.genotype), type(user_space.sample(random.Random(0))))
    added = study.propose(run, samples=2, warm_start=True)
    assert added
    result = study.optimize()
    user_space.parse(result.best_arch)  # an architecture of the declared space
    lineages = {c.lineage for c in study.pool.candidates()}
    assert "drnas" in lineages and study.pool.config.dataset == "npz"
    assert any(study.pool.candidate(cid).epochs_trained > 0 for cid in added)  # proposals trained too
    study.close()
    assert np.isfinite(result.observed)


def test_drnas_and_the_hybrid_run_on_a_three_node_darts_style_space(tmp_path):
    """A DARTS-style space with 3 intermediate nodes (not DARTS's 4): DrNAS searches it, its proposals and
    warm start enter the pool, RANK-NOSH trains them; every architecture has 3 nodes per cell."""
    from predictor_nas import CandidateTraining, Study, search_preset
    from supernet import differentiable_search

    name = "darts-nodes-3"
    space = (
        get_space(name)
        if name in SPACES
        else declare_space(name, ("skip_connect", "sep_conv_3x3", "max_pool_3x3"), nodes=3, style="darts")
    )
    images, labels = digits_tensors(400)
    training = CandidateTraining(dataset=(images, labels), max_train=256, network=NetworkSize(4, 1), batch_size=64)
    config = search_preset("quick", budgets=(1, 2), k=2, initial=2, level0_samples=4, budget_epochs=8)
    study = Study.create(config, training=training, space=name, run_dir=tmp_path / "pool")
    settings = study.supernet_settings(epochs=1)
    # one stage at full channels (no progressive partial channels): its children can inherit weights
    run = differentiable_search(
        "drnas", preset="quick", run_dir=tmp_path / "drnas", method_options={"stages": None}, **settings
    )
    assert space.parse(run.genotype).steps == 3
    added = study.propose(run, samples=2, warm_start=True, cost_ratio=1.0)  # (measuring the ratio is tested apart)
    assert added and study.searches[-1]["warm_start"] is True
    result = study.optimize()
    assert space.parse(result.best_arch).normal_concat == (2, 3, 4)
    assert all(space.parse(c.arch).steps == 3 for c in study.pool.candidates())
    trained = [study.pool.candidate(cid) for cid in added if study.pool.candidate(cid).epochs_trained > 0]
    assert trained and all("init" in (c.info or {}) for c in trained)  # they started from supernet weights
    study.close()


# -- cost limits ---------------------------------------------------------------------------------------


def test_pareto_front_keeps_exactly_the_undominated_points():
    from predictor_nas.constraint import pareto_front

    points = [(1.0, 50.0), (2.0, 60.0), (2.0, 55.0), (3.0, 58.0), (0.5, 40.0), (4.0, 70.0), (1.0, 45.0)]
    assert pareto_front(points) == [4, 0, 1, 5]


def test_cost_limit_refuses_bad_values_and_unknown_costs():
    from predictor_nas import CostLimit

    with pytest.raises(ValueError, match="unknown cost 'watts'"):
        CostLimit("watts", 1.0)
    with pytest.raises(ValueError, match="must be a positive number, got -1"):
        CostLimit("params", -1)


def test_rank_nosh_under_an_op_table_limit_never_trains_a_candidate_over_it(tmp_path, shared_data):
    """The limit binds: unconstrained RANK-NOSH trains cells costlier than it; constrained, none."""
    from predictor_nas import CostLimit, Study, op_table_cost, search_preset

    space = get_space("nb201")
    table = {"nor_conv_3x3": 1.0, "nor_conv_1x1": 0.4, "avg_pool_3x3": 0.2, "skip_connect": 0.0}
    cost = op_table_cost(space, table)
    config = search_preset("tabular", budget_epochs=400, seed=1)
    kw = dict(benchmark="nb201:cifar10", benchmark_dir=str(shared_data / "nb201"))
    free = Study.create(config, run_dir=tmp_path / "free", **kw)
    free_best = free.optimize().best_arch
    free_costs = [cost(c.arch) for c in free.pool.candidates() if c.epochs_trained]
    free.close()
    limit = CostLimit(cost, 2.0)
    assert cost(free_best) > 2.0 and max(free_costs) > 2.0  # the limit is below what the free search trains
    bound = Study.create(config, run_dir=tmp_path / "bound", limit=limit, **kw)
    result = bound.optimize()
    assert cost(result.best_arch) <= 2.0
    assert all(cost(c.arch) <= 2.0 for c in bound.pool.candidates())  # over the limit never even joined
    front = bound.front()
    assert front["limit"] == 2.0 and front["candidates"] and any(r.get("front") for r in front["candidates"])
    bound.close()


@pytest.mark.parametrize("name", ["random", "rea"])
def test_baselines_under_a_limit_draw_only_cells_under_it_and_tpe_refuses_one(tmp_path, shared_data, name):
    from predictor_nas import CostLimit, Study, op_table_cost, search_preset
    from predictor_nas.strategies import get_strategy

    space = get_space("nb201")
    cost = op_table_cost(space, {"nor_conv_3x3": 1.0, "nor_conv_1x1": 0.4, "avg_pool_3x3": 0.2, "skip_connect": 0.0})
    config = search_preset("tabular", budget_epochs=300, seed=2)
    kw = dict(benchmark="nb201:cifar10", benchmark_dir=str(shared_data / "nb201"))
    with Study.create(
        config, run_dir=tmp_path / name, strategy=get_strategy(name), limit=CostLimit(cost, 1.5), **kw
    ) as s:
        result = s.optimize()
        costs = [cost(c.arch) for c in s.pool.candidates()]
    assert len(costs) >= 10 and max(costs) <= 1.5 and cost(result.best_arch) <= 1.5
    with pytest.raises(ValueError, match="strategy 'tpe' does not take a cost limit"):
        Study.create(config, run_dir=tmp_path / "tpe", strategy=get_strategy("tpe"), limit=CostLimit(cost, 1.5), **kw)


def test_a_differentiable_search_selects_under_a_params_limit(tmp_path):
    """Resuming a finished search with a limit re-selects only: the cell is brought under the limit (priced on
    the search's network), and the selection log keeps the unconstrained cell and each swap."""
    from nas_core.costs import architecture_cost
    from predictor_nas import CostLimit
    from supernet import differentiable_search

    images, labels = digits_tensors(300, float_images=False)
    settings = dict(
        preset="quick", dataset=(images, labels), epochs=1, network=NetworkSize(4, 1), batch_size=32, max_train=300
    )
    free = differentiable_search("darts", run_dir=tmp_path, **settings)
    space = get_space("nb201")
    cost = architecture_cost("params", space, 10, (1, 8, 8), free.search.config.size_kwargs())
    limit = cost(free.genotype) * 0.9
    bound = differentiable_search("darts", run_dir=tmp_path, limit=CostLimit("params", limit), **settings)
    assert bound.result.epochs_run == 1 and cost(bound.genotype) <= limit < cost(free.genotype)
    entry = bound.result.selection_log[-1]
    assert entry["selected"] == free.genotype and entry["swaps"] and entry["limit"]["cost"] == "params"
