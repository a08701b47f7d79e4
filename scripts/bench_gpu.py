"""Throughput of our training paths against a reference-style loop, measured in one run.

Reference (how research code for these methods typically runs): fp32, a torchvision ``DataLoader``
whose workers crop/flip/normalise each image on the CPU, no compile, one model at a time. Ours:
the whole split on the device (``DeviceLoader``, augmentation on the device), bf16 autocast on CUDA,
fused optimisers, optionally channels-last / ``torch.compile`` / CUDA graphs (each measured), and
several candidates training at once (processes sharing the device, as ``nas worker --processes N``
does). Synthetic CIFAR-shaped data (32x32x3) -- throughput only.

1. DARTS-space supernet (GPU: 8 cells, C=16, batch 64; CPU: 5 cells, C=4, batch 16), DARTS
   first-order search steps (architecture step + weight step): images/s of the reference, ours
   (``nas diff``'s defaults), ours channels-last (``--channels-last``), ours with ``torch.compile`` of
   the supernet (``--compile default``; compile time reported apart) and ours with gradient
   checkpointing per cell (``checkpoint_cells``: speed and peak memory relative to ours).
2. NB201 candidate training (GPU: C=16, N=5, batch 256; CPU: C=8, N=1, batch 64) by the product's
   own ``Trainer``, as a pool worker runs it: images/s summed over concurrent candidates (all training
   the same cell) against one reference candidate -- ours eager in both memory layouts at 1 candidate,
   the faster layout at 2, 4, 8 candidates, then ``--compile default`` and ``--compile
   reduce-overhead`` (CUDA graphs) at 1 and at the best count. The best setting is reported as
   ``best``; GPU utilisation sampled every 50 ms over the timed window from NVML (``pynvml``, else
   ``nvidia-smi``).

    python scripts/bench_gpu.py [--steps 100] [--concurrency 1 2 4 8] [--skip-compile]

On a CPU the same script runs the small sizes and labels the JSON ``cpu``: the ratios then measure
the data path and the process-level concurrency only (bf16 autocast is a CUDA feature here).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing as mp
import os
import platform
import shutil
import subprocess
import threading
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
    from nas_core.data.datasets import ImageData

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
    from nas_core.data.loader import Augment, DeviceLoader

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


def utilisation_reader(index: int):
    """A function returning the GPU's utilisation (%) now, from NVML (``pynvml``) or else ``nvidia-smi``;
    None when neither is there (utilisation is then simply not reported)."""
    try:
        import pynvml

        pynvml.nvmlInit()
        handle = pynvml.nvmlDeviceGetHandleByIndex(index)
        return lambda: pynvml.nvmlDeviceGetUtilizationRates(handle).gpu
    except Exception:  # no pynvml, or NVML refused: try the command-line tool of the same library
        pass
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    query = [smi, "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits", f"--id={index}"]

    def read() -> int:
        return int(subprocess.run(query, capture_output=True, text=True, check=True, timeout=5).stdout.split()[0])

    try:
        read()
    except (OSError, ValueError, IndexError, subprocess.SubprocessError):
        return None
    return read


class GpuMonitor:
    """Samples the GPU's utilisation every ``interval`` seconds in a thread; no samples without CUDA or a reader."""

    def __init__(self, device: torch.device, interval: float = 0.05):
        self.samples: list[tuple[float, int]] = []
        self._read = utilisation_reader(device.index or 0) if device.type == "cuda" else None
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(Exception):  # a failed reading (nvidia-smi timed out, say) is a missing sample
                self.samples.append((time.time(), self._read()))
            time.sleep(self.interval)

    def __enter__(self) -> GpuMonitor:
        if self._read is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._read is not None:
            self._stop.set()
            self._thread.join()

    def mean(self, start: float, end: float) -> float | None:
        """Mean utilisation (%) of the samples taken in [start, end] (wall-clock ``time.time()``)."""
        inside = [u for t, u in self.samples if start <= t <= end]
        return sum(inside) / len(inside) if inside else None


