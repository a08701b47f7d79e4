"""Zero-cost proxies: scores of an *untrained* network from one mini-batch (or none).

Each proxy is a small function ``(net, x, y) -> float`` registered in :data:`PROXIES` with whether
it needs data and whether a higher value predicts a better network. Definitions follow the
papers and the reference implementations of Abdelfattah et al. (ICLR 2021, "zero-cost-nas"):

- ``params`` (millions), ``flops`` (MFLOPs of one image, ``torch.utils.flop_counter``);
- ``synflow`` (Tanaka et al. 2020): BN removed, parameters replaced by their absolute values,
  float64, all-ones input; score = sum |theta * dR/dtheta| over conv/linear weights, reported as
  log(score) (raw values reach 1e40 and beyond);
- ``snip`` (Lee et al. 2019): sum |theta * dL/dtheta|; ``grad_norm``: sum of per-layer ||dL/dtheta||;
- ``grasp`` (Wang et al. 2020): sum of -theta * (H g) with g = dL/dtheta;
- ``fisher`` (Turner et al. 2020): per channel 0.5 * (sum over positions of a * dL/da)^2, summed;
- ``jacob_cov`` (Mellor et al. 2020 v1): -sum(log(v + k) + 1/(v + k)) over eigenvalues v of the
  correlation matrix of input Jacobians, k = 1e-5;
- ``nwot`` (NASWOT, Mellor et al. ICML 2021): log|det K| of the Hamming kernel of ReLU binary codes;
- ``ntk_cond`` (TE-NAS, Chen et al. ICLR 2021): condition number of the empirical NTK on the
  batch (lower is better);
- ``zen`` (Zen-NAS, Lin et al. ICCV 2021): log E|f(x) - f(x + 0.01 eps)| of the pre-pooling features
  under Gaussian weights and Gaussian input, plus sum of log BN scaling factors (data-free).

:func:`compute_proxies` computes any subset for many architectures, on the GPU when present.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from nas_core.costs import flops_m, params_m
from nas_core.registry import Registry
from nas_core.spaces import SearchSpace
from nas_core.vocabulary import NetworkSize

ProxyFn = Callable[[nn.Module, torch.Tensor, torch.Tensor], float]


@dataclass(frozen=True)
class Proxy:
    fn: ProxyFn
    needs_data: bool
    higher_is_better: bool = True


#: every zero-cost proxy by name; ``@register_proxy(name, needs_data)`` adds one
PROXIES: Registry[Proxy] = Registry("proxy", "proxies")


def register_proxy(name: str, needs_data: bool, higher_is_better: bool = True) -> Callable[[ProxyFn], ProxyFn]:
    def decorator(fn: ProxyFn) -> ProxyFn:
        PROXIES.add(name, Proxy(fn, needs_data, higher_is_better))
        return fn

    return decorator


def _weighted_layers(net: nn.Module) -> list[nn.Module]:
    return [m for m in net.modules() if isinstance(m, nn.Conv2d | nn.Linear)]


def _logits(out: Any) -> torch.Tensor:
    return out[0] if isinstance(out, tuple) else out


def _loss_backward(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> None:
    net.zero_grad(set_to_none=True)
    F.cross_entropy(_logits(net(x)), y).backward()


# --------------------------------------------------------------------------- data-free


@register_proxy("params", needs_data=False)
def params(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    return params_m(net)


@register_proxy("flops", needs_data=False)
def flops(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    return flops_m(net, tuple(x.shape[1:]))


@register_proxy("latency_ms", needs_data=False, higher_is_better=False)
def latency(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Median forward time of one image on ``x``'s device, after warm-up (milliseconds): a cost to limit
    (:class:`predictor_nas.constraint.CostLimit`) more than an accuracy proxy."""
    from nas_core.training.retrain import latency_ms

    return latency_ms(net, tuple(x.shape[1:]), x.device)


def remove_batchnorm(net: nn.Module) -> nn.Module:
    """Replace every BatchNorm layer by the identity (in place)."""
    for name, child in list(net.named_children()):
        if isinstance(child, nn.modules.batchnorm._BatchNorm):
            setattr(net, name, nn.Identity())
        else:
            remove_batchnorm(child)
    return net


