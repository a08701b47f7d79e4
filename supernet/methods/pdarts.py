"""P-DARTS (Chen, Xie, Wu, Tian, ICCV 2019, "Progressive Differentiable Architecture Search:
Bridging the Depth Gap between Search and Evaluation"; survey paper 002 §2.3).

The search runs in stages of growing depth. Each stage is (epochs, depth, ops kept per edge,
skip-dropout rate); at a stage change the ops with the smallest α on every edge are pruned (search
space approximation), the supernet is rebuilt deeper with fresh weights and α is re-initialised
over the remaining ops; α is frozen for the first ``stage_warmup`` (10) epochs of every stage.
Search-space regularisation: dropout on the output of skip connections, rate decaying linearly
within a stage from the stage's rate to 0, and at the end at most ``max_skips`` (M = 2)
skip connections in the normal cell -- the skip with the smallest weight is dropped from the
derivation until the rule holds. Published CIFAR-10 settings: 3 × 25 epochs, 5 / 11 / 17 cells,
8 / 5 / 3 ops, skip dropout 0.1 / 0.4 / 0.7 (DARTS spaces). On NAS-Bench-201 (no depth in the cell
space) the stages grow N, the cells per stage: 1 / 3 / 5 cells, 5 / 4 / 3 ops (our choice).
Deviation: the weight learning rate follows one cosine schedule over all stages (the authors
restart it every stage).
"""

from __future__ import annotations

from typing import Any

import torch

from supernet.engine.selection import magnitude_select
from supernet.engine.supernet import Weights
from supernet.methods.base import Method, register_method

DARTS_STAGES = ((25, 5, 8, 0.1), (25, 11, 5, 0.4), (25, 17, 3, 0.7))
NB201_STAGES = ((25, 1, 5, 0.1), (25, 3, 4, 0.4), (25, 5, 3, 0.7))


@register_method("p-darts")
class PDarts(Method):
    paper = "Chen, Xie, Wu, Tian. Progressive Differentiable Architecture Search. ICCV 2019"
    defaults = {"epochs": 75, "a_lr": 6e-4}

    def __init__(
        self,
        supernet,
        stages: tuple[tuple[int, int, int, float], ...] | None = None,
        stage_warmup: int = 10,
        max_skips: int = 2,
        **kwargs: Any,
    ):
        self.stages = tuple(
            tuple(s) for s in (stages or (NB201_STAGES if supernet.space.family == "nb201" else DARTS_STAGES))
        )
        if any(len(s) != 4 or s[0] < 1 or s[1] < 1 or s[2] < 1 or not 0 <= s[3] < 1 for s in self.stages):
            raise ValueError(f"stages must be (epochs >= 1, depth >= 1, ops >= 1, dropout in [0, 1)), got {stages!r}")
        super().__init__(supernet, **kwargs)
        self.seed = kwargs.get("seed", 0)
        self.stage_warmup, self.max_skips = stage_warmup, max_skips
        self.stage = 0
        self.masks = {ct: torch.ones_like(a, dtype=torch.bool) for ct, a in self.alphas.items()}
        if self.depth() != self.stages[0][1]:
            supernet.set_depth(self.stages[0][1])

    def depth(self) -> int:
        return self.supernet.N if self.supernet.space.family == "nb201" else self.supernet.layers

    def stage_of(self, epoch: int) -> tuple[int, int]:
        """(stage index, first epoch of that stage)."""
        start = 0
        for i, (epochs, *_rest) in enumerate(self.stages):
            if epoch < start + epochs or i == len(self.stages) - 1:
                return i, start
            start += epochs
        return 0, 0

    def arch_active(self, epoch: int, warmup_epochs: int) -> bool:
        _, start = self.stage_of(epoch)
        return epoch - start >= self.stage_warmup

    def skip_dropout(self, epoch: int) -> float:
        stage, start = self.stage_of(epoch)
        epochs, _, _, rate = self.stages[stage]
        return rate * (epochs - (epoch - start) - 1) / epochs

    def on_epoch_start(self, epoch: int, epochs: int) -> bool:
        super().on_epoch_start(epoch, epochs)
        stage, _ = self.stage_of(epoch)
        changed = False
        while self.stage < stage:  # (also replays stage changes when resuming)
            self.stage += 1
            _, depth, keep, _ = self.stages[self.stage]
            self._prune(keep)
            self.supernet.set_depth(depth)
            for ct, m in self.masks.items():
                self.supernet.set_active_ops(ct, m)
            self._reset_alphas()
            changed = True
        self.supernet.set_skip_dropout(self.skip_dropout(epoch))
        return changed

    def _prune(self, keep: int) -> None:
        with torch.no_grad():
            for ct, a in self.alphas.items():
                scores = a.masked_fill(~self.masks[ct], float("-inf"))
                top = scores.topk(min(keep, a.shape[1]), dim=-1).indices
                self.masks[ct] = torch.zeros_like(self.masks[ct]).scatter(1, top, True)

    def _reset_alphas(self) -> None:
        g = torch.Generator().manual_seed(self.seed + 7919 * self.stage)
        with torch.no_grad():
            for a in self.arch_parameters():
                a.copy_(1e-3 * torch.randn(a.shape, generator=g))
        self.a_optimizer.state.clear()

    def mixing_weights(self, phase: str = "train") -> Weights:
        """softmax over the ops still in the space (pruned ops weigh 0)."""
        return {
            ct: torch.softmax(a.masked_fill(~self.masks[ct].to(a.device), float("-inf")), -1)
            for ct, a in self.alphas.items()
        }

    def selection_weights(self) -> Weights:
        """The probabilities with P-DARTS's skip limit: while the derived normal cell has more than
        ``max_skips`` skip connections, the selected skip with the smallest weight is zeroed."""
        probs = {ct: p.clone() for ct, p in self.probabilities().items()}
        edges = self.supernet.edges_of("normal")
        for _ in range(len(edges)):
            arch = magnitude_select(self.supernet, probs)
            chosen = arch.ops if hasattr(arch, "ops") else [op for op, _ in arch.normal]
            skips = []
            for e in edges:
                if "skip_connect" in e.ops:
                    k = e.ops.index("skip_connect")
                    if probs["normal"][e.index, k] > 0 and self._selects(arch, e, "skip_connect"):
                        skips.append((float(probs["normal"][e.index, k]), e.index, k))
            if sum(op == "skip_connect" for op in chosen) <= self.max_skips or not skips:
                break
            _, e, k = min(skips)
            probs["normal"][e, k] = 0.0
        return probs

    @staticmethod
    def _selects(arch: Any, edge: Any, op: str) -> bool:
        if hasattr(arch, "ops"):
            return arch.ops[edge.index] == op
        node = edge.dst - 2
        return (op, edge.src) in arch.normal[2 * node : 2 * node + 2]

    def extra_state(self) -> dict[str, Any]:
        return {"stage": self.stage, "masks": {ct: m.clone() for ct, m in self.masks.items()}}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        if not state:
            return
        self.masks = {ct: m.clone() for ct, m in state["masks"].items()}
        if state["stage"] != self.stage:
            self.stage = state["stage"]
            self.supernet.set_depth(self.stages[self.stage][1])
        for ct, m in self.masks.items():
            self.supernet.set_active_ops(ct, m)
