"""AllegroNAS (paper 000; notes seed_000_001 part A): asymptotic mixed-level regularisation of the
second-order DARTS update, on the Allegro search space, with natural-exponential cosine annealing.

The architecture gradient is that of ``L_val(ω*, α) + χ · L_train(ω*, α)`` through the one-step
unrolled weights ω* (Eq. 4-5, the notes' reconstruction of the garbled last line):

    g_α = ∇_α L_val(ω*) - ξ H(∇_ω* L_val) + χ (∇_α L_train(ω*) - ξ H(∇_ω* L_train)),

each Hessian-vector product H(v) = ∇²_{α,ω} L_train(ω, α) v by central differences with its own
radius σ = 0.01 / ||v|| (Eq. 5's ω_1..ω_4). χ follows Eq. 6, clipped after the ramp:
``χ(τ) = χ_min + (χ_max - χ_min) min(τ / H, 1)`` with H = 25, χ_max = 0.1, χ_min = 0.
Search defaults: the ``allegro`` space (DARTS's ops with Allegro convolutions, ``nas_core.ops``),
NECA learning rate (``lr_schedule="neca"``) with period E = 90 over a 50-epoch search (the notes'
reading A7.5). Not implemented: the AutoAugment policy of Sec. 3.5.1 (its policy and phase are
unspecified) -- searches use the standard crop/flip augmentation.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch.func import functional_call

from supernet.methods.base import Batch, StepContext, register_method
from supernet.methods.darts import DartsSecondOrder


@register_method("allegronas")
class AllegroNAS(DartsSecondOrder):
    paper = "AllegroNAS (paper 000): asymptotic regularisation, Allegro space, NECA"
    defaults = {"space": "allegro", "lr_schedule": "neca", "lr_period": 90}

    def __init__(self, supernet, chi_max: float = 0.1, chi_min: float = 0.0, chi_ramp: int = 25, **kwargs: Any):
        if chi_ramp < 1 or chi_max < chi_min:
            raise ValueError(f"need chi_ramp >= 1 and chi_max >= chi_min, got {chi_ramp!r}, {chi_max!r}, {chi_min!r}")
        super().__init__(supernet, **kwargs)
        self.chi_max, self.chi_min, self.chi_ramp = chi_max, chi_min, chi_ramp

    def chi(self, epoch: int | None = None) -> float:
        epoch = self.epoch if epoch is None else epoch
        return self.chi_min + (self.chi_max - self.chi_min) * min(epoch / self.chi_ramp, 1.0)

    def unrolled_gradient(self, train: Batch, valid: Batch, ctx: StepContext) -> tuple[list[torch.Tensor], float]:
        net = self.supernet
        names = [n for n, _ in net.named_parameters()]
        w_prime = self.unrolled_weights(train, ctx)
        buffers = {n: b.clone() for n, b in net.named_buffers()}
        alphas = self.arch_parameters()
        chi = self.chi()
        total = [torch.zeros_like(a) for a in alphas]
        val_loss = 0.0
        for (x, y), weight in ((valid, 1.0), (train, chi)):
            if weight == 0.0:
                continue
            logits = functional_call(
                net, {**dict(zip(names, w_prime)), **buffers}, (x, self.mixing_weights("valid"), self.edge_weights())
            )
            loss = F.cross_entropy(logits, y) + (self.regularizer() if weight == 1.0 else 0.0)
            grads = torch.autograd.grad(loss, alphas + w_prime, allow_unused=True)
            d_alpha = [g if g is not None else torch.zeros_like(a) for g, a in zip(grads[: len(alphas)], alphas)]
            vector = [g if g is not None else torch.zeros_like(w) for g, w in zip(grads[len(alphas) :], w_prime)]
            hvp = self.hessian_vector_product(vector, train, self.fd_radius)
            total = [t + weight * (da - ctx.w_lr * h) for t, da, h in zip(total, d_alpha, hvp)]
            if weight == 1.0:
                val_loss = float(loss.detach())
        return total, val_loss
