"""Throughput of our training paths against a reference-style loop, measured in one run.

Reference (how research code for these methods typically runs): fp32, a torchvision ``DataLoader``
whose workers crop/flip/normalise each image on the CPU, no compile, one model at a time. Ours:
the whole split on the device (``DeviceLoader``, augmentation on the device), bf16 autocast on CUDA,
channels-last, fused optimisers, and several candidates training at once (processes sharing the
device, as ``nas worker`` processes do). Synthetic CIFAR-shaped data (32x32x3) -- throughput only.

1. DARTS-space supernet (GPU: 8 cells, C=16, batch 64; CPU: 5 cells, C=4, batch 16), DARTS
   first-order search steps (architecture step + weight step): images/s, ratio ours/reference.
2. NB201 candidate training (GPU: C=16, N=5, batch 256; CPU: C=8, N=1, batch 64): images/s summed
   over ``--concurrent`` candidates vs one reference candidate; GPU utilisation when pynvml is there.
3. The supernet of 1 with gradient checkpointing per cell (``checkpoint_cells``): its speed and peak
   memory (CUDA) relative to ours without it.

    python scripts/bench_gpu.py [--concurrent 4] [--steps 30]

On a CPU the same script runs the small sizes and labels the JSON ``cpu``: the ratios then measure
the data path and the process-level concurrency only (bf16 autocast is a CUDA feature here).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import platform
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
MEAN, STD = [0.49, 0.48, 0.45], [0.25, 0.24, 0.26]


def sizes(cuda: bool) -> dict[str, Any]:
    if cuda:
        return {"supernet": dict(C=16, layers=8, batch=64), "candidate": dict(C=16, N=5, batch=256), "images": 20000}
    return {"supernet": dict(C=4, layers=5, batch=16), "candidate": dict(C=8, N=1, batch=64), "images": 2000}


def synthetic(n: int, seed: int = 0):
    from supernet.data.datasets import ImageData

    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g)
    return ImageData(images, torch.randint(0, 10, (n,), generator=g), 10, "synthetic")


class _TorchvisionDataset(torch.utils.data.Dataset):
    """The reference input pipeline: per-image CPU transforms in DataLoader workers."""

    def __init__(self, split):
        from torchvision.transforms import v2

        self.split = split
        self.transform = v2.Compose(
            [
                v2.RandomCrop(32, padding=4),
                v2.RandomHorizontalFlip(),
                v2.ToDtype(torch.float32, scale=True),
                v2.Normalize(MEAN, STD),
            ]
        )

    def __len__(self) -> int:
        return len(self.split.labels)

    def __getitem__(self, i: int):
        return self.transform(self.split.images[i]), self.split.labels[i]


def batches(reference: bool, split, batch: int, device: torch.device, workers: int, channels_last: bool):
    """An endless stream of (x, y) on ``device``: the reference DataLoader or our DeviceLoader."""
    from supernet.data.loader import Augment, DeviceLoader

    if reference:
        loader = torch.utils.data.DataLoader(
            _TorchvisionDataset(split), batch_size=batch, shuffle=True, drop_last=True, num_workers=workers
        )
    else:
        loader = DeviceLoader(
            split,
            batch,
            mean=MEAN,
            std=STD,
            device=device,
            augment=Augment(4, True, 0),
            drop_last=True,
            channels_last=channels_last,
        )
    epoch = 0
    while True:
        if hasattr(loader, "set_epoch"):
            loader.set_epoch(epoch)
        for x, y in loader:
            yield x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        epoch += 1


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def supernet_throughput(
    reference: bool, device: torch.device, steps: int, workers: int, checkpoint_cells: bool = False
) -> dict[str, float]:
    from supernet.methods import get_method
    from supernet.methods.base import StepContext
    from supernet.spaces import get_space
    from supernet.supernet import Supernet
    from supernet.training.trainer import autocast_dtype

    s = sizes(device.type == "cuda")
    torch.manual_seed(0)
    net = Supernet(
        get_space("darts"), num_classes=10, in_channels=3, C=s["supernet"]["C"], layers=s["supernet"]["layers"]
    )
    net = net.to(device)
    net.checkpoint_cells = checkpoint_cells
    channels_last = not reference and device.type == "cuda"
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
    method = get_method("darts")(net, a_lr=3e-4, a_betas=(0.5, 0.999), a_weight_decay=1e-3, seed=0)
    fused = not reference and device.type == "cuda"
    opt = torch.optim.SGD(net.parameters(), lr=0.025, momentum=0.9, weight_decay=3e-4, fused=fused or None)
    ctx = StepContext(0, 50, opt, 0.025, 0.9, 3e-4)
    amp = None if reference else autocast_dtype("auto", device)
    data = batches(reference, synthetic(s["images"]), s["supernet"]["batch"], device, workers, channels_last)
    valid = batches(reference, synthetic(s["images"], 1), s["supernet"]["batch"], device, workers, channels_last)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    def step() -> None:  # one search step as DiffSearch.train_epoch runs it: the same training batch twice
        train = next(data)
        with torch.autocast(device.type, dtype=amp, enabled=amp is not None):
            method.arch_step(train, next(valid), ctx)
            method.weight_step(train, ctx, 5.0)

    for _ in range(3):
        step()
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    seconds = time.perf_counter() - start
    out = {"images_per_s": steps * s["supernet"]["batch"] / seconds, "seconds_per_step": seconds / steps}
    if device.type == "cuda":
        out["peak_memory_bytes"] = torch.cuda.max_memory_allocated(device)
    return out


def _candidate_worker(args: tuple[bool, str, int, int, int, Any]) -> float:
    reference, device_name, steps, workers, seed, barrier = args
    from supernet.spaces import get_space
    from supernet.training.trainer import autocast_dtype

    torch.set_num_threads(1 if device_name == "cpu" else torch.get_num_threads())
    device = torch.device(device_name)
    s = sizes(device.type == "cuda")["candidate"]
    space = get_space("nb201")
    import random

    torch.manual_seed(seed)
    net = space.build_network(space.sample(random.Random(seed)), num_classes=10, in_channels=3, C=s["C"], N=s["N"])
    channels_last = not reference and device.type == "cuda"
    net = net.to(device, memory_format=torch.channels_last if channels_last else torch.preserve_format)
    fused = not reference and device.type == "cuda"
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4, fused=fused or None)
    amp = None if reference else autocast_dtype("auto", device)
    data = batches(
        reference, synthetic(sizes(device.type == "cuda")["images"], seed), s["batch"], device, workers, channels_last
    )

    def step() -> None:
        x, y = next(data)
        with torch.autocast(device.type, dtype=amp, enabled=amp is not None):
            loss = F.cross_entropy(net(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    _sync(device)
    if barrier is not None:
        barrier.wait()  # all candidates start timing together
    start = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    return steps * s["batch"] / (time.perf_counter() - start)


def candidate_throughput(reference: bool, device: torch.device, steps: int, concurrent: int, workers: int) -> dict:
    if concurrent == 1:
        rates = [_candidate_worker((reference, str(device), steps, workers, 0, None))]
    else:
        ctx = mp.get_context("spawn")
        with ctx.Manager() as manager:
            barrier = manager.Barrier(concurrent)
            with ctx.Pool(concurrent) as pool:
                rates = pool.map(
                    _candidate_worker, [(reference, str(device), steps, workers, i, barrier) for i in range(concurrent)]
                )
    return {"candidates": concurrent, "images_per_s": sum(rates), "per_candidate": rates}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--concurrent", type=int, default=4, help="candidates training at once (ours)")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader workers of the reference")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    from supernet.training import resolve_device

    device = resolve_device(args.device)
    label = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    out = args.out or RESULTS / f"bench_gpu_{'cuda' if device.type == 'cuda' else 'cpu'}.json"
    results: dict[str, Any] = {}
    print(f"device: {label}", flush=True)
    ref = supernet_throughput(True, device, args.steps, args.workers)
    ours = supernet_throughput(False, device, args.steps, args.workers)
    results["supernet_search_step"] = {
        "reference": ref,
        "ours": ours,
        "ratio": ours["images_per_s"] / ref["images_per_s"],
    }
    print(f"supernet search step: {results['supernet_search_step']['ratio']:.2f}x", flush=True)
    ckpt = supernet_throughput(False, device, args.steps, args.workers, checkpoint_cells=True)
    results["supernet_checkpointed_cells"] = {  # the memory option: cost in speed, saving in peak memory
        "ours": ckpt,
        "speed_ratio": ckpt["images_per_s"] / ours["images_per_s"],
        "peak_memory_ratio": (
            ckpt["peak_memory_bytes"] / ours["peak_memory_bytes"] if "peak_memory_bytes" in ours else None
        ),
    }
    print(f"checkpointed cells: speed {results['supernet_checkpointed_cells']['speed_ratio']:.2f}x", flush=True)
    ref = candidate_throughput(True, device, args.steps, 1, args.workers)
    ours = candidate_throughput(False, device, args.steps, args.concurrent, args.workers)
    results["candidate_training"] = {
        "reference": ref,
        "ours": ours,
        "ratio": ours["images_per_s"] / ref["images_per_s"],
    }
    print(f"candidate training ({args.concurrent} at once): {results['candidate_training']['ratio']:.2f}x", flush=True)
    meta = {
        "device": label,
        "machine": platform.node(),
        "torch": torch.__version__,
        "sizes": sizes(device.type == "cuda"),
        "settings": {k: str(v) for k, v in vars(args).items()},
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"meta": meta, **results}, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
