"""CDARTS and ICDARTS: a search network S (the supernet) and an evaluation network E (discretised from
S's α) trained together with distillation between them (Yu et al. 2020; Herron 2023, ch. 3-4).

Losses (dissertation Eqs. 3.6-3.11; KD = Eq. 3.7, ``T² · KL(p_E ‖ q_S)`` averaged over the batch):

=========  ===========================================  ============================================
network    CDARTS (Eq. 3.6)                              ICDARTS (Eqs. 3.9-3.11)
=========  ===========================================  ============================================
α          CE_S(val) + λ KD(val)                         CE_S(val) + λ KD(val) [+ δ P(α), Eq. 4.1]
w_S        CE_S(train)                                   CE_S(train) + λ KD(train)
w_E        CE_E(val) + λ KD(val), jointly with α          CE_E(train)
=========  ===========================================  ============================================

The ablation routes of Table 3.6 are the switches ``ws_kd`` (KD in the w_S loss), ``we_kd`` (KD
reaches w_E) and ``we_split`` (E trains on ``valid`` or ``train``): CDARTS is (False, True, valid),
A1 (True, True, valid), A2 (True, False, valid), B1 (False, True, train), B2 (False, False, train),
ICDARTS (True, False, train). A term that updates one network treats the other's logits as constants.

Algorithm 1: S is pre-trained with CE for ``warmup_epochs`` (2) with α fixed; then every
``update_every`` epochs (S_U = 1 epoch) E is regenerated from the current α (DARTS discretisation, or
I-DARTS's with ``cell="idarts"``: top-2 (edge, op) pairs per node under one node-level softmax, or
XDARTS's with ``cell="xdarts"``: node j keeps j + 2 pairs, §4.2) and warmed up for
``eval_warmup_epochs`` (1) epochs with CE on
``eval_warmup_split`` (Algorithm 1 says Eq. 3.5, the validation split), before the joint epoch.

Zero operation (§3.2.2, Table 3.1), ``zero_op``: V0 ``none`` in the search, excluded from E and the
retrained network (space ``darts``); V1 no zero op (``darts-nozero``, the ICDARTS default); V2-V4 the
``random`` op in the search (``darts-random``), which E keeps (V2, V3) or turns into zero (V4), and the
retrained network keeps (V2) or turns into zero (V3, V4). ``None`` infers V0/V1/V2 from the space.

Both networks carry the auxiliary-head structure of §3.1.1: a DARTS auxiliary head after each of the
two reduction cells, combined with the final classifier by softmax weights into the network's output,
used for both CE and KD (``heads=False`` drops it, Table 3.4's ablation). The official CDARTS code
applies CE to the final classifier only; the dissertation describes one combined output.

Settings the dissertation leaves open, from the CDARTS code: λ = 1, T = 2, E at 36/16 the channels
and 20/8 the cells of S (``eval_width``, ``eval_depth``), E's op weights kept across regenerations
(``eval_init="inherit"``: a bank of every op E has used, by position; ``"fresh"``: new weights).
Search settings of §3.4.2: 30 epochs after 2 of pre-training, weights SGD lr 0.08 wd 3e-4 cosine,
α Adam 3e-4 with weight decay 0. Data-parallel search is not supported for these methods.

Expected-latency penalty (§4.3): ``latency_weight`` δ > 0 adds δ·P(α) (``supernet.cdarts.latency``) to the α
loss -- Eq. 4.1 writes it into the w_S objective, where it has no gradient; the notes' reading puts
it where it can act. ``latency_table``: ``"measured"`` (default; this device, §4.3's procedure),
``"paper"`` (Table 4.6) or a dict op -> weight; ``latency_batch`` is the measured batch size (64).

The hierarchical (macro) search of ch. 6, version 1, is ``supernet.cdarts.hierarchical``; version 2 is not
implemented.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from nas_core.networks.darts import AuxiliaryHead, reduction_indices
from nas_core.networks.nb201 import ResNetBasicBlock
from nas_core.spaces import DartsSpace, Genotype, NB201Cell
from supernet.cdarts.latency import (
    PAPER_LATENCY_WEIGHTS,
    edge_to_node_weights,
    expected_latency,
    latency_vector,
    measure_op_latencies,
)
from supernet.engine import distributed
from supernet.engine.selection import node_select, node_weights
from supernet.engine.supernet import Supernet, Weights
from supernet.methods.base import Batch, Method, SearchData, StepContext, register_method

ZERO_OPS = ("V0", "V1", "V2", "V3", "V4")
ROUTES = {  # Table 3.6: (ws_kd, we_kd, we_split)
    "cdarts": (False, True, "valid"),
    "A1": (True, True, "valid"),
    "A2": (True, False, "valid"),
    "B1": (False, True, "train"),
    "B2": (False, False, "train"),
    "icdarts": (True, False, "train"),
}


def distillation_loss(student: torch.Tensor, teacher: torch.Tensor, T: float) -> torch.Tensor:
    """Eq. 3.7: ``(T² / N) Σ_i p_i log(p_i / q_i)``, p = softmax(teacher / T), q = softmax(student / T)."""
    return (
        F.kl_div(F.log_softmax(student / T, 1), F.log_softmax(teacher / T, 1), reduction="batchmean", log_target=True)
        * T
        * T
    )


def reduction_modules(cells: Sequence[nn.Module]) -> list[nn.Module]:
    """The two reduction cells of a DARTS layout, or NAS-Bench-201's residual reduction blocks."""
    blocks = [c for c in cells if isinstance(c, ResNetBasicBlock)]
    if blocks:
        return blocks
    return [cells[i] for i in reduction_indices(len(cells))]


