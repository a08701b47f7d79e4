import math

import pytest
import torch

from nas_core.data import DeviceLoader
from nas_core.spaces import get_space
from nas_core.training import (
    CheckpointError,
    TrainConfig,
    Trainer,
    TrainingDivergedError,
    load_checkpoint,
    save_checkpoint,
)
from nas_core.vocabulary import NetworkSize

CELL = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


def make_trainer(splits, epochs=6, **cfg):
    torch.manual_seed(0)
    net = get_space("nb201").build_network(CELL, num_classes=10, in_channels=1, C=4, N=1)
    config = TrainConfig(epochs=epochs, batch_size=64, lr=0.05, crop_padding=1, flip=False, **cfg)
    train = DeviceLoader(splits.train, 64, mean=splits.mean, std=splits.std, augment=config.augment, seed=0)
    valid = DeviceLoader(splits.valid, 256, mean=splits.mean, std=splits.std, shuffle=False)
    return Trainer(net, config, train, valid)


def weights(trainer):
    return trainer.model.state_dict()


def test_resumed_training_equals_uninterrupted(digits_splits, tmp_path):
    full = make_trainer(digits_splits, drop_path_prob=0.0)
    full.train_to(6)

    first = make_trainer(digits_splits)
    first.train_to(3)
    save_checkpoint(tmp_path / "ckpt.pt", first.state_dict())
    torch.rand(1000)  # other work in the same process must not change the result
    resumed = make_trainer(digits_splits)
    resumed.load_state_dict(load_checkpoint(tmp_path / "ckpt.pt"))
    assert resumed.epoch == 3
    resumed.train_to(6)

    for name, tensor in weights(full).items():
        assert torch.equal(tensor, weights(resumed)[name]), name
    assert [m.valid_acc for m in full.history] == [m.valid_acc for m in resumed.history]


def test_a_per_step_cosine_anneals_within_each_epoch_to_lr_min_and_resumes_exactly(digits_splits, tmp_path):
    """``lr_schedule="step"``: the cosine rate moves after every batch (NAS-Bench-201's code), so a 2-epoch run
    starts its second epoch at half the rate and ends at ``lr_min``; a run resumed after epoch 1 equals the
    uninterrupted one."""
    full = make_trainer(digits_splits, epochs=2, lr_schedule="step", lr_min=0.001)
    batches = len(full.train_loader)
    seen = []
    real_step = full.optimizer.step

    def step(*args, **kwargs):
        seen.append(full.optimizer.param_groups[0]["lr"])
        return real_step(*args, **kwargs)

    full.optimizer.step = step
    full.train_to(2)
    t_max, lr, lr_min = 2 * batches, 0.05, 0.001
    expected = [lr_min + (lr - lr_min) * (1 + math.cos(math.pi * t / t_max)) / 2 for t in range(t_max)]
    assert seen == pytest.approx(expected) and len(set(seen[:batches])) == batches  # a new rate every batch
    assert full.optimizer.param_groups[0]["lr"] == pytest.approx(lr_min)
    assert [m.lr for m in full.history] == pytest.approx([lr, expected[batches]])  # each epoch's first rate

    first = make_trainer(digits_splits, epochs=2, lr_schedule="step", lr_min=0.001)
    first.train_to(1)
    save_checkpoint(tmp_path / "ckpt.pt", first.state_dict())
    resumed = make_trainer(digits_splits, epochs=2, lr_schedule="step", lr_min=0.001)
    resumed.load_state_dict(load_checkpoint(tmp_path / "ckpt.pt"))
    resumed.train_to(2)
    for name, tensor in weights(full).items():
        assert torch.equal(tensor, weights(resumed)[name]), name


def test_compiled_training_keeps_static_shapes(digits_splits, monkeypatch):
    """compile != "off" gives every batch shape its own static graph (the partial last batch does not
    turn the full batch's graph symbolic) and compiles nothing more in later epochs. Traced with a
    counting backend in place of inductor, so it runs in seconds on the CPU."""
    graphs: list[bool] = []
    real_compile = torch.compile

    def counting(gm, example_inputs):
        graphs.append(any(isinstance(i, torch.SymInt) for i in example_inputs))
        return gm.forward

    monkeypatch.setattr(
        torch, "compile", lambda model, mode, dynamic: real_compile(model, backend=counting, dynamic=dynamic)
    )
    torch._dynamo.reset()
    trainer = make_trainer(digits_splits, epochs=3, compile="default")
    trainer.train_to(1)
    shapes = {len(y) for _, y in trainer.train_loader} | {-len(y) for _, y in trainer.valid_loader}  # eval apart
    assert len(shapes) == 4  # full and partial batches in both loaders: the case this test is about
    assert len(graphs) == 4 and not any(graphs)
    trainer.train_to(3)
    assert len(graphs) == 4


def test_training_learns_and_records_metrics(digits_splits):
    t = make_trainer(digits_splits, epochs=6)
    history = t.train_to(6)
    assert [m.epoch for m in history] == list(range(1, 7))
    assert history[-1].valid_acc > 60 and history[-1].train_loss < history[0].train_loss
    assert history[0].lr == pytest.approx(0.05) and history[-1].lr < 0.01  # cosine
    with pytest.raises(ValueError, match="cannot train to epoch 7"):
        t.train_to(7)


