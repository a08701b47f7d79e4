"""The resumable trainer for discrete networks and atomic checkpoints."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch

from nas_core.training.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from nas_core.training.trainer import EpochMetrics, TrainConfig, Trainer, TrainingDivergedError


def resolve_device(device: str | None = "auto") -> torch.device:
    """``auto`` (or None) picks CUDA when present, else the CPU; otherwise ``torch.device(device)``."""
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError:
        raise ValueError(f"invalid device {device!r}; expected 'auto', 'cpu', 'cuda' or 'cuda:N'") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available on this machine")
    return resolved


#: a container's CPU quota (cgroup v2): "<quota> <period>" in microseconds, or "max <period>"
CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def usable_cpu_cores() -> int:
    """The cores this process may run on: its CPU affinity, capped by a cgroup-v2 CPU quota (a container's
    ``cpu.max``), which ``os.cpu_count()`` and torch's default thread count both ignore."""
    cores = len(os.sched_getaffinity(0))
    try:
        quota, period = CGROUP_CPU_MAX.read_text().split()[:2]
    except (OSError, ValueError):
        return cores
    return cores if quota == "max" else max(1, min(cores, int(quota) // int(period)))


def share_cpu_cores(processes: int) -> int:
    """Give this process its share of the usable cores as torch threads, for ``processes`` running at
    once (never more threads than ``OMP_NUM_THREADS`` or torch already allows); returns the count.
    Without it every process takes all the cores the machine shows and they oversubscribe them: two
    runs of 16 threads on 2 cores took 168 s for ``gpu_signatures.sh tiny``, 24 s at one thread each."""
    threads = cpu_share(processes)
    torch.set_num_threads(threads)
    return threads


def cpu_share(processes: int) -> int:
    """The torch threads each of ``processes`` processes side by side gets: its share of the usable cores,
    never more than ``OMP_NUM_THREADS`` or torch already allows here (:func:`share_cpu_cores` sets it)."""
    if processes < 1:
        raise ValueError(f"processes must be at least 1, got {processes}")
    return max(1, min(torch.get_num_threads(), usable_cpu_cores() // processes))


def spawned_process_pool(processes: int) -> ProcessPoolExecutor:
    """``processes`` worker processes for runs side by side: spawned, not forked (a forked child cannot
    use CUDA), each with its :func:`share_cpu_cores` of the CPU."""
    return ProcessPoolExecutor(processes, multiprocessing.get_context("spawn"), share_cpu_cores, (processes,))


__all__ = [
    "CheckpointError",
    "EpochMetrics",
    "TrainConfig",
    "Trainer",
    "TrainingDivergedError",
    "cpu_share",
    "load_checkpoint",
    "resolve_device",
    "save_checkpoint",
    "share_cpu_cores",
    "spawned_process_pool",
    "usable_cpu_cores",
]
