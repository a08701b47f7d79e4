"""The GNN ranking predictor of RANK-NOSH: learns to *order* architectures from pairwise comparisons.

A GIN (or GCN) encoder over the op-as-node graph (:mod:`predictor_nas.encoding`), a jumping-knowledge
sum readout and an MLP head give one score per architecture. Training minimises a pairwise ranking
loss over pairs ``(a, b)`` where ``a`` should rank above ``b`` (RANK-NOSH, Wang et al. ICCV 2021):

- ``hinge``: ``max(0, m - (s_a - s_b))`` (margin ranking loss);
- ``logistic``: ``log(1 + exp(-(s_a - s_b)))`` (RankNet / BPR);
- ``mse``: regression on per-architecture targets -- the ablation "regression instead of ranking".

Pairs come from a pool whose members were trained to *different* budgets
(:func:`pairs_from_observations`): two candidates compare by their accuracy at the highest budget
both reached; budget 0 holds zero-cost proxy scores, so untrained candidates are ordered by proxies.
Optional per-architecture features (zero-cost proxy scores) join the graph embedding, each scaled by
:func:`rank_scale`; an ensemble averages standardised scores of independently initialised models.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nas_core.options import require_at_least
from nas_core.spaces import SearchSpace
from predictor_nas.encoding import GraphEncoder

log = logging.getLogger(__name__)
LOSSES = ("hinge", "logistic", "mse")


@dataclass
class RankerConfig:
    #: graph convolution of the ranker: gin | gcn
    conv: str = "gin"
    #: width of the ranker's node embeddings (units)
    hidden: int = 64
    #: graph-convolution layers (count)
    layers: int = 3
    #: dropout on the ranker's hidden units (probability)
    dropout: float = 0.0
    #: pairwise ranking loss: hinge | logistic, or mse (regression, an ablation)
    loss: str = "hinge"
    #: hinge margin between the better and the worse score (score units)
    margin: float = 0.1
    #: Adam learning rate of the ranker
    lr: float = 3e-3
    #: Adam weight decay of the ranker
    weight_decay: float = 1e-4
    #: optimisation steps per fit (count)
    steps: int = 300
    #: comparison pairs drawn per step (count)
    pairs_per_step: int = 4096
    #: independently seeded rankers whose scores are averaged (count)
    ensemble: int = 1
    #: the ranker's seed (the study sets it from its own)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.conv not in ("gin", "gcn"):
            raise ValueError(f"conv must be 'gin' or 'gcn', got {self.conv!r}")
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        require_at_least(
            1,
            hidden=self.hidden,
            layers=self.layers,
            steps=self.steps,
            ensemble=self.ensemble,
            pairs_per_step=self.pairs_per_step,
        )


def rank_scale(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Each column of ``values`` as its mid-rank among ``reference``'s column (empirical CDF in [0, 1]),
    centred and scaled to unit variance (a uniform's SD is 1/sqrt(12)).

    Zero-cost scores live on unrelated scales: synflow and zen are logarithms that are ``-inf`` for a cell
    with no path to the output, params and flops are millions, snip is a raw sum, ntk_cond can be ``inf``.
    Ranks need no per-proxy rule, keep ``+-inf`` in order, and cannot blow up a standardisation (a mean
    over a column holding ``-inf`` is ``-inf``); NaN scores sit at the median. ``reference``: scores of
    architectures nobody needs labels for (the ranker's training cells, or every candidate a pool scored).
    """
    values = np.atleast_2d(np.asarray(values, dtype=float))
    reference = np.atleast_2d(np.asarray(reference, dtype=float))
    if values.shape[1] != reference.shape[1]:
        raise ValueError(f"features have {values.shape[1]} columns, the reference {reference.shape[1]}")
    out = np.full(values.shape, 0.5)
    for j in range(values.shape[1]):
        ref = np.sort(reference[~np.isnan(reference[:, j]), j])
        v = values[:, j]
        known = ~np.isnan(v)
        if len(ref):
            below = np.searchsorted(ref, v[known], side="left")
            not_above = np.searchsorted(ref, v[known], side="right")
            out[known, j] = (below + not_above) / (2 * len(ref))
    return (out - 0.5) * np.sqrt(12.0)


def pairwise_loss(better: torch.Tensor, worse: torch.Tensor, kind: str = "hinge", margin: float = 0.1) -> torch.Tensor:
    """Per-pair ranking loss for scores of the architecture that should win (``better``) and lose."""
    diff = better - worse
    if kind == "hinge":
        return F.relu(margin - diff)
    if kind == "logistic":
        return F.softplus(-diff)
    raise ValueError(f"pairwise loss must be 'hinge' or 'logistic', got {kind!r}")


