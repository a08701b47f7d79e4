"""SP-DARTS (Zhang & Ding; paper 001 and notes seed_000_001 part B): explicit sparse regularisation.

Mixing weights are softmax(α / t). Every mini-batch draws φ ~ Bernoulli(p): a sparse batch uses the
very small temperature t_sp (nearly one-hot weights, eliminating information bypass leakage), a
smooth batch uses t_sm = 10 t_sp. The same t serves the batch's weight and architecture steps.
p follows Eq. 20: 0 during the first e_wp warm-up epochs, then linear from p_low to p_up; we use
the denominator I - 1 - e_wp so the last epoch reaches p_up (the paper's Eq. 20 never reaches it with
0-based epochs; notes B7.3). First-order updates (notes B7.6). NB201 settings (Table II): constant
weight lr 0.05, α weight decay 0, t_sp = 1.1e-3, e_wp = 1, batch 256. Selection uses
softmax(α / t_sp); ties between near one-hot edges (DARTS top-2) are broken by the raw α margin.
"""

from __future__ import annotations

import random
from typing import Any

import torch
import torch.nn.functional as F

from supernet.engine.supernet import Weights
from supernet.methods.base import Method, register_method


@register_method("sp-darts")
class SPDarts(Method):
    paper = (
        "Zhang & Ding. Robustifying DARTS by Eliminating Information Bypass Leakage via Explicit Sparse Regularization"
    )
    defaults = {"w_lr": 0.05, "w_lr_min": 0.05, "a_weight_decay": 0.0, "batch_size": 256}

    def __init__(
        self,
        supernet,
        t_sp: float = 1.1e-3,
        smooth_factor: float = 10.0,
        p_low: float = 0.0,
        p_up: float = 1.0,
        warmup: int = 1,
        seed: int = 0,
        **kwargs: Any,
    ):
        super().__init__(supernet, seed=seed, **kwargs)
        if t_sp <= 0 or smooth_factor <= 1 or not 0 <= p_low <= p_up <= 1:
            raise ValueError(
                f"need t_sp > 0, smooth_factor > 1, 0 <= p_low <= p_up <= 1; got {t_sp}, "
                f"{smooth_factor}, {p_low}, {p_up}"
            )
        self.t_sp, self.t_sm = t_sp, smooth_factor * t_sp
        self.p_low, self.p_up, self.warmup = p_low, p_up, warmup
        self.p = 0.0
        self.temperature = self.t_sm
        self.rng = random.Random(seed)
        self.sparse_batches = self.batches = 0

    def probability(self, epoch: int, epochs: int) -> float:
        """p of Eq. 20 at ``epoch`` (0-based) of ``epochs``."""
        if epoch < self.warmup:
            return 0.0
        span = max(epochs - 1 - self.warmup, 1)
        return self.p_low + (self.p_up - self.p_low) * min(1.0, (epoch - self.warmup) / span)

    def on_epoch_start(self, epoch: int, epochs: int) -> bool:
        super().on_epoch_start(epoch, epochs)
        self.p = self.probability(epoch, epochs)
        return False

    def on_batch_start(self) -> None:
        sparse = self.rng.random() < self.p
        self.temperature = self.t_sp if sparse else self.t_sm
        self.sparse_batches += sparse
        self.batches += 1

    def mixing_weights(self, phase: str = "train") -> Weights:
        t = self.t_sp if phase == "eval" else self.temperature
        return {ct: F.softmax(a / t, dim=-1) for ct, a in self.alphas.items()}

    def extra_state(self) -> dict[str, Any]:
        return {"rng": self.rng.getstate(), "temperature": self.temperature}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        if state:
            self.rng.setstate(_as_tuple(state["rng"]))
            self.temperature = state["temperature"]


def _as_tuple(x: Any) -> Any:
    return tuple(_as_tuple(v) for v in x) if isinstance(x, list | tuple) else x


@torch.no_grad()
def information_entropy_sum(alphas: dict[str, torch.Tensor], t: float) -> float:
    """IES (Eq. 21): sum over edges of the entropy of softmax(α / t)."""
    total = 0.0
    for a in alphas.values():
        p = F.softmax(a / t, dim=-1)
        total += float(-(p * p.clamp_min(1e-30).log()).sum())
    return total
