"""GAEA (Li, Khodak, Balcan, Talwalkar, ICLR 2021, "Geometry-Aware Gradient Algorithms for Neural
Architecture Search"), compared against in paper 001.

The architecture parameters live on the probability simplex of each edge and are the mixing
weights themselves; they move by exponentiated gradient (mirror descent with the entropic mirror
map): θ ← θ ⊙ exp(-η ∇_θ L) / Σ(θ ⊙ exp(-η ∇_θ L)), which drives θ to sparse, near one-hot
rows. ``objective="bilevel"`` steps θ on the validation batch (GAEA DARTS), ``"erm"`` on the
training batch (single level, GAEA ERM). Published settings: η = 0.1, no weight decay on θ,
first-order updates, θ initialised uniform.
"""

from __future__ import annotations

from typing import Any

import torch

from supernet.engine import distributed
from supernet.engine.supernet import Weights
from supernet.methods.base import Batch, Method, StepContext, register_method


@register_method("gaea")
class GAEA(Method):
    paper = "Li, Khodak, Balcan, Talwalkar. Geometry-Aware Gradient Algorithms for NAS. ICLR 2021"

    def __init__(self, supernet, eta: float = 0.1, objective: str = "bilevel", **kwargs: Any):
        if objective not in ("bilevel", "erm"):
            raise ValueError(f"objective must be 'bilevel' or 'erm', got {objective!r}")
        if eta <= 0:
            raise ValueError(f"eta must be positive, got {eta!r}")
        super().__init__(supernet, **kwargs)
        self.eta, self.single_level = eta, objective == "erm"
        with torch.no_grad():
            for a in self.arch_parameters():
                a.fill_(1.0 / a.shape[-1])

    def mixing_weights(self, phase: str = "train") -> Weights:
        return dict(self.alphas.items())

    def arch_step(self, train: Batch, valid: Batch, ctx: StepContext) -> float:
        """One exponentiated-gradient step (the Adam optimiser of the base class is not used)."""
        for a in self.arch_parameters():
            a.grad = None
        loss = self.arch_loss(train if self.single_level else valid)
        loss.backward()
        distributed.average_gradients(self.arch_parameters())  # data parallel: the global-batch gradient
        with torch.no_grad():
            for a in self.arch_parameters():
                a.mul_(torch.exp(-self.eta * a.grad))
                a.div_(a.sum(-1, keepdim=True))
                a.grad = None
        return float(loss.detach())
