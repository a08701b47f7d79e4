"""``nas train``: retrain a found architecture from scratch with a published evaluation protocol.

    nas train --arch "|nor_conv_3x3~0|+|...|" --space nb201 --protocol nb201 --dataset cifar10 --out DIR
    nas train --arch @genotype.txt --space darts --protocol darts-eval --dataset cifar10 --out DIR

Protocols (``nas_core.presets.PROTOCOLS``): ``nb201`` -- the NAS-Bench-201 200-epoch recipe (SGD 0.1
Nesterov, cosine, wd 5e-4, batch 256; C=16, N=5); ``darts-eval`` -- DARTS's CIFAR-10 evaluation
(600 epochs, batch 96, SGD 0.025 cosine, wd 3e-4, cutout 16, drop-path 0.2, auxiliary head 0.4;
20 cells, 36 channels, i.e. N=6). ``--network`` / ``--channels`` / ``--cells-per-stage`` override the
size, other flags the epochs and batch. The run checkpoints every epoch into DIR and
resumes when the same command runs again. At the end it writes ``DIR/result.json`` (test accuracy,
parameters, FLOPs, latency, history), ``DIR/genotype.json`` and ``DIR/model.pt2`` (``torch.export``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from tqdm import tqdm

from nas_cli.size_flags import add_size_arguments, size_from_args
from nas_core.networks.darts import REDUCE_CELLS, STEMS
from nas_core.presets import PROTOCOLS
from nas_core.spaces import get_space
from nas_core.training.retrain import default_protocol, parse_architecture, retrain
from nas_core.training.trainer import COMPILE_MODES, LR_SCHEDULES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--arch", required=True, help="the architecture string, or @FILE holding it")
    parser.add_argument("--space", default="nb201")
    parser.add_argument(
        "--space-from",
        default=None,
        metavar="POOL_URL",
        help="declare --space as the pool at this URL stored it (a space made by declare_space in another process)",
    )
    parser.add_argument(
        "--protocol",
        choices=PROTOCOLS.names(),
        default=None,
        help="default: nb201 for the nb201 space, darts-eval for DARTS spaces",
    )
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--out", type=Path, required=True, help="run directory (resumes from it)")
    parser.add_argument("--epochs", type=int, default=None, help="override the protocol's epochs")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument(
        "--lr-schedule",
        choices=LR_SCHEDULES,
        default=None,
        help="the cosine rate moves once per epoch (the protocol's default) or after every batch (step)",
    )
    add_size_arguments(parser, "the network (default: the protocol's, nb201 C=16 N=5, darts-eval C=36 N=6)")
    parser.add_argument("--max-train", type=int, default=None, help="use a seeded subset of the training images")
    parser.add_argument(
        "--valid-fraction",
        type=float,
        default=0.1,
        help="training images held out to validate (0: every image trains the network, as the pipeline's final)",
    )
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


def template_options(args: argparse.Namespace) -> dict[str, Any]:
    """``--stem`` / ``--reduce-cells`` (DARTS spaces only)."""
    if get_space(args.space).family == "nb201" and (args.stem or args.reduce_cells):
        raise ValueError(f"--stem / --reduce-cells are DARTS template options; the {args.space} space has none")
    return {"stem": args.stem, "reduce_cells": args.reduce_cells}


def run(args: argparse.Namespace) -> int:
    bar = tqdm(desc="train", unit="epoch", disable=args.quiet)

    def progress(metrics: Any, total: int) -> None:
        bar.total = total
        bar.n = metrics.epoch
        if metrics.valid_acc is not None:  # none with --valid-fraction 0
            bar.set_postfix(valid=f"{metrics.valid_acc:.1f}%")
        bar.refresh()

    if args.space_from:  # opening the pool declares its space here (PoolConfig.space_declaration)
        from pools import Pool

        Pool.open(args.space_from).close()
    arch = read_arch(args.arch)
    try:
        parse_architecture(arch, args.space)
    except ValueError as e:
        raise ValueError(f"--arch: {e}") from None
    result = retrain(
        arch,
        space=args.space,
        protocol=args.protocol,
        dataset=args.dataset,
        data_root=args.data_root,
        run_dir=args.out,
        network=size_from_args(args, PROTOCOLS.get(args.protocol or default_protocol(args.space))["network"]),
        template=template_options(args),
        max_train=args.max_train,
        valid_fraction=args.valid_fraction,
        pad_to=args.pad_to,
        seed=args.seed,
        device=args.device,
        export=args.export == "export",
        on_epoch=progress,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr_schedule=args.lr_schedule,
        **speed_settings(args),
    )
    bar.close()
    if getattr(args, "json", False):
        print(json.dumps({k: v for k, v in result.to_dict().items() if k != "history"}, indent=2))
        return 0
    print(
        f"{result.arch}: test {result.test_accuracy:.2f}%  {result.params_millions:.3f} M params  "
        f"{result.flops_millions:.1f} MFLOPs  {result.latency_ms_batch1:.2f} ms  -> {Path(args.out) / 'result.json'}"
    )
    return 0
