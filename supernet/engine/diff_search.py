"""The differentiable search loop: alternating architecture / weight steps on the two halves of the
training set (bilevel), diagnostics per epoch, checkpoint + resume, then architecture selection.

Defaults are DARTS's CIFAR-10 search settings (Liu et al. 2019), also used by the NAS-Bench-201
paper for its DARTS runs: 50 epochs, batch 64, weights SGD lr 0.025 cosine to 0.001, momentum 0.9,
weight decay 3e-4, gradient clip 5; α Adam lr 3e-4, betas (0.5, 0.999), weight decay 1e-3; the
training set split 50/50 into the weight and architecture halves. A method's class ``defaults``
override these (e.g. SP-DARTS' constant lr 0.05), and explicit settings override both.

Each epoch records: train loss/accuracy, the supernet's validation accuracy (deterministic mixing
weights), the op probabilities per edge, the currently derived architecture, its skip-connection
count per cell, and, every ``hessian_every`` epochs, the dominant eigenvalue of ∇²_α L_val (power
iteration on Hessian-vector products; Zela et al. 2020).
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from nas_core import presets
from nas_core.costs import architecture_cost
from nas_core.data import Augment, DeviceLoader, make_splits
from nas_core.networks.darts import REDUCE_CELLS, STEMS
from nas_core.options import field_names, reject_unknown, require_at_least
from nas_core.spaces import get_space
from nas_core.training import load_checkpoint, resolve_device, save_checkpoint
from nas_core.training.checkpoint import atomic_write_bytes
from nas_core.training.trainer import COMPILE_MODES, autocast_dtype
from nas_core.vocabulary import NetworkSize
from supernet.engine import distributed
from supernet.engine.selection import perturbation_select, select_under_limit
from supernet.engine.supernet import Supernet, Weights, edge_infos
from supernet.methods import SearchData, StepContext, get_method
from supernet.methods.base import A_BETAS, A_LR, A_WEIGHT_DECAY

log = logging.getLogger(__name__)

#: the per-epoch history as JSON beside ``search.pt`` (what a dashboard reads while the search runs)
PROGRESS_FILE = "progress.json"
#: DiffSearchConfig.compile: no CUDA-graph mode -- a search step runs several forwards with different
#: edge weights (unrolled steps, perturbations), which reduce-overhead's replayed buffers do not fit
SUPERNET_COMPILE_MODES = tuple(mode for mode in COMPILE_MODES if mode != "reduce-overhead")


def neca_lr(epoch: float, period: int, lr_max: float, lr_min: float) -> float:
    """Natural exponential cosine annealing (AllegroNAS Eq. 8, the self-consistent form of the notes):
    ``lr_min + (lr_max - lr_min) (e^c - 1) / (e - 1)`` with ``c = (1 + cos(π τ / E)) / 2``; τ past E stays at
    ``lr_min``."""
    c = 0.5 * (1 + math.cos(math.pi * min(epoch, period) / period))
    return lr_min + (lr_max - lr_min) * (math.exp(c) - 1) / (math.e - 1)


@dataclass
class DiffSearchConfig:
    #: search space: nb201 | darts | s1-s4 | allegro | icdarts-dynamic (nas_core.spaces)
    space: str = "nb201"
    #: differentiable method (supernet.methods.method_names())
    method: str = "darts"
    #: the method's own options, e.g. {"reg_type": "kl"} (nas config show METHOD lists them)
    method_options: dict[str, Any] = field(default_factory=dict)
    #: how the final cell is read off: magnitude (argmax α) | pt (DARTS-PT perturbation)
    selection: str = "magnitude"
    #: a registered name (fashion-mnist | cifar10 | cifar100 | imagefolder | digits | npz | your own);
    #: differentiable_search also takes the data itself and writes it to a file (nas_core.data.user_data)
    dataset: str = "fashion-mnist"
    #: folder or file holding the dataset (None: the dataset's default places)
    data_root: str | None = None
    #: seed of the data split and subset (None: ``seed``); a supernet proposing for a pool takes the pool's
    split_seed: int | None = None
    #: seeded subset of the training images searched on (images; None: all)
    max_train: int | None = None
    #: share of the searched images that trains the weights; the rest trains α (fraction)
    train_portion: float = 0.5
    #: share of the seeded training subset left out of the search (both halves): a supernet proposing for a
    #: pool passes the pool's valid_fraction (same seed, same max_train), so it never trains on the images
    #: its proposals are validated on (nas_core.data.make_splits)
    reserve_fraction: float = 0.0
    #: zero-pad images to this side (pixels; None: as stored)
    pad_to: int | None = None
    #: search epochs (each: one pass of weight and α steps)
    epochs: int = 50
    #: batch size of the weight and the α steps (images)
    batch_size: int = 64
    #: SGD learning rate of the supernet weights at the start of the schedule
    w_lr: float = 0.025
    #: weight learning rate at the end of the cosine schedule
    w_lr_min: float = 0.001
    #: weight learning-rate schedule: cosine | neca (AllegroNAS's warm restarts)
    lr_schedule: str = "cosine"
    #: neca's restart period (epochs; None: the whole search)
    lr_period: int | None = None
    #: SGD momentum of the weights
    w_momentum: float = 0.9
    #: L2 weight decay of the weights
    w_weight_decay: float = 3e-4
    #: gradient-norm clipping of the weights (None: off)
    grad_clip: float | None = 5.0
    #: Adam learning rate of α
    a_lr: float = A_LR
    #: Adam betas of α
    a_betas: tuple[float, float] = A_BETAS
    #: Adam weight decay of α
    a_weight_decay: float = A_WEIGHT_DECAY
    #: epochs at the start that train the weights only, α frozen (epochs)
    warmup_epochs: int = 0
    #: the supernet's size (C channels, N cells per stage; a DARTS supernet has 3N + 2 cells). None: the
    #: papers' search network, nb201's C=16 N=5 or DARTS's 8-cell C=16 (nas_core.presets.NETWORKS)
    network: NetworkSize | None = None
    #: PC-DARTS channel sampling: 1/k of the channels enter the mixed ops (1: all)
    partial_k: int = 1
    #: random-crop padding (pixels; 0: no crop)
    crop_padding: int = 4
    #: random horizontal flips (on/off)
    flip: bool = True
    #: measure the dominant Hessian eigenvalue of the validation loss every this many epochs (0: never)
    hessian_every: int = 0
    #: validation batches of each epoch's diagnostics: accuracy, Hessian eigenvalue (batches)
    diag_batches: int = 10
    #: DARTS-PT's supernet tuning between two selections (paper 004, text to Algorithm 1: "5 epochs")
    pt_tune_epochs: int = 5
    #: validation batches per DARTS-PT removal test (batches; None: all)
    pt_eval_batches: int | None = None
    #: per-edge candidate ops per cell type (ICDARTS's dynamic space); None: the space's own
    edge_ops: dict[str, list[list[str]]] | None = None
    #: ops removed from every edge (ICDARTS Table 3.4's op ablations, e.g. ("max_pool_3x3", "avg_pool_3x3"))
    exclude_ops: tuple[str, ...] = ()
    amp: str = "auto"  # bf16 autocast on CUDA ("auto"/"bf16"), fp32 elsewhere or with "off"
    #: channels-last memory format (GPU speed; on/off)
    channels_last: bool = False
    #: torch.compile the supernet's forward: off | default | max-autotune (scripts/bench_gpu.py measures it)
    compile: str = "off"
    checkpoint_cells: bool = False  # gradient checkpointing per search cell (memory for big supernets)
    #: DARTS template ablations (ICDARTS Table 3.4): stem conv3x3 | conv1x1 | identity; reduction
    #: cells searched | avg_pool | max_pool | conv1x1 (nas_core.networks.darts)
    stem: str = "conv3x3"
    #: DARTS template ablation (ICDARTS Table 3.4): reduction cells searched | avg_pool | max_pool | conv1x1
    reduce_cells: str = "searched"
    #: seed of the split, the initialisation and the data order
    seed: int = 0
    #: auto | cpu | cuda | cuda:N
    device: str = "auto"

    @classmethod
    def resolve(cls, **given: Any) -> DiffSearchConfig:
        """Defaults, then the method's published overrides, then ``given`` (explicit settings win)."""
        known = field_names(cls)
        reject_unknown(given, known, "search option(s)")
        method = get_method(given.get("method", cls.method))
        values = {**{k: v for k, v in method.defaults.items() if k in known}, **given}
        config = cls(**values)
        config.a_betas = tuple(config.a_betas)
        config.network = search_network(config.space, config.network)
        if config.amp not in ("auto", "bf16", "off"):
            raise ValueError(f"amp must be 'auto', 'bf16' or 'off', got {config.amp!r}")
        if config.compile not in SUPERNET_COMPILE_MODES:
            raise ValueError(f"compile must be one of {list(SUPERNET_COMPILE_MODES)}, got {config.compile!r}")
        if config.lr_schedule not in ("cosine", "neca"):
            raise ValueError(f"lr_schedule must be 'cosine' or 'neca', got {config.lr_schedule!r}")
        if config.selection not in ("magnitude", "pt"):
            raise ValueError(f"selection must be 'magnitude' or 'pt', got {config.selection!r}")
        config.exclude_ops = tuple(config.exclude_ops)
        if config.exclude_ops:
            ops = get_space(config.space).ops
            unknown = sorted(set(config.exclude_ops) - set(ops))
            if unknown or len(set(ops) - set(config.exclude_ops)) < 2:
                raise ValueError(
                    f"exclude_ops {list(config.exclude_ops)}: every op must be one of space {config.space!r}'s "
                    f"{list(ops)} and at least two must remain (unknown: {unknown})"
                )
        if config.stem not in STEMS or config.reduce_cells not in REDUCE_CELLS:
            raise ValueError(
                f"stem must be one of {list(STEMS)} and reduce_cells one of {list(REDUCE_CELLS)}, got "
                f"{config.stem!r} and {config.reduce_cells!r}"
            )
        require_at_least(1, epochs=config.epochs, batch_size=config.batch_size)
        if not 0 < config.train_portion < 1:
            raise ValueError(f"train_portion must be in (0, 1), got {config.train_portion!r}")
        return config

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def size_kwargs(self) -> dict[str, int]:
        """The supernet constructor's size arguments for :attr:`network` on this space."""
        return get_space(self.space).size_kwargs(search_network(self.space, self.network))