class GraphScorer(nn.Module):
    """Graph -> scalar score: node embedding, ``layers`` GIN/GCN layers, JK sum+mean readout, MLP."""

    def __init__(self, num_node_types: int, config: RankerConfig, num_features: int = 0):
        from torch_geometric.nn import GCNConv, GINConv  # here, not at import: see encoding.py

        super().__init__()
        h = config.hidden
        self.embed = nn.Linear(num_node_types, h)
        self.convs = nn.ModuleList(
            GINConv(nn.Sequential(nn.Linear(h, h), nn.ReLU(), nn.Linear(h, h)))
            if config.conv == "gin"
            else GCNConv(h, h)
            for _ in range(config.layers)
        )
        readout = 2 * h * (config.layers + 1)
        self.head = nn.Sequential(
            nn.Linear(readout + num_features, h), nn.ReLU(), nn.Dropout(config.dropout), nn.Linear(h, 1)
        )

    def forward(self, batch: Any, features: torch.Tensor | None = None) -> torch.Tensor:
        from torch_geometric.nn import global_add_pool, global_mean_pool

        x = self.embed(batch.x)
        pooled = [global_add_pool(x, batch.batch), global_mean_pool(x, batch.batch)]
        for conv in self.convs:
            x = F.relu(conv(x, batch.edge_index))
            pooled += [global_add_pool(x, batch.batch), global_mean_pool(x, batch.batch)]
        z = torch.cat(pooled, dim=1)
        if features is not None:
            z = torch.cat([z, features], dim=1)
        return self.head(z).squeeze(-1)


@dataclass
class Pairs:
    """``better[k]`` should rank above ``worse[k]``; indices into an architecture list."""

    better: np.ndarray
    worse: np.ndarray
    weight: np.ndarray

    def __len__(self) -> int:
        return len(self.better)


def pairs_from_observations(
    observations: Sequence[dict[int, float]],
    min_gap: float = 0.0,
    budget_weight: dict[int, float] | None = None,
    groups: Sequence[Hashable] | None = None,
) -> Pairs:
    """All ordered pairs, each compared at the highest budget both architectures reached.

    ``observations[k]`` maps epoch budgets to the accuracy architecture ``k`` had there (budget 0:
    a zero-cost proxy score). Pairs closer than ``min_gap`` are left out as ties.
    ``budget_weight`` weights pairs by the budget they were compared at (default 1).
    ``groups[k]``: architecture ``k``'s group (e.g. warm-started or not); trained budgets (> 0) then pair
    only architectures of one group, budget 0 pairs everyone.
    """
    n = len(observations)
    budgets = sorted({b for obs in observations for b in obs}, reverse=True)
    if n < 2 or not budgets:
        return Pairs(np.zeros(0, int), np.zeros(0, int), np.zeros(0))
    if groups is not None and len(groups) != n:
        raise ValueError(f"groups has {len(groups)} entries for {n} observations")
    labels = np.array([hash(g) for g in groups]) if groups is not None else np.zeros(n)
    same_group = labels[:, None] == labels[None, :]
    assigned = np.zeros((n, n), dtype=bool)
    np.fill_diagonal(assigned, True)
    better, worse, weight = [], [], []
    for b in budgets:
        v = np.array([obs.get(b, np.nan) for obs in observations], dtype=float)
        has = ~np.isnan(v)
        both = has[:, None] & has[None, :] & ~assigned & (same_group if b > 0 else True)
        with np.errstate(invalid="ignore"):  # -inf - -inf (two zero proxy scores) is a tie
            diff = np.where(both, v[:, None] - v[None, :], 0.0)
        ii, jj = np.nonzero(both & (diff > min_gap))
        better.append(ii)
        worse.append(jj)
        weight.append(np.full(len(ii), (budget_weight or {}).get(b, 1.0)))
        assigned |= both
    return Pairs(np.concatenate(better), np.concatenate(worse), np.concatenate(weight))


def pairs_from_scores(values: Sequence[float], min_gap: float = 0.0) -> Pairs:
    """Pairs ordered by one score per architecture (all trained to the same budget)."""
    return pairs_from_observations([{1: float(v)} for v in values], min_gap)


@contextmanager
def _one_cpu_thread(device: torch.device) -> Iterator[None]:
    """Run on one CPU thread: the graphs are tiny, so intra-op parallelism only adds synchronisation
    (measured 11x slower with 2 threads when another process shares the cores)."""
    if device.type != "cpu":
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


