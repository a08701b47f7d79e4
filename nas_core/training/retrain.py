"""Retrain a found architecture from scratch with a published evaluation protocol, then measure and export it.

Protocols (:data:`nas_core.presets.PROTOCOLS`): ``nb201`` -- the NAS-Bench-201 200-epoch recipe (SGD 0.1 Nesterov,
cosine, wd 5e-4, batch 256; C=16, N=5); ``darts-eval`` -- DARTS's CIFAR-10 evaluation (600 epochs,
batch 96, SGD 0.025 cosine, wd 3e-4, cutout 16, drop-path 0.2, auxiliary head 0.4; 20 cells, 36
channels). The run checkpoints every epoch into ``run_dir`` and resumes from it; the test split is
read once, after the last epoch.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
from torch import nn

from nas_core.data import make_splits, split_loaders
from nas_core.presets import PROTOCOLS
from nas_core.run_record import write_run_config
from nas_core.spaces import get_space
from nas_core.training.checkpoint import load_checkpoint, save_checkpoint
from nas_core.training.trainer import EpochMetrics, TrainConfig, Trainer
from nas_core.vocabulary import NetworkSize


@dataclass
class RetrainResult:
    """A retrained architecture: its one test read, size, speed, history and the exported file."""

    arch: str
    space: str
    protocol: str
    dataset: str
    network: dict[str, Any]
    train_config: dict[str, Any]
    test_accuracy: float | None
    valid_accuracy: float | None
    params_millions: float
    flops_millions: float
    latency_ms_batch1: float
    input_shape: tuple[int, ...]
    #: per-channel mean / std of the training images scaled to [0, 1]: the model's inputs are (x/255 - mean) / std
    normalization: dict[str, list[float]]
    device: str
    history: list[dict[str, Any]]
    exported: str | None = None
    model: nn.Module | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "model"}
        if data["exported"] is None:
            data.pop("exported")
        return data


def default_protocol(space: str) -> str:
    return "nb201" if get_space(space).family == "nb201" else "darts-eval"


def network_kwargs(
    space: str, protocol: str, network: NetworkSize | Mapping[str, Any] | str | None = None, **template: Any
) -> dict[str, Any]:
    """The network constructor's size arguments: ``network`` (a :class:`NetworkSize`, a preset name or a
    mapping; ``None``: the protocol's published size), and on DARTS spaces the ``template`` options (``stem``,
    ``reduce_cells``: ICDARTS Table 3.4's ablations; ``None`` keeps the default)."""
    size = NetworkSize.parse(PROTOCOLS.get(protocol)["network"] if network is None else network)
    template = {k: v for k, v in template.items() if v is not None}
    if get_space(space).family == "nb201" and template:
        raise ValueError(f"the {space} space has no DARTS template options, got {sorted(template)}")
    return {**get_space(space).size_kwargs(size), **template}


def latency_ms(net: nn.Module, shape: tuple[int, ...], device: torch.device, runs: int = 20) -> float:
    """Median forward time of one image (batch 1), after warm-up."""
    net.eval()
    x = torch.randn(1, *shape, device=device)
    times = []
    with torch.no_grad():
        for i in range(runs + 3):
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            start = time.perf_counter()
            net(x)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            if i >= 3:
                times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times)


def export_model(model: nn.Module, example: torch.Tensor, path: str | Path) -> Path:
    """``torch.export`` the model (eval mode) into ``path`` (``.pt2``) for any batch size (``example``: one
    input of the right shape); load it back with ``torch.export.load(path).module()``."""
    path = Path(path)
    batch = example[:1].expand(2, *example.shape[1:]).contiguous()  # export specialises a batch of 1
    dynamic = ({0: torch.export.Dim("batch", min=1, max=1 << 16)},)
    torch.export.save(torch.export.export(model.eval(), (batch,), dynamic_shapes=dynamic), path)
    return path


def parse_architecture(text: str, space: str) -> tuple[Any, bool]:
    """(architecture, placed): a cell string of ``space``, or hierarchical ICDARTS v2's placed-cells JSON."""
    placed = text.lstrip().startswith("{") and '"placement"' in text
    try:
        if placed:
            from nas_core.networks.placed import PlacedCells

            return PlacedCells.parse(text, get_space(space)), True
        return get_space(space).parse(text), False
    except ValueError as e:
        raise ValueError(f"not a valid {space} architecture: {e}") from e


def retrain(
    arch: str,
    *,
    space: str = "nb201",
    protocol: str | None = None,
    network: NetworkSize | Mapping[str, Any] | str | None = None,
    template: Mapping[str, Any] | None = None,
    **options: Any,
) -> RetrainResult:
    """Train ``arch`` from scratch with ``protocol`` (default: ``nb201`` on the nb201 space, else
    ``darts-eval``), evaluate it once on the test split, write ``run_dir/result.json``, ``genotype.json``
    and (``export``) ``model.pt2``. ``network`` overrides the protocol's size (:class:`NetworkSize`, a preset
    name or its mapping), ``template`` the DARTS network's ``stem`` / ``reduce_cells``; ``options`` are
    :func:`train_network`'s (``dataset``, ``run_dir``, ``epochs``, ``batch_size``, ...). Rerunning with the
    same ``run_dir`` resumes."""
    parsed, placed = parse_architecture(arch, space)
    protocol = protocol or default_protocol(space)
    size = network_kwargs(space, protocol, network, **(template or {}))

    def build(num_classes: int, in_channels: int) -> nn.Module:
        shape_kw = dict(num_classes=num_classes, in_channels=in_channels, **size)
        if placed:
            from nas_core.networks.placed import placed_network

            return placed_network(parsed, **shape_kw)
        return get_space(space).build_network(parsed, **shape_kw)

    result = train_network(build, name=str(parsed), space=space, protocol=protocol, network=size, **options)
    out = Path(options["run_dir"])
    (out / "genotype.json").write_text(json.dumps({"space": space, "arch": str(parsed)}, indent=2))
    return result


