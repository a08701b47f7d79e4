"""``nas train``: retrain a found architecture from scratch with a published evaluation protocol.

    nas train --arch "|nor_conv_3x3~0|+|...|" --space nb201 --protocol nb201 --dataset cifar10 --out DIR
    nas train --arch @genotype.txt --space darts --protocol darts-eval --dataset cifar10 --out DIR

Protocols (``TrainConfig.PRESETS``): ``nb201`` -- the NAS-Bench-201 200-epoch recipe (SGD 0.1
Nesterov, cosine, wd 5e-4, batch 256; C=16, N=5); ``darts-eval`` -- DARTS's CIFAR-10 evaluation
(600 epochs, batch 96, SGD 0.025 cosine, wd 3e-4, cutout 16, drop-path 0.2, auxiliary head 0.4;
20 cells, 36 channels). Flags override sizes and epochs. The run checkpoints every epoch into DIR and
resumes when the same command runs again. At the end it writes ``DIR/result.json`` (test accuracy,
parameters, FLOPs, latency, history), ``DIR/genotype.json`` and ``DIR/model.pt2`` (``torch.export``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from supernet.data import DeviceLoader, make_splits
from supernet.networks.darts import REDUCE_CELLS, STEMS
from supernet.spaces import get_space
from supernet.training import TrainConfig, Trainer, load_checkpoint, resolve_device, save_checkpoint
from supernet.training.trainer import COMPILE_MODES

#: network sizes of each protocol (the published ones)
PROTOCOL_NETWORK: dict[str, dict[str, int]] = {"nb201": {"C": 16, "N": 5}, "darts-eval": {"C": 36, "layers": 20}}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--arch", required=True, help="the architecture string, or @FILE holding it")
    parser.add_argument("--space", default="nb201")
    parser.add_argument(
        "--protocol",
        choices=sorted(TrainConfig.PRESETS),
        default=None,
        help="default: nb201 for the nb201 space, darts-eval for DARTS spaces",
    )
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--out", type=Path, required=True, help="run directory (resumes from it)")
    parser.add_argument("--epochs", type=int, default=None, help="override the protocol's epochs")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--channels", type=int, default=None, help="C (NB201 16, DARTS 36)")
    parser.add_argument("--cells-per-stage", type=int, default=None, help="NB201 N")
    parser.add_argument("--layers", type=int, default=None, help="DARTS cells")
    parser.add_argument("--max-train", type=int, default=None, help="use a seeded subset of the training images")
    add_template_arguments(parser)
    add_speed_arguments(parser)
    parser.add_argument("--pad-to", type=int, default=None, help="zero-pad images to this size (e.g. 32)")
    parser.add_argument("--export", choices=["export", "none"], default="export", help="write DIR/model.pt2")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true")


def add_speed_arguments(parser: argparse.ArgumentParser) -> None:
    """``--channels-last`` / ``--compile MODE``: how candidates train on a GPU (``nas train``, ``nas rank-nosh``);
    ``scripts/bench_gpu.py`` measures each against the others."""
    parser.add_argument(
        "--channels-last", action="store_true", default=None, help="channels-last memory format for training"
    )
    parser.add_argument(
        "--compile",
        choices=list(COMPILE_MODES),
        default=None,
        help="torch.compile the network (reduce-overhead: CUDA graphs on a GPU); default off",
    )


def speed_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The TrainConfig fields that ``add_speed_arguments``' options set (those given only)."""
    given = {"channels_last": args.channels_last, "compile": args.compile}
    return {k: v for k, v in given.items() if v is not None}


def add_template_arguments(parser: argparse.ArgumentParser) -> None:
    """``--stem`` / ``--reduce-cells``: the DARTS template ablations of ICDARTS (Table 3.4), for the
    search (``nas diff``) and the retrained network (``nas train``) alike."""
    parser.add_argument("--stem", choices=list(STEMS), default=None, help="DARTS template: the stem")
    parser.add_argument(
        "--reduce-cells",
        choices=list(REDUCE_CELLS),
        default=None,
        help="DARTS template: the searched reduction cells or a fixed module in their place",
    )


ARCH_KEYS = ("best_arch", "genotype", "arch")


def read_arch(text: str) -> str:
    """``--arch`` as given, or from ``@FILE``: a plain architecture string, or a run's JSON
    (``result.json`` of rank-nosh / hybrid / diff, ``genotype.json`` of train)."""
    if not text.startswith("@"):
        return text
    path = Path(text[1:])
    if not path.exists():
        raise FileNotFoundError(f"--arch {text}: file {path} does not exist")
    content = path.read_text().strip()
    if not content.startswith("{"):
        return content
    data = json.loads(content)
    for key in ARCH_KEYS:
        if data.get(key):
            return str(data[key])
    raise ValueError(f"--arch {text}: {path} has none of the keys {list(ARCH_KEYS)}")