def _readable(saved: dict[str, Any]) -> dict[str, Any]:
    """A configuration saved in ``search.pt`` as :class:`DiffSearchConfig` takes it: betas as a tuple, and the
    size of a search saved before :class:`NetworkSize` (``C``, ``N``, ``layers``) as its ``network``."""
    saved = {**saved, "a_betas": tuple(saved["a_betas"])}
    if saved.keys() & {"C", "N", "layers"}:
        old = {k: saved.pop(k) for k in ("C", "N", "layers") if k in saved}
        depth = "N" if get_space(saved.get("space", DiffSearchConfig.space)).family == "nb201" else "layers"
        saved["network"] = NetworkSize.parse({k: v for k, v in old.items() if k in ("C", depth)})
    return saved


def search_network(space: str, network: NetworkSize | Mapping[str, Any] | str | None) -> NetworkSize:
    """``network`` as a :class:`NetworkSize`; ``None``: the papers' search network on ``space``
    (:func:`nas_core.presets.search_network`)."""
    return presets.search_network(space) if network is None else NetworkSize.parse(network)


@dataclass
class DiffSearchResult:
    genotype: str
    method: str
    selection: str
    epochs_run: int
    history: list[dict[str, Any]]
    selection_log: list[dict[str, Any]]
    cost: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SearchLoaders:
    train: DeviceLoader
    valid: DeviceLoader
    valid_eval: DeviceLoader
    num_classes: int
    shape: tuple[int, ...]