def train_network(
    build: Callable[[int, int], nn.Module],
    *,
    name: str,
    run_dir: str | Path,
    space: str = "",
    protocol: str = "nb201",
    network: dict[str, Any] | None = None,
    dataset: str = "fashion-mnist",
    data_root: str | None = None,
    valid_fraction: float = 0.1,
    max_train: int | None = None,
    pad_to: int | None = None,
    seed: int = 0,
    device: str = "auto",
    export: bool = True,
    on_epoch: Callable[[EpochMetrics, int], None] | None = None,
    validate_each_epoch: bool = True,
    test: bool = True,
    **train: Any,
) -> RetrainResult:
    """Train ``build(num_classes, in_channels)`` with ``protocol``'s :class:`TrainConfig` (``train`` overrides
    its fields) on ``dataset``: ``1 - valid_fraction`` of its training split (0: all of it, no validation),
    evaluate once on the test split, measure size and speed, write ``run_dir/result.json`` and (``export``)
    ``model.pt2`` beside its ``config.json`` record. Checkpoints every epoch into ``run_dir``; the same call
    again resumes.
    ``on_epoch(metrics, total_epochs)`` after each epoch. ``validate_each_epoch=False`` evaluates the validation
    split once, after the last epoch (a recipe's validation accuracy at the cost the final run pays); ``test=False``
    never reads the test split (``test_accuracy`` is None). Any network: a searched cell, a reference CNN."""
    from nas_core.training import resolve_device

    config = TrainConfig.preset(protocol, seed=seed, **{k: v for k, v in train.items() if v is not None})
    dev = resolve_device(device)
    # the final model's validation split only reports (nothing is selected on it): a class may miss there
    splits = make_splits(
        dataset, data_root, valid_fraction=valid_fraction, seed=seed, max_train=max_train, every_class_validated=False
    )

    loaders = split_loaders(
        splits,
        config.batch_size,
        device=dev,
        seed=seed,
        augment=config.augment,
        channels_last=config.channels_last,
        pad_to=pad_to,
    )
    train_loader, valid, test_loader = loaders.train, loaders.valid, loaders.test
    torch.manual_seed(seed)
    net = build(splits.num_classes, splits.shape[0])
    trainer = Trainer(net, config, train_loader, valid if validate_each_epoch else None)
    out = Path(run_dir)
    record = {"arch": name, "space": space, "protocol": protocol, "network": dict(network or {}), "seed": seed}
    record |= {"dataset": dataset, "data_root": data_root, "valid_fraction": valid_fraction, "max_train": max_train}
    write_run_config(out, "train", {**record, "train_config": config.to_dict()}, keep=True)  # `nas runs` lists it
    checkpoint = out / "checkpoint.pt"
    history: list[dict[str, Any]] = []
    if checkpoint.exists():
        state = load_checkpoint(checkpoint)
        trainer.load_state_dict(state["trainer"])
        history = state["history"]

    def epoch_done(metrics: EpochMetrics) -> None:
        history.append(metrics.to_dict())
        save_checkpoint(checkpoint, {"trainer": trainer.state_dict(), "history": history})
        if on_epoch:
            on_epoch(metrics, config.epochs)

    trainer.train_to(config.epochs, on_epoch=epoch_done)
    if not validate_each_epoch and valid is not None and history:
        history[-1]["valid_loss"], history[-1]["valid_acc"] = trainer.evaluate(valid)
    test_acc = trainer.evaluate(test_loader)[1] if test else None
    shape = tuple(next(iter(test_loader))[0].shape[1:])
    model = trainer.model.eval()
    example = torch.randn(1, *shape, device=dev)
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(example)
    result = RetrainResult(
        arch=name,
        space=space,
        protocol=protocol,
        dataset=dataset,
        network=dict(network or {}),
        train_config=config.to_dict(),
        test_accuracy=test_acc,
        valid_accuracy=history[-1]["valid_acc"] if history else None,
        params_millions=sum(p.numel() for p in model.parameters()) / 1e6,
        flops_millions=counter.get_total_flops() / 1e6,
        latency_ms_batch1=latency_ms(model, shape, dev),
        input_shape=shape,
        normalization={"mean": list(splits.mean), "std": list(splits.std)},
        device=str(dev),
        history=history,
        model=model,
    )
    if export:
        result.exported = str(export_model(model, example, out / "model.pt2"))
    (out / "result.json").write_text(json.dumps(result.to_dict(), indent=2))
    return result
