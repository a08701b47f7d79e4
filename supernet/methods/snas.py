"""SNAS (Xie, Zheng, Liu, Lin, ICLR 2019, "SNAS: Stochastic Neural Architecture Search"; survey
paper 002 §2.7).

Every edge's op choice Z is relaxed by the concrete (Gumbel-softmax) distribution,
Z_k = softmax_k((log p_k + G_k) / λ) with p = softmax(α), G ~ Gumbel(0, 1), and the network is run
with those soft one-hot weights. α and the weights minimise the *same* training loss (single level,
``single_level``); differentiating through the relaxed sample is the paper's credit assignment
(its Sec. 2.3 shows the gradient equals a policy gradient whose per-edge reward is the
first-order Taylor decomposition of the loss). The temperature is annealed from λ0 = 1 to 0.03
exponentially over the search; the paper states λ0 = 1 and annealing but no rate, so the end
point is ours. Left out: the resource constraint (optional in the paper). Deviation: the search
loop still splits the data 50/50 and SNAS's α step uses the training half (the paper trains both
on the full training set). Evaluation and selection use softmax(α).
"""

from __future__ import annotations

import math
from typing import Any

import torch.nn.functional as F

from supernet.engine.supernet import Weights
from supernet.methods.base import Method, register_method
from supernet.methods.gdas import gumbel_noise


@register_method("snas")
class SNAS(Method):
    paper = "Xie, Zheng, Liu, Lin. SNAS: Stochastic Neural Architecture Search. ICLR 2019"
    single_level = True

    def __init__(self, supernet, tau_init: float = 1.0, tau_final: float = 0.03, **kwargs: Any):
        if not 0 < tau_final <= tau_init:
            raise ValueError(f"need 0 < tau_final <= tau_init, got {tau_final!r}, {tau_init!r}")
        super().__init__(supernet, **kwargs)
        self.tau_init, self.tau_final = tau_init, tau_final

    def tau(self, epoch: int | None = None, epochs: int | None = None) -> float:
        """λ_e = λ0 · (λ_final / λ0)^(e / (E - 1))."""
        epoch = self.epoch if epoch is None else epoch
        epochs = self.epochs if epochs is None else epochs
        return self.tau_init * math.exp(math.log(self.tau_final / self.tau_init) * epoch / max(epochs - 1, 1))

    def mixing_weights(self, phase: str = "train") -> Weights:
        if phase == "eval":
            return super().mixing_weights(phase)
        tau = self.tau()
        return {ct: F.softmax((F.log_softmax(a, -1) + gumbel_noise(a)) / tau, dim=-1) for ct, a in self.alphas.items()}
