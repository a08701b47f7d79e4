"""GDAS (Dong & Yang, CVPR 2019, "Searching for a Robust Neural Architecture in Four GPU Hours";
survey paper 002 §2.5).

Every forward pass samples one op per edge with the Gumbel-max trick, h = one_hot(argmax(log
softmax(α) + g)), and back-propagates through the Gumbel-softmax relaxation
softmax((log softmax(α) + g) / τ) as a straight-through estimator (weights ``h - p.detach() + p``).
Only the sampled op is run (``Supernet.set_single_path``), so the gradient reaches α through the
sampled op's weight, as in the authors' code. τ decays linearly from 10 to 0.1 over the search.
Weights and α both train on sampled paths; evaluation and selection use softmax(α). Settings of the
NAS-Bench-201 paper's GDAS runs: 250 epochs, batch 64, weight lr 0.025 cosine to 0.001, α Adam lr
3e-4, wd 1e-3.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from supernet.engine.supernet import Weights
from supernet.methods.base import Method, register_method


def gumbel_noise(like: torch.Tensor) -> torch.Tensor:
    """Standard Gumbel samples -log(E), E ~ Exp(1), from the global RNG (resumable with the search)."""
    return -torch.empty_like(like).exponential_().log()


@register_method("gdas")
class GDAS(Method):
    paper = "Dong & Yang. Searching for a Robust Neural Architecture in Four GPU Hours. CVPR 2019"
    defaults = {"epochs": 250}

    def __init__(self, supernet, tau_max: float = 10.0, tau_min: float = 0.1, **kwargs: Any):
        if not 0 < tau_min <= tau_max:
            raise ValueError(f"need 0 < tau_min <= tau_max, got tau_min={tau_min!r}, tau_max={tau_max!r}")
        super().__init__(supernet, **kwargs)
        self.tau_max, self.tau_min = tau_max, tau_min
        supernet.set_single_path(True)

    def tau(self, epoch: int | None = None, epochs: int | None = None) -> float:
        """τ_e = τ_max - (τ_max - τ_min) · e / (E - 1)."""
        epoch = self.epoch if epoch is None else epoch
        epochs = self.epochs if epochs is None else epochs
        return self.tau_max - (self.tau_max - self.tau_min) * epoch / max(epochs - 1, 1)

    def sample(self, alpha: torch.Tensor, tau: float) -> torch.Tensor:
        """Hard one-hot rows with straight-through Gumbel-softmax gradients."""
        while True:  # as the authors do: redraw in the (rare) case of inf/nan
            logits = (F.log_softmax(alpha, dim=-1) + gumbel_noise(alpha)) / tau
            soft = F.softmax(logits, dim=-1)
            if torch.isfinite(soft).all():
                break
        hard = F.one_hot(soft.argmax(-1), alpha.shape[-1]).to(soft)
        return hard - soft.detach() + soft

    def mixing_weights(self, phase: str = "train") -> Weights:
        if phase == "eval":
            return super().mixing_weights(phase)
        return {ct: self.sample(a, self.tau()) for ct, a in self.alphas.items()}