def test_divergence_is_reported(digits_splits):
    t = make_trainer(digits_splits, epochs=2)
    with torch.no_grad():
        t.model.classifier.weight.fill_(float("nan"))
    with pytest.raises(TrainingDivergedError, match="nan"):
        t.train_to(1)


def test_checkpoint_errors(tmp_path):
    path = tmp_path / "ok.pt"
    save_checkpoint(path, {"a": torch.ones(1000)})
    data = path.read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"cut\.pt is truncated or corrupted"):
        load_checkpoint(tmp_path / "cut.pt")
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")
    with pytest.raises(CheckpointError, match="not writable"):
        save_checkpoint(path / "inside-a-file" / "x.pt", {})
    assert torch.equal(load_checkpoint(path)["a"], torch.ones(1000))  # nothing stored was lost


def test_bad_config_values():
    with pytest.raises(ValueError, match="epochs=0"):
        TrainConfig(epochs=0)
    with pytest.raises(ValueError, match="amp='fp8'"):
        TrainConfig(amp="fp8")
    with pytest.raises(KeyError, match="unknown protocol"):
        TrainConfig.preset("imagenet")
    assert TrainConfig.preset("darts-eval").epochs == 600
    with pytest.raises(ValueError, match="unknown TrainConfig key"):
        TrainConfig.from_dict({"epochz": 3})
    with pytest.raises(ValueError, match=r"compile='cudagraph'.*reduce-overhead"):
        TrainConfig(compile="cudagraph")
    with pytest.raises(ValueError, match=r"lr_schedule='batch'.*lr_schedule in epoch\|step"):
        TrainConfig(lr_schedule="batch")
    # checkpoints written when compile was a bool still load
    assert TrainConfig.from_dict({"compile": True}).compile == "default"
    assert TrainConfig.from_dict({"compile": False}).compile == "off"


def gpu_valid_acc(splits, epochs: int = 8, **cfg) -> float:
    """Validation accuracy after ``epochs`` of training an NB201 cell (C=8) on the GPU with ``cfg``."""
    torch.manual_seed(0)
    net = get_space("nb201").build_network(CELL, num_classes=10, in_channels=1, C=8, N=1)
    config = TrainConfig(epochs=epochs, batch_size=64, lr=0.05, **cfg)
    train = DeviceLoader(splits.train, 64, mean=splits.mean, std=splits.std, device="cuda", augment=config.augment)
    valid = DeviceLoader(splits.valid, 256, mean=splits.mean, std=splits.std, device="cuda", shuffle=False)
    return Trainer(net, config, train, valid).train_to(epochs)[-1].valid_acc


@pytest.mark.gpu
def test_bf16_training_matches_fp32_band_on_gpu(digits_splits):
    fp32 = gpu_valid_acc(digits_splits, amp="off", channels_last=True)
    bf16 = gpu_valid_acc(digits_splits, amp="bf16", channels_last=True)
    assert bf16 > 80 and abs(bf16 - fp32) < 5


@pytest.mark.gpu
def test_cuda_graph_training_matches_eager_band_on_gpu(digits_splits):
    """compile="reduce-overhead" (CUDA graphs) trains to the same accuracy band as eager, evaluation included."""
    eager = gpu_valid_acc(digits_splits, epochs=6)
    graphs = gpu_valid_acc(digits_splits, epochs=6, compile="reduce-overhead")
    assert graphs > 80 and abs(graphs - eager) < 5


def test_a_recipe_run_validates_once_at_the_end_and_never_reads_the_test_split(tmp_path, monkeypatch):
    """``validate_each_epoch=False, test=False`` (the final-recipe benchmark): the same training as validating every
    epoch, its last epoch's validation accuracy, and no test evaluation at all."""
    import nas_core.training.retrain as retrain_module
    from nas_core.training.retrain import retrain

    common = dict(dataset="digits", network=NetworkSize(4, 1), epochs=2, batch_size=128, max_train=400)
    common |= dict(valid_fraction=0.25, seed=3, device="cpu", export=False)
    each = retrain(CELL, run_dir=tmp_path / "each", **common)
    evaluated = []
    real_split_loaders = retrain_module.split_loaders

    def loaders_without_test(*args, **kwargs):
        loaders = real_split_loaders(*args, **kwargs)
        evaluated.append(loaders.test)
        return loaders

    monkeypatch.setattr(retrain_module, "split_loaders", loaders_without_test)
    real_evaluate = Trainer.evaluate

    def evaluate(self, loader):
        assert loader is not evaluated[0], "the test split was read"
        return real_evaluate(self, loader)

    monkeypatch.setattr(Trainer, "evaluate", evaluate)
    once = retrain(CELL, run_dir=tmp_path / "once", validate_each_epoch=False, test=False, **common)
    assert once.test_accuracy is None and each.test_accuracy is not None
    assert [h["valid_acc"] for h in once.history] == [None, each.history[-1]["valid_acc"]]
    assert once.valid_accuracy == each.valid_accuracy
    assert [h["train_loss"] for h in once.history] == [h["train_loss"] for h in each.history]
    for a, b in zip(once.model.state_dict().values(), each.model.state_dict().values(), strict=True):
        assert torch.equal(a, b)