class Ranker:
    """Fits :class:`GraphScorer` models to pairs (or targets) and scores architectures."""

    def __init__(
        self,
        space: SearchSpace,
        config: RankerConfig | None = None,
        device: str | torch.device = "cpu",
        encoder: GraphEncoder | None = None,
    ):
        self.space, self.config = space, config or RankerConfig()
        self.encoder = encoder or GraphEncoder(space)  # (share one to reuse its encodings across fits)
        self.device = torch.device(device)
        self.models: list[GraphScorer] = []
        self._feature_reference: np.ndarray | None = None

    def _features(
        self, features: np.ndarray | None, fit: bool = False, reference: np.ndarray | None = None
    ) -> torch.Tensor | None:
        if fit:
            source = features if reference is None else reference
            self._feature_reference = None if features is None else np.asarray(source, dtype=float)
        if (features is None) != (self._feature_reference is None):
            fitted = "with" if self._feature_reference is not None else "without"
            raise ValueError(f"the ranker was fitted {fitted} features; score {fitted} them")
        if features is None:
            return None
        scaled = rank_scale(features, self._feature_reference)
        return torch.as_tensor(scaled, dtype=torch.float32, device=self.device)

    def fit(
        self,
        archs: Sequence[Any],
        pairs: Pairs | None = None,
        targets: Sequence[float] | None = None,
        features: np.ndarray | None = None,
        init_from: Ranker | None = None,
        feature_reference: np.ndarray | None = None,
    ) -> Ranker:
        """Train ``config.ensemble`` models, fresh or starting from ``init_from``'s (fine-tuning a
        pre-trained ranker: model k starts from its model k mod its ensemble size). Ranking losses use
        ``pairs``; ``mse`` uses ``targets``. ``features``: one row of zero-cost scores per architecture,
        rank-scaled (:func:`rank_scale`) against ``feature_reference`` (default: ``features`` themselves)."""
        with _one_cpu_thread(self.device):
            return self._fit(archs, pairs, targets, features, init_from, feature_reference)

    def _fit(
        self,
        archs: Sequence[Any],
        pairs: Pairs | None,
        targets: Sequence[float] | None,
        features: np.ndarray | None,
        init_from: Ranker | None = None,
        feature_reference: np.ndarray | None = None,
    ) -> Ranker:
        cfg = self.config
        if cfg.loss == "mse":
            if targets is None or len(targets) != len(archs):
                raise ValueError("the mse loss needs one target per architecture")
        elif pairs is None or len(pairs) == 0:
            raise ValueError(f"the {cfg.loss} loss needs at least one pair")
        batch = self.encoder.batch(archs).to(self.device)
        feats = self._features(features, fit=True, reference=feature_reference)
        y = None
        if targets is not None:
            t = torch.as_tensor(np.asarray(targets, dtype=np.float32), device=self.device)
            y = (t - t.mean()) / t.std().clamp_min(1e-6)
        self.models = []
        for k in range(cfg.ensemble):
            torch.manual_seed(cfg.seed * 1000 + k)
            g = torch.Generator().manual_seed(cfg.seed * 1000 + k)
            model = GraphScorer(self.encoder.num_node_types, cfg, 0 if feats is None else feats.shape[1])
            if init_from is not None:
                if not init_from.models:
                    raise ValueError("init_from is a ranker that was never fitted")
                model.load_state_dict(init_from.models[k % len(init_from.models)].state_dict())
            model.to(self.device)
            opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, foreach=True)
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.steps)
            model.train()
            for _ in range(cfg.steps):
                scores = model(batch, feats)
                loss = self._loss(scores, pairs, y, g)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
            model.eval()
            self.models.append(model)
        return self

    def _loss(
        self, scores: torch.Tensor, pairs: Pairs | None, y: torch.Tensor | None, g: torch.Generator
    ) -> torch.Tensor:
        cfg = self.config
        if cfg.loss == "mse":
            return F.mse_loss(scores, y)
        n = len(pairs)
        pick = (
            torch.randint(0, n, (min(n, cfg.pairs_per_step),), generator=g)
            if n > cfg.pairs_per_step
            else torch.arange(n)
        )
        a = torch.as_tensor(pairs.better, device=self.device)[pick.to(self.device)]
        b = torch.as_tensor(pairs.worse, device=self.device)[pick.to(self.device)]
        w = torch.as_tensor(pairs.weight, dtype=torch.float32, device=self.device)[pick.to(self.device)]
        per_pair = pairwise_loss(scores[a], scores[b], cfg.loss, cfg.margin)
        return (per_pair * w).sum() / w.sum()

    @torch.no_grad()
    def score(self, archs: Sequence[Any], features: np.ndarray | None = None, chunk: int = 4096) -> np.ndarray:
        """Higher = predicted better. Ensemble members' scores are standardised and averaged."""
        with _one_cpu_thread(self.device):
            return self._score(archs, features, chunk)

    def _score(self, archs: Sequence[Any], features: np.ndarray | None, chunk: int) -> np.ndarray:
        if not self.models:
            raise RuntimeError("fit the ranker before scoring")
        feats = self._features(features)
        out = np.zeros(len(archs))
        for model in self.models:
            parts = []
            for start in range(0, len(archs), chunk):
                batch = self.encoder.batch(archs[start : start + chunk]).to(self.device)
                f = None if feats is None else feats[start : start + chunk]
                parts.append(model(batch, f).float().cpu().numpy())
            s = np.concatenate(parts)
            out += (s - s.mean()) / (s.std() + 1e-9)
        return out / len(self.models)