def supernet_throughput(
    reference: bool,
    device: torch.device,
    steps: int,
    workers: int,
    checkpoint_cells: bool = False,
    compile: bool = False,
    channels_last: bool = False,
) -> dict[str, float]:
    """A DARTS first-order search step as ``DiffSearch`` runs it (``channels_last`` as its
    ``--channels-last``); the reference in fp32 on the DataLoader."""
    from nas_core.spaces import get_space
    from nas_core.training.trainer import autocast_dtype
    from supernet.engine.supernet import Supernet
    from supernet.methods import get_method
    from supernet.methods.base import StepContext

    s = sizes(device.type == "cuda")
    torch.manual_seed(0)
    net = Supernet(
        get_space("darts"), num_classes=10, in_channels=3, C=s["supernet"]["C"], layers=s["supernet"]["layers"]
    )
    net = net.to(device)
    net.checkpoint_cells = checkpoint_cells
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
    if compile:
        net.compile(dynamic=False)  # as nas diff --compile does
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

    warm = time.perf_counter()
    for _ in range(3):
        step()
    _sync(device)
    start = time.perf_counter()
    with GpuMonitor(device) as monitor:
        t0 = time.time()
        for _ in range(steps):
            step()
        _sync(device)
        t1 = time.time()
    seconds = time.perf_counter() - start
    out = {
        "images_per_s": steps * s["supernet"]["batch"] / seconds,
        "seconds_per_step": seconds / steps,
        "warmup_seconds": start - warm,
        "gpu_utilisation": monitor.mean(t0, t1),
    }
    if device.type == "cuda":
        out["peak_memory_bytes"] = torch.cuda.max_memory_allocated(device)
    return out


#: our candidate-training variants and their ``TrainConfig.compile`` (each in either memory layout)
VARIANTS = {"eager": "off", "compile": "default", "cudagraphs": "reduce-overhead"}


