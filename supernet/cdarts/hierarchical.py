"""Hierarchical ICDARTS, version 1: the skip-connection (template) search of Herron 2023, ch. 6.

After the micro (cell) search, an intermediate *macro* phase searches the network template: cell
``i`` always reads the previous cell's output, and its second input -- a skip connection, by default
from the cell before that -- may come from any earlier cell or the stem. The macro search network
S_macro mixes all candidate skips of cell ``i`` with softmax(γ_i) weights (DenseNet-like); the macro
evaluation network E_macro keeps, for every cell, only the skip with the largest γ (§6, version 1).
The phase is Algorithm 4: Algorithm 1 with γ for α and Eqs. 6.1-6.4 for 3.5/3.9-3.11 -- S pre-trained,
then every epoch E_macro regenerated from γ, warmed up with CE on the validation half (6.1), and
γ (CE_S(val) + λ KD, 6.2), w_S (CE_S(train) + λ KD, 6.3) and w_E (CE_E(train), 6.4) updated per batch.

Choices the dissertation leaves open (its Figs. 6.2-6.4 are missing from the text): γ starts at
``-(distance to the default skip)``, so the nearest skip weighs most; a skip that crosses reductions
is adapted like DARTS's cell inputs (ReLU-1x1-BN at the same resolution, FactorizedReduce across one
reduction, a 2x2 average pool first for each further one); the macro networks have no auxiliary-head
ensemble; the stated macro learning rate 3e-3 is used for γ's Adam (the weights keep the search's SGD
settings). Version 2 (four normal cell types placed per depth) is in ``supernet.cdarts.hierarchical_v2``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from nas_core.networks.darts import CellSlot, DartsCell, darts_layout, make_stem
from nas_core.ops import FactorizedReduce, ReLUConvBN
from nas_core.spaces import Genotype, get_space
from nas_core.training import resolve_device
from nas_core.training.trainer import autocast_dtype
from supernet.cdarts.method import distillation_loss
from supernet.engine import distributed
from supernet.engine.diff_search import DiffSearch, DiffSearchConfig, search_loaders


def default_skip(cell: int) -> int:
    """The DARTS template's skip source of ``cell``: state ``cell - 1`` (state 0 is the stem, state k + 1
    the output of cell k), i.e. the cell before the previous one."""
    return max(cell - 1, 0)


def initial_gamma(layers: int) -> list[torch.Tensor]:
    """γ_i over cell i's candidate sources 0..max(i-1, 0), largest (0) at the default skip, -1 per step away."""
    return [torch.tensor([-float(default_skip(i) - j) for j in range(default_skip(i) + 1)]) for i in range(layers)]


def skip_adapter(c_in: int, c_out: int, halvings: int) -> nn.Module:
    """Bring a state with ``c_in`` channels, ``halvings`` reductions before the cell, to the cell's input."""
    if halvings == 0:
        return ReLUConvBN(c_in, c_out, 1, 1, 0)
    if halvings == 1:
        return FactorizedReduce(c_in, c_out)
    pools = [nn.AvgPool2d(2, ceil_mode=True) for _ in range(halvings - 1)]
    return nn.Sequential(*pools, FactorizedReduce(c_in, c_out))


