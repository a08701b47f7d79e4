"""Data-parallel supernet search across processes (``torchrun``; NCCL on GPUs, gloo on CPUs).

Every rank holds the whole supernet and the same architecture parameters, takes its slice of each
global batch, and averages gradients *as they are accumulated* (a post-accumulate-grad hook per
parameter: the DDP semantics, so gradient clipping sees the averaged gradient and methods that update
α by hand -- GAEA's exponentiated gradient -- read averaged gradients too). Gradients a method sets
without ``backward()`` (second-order DARTS's hypergradient, assigned to α) are averaged by a step
pre-hook on the architecture optimiser only; averaging identical tensors again is a no-op, so both
paths can meet on α. Weight gradients always come from ``backward()``: one all-reduce each. BatchNorm
statistics are broadcast from rank 0 after every epoch, so evaluation and selection (DARTS-PT)
agree on every rank. Random draws (GDAS/SNAS samples, SDARTS noise) come from streams seeded
identically on every rank.

Not done: bucketing the all-reduces (one collective per tensor; fine for DARTS-size supernets).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

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
    return True


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


def _average_(grad: torch.Tensor) -> None:
    dist.all_reduce(grad, op=dist.ReduceOp.SUM)
    grad.div_(dist.get_world_size())


def average_gradients(parameters: Iterable[nn.Parameter], optimizers: Iterable[torch.optim.Optimizer]) -> list:
    """Register the averaging hooks; returns their handles (``handle.remove()`` undoes them)."""
    handles = []
    for p in parameters:
        if p.requires_grad:
            handles.append(p.register_post_accumulate_grad_hook(lambda t: _average_(t.grad)))

    def before_step(optimizer: torch.optim.Optimizer, *_args) -> None:
        for group in optimizer.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    _average_(p.grad)

    for opt in optimizers:
        handles.append(opt.register_step_pre_hook(before_step))
    return handles


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
