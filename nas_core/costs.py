"""What a network costs: parameters, FLOPs and latency of one image (the costs a search may be limited by).

``predictor_nas.proxies`` scores them as the data-free "proxies" ``params``, ``flops`` and ``latency_ms``;
``supernet`` selects a cell under a limit on them (:func:`supernet.engine.selection.select_under_limit`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from nas_core.training.retrain import latency_ms

#: cost name -> unit
COSTS = {"params": "M parameters", "flops": "MFLOPs per image", "latency_ms": "ms per image"}


def params_m(net: nn.Module) -> float:
    """Parameters, in millions."""
    return sum(p.numel() for p in net.parameters()) / 1e6


def flops_m(net: nn.Module, shape: tuple[int, ...]) -> float:
    """Forward FLOPs of one image of ``shape`` (torch's ``FlopCounterMode``), in millions."""
    from torch.utils.flop_counter import FlopCounterMode

    net.eval()
    x = torch.zeros(1, *shape, device=next(net.parameters()).device)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        net(x)
    return counter.get_total_flops() / 1e6


def network_cost(name: str, net: nn.Module, shape: tuple[int, ...]) -> float:
    """Cost ``name`` (:data:`COSTS`) of ``net`` on inputs of ``shape`` (C, H, W)."""
    if name == "params":
        return params_m(net)
    if name == "flops":
        return flops_m(net, shape)
    if name == "latency_ms":
        return latency_ms(net, shape, next(net.parameters()).device)
    raise ValueError(f"unknown cost {name!r}; expected one of {sorted(COSTS)}")


def architecture_cost(
    cost: str | Callable[[Any], float], space: Any, num_classes: int, shape: tuple[int, ...], size: dict[str, int]
) -> Callable[[Any], float]:
    """``arch -> cost``: a function of the architecture as given, or cost ``cost`` of the seeded network
    ``space`` builds for it (``size``: its constructor's size arguments), computed once per architecture."""
    if callable(cost):
        return cost
    known: dict[str, float] = {}

    def of(arch: Any) -> float:
        parsed = space.parse(arch)
        key = space.to_string(parsed)
        if key not in known:
            torch.manual_seed(0)
            net = space.build_network(parsed, num_classes=num_classes, in_channels=shape[0], **size)
            known[key] = network_cost(cost, net, shape)
        return known[key]

    return of
