"""DrNAS (Chen et al., ICLR 2021; thesis ch. 3.2): NAS as learning a Dirichlet distribution.

The mixing weights of each edge are a sample θ ~ Dir(β) with concentration β = ELU(α) + 1, drawn
with pathwise (reparameterised) gradients (``torch.distributions.Dirichlet.rsample``, Jankowiak &
Obermeyer 2018). The regulariser λ·d(β, β̂) of Eq. 3.2 is, by ``reg_type``:

- ``l2`` (default): Proposition 2's distance d = ||β - β̂||₂ to the uniform prior β̂ = 1, summed over
  the edges (each edge is one Dirichlet), times ``reg_scale``;
- ``kl``: reg_scale · KL(Dir(β) || Dir(1));
- ``weight_decay``: Adam weight decay ``reg_scale`` on α, as the authors' public code regularises
  (not the paper's form: it pulls α, not β, toward 0, and squared rather than as a norm).
Evaluation and selection use the Dirichlet mean β / Σβ.

Progressive learning (the authors' NB201 code): stages of (epochs, partial-channel k, ops kept per
edge) -- by default 50 epochs with k=4 and all 5 ops, then 50 epochs with k=2 keeping the 3 ops with
the largest α per edge; widening copies channels Net2Wider-style; α is frozen for the first 10
epochs of every stage. Deviation: the SGD momentum of widened weights restarts from zero at a stage
change (the authors widen the momentum buffers too).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch.distributions import Dirichlet, kl_divergence

from supernet.engine.supernet import Weights
from supernet.methods.base import Method, register_method

REG_TYPES = ("l2", "kl", "weight_decay")


@register_method("drnas")
class DrNAS(Method):
    paper = "Chen et al. DrNAS: Dirichlet Neural Architecture Search. ICLR 2021 (thesis ch. 3.2)"
    defaults = {"epochs": 100}

    def __init__(
        self,
        supernet,
        reg_type: str = "l2",
        reg_scale: float = 1e-3,
        stages: tuple[tuple[int, int, int], ...] | None = ((50, 4, 5), (50, 2, 3)),
        stage_warmup: int = 10,
        **kwargs: Any,
    ):
        if reg_type not in REG_TYPES:
            raise ValueError(f"reg_type must be one of {', '.join(REG_TYPES)}, got {reg_type!r}")
        kwargs["a_weight_decay"] = reg_scale if reg_type == "weight_decay" else 0.0
        super().__init__(supernet, **kwargs)
        self.reg_type, self.reg_scale = reg_type, reg_scale
        self.stages = tuple(tuple(s) for s in stages) if stages else None
        self.stage_warmup = stage_warmup
        self.masks: dict[str, torch.Tensor] = {
            ct: torch.ones_like(a, dtype=torch.bool) for ct, a in self.alphas.items()
        }
        self.stage = 0
        if self.stages and supernet.partial_k != self.stages[0][1]:
            supernet.set_partial_k(self.stages[0][1])

    def concentration(self) -> Weights:
        return {ct: F.elu(a) + 1 for ct, a in self.alphas.items()}

    def _masked(self, ct: str, w: torch.Tensor) -> torch.Tensor:
        mask = self.masks[ct]
        if bool(mask.all()):
            return w
        w = w * mask
        return w / w.sum(-1, keepdim=True)

    def mixing_weights(self, phase: str = "train") -> Weights:
        conc = self.concentration()
        if phase == "eval":
            return {ct: self._masked(ct, c / c.sum(-1, keepdim=True)) for ct, c in conc.items()}
        return {ct: self._masked(ct, Dirichlet(c).rsample()) for ct, c in conc.items()}

    def regularizer(self) -> torch.Tensor | float:
        if self.reg_type == "weight_decay":
            return 0.0  # in the arch optimizer
        if self.reg_type == "l2":  # Proposition 2: d(β, 1) = ||β - 1||₂ per edge
            return self.reg_scale * sum(
                torch.linalg.vector_norm(c - 1, dim=-1).sum() for c in self.concentration().values()
            )
        prior = {ct: torch.ones_like(c) for ct, c in self.concentration().items()}
        return self.reg_scale * sum(
            kl_divergence(Dirichlet(c), Dirichlet(prior[ct])).sum() for ct, c in self.concentration().items()
        )

    # -- progressive learning --------------------------------------------------------------------
    def stage_of(self, epoch: int) -> tuple[int, int]:
        """(stage index, first epoch of that stage)."""
        start = 0
        for i, (epochs, _, _) in enumerate(self.stages or ()):
            if epoch < start + epochs or i == len(self.stages) - 1:
                return i, start
            start += epochs
        return 0, 0

    def arch_active(self, epoch: int, warmup_epochs: int) -> bool:
        if not self.stages:
            return epoch >= warmup_epochs
        _, start = self.stage_of(epoch)
        return epoch - start >= self.stage_warmup

    def on_epoch_start(self, epoch: int, epochs: int) -> bool:
        super().on_epoch_start(epoch, epochs)
        if not self.stages:
            return False
        stage, _ = self.stage_of(epoch)
        changed = False
        while self.stage < stage:  # (also replays stage changes when resuming)
            self.stage += 1
            _, k, keep = self.stages[self.stage]
            self.prune(keep)
            self.supernet.set_partial_k(k, seed=self.stage)
            changed = True
        return changed

    def prune(self, keep: int) -> None:
        """Keep the ``keep`` ops with the largest α on every edge (pruned ops are never run again)."""
        with torch.no_grad():
            for ct, a in self.alphas.items():
                scores = a.masked_fill(~self.masks[ct], float("-inf"))
                top = scores.topk(min(keep, a.shape[1]), dim=-1).indices
                self.masks[ct] = torch.zeros_like(self.masks[ct]).scatter(1, top, True)
                self.supernet.set_active_ops(ct, self.masks[ct])

    def extra_state(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "masks": {ct: m.clone() for ct, m in self.masks.items()},
            "partial_k": self.supernet.partial_k,
        }

    def load_extra_state(self, state: dict[str, Any]) -> None:
        if not state:
            return
        if state["partial_k"] != self.supernet.partial_k:
            self.supernet.set_partial_k(state["partial_k"])
        self.stage = state["stage"]
        self.masks = {ct: m.clone() for ct, m in state["masks"].items()}
        for ct, m in self.masks.items():
            self.supernet.set_active_ops(ct, m)