@register_proxy("synflow", needs_data=False)
def synflow(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    net = remove_batchnorm(net).double().eval()
    with torch.no_grad():
        for p in net.state_dict().values():
            p.abs_()
    net.zero_grad(set_to_none=True)
    torch.sum(_logits(net(torch.ones_like(x[:1], dtype=torch.float64)))).backward()
    total = float(
        sum((m.weight * m.weight.grad).abs().sum().detach() for m in _weighted_layers(net) if m.weight.grad is not None)
    )
    return math.log(total) if total > 0 else float("-inf")


@register_proxy("zen", needs_data=False)
def zen(net: nn.Module, x: torch.Tensor, y: torch.Tensor, alpha: float = 0.01) -> float:
    features: list[torch.Tensor] = []
    pool = getattr(net, "pool", None)
    if pool is None:
        raise ValueError("zen needs a network with a `pool` (global pooling) module to read pre-pooling features")
    handle = pool.register_forward_pre_hook(lambda _m, inputs: features.append(inputs[0]))
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Conv2d | nn.Linear):
                nn.init.normal_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.momentum = 1.0  # running statistics = this batch's (the BN scaling factors of the paper)
                if m.affine:
                    nn.init.ones_(m.weight)
                    nn.init.zeros_(m.bias)
        net.train()
        g = torch.randn_like(x)
        net(g + alpha * torch.randn_like(x))
        perturbed = features.pop()
        net(g)
        base = features.pop()
        handle.remove()
        delta = (base - perturbed).abs().sum(dim=(1, 2, 3)).mean()
        bn_scale = sum(
            torch.log(torch.sqrt(m.running_var.mean()))
            for m in net.modules()
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.running_var is not None
        )
    return float(torch.log(delta) + bn_scale)


# --------------------------------------------------------------------------- gradient-based


