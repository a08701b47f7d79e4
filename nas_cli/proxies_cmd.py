"""``nas proxies``: zero-cost proxy scores of architectures listed in a file."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from nas_cli.size_flags import add_size_arguments, size_from_args
from nas_core.data import DeviceLoader, make_splits
from nas_core.presets import search_network
from nas_core.spaces import get_space
from nas_core.training import resolve_device
from nas_core.vocabulary import NetworkSize
from predictor_nas.proxies import PROXIES, compute_proxies


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--space", default="nb201")
    p.add_argument("--archs", type=Path, required=True, help="one architecture string per line, or a JSON list")
    p.add_argument("--proxies", default="synflow,nwot", help=f"comma-separated; known: {','.join(sorted(PROXIES))}")
    p.add_argument("--dataset", default="fashion-mnist", help="where data-dependent proxies take their batch")
    p.add_argument("--data-root", default=None)
    p.add_argument("--batch-size", type=int, default=64)
    add_size_arguments(p, "the scored networks (default: nb201's C=16 N=5, DARTS's 8-cell search network)")
    p.add_argument("--device", default="auto")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def read_archs(path: Path) -> list[str]:
    if not path.exists():
        raise FileNotFoundError(f"architecture file {path} does not exist")
    text = path.read_text()
    if text.lstrip().startswith("["):
        return [str(a) for a in json.loads(text)]
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def network_size(args: argparse.Namespace) -> NetworkSize:
    """The scored networks' size: the flags given over NAS-Bench-201's network on nb201, DARTS's 8-cell
    search network on DARTS spaces."""
    return size_from_args(args, search_network(args.space))


def run(args: argparse.Namespace) -> int:
    network = network_size(args)  # before any data is read: a wrong flag fails at once
    space = get_space(args.space)
    archs = [space.to_string(space.parse(a)) for a in read_archs(args.archs)]
    names = [n.strip() for n in args.proxies.split(",") if n.strip()]
    device = resolve_device(args.device)
    splits = make_splits(args.dataset, args.data_root, valid_fraction=0.1, seed=args.seed)
    batch = None
    if any(PROXIES[n].needs_data for n in names if n in PROXIES):
        loader = DeviceLoader(splits.train, args.batch_size, mean=splits.mean, std=splits.std, device=device)
        batch = loader.sample_batch(args.batch_size, seed=args.seed)
    scores = compute_proxies(
        space,
        archs,
        names,
        num_classes=splits.num_classes,
        input_shape=splits.shape,
        batch=batch,
        network=network,
        device=device,
        seed=args.seed,
        progress=not getattr(args, "quiet", False),
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "space": args.space,
                "dataset": args.dataset,
                "proxies": names,
                "network": network.to_dict(),
                "scores": [{"arch": a, **s} for a, s in zip(archs, scores)],
            },
            indent=1,
        )
    )
    if args.json:
        print(json.dumps({"out": str(args.out), "architectures": len(archs), "proxies": list(names)}))
    else:
        print(f"wrote {len(archs)} x {len(names)} scores to {args.out}")
    return 0
