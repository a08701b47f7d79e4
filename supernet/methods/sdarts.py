"""SDARTS (Chen & Hsieh, ICML 2020): perturbation-based regularisation of the weight step.

The weights are trained with *perturbed* mixing weights A + δ (A = softmax(α), projected back onto
the simplex: clipped to [0, 1] and renormalised), which implicitly smooths the validation loss
landscape w.r.t. α; the architecture step is DARTS's.

- ``sdarts-rs``: δ ~ U[-ε, ε] (random smoothing).
- ``sdarts-adv``: δ = argmax_{||δ||∞ <= ε} L_train(w, A + δ) by PGD: uniform random start, 7
  signed-gradient steps of size 2ε/7, each projected back; kept only if it raised the loss.

ε grows linearly from 0.03 to ``epsilon`` (0.3) over the search (the authors' code).

Deviation (documented): the authors clip to [0, 1] and renormalise, which can leave the ε-ball;
here every perturbed row is the exact Euclidean projection onto {ε-ball around A} ∩ simplex, so
``||A + δ - A||∞ <= ε`` always holds.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from supernet.engine.supernet import Weights
from supernet.methods.base import Batch, Method, StepContext, register_method


def project_to_ball_simplex(v: torch.Tensor, center: torch.Tensor, eps: float, iters: int = 40) -> torch.Tensor:
    """Euclidean projection of each row of ``v`` onto {x : |x - center| <= eps, 0 <= x <= 1, sum x = 1}.

    The projection is ``clamp(v - λ, lo, hi)`` with the row's λ found by bisection (the clamped
    sum decreases in λ); ``center`` is feasible, so a solution exists.
    """
    lo = (center - eps).clamp_min(0.0)
    hi = (center + eps).clamp_max(1.0)
    low = (v - hi).min(-1, keepdim=True).values
    high = (v - lo).max(-1, keepdim=True).values
    for _ in range(iters):
        mid = (low + high) / 2
        too_big = torch.minimum(torch.maximum(v - mid, lo), hi).sum(-1, keepdim=True) > 1.0
        low = torch.where(too_big, mid, low)
        high = torch.where(too_big, high, mid)
    return torch.minimum(torch.maximum(v - (low + high) / 2, lo), hi)


class _Perturbed(Method):
    def __init__(self, supernet, epsilon: float = 0.3, epsilon_start: float = 0.03, **kwargs):
        super().__init__(supernet, **kwargs)
        self.epsilon_max, self.epsilon_start = epsilon, epsilon_start

    @property
    def epsilon(self) -> float:
        return self.epsilon_start + (self.epsilon_max - self.epsilon_start) * self.epoch / max(self.epochs, 1)


@register_method("sdarts-rs")
class SDartsRS(_Perturbed):
    paper = "Chen & Hsieh. Stabilizing DARTS with Perturbation-based Regularization (SDARTS-RS). ICML 2020"

    def train_weights(self, train: Batch, ctx: StepContext) -> Weights:
        eps = self.epsilon
        with torch.no_grad():
            return {
                ct: project_to_ball_simplex(w + torch.empty_like(w).uniform_(-eps, eps), w, eps)
                for ct, w in self.mixing_weights("train").items()
            }


@register_method("sdarts-adv")
class SDartsADV(_Perturbed):
    paper = "Chen & Hsieh. Stabilizing DARTS with Perturbation-based Regularization (SDARTS-ADV). ICML 2020"

    def __init__(self, supernet, steps: int = 7, **kwargs):
        super().__init__(supernet, **kwargs)
        self.steps = steps

    def attack(self, train: Batch, eps: float) -> tuple[Weights, float, float]:
        """PGD in the ε-ball around A = softmax(α); returns (weights, loss before, loss after)."""
        x, y = train
        was_training = self.supernet.training
        self.supernet.eval()  # as the authors' attack: BN uses running statistics while attacking
        with torch.no_grad():
            base = {ct: w.detach() for ct, w in self.mixing_weights("train").items()}
            before = float(F.cross_entropy(self.forward(x, "train", base), y))
            adv = {
                ct: project_to_ball_simplex(w + torch.empty_like(w).uniform_(-eps, eps), w, eps)
                for ct, w in base.items()
            }
        step = 2 * eps / self.steps
        for _ in range(self.steps):
            leaves = {ct: w.clone().requires_grad_(True) for ct, w in adv.items()}
            loss = F.cross_entropy(self.forward(x, "train", leaves), y)
            grads = torch.autograd.grad(loss, list(leaves.values()))
            with torch.no_grad():
                adv = {
                    ct: project_to_ball_simplex(leaves[ct] + step * g.sign(), base[ct], eps)
                    for (ct, _), g in zip(leaves.items(), grads)
                }
        with torch.no_grad():
            after = float(F.cross_entropy(self.forward(x, "train", adv), y))
        self.supernet.train(was_training)
        return (adv if after > before else base), before, after

    def train_weights(self, train: Batch, ctx: StepContext) -> Weights:
        return self.attack(train, self.epsilon)[0]