def network_options(args: argparse.Namespace, protocol: str) -> dict[str, Any]:
    options = dict(PROTOCOL_NETWORK[protocol])
    if args.channels is not None:
        options["C"] = args.channels
    if args.space == "nb201":
        options.pop("layers", None)
        options.setdefault("N", 5)
        if args.cells_per_stage is not None:
            options["N"] = args.cells_per_stage
    else:
        options.pop("N", None)
        options.setdefault("layers", 20)
        if args.layers is not None:
            options["layers"] = args.layers
        options.update({k: v for k, v in (("stem", args.stem), ("reduce_cells", args.reduce_cells)) if v})
    if args.space == "nb201" and (args.stem or args.reduce_cells):
        raise ValueError("--stem / --reduce-cells are DARTS template options; the nb201 space has none")
    return options


def latency_ms(net: torch.nn.Module, shape: tuple[int, ...], device: torch.device, runs: int = 20) -> float:
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


def run(args: argparse.Namespace) -> dict[str, Any]:
    space = get_space(args.space)
    text = read_arch(args.arch)
    placed = text.lstrip().startswith("{") and '"placement"' in text  # hierarchical ICDARTS version 2
    if placed:
        from supernet.hierarchical_v2 import PlacedCells, placed_network
    try:
        arch = PlacedCells.parse(text, space) if placed else space.parse(text)
    except ValueError as e:
        raise ValueError(f"--arch is not a valid {args.space} architecture: {e}") from e
    protocol = args.protocol or ("nb201" if args.space == "nb201" else "darts-eval")
    overrides = {k: v for k, v in (("epochs", args.epochs), ("batch_size", args.batch_size)) if v is not None}
    config = TrainConfig.preset(protocol, seed=args.seed, **overrides, **speed_settings(args))
    device = resolve_device(args.device)
    splits = make_splits(args.dataset, args.data_root, valid_fraction=0.1, seed=args.seed, max_train=args.max_train)

    def loader(data, batch: int, train: bool) -> DeviceLoader:
        return DeviceLoader(
            data,
            batch,
            mean=splits.mean,
            std=splits.std,
            device=device,
            shuffle=train,
            augment=config.augment if train else None,
            seed=args.seed,
            channels_last=config.channels_last,
            pad_to=args.pad_to,
        )

    train, valid, test = (
        loader(splits.train, config.batch_size, True),
        loader(splits.valid, 512, False),
        loader(splits.test, 512, False),
    )
    options = network_options(args, protocol)
    torch.manual_seed(args.seed)
    size = dict(num_classes=splits.num_classes, in_channels=splits.shape[0], **options)
    net = placed_network(arch, **size) if placed else space.build_network(arch, **size)
    trainer = Trainer(net, config, train, valid)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    checkpoint = out / "checkpoint.pt"
    history: list[dict[str, Any]] = []
    if checkpoint.exists():
        state = load_checkpoint(checkpoint)
        trainer.load_state_dict(state["trainer"])
        history = state["history"]
        if not args.quiet:
            print(f"resuming from epoch {trainer.epoch} ({checkpoint})")
    bar = tqdm(total=config.epochs, initial=trainer.epoch, desc="train", unit="epoch", disable=args.quiet)

    def on_epoch(metrics) -> None:
        history.append(metrics.to_dict())
        save_checkpoint(checkpoint, {"trainer": trainer.state_dict(), "history": history})
        bar.update(1)
        bar.set_postfix(valid=f"{metrics.valid_acc:.1f}%")

    trainer.train_to(config.epochs, on_epoch=on_epoch)
    bar.close()
    _, test_acc = trainer.evaluate(test)
    shape = tuple(next(iter(test))[0].shape[1:])
    model = trainer.model.eval()
    example = torch.randn(1, *shape, device=device)
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(example)
    result = {
        "arch": str(arch),
        "space": args.space,
        "protocol": protocol,
        "dataset": args.dataset,
        "network": options,
        "train_config": config.to_dict(),
        "test_accuracy": test_acc,
        "valid_accuracy": history[-1]["valid_acc"] if history else None,
        "params_millions": sum(p.numel() for p in model.parameters()) / 1e6,
        "flops_millions": counter.get_total_flops() / 1e6,
        "latency_ms_batch1": latency_ms(model, shape, device),
        "device": str(device),
        "history": history,
    }
    if args.export == "export":
        exported = torch.export.export(model, (example,))
        torch.export.save(exported, out / "model.pt2")
        result["exported"] = str(out / "model.pt2")
    (out / "genotype.json").write_text(json.dumps({"space": args.space, "arch": str(arch)}, indent=2))
    (out / "result.json").write_text(json.dumps(result, indent=2))
    if args.json:
        print(json.dumps({k: v for k, v in result.items() if k != "history"}, indent=2))
        return result
    print(
        f"{arch}: test {test_acc:.2f}%  {result['params_millions']:.3f} M params  "
        f"{result['flops_millions']:.1f} MFLOPs  {result['latency_ms_batch1']:.2f} ms  -> {out / 'result.json'}"
    )
    return result