class SkipNetwork(nn.Module):
    """A DARTS network of one genotype whose cell ``i`` reads (skip source(s), cell i-1).

    ``sources[i]`` lists the candidate skip states of cell ``i``; with one per cell it is E_macro, with
    several the forward pass takes per-cell mixing weights (S_macro)."""

    def __init__(
        self,
        genotype: Genotype,
        sources: Sequence[Sequence[int]],
        *,
        C: int,
        layers: int,
        num_classes: int,
        in_channels: int,
        stem_multiplier: int = 3,
    ):
        super().__init__()
        multipliers = (len(genotype.normal_concat), len(genotype.reduce_concat))
        slots = darts_layout(C, layers, multipliers, stem_multiplier=stem_multiplier)
        if len(sources) != layers:
            raise ValueError(f"need skip sources for {layers} cells, got {len(sources)}")
        self.sources = [tuple(s) for s in sources]
        # channels of every state: the stem's, then each cell's (the nodes it concatenates times its C)
        channels = [stem_multiplier * C] + [multipliers[slot.reduction] * slot.C for slot in slots]
        reductions = [slot.reduction for slot in slots]
        self.stem = make_stem("conv3x3", in_channels, stem_multiplier * C)
        self.cells = nn.ModuleList()
        self.adapters = nn.ModuleList()
        for i, slot in enumerate(slots):
            for j in self.sources[i]:
                if not 0 <= j <= default_skip(i):
                    raise ValueError(f"cell {i} can skip from states 0..{default_skip(i)}, got {j}")
            cell = DartsCell(genotype, CellSlot(slot.C, channels[i], slot.C, slot.reduction, False))
            cell.preprocess0 = nn.Identity()  # the skip adapters below take its place
            self.cells.append(cell)
            self.adapters.append(
                nn.ModuleList(skip_adapter(channels[j], slot.C, sum(reductions[j:i])) for j in self.sources[i])
            )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(channels[-1], num_classes)

    def forward(self, x: torch.Tensor, weights: Sequence[torch.Tensor] | None = None) -> torch.Tensor:
        states = [self.stem(x)]
        for i, cell in enumerate(self.cells):
            skips = [adapt(states[j]) for adapt, j in zip(self.adapters[i], self.sources[i])]
            if weights is None:
                if len(skips) != 1:
                    raise ValueError(f"cell {i} has {len(skips)} skip candidates; pass mixing weights")
                s0 = skips[0]
            else:
                s0 = sum(w * h for w, h in zip(weights[i], skips))
            states.append(cell(s0, states[i]))
        return self.classifier(self.pool(states[-1]).flatten(1))


def relabel(key: str, head: str, label: Callable[[int], str], drop: int = 0) -> str:
    """A bank name: ``head.<i>.<rest>`` becomes ``head.<i>.<label(i)>.<rest>`` (its first ``drop`` parts
    dropped); other keys stay as they are."""
    parts = key.split(".")
    if parts[0] != head:
        return key
    return ".".join([head, parts[1], label(int(parts[1])), *parts[2 + drop :]])


@dataclass
class MacroResult:
    genotype: str
    skips: list[int]  # the chosen skip state of every cell
    history: list[dict[str, Any]] = field(default_factory=list)


class PhaseHooks:
    """What :class:`DiffSearch`'s loop asks of its method, for a cyclic phase whose architecture parameters
    are plain tensors (γ per cell or depth, α per cell type) rather than a :class:`Method`'s α per edge."""

    def __init__(self, arch: nn.ParameterList, optimizer: torch.optim.Optimizer):
        self.arch, self.a_optimizer = arch, optimizer

    def arch_parameters(self) -> list[nn.Parameter]:
        return list(self.arch)

    def on_epoch_start(self, epoch: int, epochs: int) -> bool:
        return False

    def arch_active(self, epoch: int, warmup_epochs: int) -> bool:
        return epoch >= warmup_epochs

    def should_stop(self, history: list[dict[str, Any]]) -> bool:
        return False

    def final_alphas(self, history: list[dict[str, Any]]) -> None:
        pass


