"""DARTS+ (Liang et al., 2019, "DARTS+: Improved Differentiable Architecture Search with Early Stopping").

Stop the search when
- criterion 1: the derived normal cell holds two or more ``skip_connect`` (the collapse signal), or
- criterion 2: the ranking of the learnable (parametric) ops' α has stayed the same for
  ``patience`` (10) epochs.
The α of the stopping epoch is used for selection.
"""

from __future__ import annotations

from typing import Any

import torch

from supernet.methods.base import Method, register_method

LEARNABLE = ("sep_conv", "dil_conv", "nor_conv")


@register_method("darts-plus")
class DartsPlus(Method):
    paper = "Liang et al. DARTS+: Improved Differentiable Architecture Search with Early Stopping. 2019"

    def __init__(self, supernet, criterion: int = 1, max_skips: int = 2, patience: int = 10, **kwargs: Any):
        super().__init__(supernet, **kwargs)
        if criterion not in (1, 2):
            raise ValueError(f"criterion must be 1 or 2, got {criterion!r}")
        self.criterion, self.max_skips, self.patience = criterion, max_skips, patience

    def should_stop(self, history: list[dict[str, Any]]) -> bool:
        if not history:
            return False
        if self.criterion == 1:
            return history[-1]["skip_connections"].get("normal", 0) >= self.max_skips
        return ranking_stable([h["alphas"] for h in history], self.supernet, self.patience)


def learnable_ranking(alphas: dict[str, Any], supernet) -> list[tuple[int, ...]]:
    """Per edge, the order of its learnable ops by α."""
    out = []
    for ct, a in alphas.items():
        a = torch.as_tensor(a)
        for e, edge in enumerate(supernet.edges_of(ct)):
            idx = [k for k, op in enumerate(edge.ops) if op.startswith(LEARNABLE)]
            out.append(tuple(sorted(idx, key=lambda k: -float(a[e, k]))))
    return out


def ranking_stable(history: list[dict[str, Any]], supernet, patience: int) -> bool:
    if len(history) < patience + 1:
        return False
    rankings = [learnable_ranking(h, supernet) for h in history[-(patience + 1) :]]
    return all(r == rankings[0] for r in rankings)
