"""PC-DARTS (Xu et al., ICLR 2020, "PC-DARTS: Partial Channel Connections for Memory-Efficient
Architecture Search"; survey paper 002 §2.4).

Partial channels: each mixed op sees only C/K of its input channels (a fixed slice after the
previous edge's channel shuffle), the rest bypass it and are concatenated back, then shuffled
(``MixedOp.partial_k``; pooling-by-max on the bypass of reduction edges). Edge normalisation: every
node sums its incoming edges weighted by softmax over the node's β,
``x_j = Σ_{i<j} softmax_i(β_{i,j}) · Σ_o softmax_o(α_{i,j}) o(x_i)``, and the edge score used to pick
each node's inputs is softmax(β) × softmax(α). Published CIFAR-10 settings (the authors' code):
K = 4, batch 256, weight lr 0.1 (cosine to 0), α Adam lr 6e-4, betas (0.5, 0.999), wd 1e-3, α frozen
for the first 15 of 50 epochs. First-order updates. On NAS-Bench-201 β normalises the edges into
each of nodes 1-3 the same way.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from supernet.engine.supernet import Weights
from supernet.methods.base import Method, register_method


@register_method("pc-darts")
class PCDarts(Method):
    paper = "Xu et al. PC-DARTS: Partial Channel Connections for Memory-Efficient Architecture Search. ICLR 2020"
    defaults = {"partial_k": 4, "batch_size": 256, "w_lr": 0.1, "w_lr_min": 0.0, "a_lr": 6e-4, "warmup_epochs": 15}

    def __init__(self, supernet, **kwargs: Any):
        super().__init__(supernet, **kwargs)
        like = self.arch_parameters()[0]
        g = torch.Generator().manual_seed(kwargs.get("seed", 0) + 1)
        self.betas = nn.ParameterDict(
            {
                ct: nn.Parameter((1e-3 * torch.randn(len(supernet.edges_of(ct)), generator=g)).to(like))
                for ct in supernet.cell_types
            }
        )
        self._groups = {ct: self._node_groups(supernet, ct) for ct in supernet.cell_types}
        group = self.a_optimizer.param_groups[0]
        self.a_optimizer.add_param_group(
            {**{k: v for k, v in group.items() if k != "params"}, "params": list(self.betas.values())}
        )

    @staticmethod
    def _node_groups(supernet, ct: str) -> list[list[int]]:
        by_dst: dict[int, list[int]] = {}
        for e in supernet.edges_of(ct):
            by_dst.setdefault(e.dst, []).append(e.index)
        return [by_dst[d] for d in sorted(by_dst)]

    def edge_weights(self, phase: str = "train") -> Weights:
        """softmax of β over the edges entering each node."""
        out = {}
        for ct, beta in self.betas.items():
            w = torch.empty_like(beta)
            for group in self._groups[ct]:
                w[group] = F.softmax(beta[group], dim=0)
            out[ct] = w
        return out

    def selection_weights(self) -> Weights:
        with torch.no_grad():
            edge = self.edge_weights("eval")
            return {ct: p * edge[ct][:, None] for ct, p in self.probabilities().items()}

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["betas"] = {ct: b.detach().clone() for ct, b in self.betas.items()}
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        with torch.no_grad():
            for ct, b in state["betas"].items():
                self.betas[ct].copy_(b)
        super().load_state_dict(state)
