"""``nas demo``: train a few sampled NAS-Bench-201 cells on Fashion-MNIST and print their accuracies.

A small, real end-to-end job: it loads the data, samples cells, trains each with the shared
trainer (GPU when present) and reports validation and test accuracy.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import torch
from tqdm import tqdm

from nas_cli.size_flags import add_size_arguments, size_from_args
from nas_core.data import DeviceLoader, make_splits
from nas_core.presets import NETWORKS
from nas_core.spaces import get_space
from nas_core.training import TrainConfig, Trainer, resolve_device


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--cells", type=int, default=3, help="how many cells to sample")
    parser.add_argument("--epochs", type=int, default=2)
    add_size_arguments(parser, "the sampled cells' networks (default: quick, C=8 N=1)")
    parser.add_argument("--max-train", type=int, default=6000, help="training images used (subset)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="write results JSON here")


def run(args: argparse.Namespace) -> list[dict]:
    device = resolve_device(args.device)
    space = get_space("nb201")
    size = size_from_args(args, NETWORKS["quick"])
    splits = make_splits(
        args.dataset, args.data_root, valid_fraction=0.2, seed=args.seed, max_train=args.max_train, max_test=2000
    )
    config = TrainConfig(epochs=args.epochs, batch_size=128, lr=0.05, seed=args.seed)
    loaders = {
        name: DeviceLoader(
            data,
            config.batch_size if name == "train" else 512,
            mean=splits.mean,
            std=splits.std,
            device=device,
            shuffle=name == "train",
            augment=config.augment if name == "train" else None,
            seed=args.seed,
        )
        for name, data in (("train", splits.train), ("valid", splits.valid), ("test", splits.test))
    }
    rng = random.Random(args.seed)
    results = []
    for i in tqdm(range(args.cells), desc="cells", unit="cell"):
        cell = space.sample(rng)
        torch.manual_seed(args.seed + i)
        net = space.build_network(
            cell, num_classes=splits.num_classes, in_channels=splits.shape[0], **space.size_kwargs(size)
        )
        trainer = Trainer(net, config, loaders["train"], loaders["valid"])
        history = trainer.train_to(args.epochs)
        _, test_acc = trainer.evaluate(loaders["test"])
        results.append(
            {
                "arch": str(cell),
                "nb201_index": space.index(cell),
                "valid_acc": history[-1].valid_acc,
                "test_acc": test_acc,
                "seconds": sum(m.seconds for m in history),
            }
        )
        tqdm.write(f"{cell}  valid {history[-1].valid_acc:5.1f}%  test {test_acc:5.1f}%")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"device": str(device), "results": results}, indent=2))
    return results
