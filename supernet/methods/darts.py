"""DARTS (Liu, Simonyan, Yang, ICLR 2019): softmax relaxation, first- and second-order updates.

Second order: the α gradient of L_val(w', α) with the one-step unrolled weights
``w' = w - ξ (μ·m + ∇_w L_train(w, α) + λ w)`` (ξ the weight learning rate, m the momentum buffer,
λ the weight decay, as in the DARTS code), i.e.

    ∇_α L_val(w', α) - ξ ∇²_{α,w} L_train(w, α) ∇_{w'} L_val(w', α),

the Hessian-vector product by central finite differences at ``w ± ε ∇_{w'} L_val`` with
``ε = r / ||∇_{w'} L_val||`` with r = 0.01 (DARTS Eq. 7-8; ``fd_radius``). On ReLU/BN networks
the r = 0.01 step can cross activation kinks, which is the approximation's own error; the tests
check the implementation against autograd through the unrolled step at a small radius in float64.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.func import functional_call

from supernet.methods.base import Batch, Method, StepContext, register_method

register_method("darts")(Method)


@register_method("darts-2nd")
class DartsSecondOrder(Method):
    paper = "Liu, Simonyan, Yang. DARTS. ICLR 2019 (second order, Eq. 7-8)"

    def __init__(self, supernet, fd_radius: float = 1e-2, **kwargs):
        super().__init__(supernet, **kwargs)
        self.fd_radius = fd_radius

    def unrolled_weights(self, train: Batch, ctx: StepContext) -> list[torch.Tensor]:
        """w' = w - ξ (μ m + ∇_w L_train + λ w), detached, as new leaves."""
        x, y = train
        params = list(self.supernet.parameters())
        grads = torch.autograd.grad(F.cross_entropy(self.forward(x, "valid"), y), params)
        out = []
        for p, g in zip(params, grads):
            buf = ctx.w_optimizer.state.get(p, {}).get("momentum_buffer")
            moment = buf * ctx.w_momentum if buf is not None else 0.0
            out.append((p - ctx.w_lr * (moment + g + ctx.w_weight_decay * p)).detach().requires_grad_())
        return out

    def unrolled_gradient(self, train: Batch, valid: Batch, ctx: StepContext) -> tuple[list[torch.Tensor], float]:
        """The approximate hypergradient of the architecture parameters, and L_val(w', α)."""
        net = self.supernet
        names = [n for n, _ in net.named_parameters()]
        w_prime = self.unrolled_weights(train, ctx)
        buffers = {n: b.clone() for n, b in net.named_buffers()}  # the virtual step leaves BN statistics alone
        xv, yv = valid
        logits = functional_call(
            net,
            {**dict(zip(names, w_prime)), **buffers},
            (xv, self.mixing_weights("valid"), self.edge_weights("valid")),
        )
        loss = F.cross_entropy(logits, yv) + self.regularizer()
        alphas = self.arch_parameters()
        grads = torch.autograd.grad(loss, alphas + w_prime, allow_unused=True)
        d_alpha = [g if g is not None else torch.zeros_like(a) for g, a in zip(grads[: len(alphas)], alphas)]
        vector = [g if g is not None else torch.zeros_like(w) for g, w in zip(grads[len(alphas) :], w_prime)]
        hvp = self.hessian_vector_product(vector, train, self.fd_radius)
        return [da - ctx.w_lr * h for da, h in zip(d_alpha, hvp)], float(loss.detach())

    def hessian_vector_product(self, vector: list[torch.Tensor], train: Batch, r: float = 1e-2) -> list[torch.Tensor]:
        """∇²_{α,w} L_train(w, α) · v by central differences in w."""
        x, y = train
        params = list(self.supernet.parameters())
        saved = [p.detach().clone() for p in params]  # restored exactly (w + eps v - eps v drifts in float)
        eps = r / torch.sqrt(sum((v * v).sum() for v in vector)).clamp_min(1e-12)

        def alpha_grad(sign: float) -> list[torch.Tensor]:
            with torch.no_grad():
                for p, v in zip(params, vector):
                    p.add_(v, alpha=float(sign * eps))
            loss = F.cross_entropy(self.forward(x, "valid"), y)
            return list(torch.autograd.grad(loss, self.arch_parameters(), allow_unused=True))

        plus = alpha_grad(1.0)
        minus = alpha_grad(-2.0)
        with torch.no_grad():
            for p, w in zip(params, saved):
                p.copy_(w)
        return [
            (gp - gn) / (2 * eps) if gp is not None else torch.zeros_like(a)
            for gp, gn, a in zip(plus, minus, self.arch_parameters())
        ]

    def arch_step(self, train: Batch, valid: Batch, ctx: StepContext) -> float:
        grads, loss = self.unrolled_gradient(train, valid, ctx)
        self.a_optimizer.zero_grad(set_to_none=True)
        for a, g in zip(self.arch_parameters(), grads):
            a.grad = g.detach()
        self.a_optimizer.step()
        return loss