def _reference_candidate(device: torch.device, steps: int, workers: int, seed: int, barrier) -> tuple:
    """The reference loop: fp32, a DataLoader with CPU transforms, plain SGD."""
    size = sizes(device.type == "cuda")
    s = size["candidate"]
    net = _candidate_network(s, seed).to(device)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    data = batches(True, synthetic(size["images"], seed), s["batch"], device, workers, False)

    def step() -> None:
        x, y = next(data)
        loss = F.cross_entropy(net(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    warm = time.perf_counter()
    for _ in range(5):
        step()
    _sync(device)
    warmup = time.perf_counter() - warm
    if barrier is not None:
        barrier.wait()
    t0, start = time.time(), time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    return steps * s["batch"] / (time.perf_counter() - start), t0, time.time(), warmup


def _candidate_network(s: dict[str, int], seed: int):
    import random

    from nas_core.spaces import get_space

    space = get_space("nb201")
    torch.manual_seed(seed)  # every candidate trains the same cell (from its own initialisation): rates comparable
    return space.build_network(space.sample(random.Random(0)), num_classes=10, in_channels=3, C=s["C"], N=s["N"])


def _candidate_worker(args: tuple) -> tuple[float, float, float, float]:
    """(images/s, wall-clock start, end of the timed steps, warm-up seconds) of one candidate.

    Ours is the product's own path, exactly as ``nas worker`` trains a pool candidate: ``Trainer`` on a
    ``DeviceLoader`` (NAS-Bench-201 protocol, bf16 autocast on CUDA, fused SGD) with the variant's
    ``channels_last`` / ``compile``. Epoch 1 (``steps`` batches) warms up -- compilation included --
    and epoch 2 is timed, its closing loss read-back included."""
    mode, channels_last, device_name, steps, workers, seed, barrier = args
    from nas_core.data.loader import DeviceLoader
    from nas_core.training import TrainConfig, Trainer

    torch.set_num_threads(1 if device_name == "cpu" else torch.get_num_threads())
    device = torch.device(device_name)
    if mode == "reference":
        return _reference_candidate(device, steps, workers, seed, barrier)
    s = sizes(device.type == "cuda")["candidate"]
    compile = VARIANTS[mode]
    config = TrainConfig(epochs=2, batch_size=s["batch"], channels_last=channels_last, compile=compile, seed=seed)
    loader = DeviceLoader(
        synthetic(steps * s["batch"], seed),
        s["batch"],
        mean=MEAN,
        std=STD,
        device=device,
        augment=config.augment,
        seed=seed,
        channels_last=channels_last,
    )
    trainer = Trainer(_candidate_network(s, seed), config, loader)
    warm = time.perf_counter()
    trainer.train_to(1)
    warmup = time.perf_counter() - warm
    if barrier is not None:
        barrier.wait()  # all candidates start timing together
    t0 = time.time()
    timed = trainer.train_to(2)[0]
    return steps * s["batch"] / timed.seconds, t0, time.time(), warmup


def candidate_throughput(
    mode: str, device: torch.device, steps: int, concurrent: int, workers: int, channels_last: bool = False
) -> dict:
    """Images/s summed over ``concurrent`` processes training one candidate each (``mode``: a VARIANT or
    "reference"; ``channels_last`` for ours), over the window in which all of them ran."""

    def jobs(barrier) -> list[tuple]:
        return [(mode, channels_last, str(device), steps, workers, i, barrier) for i in range(concurrent)]

    with GpuMonitor(device) as monitor:
        if concurrent == 1:
            runs = [_candidate_worker(jobs(None)[0])]
        else:
            ctx = mp.get_context("spawn")
            with ctx.Manager() as manager, ctx.Pool(concurrent) as pool:
                runs = pool.map(_candidate_worker, jobs(manager.Barrier(concurrent)))
    start, end = max(r[1] for r in runs), min(r[2] for r in runs)  # the window where all of them ran
    return {
        "mode": mode,
        "channels_last": channels_last,
        "candidates": concurrent,
        "images_per_s": sum(r[0] for r in runs),
        "per_candidate": [r[0] for r in runs],
        "warmup_seconds": max(r[3] for r in runs),
        "gpu_utilisation": monitor.mean(start, end),
    }


def _attempt(name: str, fn, *args, **kwargs) -> dict:
    """Run one measurement; a variant that fails (a compile error, say) is recorded, not fatal."""
    try:
        return fn(*args, **kwargs)
    except Exception as error:  # reported in the JSON and on the console
        print(f"{name} failed: {type(error).__name__}: {error}", flush=True)
        return {"error": f"{type(error).__name__}: {error}"[:2000]}


def _ratio(a: dict, b: dict, key: str = "images_per_s") -> float | None:
    return a[key] / b[key] if key in a and key in b and b[key] else None


def plot(results: dict, label: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    sup = results["supernet_search_step"]
    variants = ("reference", "ours", "ours_channels_last", "ours_compiled", "ours_checkpointed")
    names = [n for n in variants if "images_per_s" in sup.get(n, {})]
    axes[0].bar(names, [sup[n]["images_per_s"] for n in names], color="tab:blue")
    axes[0].set(title="DARTS supernet search step", ylabel="images / s")
    axes[0].tick_params(axis="x", rotation=20)
    cand = results["candidate_training"]
    runs = [
        r
        for r in [{**cand.get("reference", {}), "mode": "reference", "candidates": 1}, *cand["runs"]]
        if "images_per_s" in r
    ]
    names = [f"{r['mode']}{' NHWC' if r.get('channels_last') else ''}\n×{r['candidates']}" for r in runs]
    colours = ["tab:gray" if r["mode"] == "reference" else "tab:orange" for r in runs]
    bars = axes[1].bar(names, [r["images_per_s"] for r in runs], color=colours)
    for bar, r in zip(bars, runs):
        if r.get("gpu_utilisation") is not None:
            axes[1].annotate(
                f"{r['gpu_utilisation']:.0f}%",
                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                ha="center",
                va="bottom",
                fontsize=8,
            )
    axes[1].set(title="NB201 candidate training (summed; GPU util. on top)", ylabel="images / s")
    axes[1].tick_params(axis="x", labelsize=7)
    fig.suptitle(label)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=None, help="timed steps (default 100 on CUDA, 30 on the CPU)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 4, 8], help="candidates at once (ours)")
    parser.add_argument("--workers", type=int, default=4, help="DataLoader workers of the reference")
    parser.add_argument("--skip-compile", action="store_true", help="leave out the torch.compile variants")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    from nas_core.training import resolve_device

    device = resolve_device(args.device)
    cuda = device.type == "cuda"
    steps = args.steps or (100 if cuda else 30)
    label = torch.cuda.get_device_name(device) if cuda else "cpu"
    out = args.out or RESULTS / f"bench_gpu_{'cuda' if cuda else 'cpu'}.json"
    print(f"device: {label}", flush=True)

    meta = {
        "device": label,
        "machine": platform.node(),
        "torch": torch.__version__,
        "cpu_count": os.cpu_count(),
        "sizes": sizes(cuda),
        "settings": {k: str(v) for k, v in vars(args).items()} | {"steps": steps},
    }
    sup: dict[str, Any] = {"ours_compiled": {"error": "not run (--skip-compile)"}}
    cand: dict[str, Any] = {"runs": []}
    results = {"supernet_search_step": sup, "candidate_training": cand}

    def save() -> None:  # after every measurement: a run cut short keeps what it measured
        sup["ratio"] = _ratio(sup.get("ours", {}), sup.get("reference", {}))
        sup["ratio_compiled"] = _ratio(sup["ours_compiled"], sup.get("reference", {}))
        sup["ratio_channels_last"] = _ratio(sup.get("ours_channels_last", {}), sup.get("reference", {}))
        sup["checkpoint_speed_ratio"] = _ratio(sup.get("ours_checkpointed", {}), sup.get("ours", {}))
        sup["checkpoint_peak_memory_ratio"] = _ratio(
            sup.get("ours_checkpointed", {}), sup.get("ours", {}), "peak_memory_bytes"
        )
        for r in cand["runs"]:
            r["ratio"] = _ratio(r, cand.get("reference", {}))
        best = max((r for r in cand["runs"] if "images_per_s" in r), key=lambda r: r["images_per_s"], default={})
        keys = ("mode", "channels_last", "candidates", "images_per_s", "ratio", "gpu_utilisation")
        cand["best"] = {k: best.get(k) for k in keys}
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"meta": meta, **results}, indent=2))

    sup["reference"] = _attempt("supernet reference", supernet_throughput, True, device, steps, args.workers)
    sup["ours"] = _attempt("supernet ours", supernet_throughput, False, device, steps, args.workers)
    sup["ours_channels_last"] = _attempt(
        "supernet channels-last", supernet_throughput, False, device, steps, args.workers, channels_last=True
    )
    sup["ours_checkpointed"] = _attempt(
        "supernet checkpointed", supernet_throughput, False, device, steps, args.workers, checkpoint_cells=True
    )
    save()
    print(f"supernet search step: {sup['ratio']}x; checkpointed speed {sup['checkpoint_speed_ratio']}", flush=True)

    def measure(mode: str, n: int, channels_last: bool = False) -> dict:
        name = f"{mode}{' channels-last' if channels_last else ''} x{n}"
        run = _attempt(name, candidate_throughput, mode, device, steps, n, args.workers, channels_last)
        if mode != "reference":
            cand["runs"].append(run)
        save()
        print(f"candidates {name}: {run.get('images_per_s')} images/s", flush=True)
        return run

    cand["reference"] = measure("reference", 1)
    eager, nhwc = measure("eager", 1), measure("eager", 1, True)
    layout = nhwc.get("images_per_s", 0) > eager.get("images_per_s", 0)  # the faster layout goes on
    cand["layout"] = "channels_last" if layout else "contiguous"
    for n in sorted(set(args.concurrency) - {1}):
        measure("eager", n, layout)
    if not args.skip_compile:  # compiled variants last: their compile time is long and their gain uncertain
        most = cand["best"]["candidates"] or 1
        for mode in ["compile", "cudagraphs"] if cuda else []:
            for n in sorted({1, most}):
                measure(mode, n, layout)
        sup["ours_compiled"] = _attempt(
            "supernet compiled", supernet_throughput, False, device, steps, args.workers, compile=True
        )
        save()
        print(f"supernet compiled: {sup['ratio_compiled']}x", flush=True)
    save()
    plot(results, f"{label} (torch {torch.__version__})", out.with_suffix(".png"))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