class CyclicPhase(DiffSearch):
    """ICDARTS's cyclic loop (Algorithm 1, as Algorithm 4 restates it for a macro phase) over any search
    network ``S(x, mixing weights)`` with architecture parameters ``self.arch`` and a discretisation
    ``choice()`` that builds the evaluation network E. Per epoch after ``config.warmup_epochs`` of S
    pre-training: E regenerated (weights it shares with earlier E's inherited from a bank keyed by
    ``bank_key``), warmed up ``eval_warmup_epochs`` times with CE on the validation half (Eq. 6.1), then
    per batch the architecture (CE_S(val) + λ KD, 6.2), w_S (CE_S(train) + λ KD, 6.3) and w_E
    (CE_E(train), 6.4). Subclasses build ``self.S`` and ``self.arch`` and then call ``_optimisers``.

    The epochs run in :meth:`DiffSearch.run` -- the one loop of every differentiable search -- so a phase
    resumes from ``run_dir/search.pt`` (S, γ/α, E and its weight bank, optimisers, RNG), autocasts like
    the other searches (bf16 on CUDA) and runs data parallel under ``torchrun`` (batches sharded, the
    gradients of S, E and the architecture averaged over the ranks before each step)."""

    eval_warmup_epochs = 1

    def __init__(
        self,
        config: DiffSearchConfig,
        distill_weight: float = 1.0,
        temperature: float = 2.0,
        on_epoch: Callable[[dict[str, Any]], None] | None = None,
        run_dir: str | Path | None = None,
    ):
        # not DiffSearch.__init__: a phase builds its own search network instead of a Supernet
        self.config, self.on_epoch = config, on_epoch
        self.run_dir = Path(run_dir) if run_dir else None
        distributed.init_from_env()
        self.device = distributed.local_device(resolve_device(config.device))
        self._sync_handles: list = []
        self.space = get_space(config.space)
        self.loaders = search_loaders(config, self.device)
        self.train_loader, self.valid_loader, self.valid_eval = (
            self.loaders.train,
            self.loaders.valid,
            self.loaders.valid_eval,
        )
        self.num_classes, self.shape = self.loaders.num_classes, self.loaders.shape
        self.distill_weight, self.temperature = distill_weight, temperature
        self._amp = autocast_dtype(config.amp, self.device)
        torch.manual_seed(config.seed)
        self.E: nn.Module | None = None
        self.E_choice: Any = None
        self.bank: dict[str, torch.Tensor] = {}
        self.epoch, self.history, self.selection_log, self.seconds = 0, [], [], 0.0
        self._rng = torch.Generator().manual_seed(config.seed).get_state()

    def _optimisers(self, arch_lr: float, arch_weight_decay: float = 0.0) -> None:
        cfg = self.config
        self.supernet = self.S  # what the shared loop broadcasts and checkpoints
        self.w_optimizer = self._sgd(self.S, cfg.w_lr)
        self.a_opt = torch.optim.Adam(
            self.arch.parameters(), lr=arch_lr, betas=cfg.a_betas, weight_decay=arch_weight_decay
        )
        self.method = PhaseHooks(self.arch, self.a_opt)
        self.scheduler = self._make_scheduler()
        if distributed.active():
            distributed.broadcast_from_main([*self.S.parameters(), *self.arch.parameters(), *self.S.buffers()])

    @property
    def w_opt(self) -> torch.optim.Optimizer:
        return self.w_optimizer

    def _sgd(self, net: nn.Module, lr: float) -> torch.optim.Optimizer:
        cfg = self.config
        return torch.optim.SGD(net.parameters(), lr=lr, momentum=cfg.w_momentum, weight_decay=cfg.w_weight_decay)

    def network_size(self) -> dict[str, int]:
        """The search network's size and the data's shape, as the phase's networks take them."""
        return dict(
            **self.config.size_kwargs(), num_classes=self.loaders.num_classes, in_channels=self.loaders.shape[0]
        )

    def weights(self) -> list[torch.Tensor]:
        """The mixing weights S runs with: a softmax over the last dimension of each architecture parameter."""
        return [torch.softmax(a, -1) for a in self.arch]

    # -- what a phase defines ----------------------------------------------------------------------------

    def choice(self) -> Any:
        """The discretisation of the architecture parameters that E is built from."""
        raise NotImplementedError

    def build_eval(self, choice: Any) -> nn.Module:
        raise NotImplementedError

    def bank_key(self, key: str, choice: Any) -> str:
        """The name under which E's state entry ``key`` is banked (shared by every E that holds it)."""
        return key

    def describe(self) -> dict[str, Any]:
        """What the epoch's history entry records of the architecture."""
        return {}

    def arch_values(self) -> list[list[float]]:
        return [a.detach().cpu().tolist() for a in self.arch]

    # -- E -----------------------------------------------------------------------------------------------
    def regenerate(self) -> None:
        """A new E from ``choice()``; weights it shares with earlier E's (same bank key) are kept."""
        if self.E is not None:
            for key, value in self.E.state_dict().items():
                self.bank[self.bank_key(key, self.E_choice)] = value.detach().clone()
        self._set_eval(self.choice())

    def _set_eval(self, choice: Any, state: dict[str, torch.Tensor] | None = None) -> None:
        E = self.build_eval(choice).to(self.device)
        if state is None:
            state = E.state_dict()
            for key in state:
                banked = self.bank.get(self.bank_key(key, choice))
                if banked is not None and banked.shape == state[key].shape:
                    state[key] = banked
        E.load_state_dict(state)
        if distributed.active():  # fresh E weights come from each rank's RNG: rank 0's for all
            distributed.broadcast_from_main([*E.parameters(), *E.buffers()])
        self.E, self.E_choice, self.e_opt = E, choice, self._sgd(E, self.w_optimizer.param_groups[0]["lr"])

    def _autocast(self) -> Any:
        return torch.autocast(self.device.type, dtype=self._amp, enabled=self._amp is not None)

    def _clip_step(self, net: nn.Module, opt: torch.optim.Optimizer) -> None:
        distributed.average_gradients(net.parameters())
        if self.config.grad_clip:
            nn.utils.clip_grad_norm_(net.parameters(), self.config.grad_clip)
        opt.step()

    def _kd(self, student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
        return self.distill_weight * distillation_loss(student, teacher.detach(), self.temperature)

    def _warm_up_eval(self, epoch: int) -> None:
        valid = self.loaders.valid
        self.E.train()
        for k in range(self.eval_warmup_epochs):  # Eq. 6.1 / 3.5
            valid.set_epoch(10_000 * (k + 1) + epoch)
            for batch in valid:
                x, y = distributed.shard(batch)
                self.e_opt.zero_grad(set_to_none=True)
                with self._autocast():
                    loss = F.cross_entropy(self.E(x), y)
                loss.backward()
                self._clip_step(self.E, self.e_opt)
        valid.set_epoch(epoch)

    # -- one epoch of the phase (DiffSearch.run calls it) ------------------------------------------------
    def train_epoch(self, update_arch: bool) -> tuple[float, float]:
        train, valid, epoch = self.loaders.train, self.loaders.valid, self.epoch
        train.set_epoch(epoch)
        valid.set_epoch(epoch)
        if update_arch:
            self.regenerate()
            self._warm_up_eval(epoch)
        loss_sum, correct, seen = 0.0, 0, 0
        self.S.train()
        for train_batch, valid_batch in zip(train, valid):
            (xt, yt), (xv, yv) = distributed.shard(train_batch), distributed.shard(valid_batch)
            if update_arch:  # Eq. 6.2: the architecture on the validation batch
                self.a_opt.zero_grad(set_to_none=True)
                with self._autocast():
                    zs = self.S(xv, self.weights())
                    with torch.no_grad():
                        ze = self.E(xv)
                    arch_loss = F.cross_entropy(zs, yv) + self._kd(zs, ze)
                arch_loss.backward()
                distributed.average_gradients(self.arch.parameters())
                self.a_opt.step()
            with self._autocast():
                zs = self.S(xt, [w.detach() for w in self.weights()])
                loss = F.cross_entropy(zs, yt)
                if update_arch:  # Eqs. 6.3 and 6.4
                    ze = self.E(xt)
                    loss = loss + self._kd(zs, ze) + F.cross_entropy(ze, yt)
            if update_arch:
                self.e_opt.zero_grad(set_to_none=True)
                for group in self.e_opt.param_groups:
                    group["lr"] = self.w_optimizer.param_groups[0]["lr"]
            self.w_optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self._clip_step(self.S, self.w_optimizer)
            if update_arch:
                self._clip_step(self.E, self.e_opt)
            loss_sum += float(loss.detach()) * len(yt)
            correct += int((zs.argmax(1) == yt).sum())
            seen += len(yt)
        if distributed.active() and self.E is not None:
            distributed.broadcast_from_main(self.E.buffers())
        return loss_sum / max(seen, 1), 100.0 * correct / max(seen, 1)

    def _record(self, train_loss: float, train_acc: float, lr: float, seconds: float) -> dict[str, Any]:
        entry = {
            "epoch": self.epoch,
            "train_loss": train_loss,
            "train_acc": train_acc,
            "lr": lr,
            **self.describe(),
            "seconds": seconds,
        }
        if distributed.active():  # as DiffSearch records: the architecture and S agree on every rank
            entry["world_size"] = distributed.rank_and_world()[1]
            entry["alpha_rank_difference"] = distributed.max_difference(self.arch.parameters())
            entry["weight_rank_difference"] = distributed.max_difference(self.S.parameters())
        return entry

    def select(self) -> Any:
        return self.choice()

    def architecture_string(self, arch: Any) -> str:
        return json.dumps(arch) if isinstance(arch, list) else str(arch)

    def parse_choice(self, text: str) -> Any:
        """The inverse of :meth:`architecture_string` for E's discretisation (checkpoints hold strings)."""
        return json.loads(text)

    def run_epochs(self) -> list[dict[str, Any]]:
        """Run (or resume) the phase: :meth:`DiffSearch.run`'s loop; the per-epoch history."""
        DiffSearch.run(self)
        return self.history

    # -- resumable state -----------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "S": self.S.state_dict(),
            "arch": [a.detach().clone() for a in self.arch],
            "a_opt": self.a_opt.state_dict(),
            "w_optimizer": self.w_optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "E": self.E.state_dict() if self.E is not None else None,
            "E_choice": None if self.E_choice is None else self.architecture_string(self.E_choice),
            "bank": self.bank,
            "rng": self._rng,
            "history": self.history,
            "seconds": self.seconds,
            "config": self.config.to_dict(),
        }

    def _resume(self) -> None:
        state = self._saved_state()
        if state is None:
            return
        self.S.load_state_dict(state["S"])
        with torch.no_grad():
            for a, saved_a in zip(self.arch, state["arch"]):
                a.copy_(saved_a)
        self.a_opt.load_state_dict(state["a_opt"])
        self.w_optimizer.load_state_dict(state["w_optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.bank = state["bank"]
        if state["E_choice"] is not None:
            self._set_eval(self.parse_choice(state["E_choice"]), state["E"])
        self.epoch, self._rng, self.history, self.seconds = (
            state["epoch"],
            state["rng"],
            state["history"],
            state["seconds"],
        )


class MacroSearch(CyclicPhase):
    """Version 1's macro phase (module docstring) for ``genotype`` with the data and optimiser settings
    of ``config`` (its ``network`` sizes the macro networks, ``epochs``/``warmup_epochs`` the phase)."""

    def __init__(self, genotype: str | Genotype, config: DiffSearchConfig, gamma_lr: float = 3e-3, **options: Any):
        super().__init__(config, **options)
        self.genotype = get_space(config.space).parse(genotype)
        layers = config.size_kwargs()["layers"]
        self.S = self._network([tuple(range(default_skip(i) + 1)) for i in range(layers)])
        self.gamma = self.arch = nn.ParameterList(nn.Parameter(g.to(self.device)) for g in initial_gamma(layers))
        self._optimisers(gamma_lr)

    @property
    def E_skips(self) -> list[int]:
        return self.E_choice

    def _network(self, sources: Sequence[Sequence[int]]) -> SkipNetwork:
        return SkipNetwork(self.genotype, sources, **self.network_size()).to(self.device)

    def skips(self) -> list[int]:
        """E_macro's discretisation: each cell keeps its largest-γ skip (ties: the nearest)."""
        return [max(range(len(g)), key=lambda j: (float(g[j].detach()), j)) for g in self.gamma]

    choice = skips

    def build_eval(self, choice: list[int]) -> nn.Module:
        return self._network([(s,) for s in choice])

    def bank_key(self, key: str, choice: list[int]) -> str:
        return relabel(key, "adapters", lambda i: f"from{choice[i]}", drop=1)  # adapters.<cell>.0: by source

    def describe(self) -> dict[str, Any]:
        return {"skips": self.skips(), "gamma": self.arch_values()}

    def run(self) -> MacroResult:
        history = self.run_epochs()
        return MacroResult(str(self.genotype), self.skips(), history)