@register_proxy("snip", needs_data=True)
def snip(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    net.train()
    _loss_backward(net, x, y)
    return float(
        sum((m.weight.detach() * m.weight.grad).abs().sum() for m in _weighted_layers(net) if m.weight.grad is not None)
    )


@register_proxy("grad_norm", needs_data=True)
def grad_norm(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    net.train()
    _loss_backward(net, x, y)
    return float(sum(m.weight.grad.norm() for m in _weighted_layers(net) if m.weight.grad is not None))


@register_proxy("grasp", needs_data=True)
def grasp(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    net.train()
    weights = [m.weight for m in _weighted_layers(net)]
    loss = F.cross_entropy(_logits(net(x)), y)
    g = torch.autograd.grad(loss, weights, allow_unused=True)
    loss = F.cross_entropy(_logits(net(x)), y)
    g_graph = torch.autograd.grad(loss, weights, create_graph=True, allow_unused=True)
    z = sum((gi.detach() * gg).sum() for gi, gg in zip(g, g_graph) if gi is not None and gg is not None)
    hg = torch.autograd.grad(z, weights, allow_unused=True)
    return float(sum((-w.detach() * h).sum() for w, h in zip(weights, hg) if h is not None))


@register_proxy("fisher", needs_data=True)
def fisher(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    net.train()
    acts: list[torch.Tensor] = []

    def keep(_m: nn.Module, _i: Any, out: torch.Tensor) -> None:
        if out.requires_grad:
            out.retain_grad()
            acts.append(out)

    handles = [m.register_forward_hook(keep) for m in _weighted_layers(net)]
    _loss_backward(net, x, y)
    for h in handles:
        h.remove()
    total = 0.0
    for a in acts:
        if a.grad is None:
            continue
        prod = a * a.grad
        per_channel = prod.sum(dim=(2, 3)) if prod.dim() == 4 else prod
        total += float(0.5 * per_channel.detach().pow(2).mean(0).sum())
    return total


@register_proxy("jacob_cov", needs_data=True)
def jacob_cov(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    net.train()
    x = x.clone().requires_grad_(True)
    out = _logits(net(x))
    out.backward(torch.ones_like(out))
    jac = x.grad.reshape(len(x), -1).double().cpu().numpy()
    corr = np.corrcoef(jac)
    v = np.linalg.eigvalsh(np.nan_to_num(corr))
    k = 1e-5
    return float(-np.sum(np.log(np.abs(v) + k) + 1.0 / (np.abs(v) + k)))


@register_proxy("nwot", needs_data=True)
def nwot(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    net.train()
    n = len(x)
    kernel = torch.zeros(n, n, dtype=torch.float64, device=x.device)

    def codes(_m: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        c = (inputs[0].detach().reshape(n, -1) > 0).double()
        kernel.add_(c @ c.t() + (1 - c) @ (1 - c).t())

    handles = [m.register_forward_pre_hook(codes) for m in net.modules() if isinstance(m, nn.ReLU)]
    with torch.no_grad():
        net(x)
    for h in handles:
        h.remove()
    return float(torch.linalg.slogdet(kernel)[1])


@register_proxy("ntk_cond", needs_data=True, higher_is_better=False)
def ntk_cond(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    net.train()
    params_ = [p for p in net.parameters() if p.requires_grad]
    out = _logits(net(x))
    # row i of the Jacobian = d(sum of sample i's logits)/d(params), one backward per sample through the
    # shared graph (as TE-NAS does; torch's batched-gradient vmap was 50x slower on the CPU, measured)
    rows = []
    for i in range(len(x)):
        grads = torch.autograd.grad(out[i].sum(), params_, retain_graph=i < len(x) - 1, allow_unused=True)
        rows.append(torch.cat([g.reshape(-1) for g in grads if g is not None]))
    jac = torch.stack(rows).double()
    eig = torch.linalg.eigvalsh(jac @ jac.t())
    return float(eig[-1] / eig[0]) if eig[0] > 0 else float("inf")


# --------------------------------------------------------------------------- entry point


def compute_proxies(
    space: SearchSpace,
    archs: Sequence[Any],
    names: Sequence[str],
    *,
    num_classes: int,
    input_shape: tuple[int, int, int],
    batch: tuple[torch.Tensor, torch.Tensor] | None = None,
    network: NetworkSize | Mapping[str, Any] | None = None,
    device: str | torch.device = "cpu",
    seed: int = 0,
    progress: bool = False,
) -> list[dict[str, float]]:
    """Scores of every proxy in ``names`` for every architecture (a fresh seeded network each).

    ``batch`` is needed by data-dependent proxies; data-free ones use only ``input_shape``. ``network``: the
    scored networks' size (a :class:`NetworkSize` or its mapping; ``None``: the space's default network).
    """
    unknown = [n for n in names if n not in PROXIES]
    if unknown:
        raise KeyError(f"unknown proxies {unknown}; known proxies: {', '.join(sorted(PROXIES))}")
    needs = [n for n in names if PROXIES[n].needs_data]
    if needs and batch is None:
        raise ValueError(f"proxies {needs} need a batch of data")
    device = torch.device(device)
    if batch is None:
        x = torch.zeros(2, *input_shape, device=device)
        y = torch.zeros(2, dtype=torch.long, device=device)
    else:
        x, y = batch[0].to(device), batch[1].to(device)
    size = space.size_kwargs(NetworkSize.parse(network)) if network is not None else {}
    results = []
    for arch in tqdm(archs, desc="proxies", unit="arch", disable=not progress):
        scores = {}
        for name in names:
            torch.manual_seed(seed)
            net = space.build_network(arch, num_classes=num_classes, in_channels=input_shape[0], **size).to(device)
            scores[name] = PROXIES[name].fn(net, x, y)
        results.append(scores)
    return results


class ProxyScorer:
    """Scores architectures with a fixed set of proxies and network/input settings, caching results.

    The cache (a JSON file, optional) maps architecture strings to scores, so a search that sees
    the same candidates again -- or many benchmark seeds -- computes each score once; it is written
    every ``save_every`` architectures, so an interrupt keeps what was computed. ``precomputed``
    (architecture string -> scores, e.g. :func:`predictor_nas.proxy_table.load_proxy_table`) is
    consulted first and never written to the cache.
    """

    def __init__(
        self,
        space: SearchSpace,
        names: Sequence[str],
        *,
        num_classes: int,
        input_shape: tuple[int, int, int],
        network: NetworkSize | None = None,
        batch: tuple[torch.Tensor, torch.Tensor] | None = None,
        device: str | torch.device = "cpu",
        seed: int = 0,
        cache_path: str | None = None,
        precomputed: Mapping[str, Mapping[str, float]] | None = None,
        save_every: int = 50,
    ):
        self.space, self.names = space, tuple(names)
        self.precomputed = precomputed or {}
        self.save_every = save_every
        self.kwargs = dict(
            num_classes=num_classes, input_shape=input_shape, network=network, batch=batch, device=device, seed=seed
        )
        self.cache_path = cache_path
        self.cache: dict[str, dict[str, float]] = {}
        if cache_path:
            import json
            import os

            if os.path.exists(cache_path):
                with open(cache_path) as fh:
                    self.cache = json.load(fh)

    def _known(self, key: str) -> dict[str, float]:
        return {**self.precomputed.get(key, {}), **self.cache.get(key, {})}

    def __call__(self, archs: Sequence[Any], progress: bool = False) -> list[dict[str, float]]:
        keys = [a if isinstance(a, str) else self.space.to_string(a) for a in archs]
        todo = sorted({k for k in keys if not all(n in self._known(k) for n in self.names)})
        with tqdm(total=len(todo), desc="zero-cost proxies", unit="arch", disable=not (progress and todo)) as bar:
            for start in range(0, len(todo), self.save_every):
                chunk = todo[start : start + self.save_every]
                for key, scores in zip(chunk, compute_proxies(self.space, chunk, self.names, **self.kwargs)):
                    self.cache.setdefault(key, {}).update(scores)
                self.save()
                bar.update(len(chunk))
        return [{n: self._known(k)[n] for n in self.names} for k in keys]

    def save(self) -> None:
        if not self.cache_path:
            return
        import json
        import os

        from nas_core.training.checkpoint import atomic_write_bytes

        os.makedirs(os.path.dirname(os.path.abspath(self.cache_path)), exist_ok=True)
        atomic_write_bytes(self.cache_path, json.dumps(self.cache).encode())
