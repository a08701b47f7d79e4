"""The contract of a differentiable search method, and the registry of methods by name.

A method owns its architecture parameters and decides, for every forward pass, the supernet's
mixing weights (softmax, Dirichlet sample, Gumbel sample, sigmoid ...). It also owns its update
rules: the architecture step (first or second order, perturbations), the weight step (SDARTS
perturbs the mixing weights there), extra loss terms, and per-epoch schedule hooks.

Defaults are DARTS's CIFAR-10 search settings (Liu et al. 2019): α ~ 1e-3 N(0, 1), Adam lr 3e-4,
betas (0.5, 0.999), weight decay 1e-3; methods override what their papers change.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from nas_core.registry import Registry
from supernet.engine import distributed
from supernet.engine.selection import magnitude_select
from supernet.engine.supernet import Supernet, Weights

Batch = tuple[torch.Tensor, torch.Tensor]


@dataclass
class StepContext:
    """What an architecture step may need from the search loop."""

    epoch: int
    epochs: int
    w_optimizer: torch.optim.Optimizer
    w_lr: float
    w_momentum: float
    w_weight_decay: float


@dataclass
class SearchData:
    """What the search loop lends a method that trains more than the supernet (CDARTS's evaluation
    network): the two loaders, the data's shape, the current weight learning rate, the SGD settings,
    the α warm-up length and the autocast context."""

    train: Any
    valid: Any
    num_classes: int
    shape: tuple[int, ...]
    lr: Callable[[], float]
    momentum: float
    weight_decay: float
    grad_clip: float | None
    warmup_epochs: int
    autocast: Callable[[], AbstractContextManager]


#: α's Adam settings (DARTS, Liu et al. 2019: lr 3e-4, betas (0.5, 0.999), weight decay 1e-3); declared once,
#: here, for the methods and :class:`supernet.engine.diff_search.DiffSearchConfig`
A_LR = 3e-4
A_BETAS = (0.5, 0.999)
A_WEIGHT_DECAY = 1e-3


class Method:
    """Plain DARTS relaxation (softmax over α) with a first-order architecture step."""

    name: ClassVar[str] = "darts"
    paper: ClassVar[str] = "Liu, Simonyan, Yang. DARTS. ICLR 2019"
    #: search-config overrides from the method's paper (applied unless the user sets them)
    defaults: ClassVar[dict[str, Any]] = {}
    #: method options of ``nas diff``'s CPU-sized ``quick`` preset (explicit options win)
    quick_options: ClassVar[dict[str, Any]] = {}

    def __init__(
        self,
        supernet: Supernet,
        a_lr: float = A_LR,
        a_betas: tuple[float, float] = A_BETAS,
        a_weight_decay: float = A_WEIGHT_DECAY,
        seed: int = 0,
        **options: Any,
    ):
        if options:
            raise ValueError(f"method {self.name!r} got unknown option(s) {sorted(options)}")
        self.supernet = supernet
        like = next(supernet.parameters())
        g = torch.Generator().manual_seed(seed)
        self.alphas = nn.ParameterDict(
            {
                ct: nn.Parameter((1e-3 * torch.randn(*supernet.alpha_shape(ct), generator=g)).to(like))
                for ct in supernet.cell_types
            }
        )
        self.a_optimizer = torch.optim.Adam(self.arch_parameters(), lr=a_lr, betas=a_betas, weight_decay=a_weight_decay)
        self.epoch, self.epochs = 0, 1

    # -- parameters and mixing weights -----------------------------------------------------------
    def arch_parameters(self) -> list[nn.Parameter]:
        return list(self.alphas.values())

    def mixing_weights(self, phase: str = "train") -> Weights:
        """Weights for one forward pass; ``phase`` is ``train`` (weight step), ``valid`` (arch step)
        or ``eval`` (deterministic: evaluation and selection)."""
        return {ct: F.softmax(a, dim=-1) for ct, a in self.alphas.items()}

    def probabilities(self) -> Weights:
        """The learned distribution over ops per edge (selection, diagnostics, hybrid sampling)."""
        with torch.no_grad():
            return {ct: w.detach() for ct, w in self.mixing_weights("eval").items()}

    def selection_weights(self) -> Weights:
        """What magnitude selection ranks (default: :meth:`probabilities`; PC-DARTS scales by β)."""
        return self.probabilities()

    def edge_weights(self, phase: str = "train") -> Weights | None:
        """Per-edge weights (PC-DARTS edge normalisation); None for methods without them."""
        return None

    def derive_architecture(self) -> Any:
        """The discrete architecture the current α stands for (DARTS derivation by default)."""
        return magnitude_select(self.supernet, self.selection_weights())

    def final_architecture(self, arch: Any) -> Any:
        """The architecture to retrain, from the selected one (ICDARTS V3/V4 turn ``random`` into zero)."""
        return arch

    def bind_data(self, data: SearchData) -> None:
        """Called once by the search loop before the weight optimiser exists (a method may add
        supernet modules here, such as CDARTS's distillation heads)."""

    def diagnostics(self) -> dict[str, Any]:
        """Extra per-epoch entries for the search history."""
        return {}

    # -- losses and steps --------------------------------------------------------------------------
    def forward(self, x: torch.Tensor, phase: str, weights: Weights | None = None) -> torch.Tensor:
        return self.supernet(
            x, weights if weights is not None else self.mixing_weights(phase), self.edge_weights(phase)
        )

    def regularizer(self) -> torch.Tensor | float:
        """Extra terms added to the architecture loss."""
        return 0.0

    def arch_loss(self, batch: Batch) -> torch.Tensor:
        x, y = batch
        return F.cross_entropy(self.forward(x, "valid"), y) + self.regularizer()

    #: single-level methods (SNAS, GAEA-ERM) update α on the training batch instead of the valid one
    single_level: bool = False

    def arch_step(self, train: Batch, valid: Batch, ctx: StepContext) -> float:
        """First order: one optimiser step on ∇_α L_val(w, α) (∇_α L_train when ``single_level``)."""
        self.a_optimizer.zero_grad(set_to_none=True)
        loss = self.arch_loss(train if self.single_level else valid)
        loss.backward()
        self.a_optimizer.step()
        return float(loss.detach())

    def weight_step(self, train: Batch, ctx: StepContext, grad_clip: float | None) -> tuple[torch.Tensor, torch.Tensor]:
        """One SGD step of the supernet weights on the training batch; returns (loss, logits)."""
        x, y = train
        logits = self.forward(x, "train", self.train_weights(train, ctx))
        loss = F.cross_entropy(logits, y)
        self.step_weights(loss, ctx, grad_clip)
        return loss.detach(), logits.detach()

    def step_weights(self, loss: torch.Tensor, ctx: StepContext, grad_clip: float | None) -> None:
        """Backward ``loss`` and take one clipped SGD step of the supernet weights (α untouched); under
        data parallelism the gradients are averaged over the ranks before clipping."""
        ctx.w_optimizer.zero_grad(set_to_none=True)
        self.a_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        distributed.average_gradients(self.supernet.parameters())
        if grad_clip:
            nn.utils.clip_grad_norm_(self.supernet.parameters(), grad_clip)
        ctx.w_optimizer.step()

    def train_weights(self, train: Batch, ctx: StepContext) -> Weights | None:
        """Mixing weights for the weight step (None: ``mixing_weights("train")``). SDARTS perturbs here."""
        return None

    # -- schedules ----------------------------------------------------------------------------------
    def on_epoch_start(self, epoch: int, epochs: int) -> bool:
        """Per-epoch schedules; returns True if the supernet's weights were rebuilt (new optimiser needed)."""
        self.epoch, self.epochs = epoch, epochs
        return False

    def on_batch_start(self) -> None:
        """Per-batch randomness shared by the batch's weight and architecture steps (SP-DARTS)."""

    def arch_active(self, epoch: int, warmup_epochs: int) -> bool:
        """Whether α is updated in ``epoch`` (α is frozen during warm-up)."""
        return epoch >= warmup_epochs

    def weight_decay_override(self) -> float | None:
        """A weight decay for the supernet weights that replaces the search default (R-DARTS L2)."""
        return None

    def should_stop(self, history: list[dict[str, Any]]) -> bool:
        """Early stopping (DARTS+, R-DARTS) reads the per-epoch diagnostics history."""
        return False

    def final_alphas(self, history: list[dict[str, Any]]) -> None:
        """Hook to roll α back before selection (R-DARTS early stopping returns an earlier α)."""

    # -- resumable state ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "alphas": {ct: a.detach().clone() for ct, a in self.alphas.items()},
            "a_optimizer": self.a_optimizer.state_dict(),
            "extra": self.extra_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        with torch.no_grad():
            for ct, a in state["alphas"].items():
                self.alphas[ct].copy_(a)
        self.a_optimizer.load_state_dict(state["a_optimizer"])
        self.load_extra_state(state.get("extra", {}))

    def extra_state(self) -> dict[str, Any]:
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        pass


#: every differentiable method by name (``get_method``); ``@register_method("name")`` adds one
METHODS: Registry[type[Method]] = Registry("method")


def register_method(name: str) -> Callable[[type[Method]], type[Method]]:
    def decorator(cls: type[Method]) -> type[Method]:
        cls.name = name
        return METHODS.add(name, cls)

    return decorator


def method_names() -> list[str]:
    return METHODS.names()


def get_method(name: str) -> type[Method]:
    return METHODS.get(name)
