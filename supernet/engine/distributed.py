"""Data-parallel supernet search across processes (``torchrun``; NCCL on GPUs, gloo on CPUs).

Every rank holds the whole supernet and the same architecture parameters, takes its slice of each
global batch, and averages gradients right before they are used: the weight step averages the
supernet's gradients before clipping (``Method.step_weights``; the DDP semantics: clipping sees the
averaged gradient), a step pre-hook on the architecture optimiser averages α's (also those a method
assigns by hand, second-order DARTS's hypergradient), and GAEA averages before its exponentiated
update. Each average is one all-reduce per device and dtype over the gradients flattened in
parameter order -- a fixed order on every rank, independent of the order autograd produced them, and
a few collectives per step instead of one per tensor. Gradients computed with ``torch.autograd.grad``
inside a step (unrolled weights, PGD perturbations) stay local to the rank's shard. BatchNorm
statistics are broadcast from rank 0 after every epoch, so evaluation and selection (DARTS-PT) agree
on every rank. Random draws (GDAS/SNAS samples, SDARTS noise) come from streams seeded identically
on every rank.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Iterable
from datetime import timedelta

import torch
import torch.distributed as dist
from torch import nn

Batch = tuple[torch.Tensor, torch.Tensor]


def active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank_and_world() -> tuple[int, int]:
    return (dist.get_rank(), dist.get_world_size()) if active() else (0, 1)


def is_main() -> bool:
    return rank_and_world()[0] == 0


def init_from_env() -> bool:
    """Join the process group that ``torchrun`` describes (``WORLD_SIZE`` > 1); False when alone."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False
    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        # leave the group before the interpreter exits: a process group torn down with the process can
        # abort a rank ("terminate called without an active exception", a rare SIGABRT seen in CI runs)
        atexit.register(_leave_group)
    return True


def _leave_group() -> None:
    """Leave together: a rank done early (the non-main ones skip the result files and plots) waits for the
    others before the group is torn down. Seen without the barrier: rank 1 aborted in teardown
    ("terminate called without an active exception", SIGABRT) while rank 0 was still writing its plots."""
    if not dist.is_initialized():
        return
    try:
        if dist.get_backend() == "gloo":
            dist.monitored_barrier(timeout=timedelta(seconds=120))  # a rank that died is reported, not waited on
        else:
            dist.barrier()
    except Exception:
        pass
    dist.destroy_process_group()


def local_device(device: torch.device) -> torch.device:
    """On CUDA each rank takes ``cuda:LOCAL_RANK``."""
    if active() and device.type == "cuda":
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", dist.get_rank())))
    return device


def shard(batch: Batch) -> Batch:
    """This rank's slice of a global batch (every rank sees the same global batch order)."""
    rank, world = rank_and_world()
    if world == 1:
        return batch
    x, y = batch
    if len(y) < world:
        raise ValueError(f"a batch of {len(y)} cannot be split over {world} processes; raise batch_size")
    return x[rank::world], y[rank::world]


@torch.no_grad()
def average_gradients(parameters: Iterable[nn.Parameter]) -> None:
    """Average the present gradients of ``parameters`` over the ranks (no-op when alone): the
    gradients are flattened in the given order into one buffer per (device, dtype), all-reduced once,
    and copied back."""
    if not active():
        return
    buckets: dict[tuple[torch.device, torch.dtype], list[torch.Tensor]] = {}
    for p in parameters:
        if p.grad is not None:
            buckets.setdefault((p.grad.device, p.grad.dtype), []).append(p.grad)
    world = dist.get_world_size()
    for grads in buckets.values():
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        flat.div_(world)
        offset = 0
        for g in grads:
            g.copy_(flat[offset : offset + g.numel()].view_as(g))
            offset += g.numel()


def average_before_step(optimizers: Iterable[torch.optim.Optimizer]) -> list:
    """Step pre-hooks that average each optimiser's gradients; returns their handles."""

    def before_step(optimizer: torch.optim.Optimizer, *_args) -> None:
        average_gradients(p for group in optimizer.param_groups for p in group["params"])

    return [opt.register_step_pre_hook(before_step) for opt in optimizers]


@torch.no_grad()
def broadcast_from_main(tensors: Iterable[torch.Tensor]) -> None:
    for t in tensors:
        dist.broadcast(t, src=0)


@torch.no_grad()
def max_difference(tensors: Iterable[torch.Tensor]) -> float:
    """Largest absolute difference of ``tensors`` between any rank and rank 0 (0.0 when alone)."""
    tensors = list(tensors)
    if not active() or not tensors:
        return 0.0
    worst = torch.zeros((), dtype=torch.float64, device=tensors[0].device)
    for t in tensors:
        reference = t.detach().clone()
        dist.broadcast(reference, src=0)
        worst = torch.maximum(worst, (t.detach() - reference).abs().max().double())
    dist.all_reduce(worst, op=dist.ReduceOp.MAX)
    return float(worst)