class HeadEnsemble(nn.Module):
    """§3.1.1's auxiliary-head structure: a head on each tapped module's output plus the final logits,
    mixed by softmax weights (a learnable vector, uniform at the start)."""

    def __init__(self, taps: Sequence[nn.Module], probe: Callable[[], Any], num_classes: int):
        super().__init__()
        self._features: dict[int, torch.Tensor] = {}
        self._hooks = [m.register_forward_hook(self._store(i)) for i, m in enumerate(taps)]
        with torch.no_grad():
            probe()  # one forward pass to learn the tapped channel counts
        like = self._features[0]
        self.heads = nn.ModuleList(AuxiliaryHead(self._features[i].shape[1], num_classes) for i in range(len(taps)))
        self.heads.to(like.device)
        self.mix = nn.Parameter(torch.zeros(len(taps) + 1, device=like.device))

    def _store(self, i: int) -> Callable[..., None]:
        def hook(module: nn.Module, inputs: Any, output: torch.Tensor) -> None:
            self._features[i] = output

        return hook

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        w = torch.softmax(self.mix, 0)
        outs = [head(self._features[i]) for i, head in enumerate(self.heads)] + [logits]
        return sum(wi * o for wi, o in zip(w, outs))


class CyclicDarts(Method):
    """CDARTS / ICDARTS (module docstring); ``route`` picks a row of Table 3.6."""

    paper = "Yu et al. Cyclic Differentiable Architecture Search (2020); Herron 2023 ch. 3"
    route = "cdarts"
    defaults = {
        "space": "darts",
        "epochs": 32,
        "warmup_epochs": 2,
        "w_lr": 0.08,
        "w_weight_decay": 3e-4,
        "a_lr": 3e-4,
        "a_weight_decay": 0.0,
    }
    quick_options = {"eval_width": 1.0, "eval_depth": 1.0}  # CPU: E as small as S

    def __init__(
        self,
        supernet: Supernet,
        *,
        route: str | None = None,
        distill_weight: float = 1.0,
        temperature: float = 2.0,
        zero_op: str | None = None,
        cell: str = "darts",
        heads: bool = True,
        eval_width: float = 36 / 16,
        eval_depth: float = 20 / 8,
        eval_init: str = "inherit",
        eval_warmup_epochs: int = 1,
        eval_warmup_split: str = "valid",
        update_every: int = 1,
        latency_weight: float = 0.0,
        latency_table: str | dict[str, float] = "measured",
        latency_batch: int = 64,
        **kwargs: Any,
    ):
        super().__init__(supernet, **kwargs)
        route = route or self.route
        if route not in ROUTES:
            raise ValueError(f"route must be one of {sorted(ROUTES)} (Table 3.6), got {route!r}")
        self.ws_kd, self.we_kd, self.we_split = ROUTES[route]
        if cell not in ("darts", "idarts", "xdarts"):
            raise ValueError(f"cell must be 'darts', 'idarts' or 'xdarts', got {cell!r}")
        if cell != "darts" and not isinstance(supernet.space, DartsSpace):
            raise ValueError(f"{cell} cells need a DARTS-family space, got {supernet.space.name!r}")
        for name, value, allowed in (
            ("eval_init", eval_init, ("inherit", "fresh")),
            ("eval_warmup_split", eval_warmup_split, ("valid", "train")),
        ):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")
        if distill_weight < 0 or temperature <= 0 or latency_weight < 0 or update_every < 1 or eval_warmup_epochs < 0:
            raise ValueError(
                "need distill_weight >= 0, temperature > 0, latency_weight >= 0, update_every >= 1, "
                f"eval_warmup_epochs >= 0; got {distill_weight}, {temperature}, {latency_weight}, {update_every}, "
                f"{eval_warmup_epochs}"
            )
        self.zero_op = self._check_zero_op(zero_op)
        self.distill_weight, self.temperature, self.cell = distill_weight, temperature, cell
        self.use_heads, self.eval_init = heads, eval_init
        self.eval_width, self.eval_depth = eval_width, eval_depth
        self.eval_warmup_epochs, self.eval_warmup_split, self.update_every = (
            eval_warmup_epochs,
            eval_warmup_split,
            update_every,
        )
        self.latency_weight, self.latency_table, self.latency_batch = latency_weight, latency_table, latency_batch
        self.op_latency: torch.Tensor | None = None
        self.eval_net: nn.Module | None = None
        self.eval_arch: Any = None
        self.e_optimizer: torch.optim.Optimizer | None = None
        self.bank: dict[str, torch.Tensor] = {}
        self.built_at = -1
        self._stats: dict[str, float] = {}

    # -- zero-op configurations -------------------------------------------------------------------
    def _check_zero_op(self, zero_op: str | None) -> str:
        ops = {op for edge in self.supernet.edges for op in edge.ops}  # the searched ops (after exclude_ops)
        inferred = "V0" if "none" in ops else "V2" if "random" in ops else "V1"
        if zero_op is None:
            return inferred
        if zero_op not in ZERO_OPS:
            raise ValueError(f"zero_op must be one of {list(ZERO_OPS)} (Table 3.1), got {zero_op!r}")
        needs = {"V0": ("none", "darts"), "V1": (None, "darts-nozero")}.get(zero_op, ("random", "darts-random"))
        if (needs[0] is None and ops & {"none", "random"}) or (needs[0] and needs[0] not in ops):
            raise ValueError(
                f"zero_op {zero_op} does not fit space {self.supernet.space.name!r} (ops {sorted(ops)}); use e.g. "
                f"space {needs[1]!r}"
            )
        return zero_op

    @staticmethod
    def _zero_random(arch: Any) -> Any:
        """``random`` edges become ``none`` (zero)."""
        if not isinstance(arch, Genotype):
            return arch

        def cell(edges: Any) -> tuple:
            return tuple(("none" if op == "random" else op, src) for op, src in edges)

        return arch._replace(normal=cell(arch.normal), reduce=cell(arch.reduce))

    def final_architecture(self, arch: Any) -> Any:
        return self._zero_random(arch) if self.zero_op in ("V3", "V4") else arch

    # -- relaxation and discretisation --------------------------------------------------------------
    def mixing_weights(self, phase: str = "train") -> Weights:
        if self.cell != "darts":  # I-DARTS / XDARTS: one softmax per node
            return {ct: node_weights(a) for ct, a in self.alphas.items()}
        return super().mixing_weights(phase)

    def derive_architecture(self) -> Any:
        if self.cell != "darts":
            return node_select(self.supernet, self.selection_weights(), xdarts=self.cell == "xdarts")
        return super().derive_architecture()

    # -- networks ----------------------------------------------------------------------------------
    def bind_data(self, data: SearchData) -> None:
        if distributed.active():
            raise NotImplementedError(f"{self.name} trains two networks; data-parallel search is not supported")
        self.data = data
        sample = torch.zeros(1, *data.shape, device=next(self.supernet.parameters()).device)
        if self.use_heads:

            def probe() -> None:
                training = self.supernet.training
                self.supernet.eval()
                self.supernet(sample, self.mixing_weights("eval"))
                self.supernet.train(training)

            self.supernet.add_module(
                "distill_heads", HeadEnsemble(reduction_modules(self.supernet.net.cells), probe, data.num_classes)
            )
        if self.latency_weight > 0:
            self.op_latency = self._op_latencies(sample)

    def _op_latencies(self, sample: torch.Tensor) -> torch.Tensor:
        ops = self.supernet.edges[0].ops
        if any(e.ops != ops for e in self.supernet.edges):
            raise ValueError("the latency penalty needs the same candidate ops on every edge")
        table = self.latency_table
        if table == "paper":
            table = PAPER_LATENCY_WEIGHTS
        elif table == "measured":
            sn = self.supernet
            size = (
                {"C": sn.C, "layers": sn.layers, **sn.template}
                if isinstance(sn.space, DartsSpace)
                else {"C": sn.C, "N": sn.N}
            )
            arch = self._zero_random(self.derive_architecture())  # the search network's size, discretised
            net = sn.space.build_network(arch, num_classes=sn.num_classes, in_channels=sn.in_channels, **size)
            batch = (self.latency_batch, *sample.shape[1:])
            stem_channels = net.stem[0].out_channels if isinstance(net.stem, nn.Sequential) else sn.in_channels
            table = measure_op_latencies(net, stem_channels, ops, batch, device=sample.device)
        elif not isinstance(table, dict):
            raise ValueError(f"latency_table must be 'measured', 'paper' or a dict, got {table!r}")
        self.measured_latency = dict(table)
        return latency_vector(ops, table).to(sample.device)

    def _eval_size(self) -> dict[str, int]:
        sn = self.supernet
        C = max(2, 2 * round(sn.C * self.eval_width / 2))  # even, for FactorizedReduce
        if isinstance(sn.space, DartsSpace):
            return {"C": C, "layers": max(3, round(sn.layers * self.eval_depth))}
        return {"C": C, "N": max(1, round(sn.N * self.eval_depth))}

    def _build(self, arch: Any) -> nn.Module:
        sn = self.supernet
        size = {**self._eval_size(), **sn.template}
        net = sn.space.build_network(arch, num_classes=sn.num_classes, in_channels=sn.in_channels, **size)
        return net.to(next(sn.parameters()).device)

    def _eval_arch(self, arch: Any) -> Any:
        return self._zero_random(arch) if self.zero_op == "V4" else arch

    def _regenerate(self, arch: Any = None, inherit: bool | None = None) -> None:
        """Algorithm 1: discretise α (or take ``arch``), build E with op weights from the bank, and a new
        E optimiser."""
        if self.eval_net is not None:
            self._save_to_bank()
        arch = arch if arch is not None else self._eval_arch(self.derive_architecture())
        net = self._build(arch)
        if self.use_heads:
            sample = torch.zeros(1, *self.data.shape, device=next(net.parameters()).device)

            def probe() -> None:
                net.eval()
                net(sample)
                net.train()

            net.add_module(
                "distill_heads", HeadEnsemble(reduction_modules(net.cells), probe, self.supernet.num_classes)
            )
        if inherit if inherit is not None else self.eval_init == "inherit":
            names = _bank_names(net, arch)
            state = net.state_dict()
            for key in state:
                banked = self.bank.get(bank_key(key, names))
                if banked is not None and banked.shape == state[key].shape:
                    state[key] = banked.clone()
            net.load_state_dict(state)
        self.eval_net, self.eval_arch = net, arch
        self.e_optimizer = torch.optim.SGD(
            net.parameters(), lr=self.data.lr(), momentum=self.data.momentum, weight_decay=self.data.weight_decay
        )

    def _save_to_bank(self) -> None:
        names = _bank_names(self.eval_net, self.eval_arch)
        for key, value in self.eval_net.state_dict().items():
            self.bank[bank_key(key, names)] = value.detach().clone()

    # -- forward passes ------------------------------------------------------------------------------
    def search_logits(self, x: torch.Tensor, phase: str) -> torch.Tensor:
        logits = self.forward(x, phase)
        return self.supernet.distill_heads(logits) if self.use_heads else logits

    def eval_logits(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.eval_net(x)
        return self.eval_net.distill_heads(logits) if self.use_heads else logits

    def kd(self, student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
        return self.distill_weight * distillation_loss(student, teacher, self.temperature)

    def latency(self) -> torch.Tensor:
        """P(α) of Algorithm 3 with the method's mixing weights (node-level for I-DARTS cells)."""
        weights = self.mixing_weights("valid")
        if self.cell == "darts":
            weights = {ct: edge_to_node_weights(w) for ct, w in weights.items()}
        counts = {ct: len(self.supernet.mixed_ops(ct)[0]) for ct in self.supernet.cell_types}
        return expected_latency(weights, self.op_latency, counts)

    def regularizer(self) -> torch.Tensor | float:
        return self.latency_weight * self.latency() if self.latency_weight > 0 else 0.0

    # -- steps ---------------------------------------------------------------------------------------
    def _step_eval(self) -> None:
        if self.data.grad_clip:
            nn.utils.clip_grad_norm_(self.eval_net.parameters(), self.data.grad_clip)
        self.e_optimizer.step()

    def _eval_logits_for(self, x: torch.Tensor, trains_eval: bool) -> torch.Tensor:
        """E's logits, with a graph only when this step updates E."""
        if trains_eval:
            return self.eval_logits(x)
        with torch.no_grad():
            return self.eval_logits(x)

    def _set_eval_lr(self, lr: float) -> None:
        for group in self.e_optimizer.param_groups:
            group["lr"] = lr

    def arch_step(self, train: Batch, valid: Batch, ctx: StepContext) -> float:
        """α on the validation batch; in the ``we_split="valid"`` routes E steps jointly here (Eq. 3.6)."""
        x, y = valid
        joint = self.we_split == "valid"
        self.a_optimizer.zero_grad(set_to_none=True)
        zs, ze = self.search_logits(x, "valid"), self._eval_logits_for(x, joint)
        loss = F.cross_entropy(zs, y) + self.kd(zs, ze if self.we_kd else ze.detach()) + self.regularizer()
        if joint:
            loss = loss + F.cross_entropy(ze, y)
            self._set_eval_lr(ctx.w_lr)
            self.e_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.a_optimizer.step()
        if joint:
            self._step_eval()
            self._count("eval", ze, y)
        self.supernet.zero_grad(set_to_none=True)  # w_S is not updated by the α loss
        return float(loss.detach())

    def weight_step(self, train: Batch, ctx: StepContext, grad_clip: float | None) -> tuple[torch.Tensor, torch.Tensor]:
        """w_S on the training batch (+ λ KD in the ICDARTS routes); E too where ``we_split="train"``."""
        if self.eval_net is None:  # pre-training: S alone with cross-entropy
            return super().weight_step(train, ctx, grad_clip)
        x, y = train
        train_e = self.we_split == "train"
        zs = self.search_logits(x, "train")
        ze = self._eval_logits_for(x, train_e) if (self.ws_kd or train_e) else None
        loss_s = F.cross_entropy(zs, y)
        if self.ws_kd:
            loss_s = loss_s + self.kd(zs, ze.detach())
        total = loss_s
        if train_e:
            total = total + F.cross_entropy(ze, y) + (self.kd(zs.detach(), ze) if self.we_kd else 0.0)
            self._set_eval_lr(ctx.w_lr)
            self.e_optimizer.zero_grad(set_to_none=True)
        self.step_weights(total, ctx, grad_clip)  # one backward fills w_S's and (if trained) w_E's gradients
        if train_e:
            self._step_eval()
            self._count("eval", ze, y)
        return loss_s.detach(), zs.detach()

    def _count(self, key: str, logits: torch.Tensor, y: torch.Tensor) -> None:
        self._stats[f"{key}_correct"] = self._stats.get(f"{key}_correct", 0) + int((logits.argmax(1) == y).sum())
        self._stats[f"{key}_seen"] = self._stats.get(f"{key}_seen", 0) + len(y)

    # -- schedule ------------------------------------------------------------------------------------
    def on_epoch_start(self, epoch: int, epochs: int) -> bool:
        super().on_epoch_start(epoch, epochs)
        self._stats = {}
        pretrain = self.data.warmup_epochs
        if epoch >= pretrain and (epoch - pretrain) % self.update_every == 0 and self.built_at != epoch:
            self._regenerate()
            self.built_at = epoch
            self._warm_up(epoch)
        return False

    def _warm_up(self, epoch: int) -> None:
        """Algorithm 1's inner loop: E alone with cross-entropy (Eq. 3.5) on the configured split."""
        loader = self.data.valid if self.eval_warmup_split == "valid" else self.data.train
        self.eval_net.train()
        for i in range(self.eval_warmup_epochs):
            loader.set_epoch(10_000 * (i + 1) + epoch)  # an order of its own, not the joint epoch's
            for x, y in loader:
                with self.data.autocast():
                    logits = self.eval_logits(x)
                    loss = F.cross_entropy(logits, y)
                self.e_optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self._step_eval()
                self._count("warmup", logits, y)

    def diagnostics(self) -> dict[str, Any]:
        out: dict[str, Any] = {"route": [self.ws_kd, self.we_kd, self.we_split], "zero_op": self.zero_op}
        for key in ("eval", "warmup"):
            if self._stats.get(f"{key}_seen"):
                out[f"{key}_net_train_acc"] = 100.0 * self._stats[f"{key}_correct"] / self._stats[f"{key}_seen"]
        if self.eval_arch is not None:
            out["eval_net_arch"] = self.supernet.space.to_string(self.eval_arch)
        if self.op_latency is not None:
            with torch.no_grad():
                out["expected_latency"] = float(self.latency())
        return out

    # -- resumable state -----------------------------------------------------------------------------
    def extra_state(self) -> dict[str, Any]:
        if self.eval_net is None:
            return {}
        self._save_to_bank()
        return {
            "bank": self.bank,
            "eval_arch": self.supernet.space.to_string(self.eval_arch),
            "e_optimizer": self.e_optimizer.state_dict(),
            "built_at": self.built_at,
            "op_latency": self.op_latency,
        }

    def load_extra_state(self, state: dict[str, Any]) -> None:
        if not state:
            return
        self.bank = dict(state["bank"])
        self.op_latency = state["op_latency"]
        self.eval_net = None
        self._regenerate(self.supernet.space.parse(state["eval_arch"]), inherit=True)
        self.e_optimizer.load_state_dict(state["e_optimizer"])
        self.built_at = state["built_at"]


def _bank_names(net: nn.Module, arch: Any) -> dict[str, str]:
    """E's op modules, by state-key prefix, named by (cell, node, input, op) so a weight survives a new
    genotype wherever the same op sits on the same input of the same node (CDARTS's layer pool)."""
    names: dict[str, str] = {}
    cells = net.cells
    if isinstance(arch, Genotype):
        reductions = reduction_indices(len(cells))
        for i in range(len(cells)):
            cell_type = "reduce" if i in reductions else "normal"
            names.update(cell_op_names(i, arch.cell(cell_type), arch.node_of(cell_type)))
    elif isinstance(arch, NB201Cell):
        for i, cell in enumerate(cells):
            for edge in getattr(cell, "edges", {}):
                src, dst = (int(v) for v in edge.split("_"))
                names[f"cells.{i}.edges.{edge}"] = f"cells.{i}.edges.{edge}.{arch.edge_op(src, dst)}"
    return names


def cell_op_names(i: int, edges: Sequence[tuple[str, int]], node_of: Sequence[int]) -> dict[str, str]:
    """The ops of discrete cell ``i`` (``cells.<i>.ops.<j>``) named by (cell, node, input, op)."""
    return {f"cells.{i}.ops.{j}": f"cells.{i}.node{node_of[j]}.in{src}.{op}" for j, (op, src) in enumerate(edges)}


def bank_key(key: str, names: dict[str, str]) -> str:
    prefix = ".".join(key.split(".")[:4])
    return names[prefix] + key[len(prefix) :] if prefix in names else key


@register_method("cdarts")
class CDarts(CyclicDarts):
    route = "cdarts"


@register_method("icdarts")
class ICDarts(CyclicDarts):
    paper = "Herron, Young, Rose, Potok. ICDARTS (ICMLA 2022); Herron 2023 ch. 3.2"
    route = "icdarts"
    defaults = {**CyclicDarts.defaults, "space": "darts-nozero"}