def search_loaders(config: DiffSearchConfig, device: torch.device) -> SearchLoaders:
    """DARTS's data: the training set's two halves (weights / architecture), both augmented, and the
    architecture half once more without augmentation for evaluation."""
    splits = make_splits(
        config.dataset,
        config.data_root,
        valid_fraction=1 - config.train_portion,
        seed=config.seed if config.split_seed is None else config.split_seed,
        max_train=config.max_train,
        reserve_fraction=config.reserve_fraction,
    )
    augment = Augment(config.crop_padding, config.flip, 0)

    def loader(data, train: bool, seed: int) -> DeviceLoader:
        return DeviceLoader(
            data,
            config.batch_size if train else 256,
            mean=splits.mean,
            std=splits.std,
            device=device,
            shuffle=train,
            augment=augment if train else None,
            drop_last=train,
            seed=seed,
            pad_to=config.pad_to,
            channels_last=config.channels_last,
        )

    return SearchLoaders(
        loader(splits.train, True, config.seed),
        loader(splits.valid, True, config.seed + 1),
        loader(splits.valid, False, 0),
        splits.num_classes,
        tuple(splits.shape),
    )


class DiffSearch:
    """One differentiable search; ``run()`` resumes from ``run_dir/search.pt`` when present."""

    #: a cost limit the selected cell is brought under (see ``__init__``; subclasses' own searches have none)
    limit: Any = None

    def __init__(
        self,
        config: DiffSearchConfig,
        run_dir: str | Path | None = None,
        on_epoch: Callable[[dict[str, Any]], None] | None = None,
        limit: Any = None,
    ):
        """``limit``: a cost limit (``predictor_nas.CostLimit``: ``.cost``, a name of
        :data:`nas_core.costs.COSTS` measured on the search's network size, or a function of the architecture,
        ``.limit`` and ``.label``); the selected cell is then brought under it (:func:`select_under_limit`)."""
        self.config = config
        self.run_dir = Path(run_dir) if run_dir else None
        self.on_epoch = on_epoch
        self.limit = limit
        distributed.init_from_env()
        self.device = distributed.local_device(resolve_device(config.device))
        self._sync_handles: list = []
        self.space = get_space(config.space)
        loaders = search_loaders(config, self.device)
        self.train_loader, self.valid_loader, self.valid_eval = loaders.train, loaders.valid, loaders.valid_eval
        self.num_classes, self.shape = loaders.num_classes, loaders.shape
        torch.manual_seed(config.seed)
        self.supernet = Supernet(
            self.space,
            num_classes=self.num_classes,
            in_channels=self.shape[0],
            **config.size_kwargs(),
            partial_k=config.partial_k,
            op_names=self._edge_ops(),
            template=self.template(),
        ).to(self.device)
        if config.channels_last:
            self.supernet = self.supernet.to(memory_format=torch.channels_last)
        self.supernet.checkpoint_cells = config.checkpoint_cells
        if config.compile != "off":  # in place: the module, its state_dict and the methods' access unchanged
            self.supernet.compile(mode=config.compile, dynamic=False)  # static shapes, as in Trainer
        self._amp = autocast_dtype(config.amp, self.device)
        self.method = get_method(config.method)(
            self.supernet,
            a_lr=config.a_lr,
            a_betas=config.a_betas,
            a_weight_decay=config.a_weight_decay,
            seed=config.seed,
            **config.method_options,
        )
        self.method.bind_data(
            SearchData(
                train=self.train_loader,
                valid=self.valid_loader,
                num_classes=self.num_classes,
                shape=tuple(self.shape),
                lr=lambda: self.w_optimizer.param_groups[0]["lr"],
                momentum=config.w_momentum,
                weight_decay=config.w_weight_decay,
                grad_clip=config.grad_clip,
                warmup_epochs=config.warmup_epochs,
                autocast=lambda: torch.autocast(self.device.type, dtype=self._amp, enabled=self._amp is not None),
            )
        )
        self._make_optimizer()
        self.scheduler = self._make_scheduler()
        self.epoch = 0
        self.history: list[dict[str, Any]] = []
        self.selection_log: list[dict[str, Any]] = []
        self._rng = torch.Generator().manual_seed(config.seed).get_state()
        self.seconds = 0.0
        self._epoch_arch_steps = 0  # α updates in the epoch being recorded (the record keeps the running total)

    def template(self) -> dict[str, str]:
        """The non-default DARTS template options (also for E and the retrained network)."""
        cfg = self.config
        given = {"stem": cfg.stem, "reduce_cells": cfg.reduce_cells}
        return {k: v for k, v in given.items() if v != DiffSearchConfig.__dataclass_fields__[k].default}

    def _edge_ops(self) -> dict[str, list[tuple[str, ...]]] | None:
        """Per-edge candidate ops: ``edge_ops`` if given, else the space's less ``exclude_ops``."""
        cfg = self.config
        if cfg.edge_ops is not None or not cfg.exclude_ops:
            return cfg.edge_ops
        full = edge_infos(self.space)
        return {
            ct: [tuple(op for op in e.ops if op not in cfg.exclude_ops) for e in full if e.cell_type == ct]
            for ct in {e.cell_type for e in full}
        }

    # -- optimisation ------------------------------------------------------------------------------
    @property
    def weight_decay(self) -> float:
        override = self.method.weight_decay_override()
        return self.config.w_weight_decay if override is None else override

    def _make_optimizer(self, lr: float | None = None) -> None:
        self.w_optimizer = torch.optim.SGD(
            self.supernet.parameters(),
            lr=lr or self.config.w_lr,
            momentum=self.config.w_momentum,
            weight_decay=self.weight_decay,
        )
        if distributed.active():  # (re)attach gradient averaging to the current parameters/optimisers
            for handle in self._sync_handles:
                handle.remove()
            params = [*self.supernet.parameters(), *self.method.arch_parameters()]
            distributed.broadcast_from_main([*params, *self.supernet.buffers()])
            # weight gradients are averaged in Method.step_weights; α's right before the α step
            self._sync_handles = distributed.average_before_step([self.method.a_optimizer])

    def _context(self) -> StepContext:
        return StepContext(
            self.epoch,
            self.config.epochs,
            self.w_optimizer,
            self.w_optimizer.param_groups[0]["lr"],
            self.config.w_momentum,
            self.weight_decay,
        )

    def train_epoch(self, update_arch: bool) -> tuple[float, float]:
        self.supernet.train()
        self.train_loader.set_epoch(self.epoch)
        self.valid_loader.set_epoch(self.epoch)
        loss_sum, correct, seen = 0.0, 0, 0
        ctx = self._context()
        self._epoch_arch_steps = 0
        for train, valid in zip(self.train_loader, self.valid_loader):
            train, valid = distributed.shard(train), distributed.shard(valid)
            self.method.on_batch_start()
            with torch.autocast(self.device.type, dtype=self._amp, enabled=self._amp is not None):
                if update_arch:
                    self.method.arch_step(train, valid, ctx)
                    self._epoch_arch_steps += 1
                loss, logits = self.method.weight_step(train, ctx, self.config.grad_clip)
            loss_sum += float(loss) * len(train[1])
            correct += int((logits.argmax(1) == train[1]).sum())
            seen += len(train[1])
        return loss_sum / max(seen, 1), 100.0 * correct / max(seen, 1)

    @torch.no_grad()
    def evaluate(self, weights: Weights | None = None, batches: int | None = None) -> float:
        """Supernet validation accuracy (%) with ``weights`` (default: the method's deterministic ones)."""
        self.supernet.eval()
        weights = weights if weights is not None else self.method.mixing_weights("eval")
        correct = seen = 0
        for i, (x, y) in enumerate(self.valid_eval):
            if batches is not None and i >= batches:
                break
            logits = self.supernet(x, weights, self.method.edge_weights("eval"))
            correct += int((logits.argmax(1) == y).sum())
            seen += len(y)
        return 100.0 * correct / max(seen, 1)

    def hessian_eigenvalue(self, iters: int = 20) -> float:
        """Dominant eigenvalue of ∇²_α L_val on one validation batch, by power iteration."""
        self.supernet.eval()
        x, y = self.valid_eval.sample_batch(min(256, len(self.valid_eval.labels)), seed=0)
        from supernet.engine.signatures import dominant_eigenvalue

        loss = F.cross_entropy(self.method.forward(x, "eval"), y)
        g = torch.Generator().manual_seed(self.config.seed * 1000 + self.epoch)
        return dominant_eigenvalue(loss, self.method.arch_parameters(), iters, g)

    # -- diagnostics -------------------------------------------------------------------------------
    def current_architecture(self) -> Any:
        return self.method.derive_architecture()

    def skip_connections(self, arch: Any) -> dict[str, int]:
        if hasattr(arch, "ops"):
            return {"normal": sum(op == "skip_connect" for op in arch.ops)}
        return {ct: sum(op == "skip_connect" for op, _ in arch.cell(ct)) for ct in ("normal", "reduce")}

    def _record(self, train_loss: float, train_acc: float, lr: float, seconds: float) -> dict[str, Any]:
        cfg = self.config
        arch = self.current_architecture()
        entry = {
            "epoch": self.epoch,
            "train_loss": train_loss,
            "train_acc": train_acc,
            "valid_acc": self.evaluate(batches=cfg.diag_batches),
            "lr": lr,
            "seconds": seconds,
            # α updates so far (the collapse papers count ~19,500 in a 50-epoch CIFAR search)
            "arch_steps": (self.history[-1].get("arch_steps", 0) if self.history else 0) + self._epoch_arch_steps,
            "genotype": self.space.to_string(arch),
            "skip_connections": self.skip_connections(arch),
            "alphas": {ct: a.detach().cpu().tolist() for ct, a in self.method.alphas.items()},
            "probabilities": {ct: p.cpu().tolist() for ct, p in self.method.probabilities().items()},
        }
        entry.update(self.method.diagnostics())
        if cfg.hessian_every and self.epoch % cfg.hessian_every == 0:
            entry["hessian_eigenvalue"] = self.hessian_eigenvalue()
        if distributed.active():  # data parallel: α and the weights must agree on every rank
            entry["world_size"] = distributed.rank_and_world()[1]
            entry["alpha_rank_difference"] = distributed.max_difference(self.method.arch_parameters())
            entry["weight_rank_difference"] = distributed.max_difference(self.supernet.parameters())
        return entry

    # -- the loop ----------------------------------------------------------------------------------
    def run(self) -> DiffSearchResult:
        cfg = self.config
        self._resume()
        self.selection_epochs = 0
        stopped = False
        while self.epoch < cfg.epochs and not stopped:
            start = time.perf_counter()
            with torch.random.fork_rng(devices=[self.device.index or 0] if self.device.type == "cuda" else []):
                torch.set_rng_state(self._rng)
                if self.method.on_epoch_start(self.epoch, cfg.epochs):
                    self._rebuild_optimizer()
                lr = self.w_optimizer.param_groups[0]["lr"]
                train_loss, train_acc = self.train_epoch(self.method.arch_active(self.epoch, cfg.warmup_epochs))
                self._rng = torch.get_rng_state()
            if distributed.active():  # rank 0's BatchNorm statistics, so every rank evaluates alike
                distributed.broadcast_from_main(self.supernet.buffers())
            self.scheduler.step()
            seconds = time.perf_counter() - start
            self.seconds += seconds
            entry = self._record(train_loss, train_acc, lr, seconds)
            self.history.append(entry)
            self.epoch += 1
            stopped = self.method.should_stop(self.history)
            self._checkpoint()
            if self.on_epoch:
                self.on_epoch(entry)
            log.info(
                "epoch %d: train %.2f%% valid %s %s",
                entry["epoch"],
                train_acc,
                f"{entry['valid_acc']:.2f}%" if "valid_acc" in entry else "-",
                entry.get("genotype", ""),
            )
        self.method.final_alphas(self.history)
        genotype = self.select()
        if self.limit is not None:
            genotype = self._under_limit(genotype)
        peak = torch.cuda.max_memory_allocated(self.device) if self.device.type == "cuda" else None
        return DiffSearchResult(
            self.architecture_string(genotype),
            cfg.method,
            cfg.selection,
            self.epoch,
            self.history,
            self.selection_log,
            {
                "supernet_epochs": self.epoch + self.selection_epochs,  # search + PT tuning epochs
                "selection_epochs": self.selection_epochs,
                "search_seconds": self.seconds,
                "peak_memory_bytes": peak,
                "device": str(self.device),
            },
        )

    def architecture_string(self, arch: Any) -> str:
        """How the result names the selected architecture (a cyclic phase's is not a cell string)."""
        return self.space.to_string(arch)

    def _under_limit(self, arch: Any) -> Any:
        """``arch`` brought under :attr:`limit`; the selection log records the cell before and each swap."""
        cost = architecture_cost(
            self.limit.cost, self.space, self.num_classes, tuple(self.shape), self.config.size_kwargs()
        )
        before = cost(arch)
        limited, swaps = select_under_limit(
            self.supernet, self.method.selection_weights(), arch, cost, float(self.limit.limit)
        )
        self.selection_log.append(
            {
                "limit": {"cost": self.limit.label, "limit": float(self.limit.limit)},
                "selected": self.space.to_string(arch),
                "selected_cost": before,
                "swaps": swaps,
            }
        )
        return limited

    def select(self) -> Any:
        cfg = self.config
        if cfg.selection == "magnitude":
            return self.method.final_architecture(self.method.derive_architecture())
        tune_lr = self.w_optimizer.param_groups[0]["lr"] / 10  # DARTS-PT tunes with a tenth of the lr

        def tune() -> None:
            self.selection_epochs += cfg.pt_tune_epochs
            self._make_optimizer(lr=tune_lr)
            for _ in range(cfg.pt_tune_epochs):
                self.train_epoch(update_arch=True)

        arch = perturbation_select(
            self.supernet,
            self.method.probabilities,
            lambda w: self.evaluate(w, cfg.pt_eval_batches),
            tune,
            seed=cfg.seed,
            log=self.selection_log.append,
        )
        return self.method.final_architecture(arch)

    # -- checkpoints --------------------------------------------------------------------------------
    def _make_scheduler(self) -> torch.optim.lr_scheduler.LRScheduler:
        """Per-epoch weight learning rate: cosine (DARTS) or natural-exponential cosine (AllegroNAS, Eq. 8)."""
        cfg = self.config
        period = cfg.lr_period or cfg.epochs
        if cfg.lr_schedule == "cosine":
            return torch.optim.lr_scheduler.CosineAnnealingLR(self.w_optimizer, period, eta_min=cfg.w_lr_min)
        return torch.optim.lr_scheduler.LambdaLR(
            self.w_optimizer, lambda epoch: neca_lr(epoch, period, cfg.w_lr, cfg.w_lr_min) / cfg.w_lr
        )

    def _rebuild_optimizer(self) -> None:
        """New supernet weights (DrNAS widening): a new optimiser on the current learning rate."""
        lr = self.w_optimizer.param_groups[0]["lr"]
        state = self.scheduler.state_dict()
        self._make_optimizer(lr=lr)
        self.scheduler = self._make_scheduler()
        self.scheduler.load_state_dict(state)

    def state_dict(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "method": self.method.state_dict(),
            "supernet": self.supernet.state_dict(),
            "w_optimizer": self.w_optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "rng": self._rng,
            "history": self.history,
            "seconds": self.seconds,
            "config": self.config.to_dict(),
        }

    def _checkpoint(self) -> None:
        if self.run_dir and distributed.is_main():
            save_checkpoint(self.run_dir / "search.pt", self.state_dict())
            # the per-epoch record as JSON too: `nas dashboard RUN_DIR` follows a running search without
            # loading the supernet's weights
            progress = {"config": self.config.to_dict(), "epoch": self.epoch, "history": self.history}
            atomic_write_bytes(self.run_dir / PROGRESS_FILE, json.dumps(progress, default=float).encode())

    def _saved_state(self) -> dict[str, Any] | None:
        """``run_dir/search.pt`` when there is one, checked to hold a search with this configuration."""
        if not self.run_dir or not (self.run_dir / "search.pt").exists():
            return None
        state = load_checkpoint(self.run_dir / "search.pt", map_location=self.device)
        saved = DiffSearchConfig.resolve(**_readable(state["config"]))
        if saved != self.config:
            raise ValueError(f"{self.run_dir} holds a search with another configuration; use a new run directory")
        return state

    def _resume(self) -> None:
        state = self._saved_state()
        if state is None:
            return
        self.method.load_state_dict(state["method"])  # restores structure changes (pruning, widening) first
        self.supernet.load_state_dict(state["supernet"])
        self._make_optimizer()
        self.w_optimizer.load_state_dict(state["w_optimizer"])
        self.scheduler = self._make_scheduler()
        self.scheduler.load_state_dict(state["scheduler"])
        self.epoch, self._rng, self.history, self.seconds = (
            state["epoch"],
            state["rng"],
            state["history"],
            state["seconds"],
        )
        log.info("resumed the search at epoch %d", self.epoch)
