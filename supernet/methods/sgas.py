"""SGAS (Li, Qian, Delgadillo, Müller, Thabet, Ghanem, CVPR 2020, "SGAS: Sequential Greedy
Architecture Search"), listed in survey paper 002 and paired with PT selection in paper 004 (Table 3.1).

DARTS's bilevel search, plus greedy decisions: after ``warmup`` epochs and then every
``decision_freq`` epochs, one undecided edge per cell type is fixed to its strongest non-``none`` op.
Which edge: the largest score among
- criterion 1: edge importance × selection certainty, EI = Σ_{o≠none} p_o (= 1 - p_none) and
  SC = 1 - H(p̃) / log(|O| - 1), with p̃ the non-``none`` probabilities renormalised;
- criterion 2: criterion 1 × selection stability, SS = the mean histogram intersection
  Σ_o min(p̃_o, p̃'_o) of p̃ with its values at the last ``history`` (4) decisions' epochs.
On DARTS spaces, once a node has two decided inputs its other input edges are removed (SGAS's
topology rule). Decided edges stay one-hot; the rest of the search continues on the smaller
supernet. Defaults from the authors' code for a 50-epoch search: warm-up 9, decision every 5
epochs (criterion 2: every 4 epochs's history of 4). Selection at the end (magnitude or PT) keeps
the decided edges.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from supernet.methods.base import Method, register_method


def edge_scores(probs: torch.Tensor, ops: tuple[str, ...]) -> tuple[float, float, torch.Tensor]:
    """(EI, SC, p̃) of one edge's op probabilities; p̃ is zero at ``none``."""
    keep = torch.tensor([op != "none" for op in ops] + [False] * (len(probs) - len(ops)))
    p = probs * keep
    ei = float(p.sum())
    p_tilde = p / max(ei, 1e-12)
    entropy = -float((p_tilde * p_tilde.clamp_min(1e-12).log()).sum())
    sc = 1 - entropy / math.log(max(int(keep.sum()), 2))
    return ei, sc, p_tilde


@register_method("sgas")
class SGAS(Method):
    paper = "Li et al. SGAS: Sequential Greedy Architecture Search. CVPR 2020"

    def __init__(
        self, supernet, criterion: int = 1, warmup: int = 9, decision_freq: int = 5, history: int = 4, **kwargs: Any
    ):
        if criterion not in (1, 2):
            raise ValueError(f"criterion must be 1 or 2, got {criterion!r}")
        if warmup < 0 or decision_freq < 1:
            raise ValueError(f"need warmup >= 0 and decision_freq >= 1, got {warmup!r}, {decision_freq!r}")
        super().__init__(supernet, **kwargs)
        self.criterion, self.warmup, self.decision_freq, self.history = criterion, warmup, decision_freq, history
        self.decisions: list[dict[str, Any]] = []
        self.past: dict[str, list[torch.Tensor]] = {ct: [] for ct in supernet.cell_types}

    def scores(self, ct: str) -> torch.Tensor:
        """Criterion score of every edge of ``ct`` (decided and removed edges: -inf)."""
        probs = F.softmax(self.alphas[ct].detach(), -1).cpu()
        score = torch.full((len(probs),), float("-inf"))
        for edge in self.supernet.edges_of(ct):
            e = edge.index
            if (ct, e) in self.supernet.fixed or (ct, e) in self.supernet.removed:
                continue
            ei, sc, p_tilde = edge_scores(probs[e], edge.ops)
            score[e] = ei * sc
            if self.criterion == 2 and self.past[ct]:
                score[e] *= sum(float(torch.minimum(p_tilde, old[e]).sum()) for old in self.past[ct]) / len(
                    self.past[ct]
                )
        return score

    def _distributions(self, ct: str) -> torch.Tensor:
        probs = F.softmax(self.alphas[ct].detach(), -1).cpu()
        return torch.stack([edge_scores(probs[x.index], x.ops)[2] for x in self.supernet.edges_of(ct)])

    def decide(self) -> None:
        """Fix the best-scoring undecided edge of every cell type (and apply the topology rule)."""
        for ct in self.supernet.cell_types:
            score = self.scores(ct)
            self.past[ct] = [self._distributions(ct), *self.past[ct]][: self.history]
            if not torch.isfinite(score).any():
                continue
            e = int(score.argmax())
            ops = self.supernet.edges_of(ct)[e].ops
            probs = F.softmax(self.alphas[ct].detach()[e, : len(ops)], -1).cpu()
            ranked = [k for k in probs.argsort(descending=True).tolist() if ops[k] != "none"]
            self.supernet.fixed[(ct, e)] = ranked[0]
            self.decisions.append({"epoch": self.epoch, "cell_type": ct, "edge": e, "op": ops[ranked[0]]})
            self._prune_topology(ct, e)

    def _prune_topology(self, ct: str, e: int) -> None:
        if self.supernet.space.family == "nb201":
            return  # every NAS-Bench-201 edge stays in the cell
        dst = self.supernet.edges_of(ct)[e].dst
        into = [x.index for x in self.supernet.edges_of(ct) if x.dst == dst]
        decided = [i for i in into if (ct, i) in self.supernet.fixed]
        if len(decided) >= 2:
            self.supernet.removed.update((ct, i) for i in into if i not in decided)

    def on_epoch_start(self, epoch: int, epochs: int) -> bool:
        super().on_epoch_start(epoch, epochs)
        if epoch >= self.warmup and (epoch - self.warmup) % self.decision_freq == 0 and epoch > 0:
            done = {(d["cell_type"], d["edge"]) for d in self.decisions if d["epoch"] == epoch}
            if not done:  # (resuming replays nothing twice)
                self.decide()
        return False

    def extra_state(self) -> dict[str, Any]:
        return {
            "decisions": list(self.decisions),
            "fixed": [[ct, e, k] for (ct, e), k in self.supernet.fixed.items()],
            "removed": [[ct, e] for ct, e in self.supernet.removed],
            "past": {ct: [t.clone() for t in ts] for ct, ts in self.past.items()},
        }

    def load_extra_state(self, state: dict[str, Any]) -> None:
        if not state:
            return
        self.decisions = list(state["decisions"])
        self.supernet.fixed = {(ct, int(e)): int(k) for ct, e, k in state["fixed"]}
        self.supernet.removed = {(ct, int(e)) for ct, e in state["removed"]}
        self.past = {ct: [t.clone() for t in ts] for ct, ts in state["past"].items()}
