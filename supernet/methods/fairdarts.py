"""Fair DARTS (Chu, Zhou, Zhang, Li, ECCV 2020, "Fair DARTS: Eliminating Unfair Advantages in
Differentiable Architecture Search"; survey paper 002 §2.10).

The softmax of DARTS Eq. 24 is replaced by an independent sigmoid per op, so ops do not compete
for a shared unit of weight (the "unfair advantage" of skip connections), and the zero-one loss
L_01 = -(1/N) Σ_i (σ(α_i) - 0.5)² weighted by w_01 = 10 pushes every σ to 0 or 1. First-order
updates, DARTS's other settings. Selection: the paper keeps ops with σ > 0.85; magnitude selection
here ranks the σ values, which picks the same ops whenever each node has two inputs above the
threshold, but always keeps two inputs per node (the published Genotype format) where Fair DARTS
could keep fewer. The authors also drop the ``none`` op; pass a space without it to do the same.
"""

from __future__ import annotations

from typing import Any

import torch

from supernet.engine.supernet import Weights
from supernet.methods.base import Method, register_method


def zero_one_loss(alphas: list[torch.Tensor]) -> torch.Tensor:
    """L_01 = -mean over all ops of (σ(α) - 0.5)²."""
    sig = torch.cat([torch.sigmoid(a).flatten() for a in alphas])
    return -((sig - 0.5) ** 2).mean()


@register_method("fair-darts")
class FairDarts(Method):
    paper = "Chu, Zhou, Zhang, Li. Fair DARTS: Eliminating Unfair Advantages in DARTS. ECCV 2020"

    def __init__(self, supernet, w01: float = 10.0, **kwargs: Any):
        super().__init__(supernet, **kwargs)
        self.w01 = w01

    def mixing_weights(self, phase: str = "train") -> Weights:
        return {ct: torch.sigmoid(a) for ct, a in self.alphas.items()}

    def regularizer(self) -> torch.Tensor:
        return self.w01 * zero_one_loss(self.arch_parameters())
