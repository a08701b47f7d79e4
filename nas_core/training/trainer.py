"""One trainer for discrete networks, used by every caller (pool workers, retraining, benchmarks).

SGD with momentum and a cosine schedule over ``config.epochs`` (the full budget); ``train_to(e)``
may stop at any epoch ``e`` and a later ``train_to`` resumes exactly. The resumable state is the
model, optimiser, scheduler, the trainer's own RNG streams, the epoch and the metric history.
The trainer runs every epoch inside ``torch.random.fork_rng`` seeded from its own saved state, so
what other code does with the global RNG between epochs cannot change a candidate's training:
training 0->3 then 3->6 gives bit-identical weights to 0->6 on the CPU.

Published defaults (``TrainConfig.preset``):
- ``nb201``: NAS-Bench-201 protocol -- 200 epochs, batch 256, SGD lr 0.1 Nesterov momentum 0.9,
  weight decay 5e-4, cosine to 0, crop + flip (Dong & Yang 2020).
- ``darts-eval``: DARTS CIFAR evaluation -- 600 epochs, batch 96, lr 0.025 momentum 0.9, weight
  decay 3e-4, cosine to 0, gradient clip 5, cutout 16, drop-path 0.2, auxiliary weight 0.4
  (Liu et al. 2019).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from nas_core.data.loader import Augment, DeviceLoader
from nas_core.options import dataclass_from_dict

log = logging.getLogger(__name__)


#: ``TrainConfig.compile``: off, or a ``torch.compile`` mode ("reduce-overhead" records CUDA graphs)
COMPILE_MODES = ("off", "default", "reduce-overhead", "max-autotune")
#: when the cosine learning rate moves (TrainConfig.lr_schedule)
LR_SCHEDULES = ("epoch", "step")


class TrainingDivergedError(RuntimeError):
    """The training loss became NaN or infinite."""


@dataclass
class TrainConfig:
    #: length of the cosine schedule (epochs)
    epochs: int = 200
    #: training batch size (images)
    batch_size: int = 256
    #: SGD learning rate at the start of the cosine schedule
    lr: float = 0.1
    #: learning rate the cosine schedule ends at
    lr_min: float = 0.0
    #: when the cosine rate moves: ``epoch`` (once per epoch) | ``step`` (after every batch, reaching ``lr_min``
    #: at the last one; NAS-Bench-201's own training code updates its cosine rate every iteration, and a run of
    #: one or two epochs only anneals this way)
    lr_schedule: str = "epoch"
    #: SGD momentum
    momentum: float = 0.9
    #: Nesterov momentum (on/off)
    nesterov: bool = True
    #: L2 weight decay
    weight_decay: float = 5e-4
    #: gradient-norm clipping threshold (None: off)
    grad_clip: float | None = None
    #: label smoothing of the cross-entropy (probability mass)
    label_smoothing: float = 0.0
    #: weight of the auxiliary head's loss (DARTS networks that have one)
    auxiliary_weight: float = 0.4
    #: drop-path probability, raised linearly over training (DARTS networks)
    drop_path_prob: float = 0.0
    #: random-crop padding (pixels; 0: no crop)
    crop_padding: int = 4
    #: random horizontal flips (on/off)
    flip: bool = True
    #: cutout square side (pixels; 0: off)
    cutout: int = 0
    #: mixed precision: auto (bf16 autocast on CUDA) | bf16 | off
    amp: str = "auto"
    #: channels-last memory format (GPU speed; on/off)
    channels_last: bool = False
    #: torch.compile mode: off | default | reduce-overhead (CUDA graphs on CUDA) | max-autotune
    compile: str = "off"
    #: seed of the initialisation and the data order
    seed: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.compile, bool):  # configurations written before compile took a mode
            self.compile = "default" if self.compile else "off"
        checks = {
            "epochs": self.epochs > 0,
            "batch_size": self.batch_size > 0,
            "lr": self.lr > 0,
            "weight_decay": self.weight_decay >= 0,
            "drop_path_prob": 0 <= self.drop_path_prob < 1,
            "amp": self.amp in ("auto", "bf16", "off"),
            "compile": self.compile in COMPILE_MODES,
            "lr_schedule": self.lr_schedule in LR_SCHEDULES,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ValueError(
                "invalid TrainConfig "
                + ", ".join(f"{b}={getattr(self, b)!r}" for b in bad)
                + " (epochs/batch_size/lr > 0, weight_decay >= 0, drop_path_prob in [0, 1), "
                f"amp in auto|bf16|off, compile in {'|'.join(COMPILE_MODES)}, lr_schedule in epoch|step)"
            )

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> TrainConfig:
        """The training of protocol ``name`` (:data:`nas_core.presets.PROTOCOLS`) with ``overrides``."""
        from nas_core.presets import PROTOCOLS

        return cls(**{**PROTOCOLS.get(name)["train"], **overrides})

    @property
    def augment(self) -> Augment:
        return Augment(self.crop_padding, self.flip, self.cutout)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        return dataclass_from_dict(cls, data, "TrainConfig key(s)")


@dataclass
class EpochMetrics:
    epoch: int
    train_loss: float
    train_acc: float
    valid_loss: float | None
    valid_acc: float | None
    lr: float
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _RngStreams:
    cpu: torch.Tensor
    cuda: list[torch.Tensor] = field(default_factory=list)


def autocast_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    """bf16 autocast on CUDA for ``auto``/``bf16``; none on the CPU unless ``bf16`` is forced."""
    if amp == "off":
        return None
    if amp == "bf16" or device.type == "cuda":
        return torch.bfloat16
    return None


def model_outputs_loss(
    outputs: torch.Tensor | tuple[torch.Tensor, torch.Tensor],
    y: torch.Tensor,
    label_smoothing: float,
    auxiliary_weight: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss, logits) for a plain or ``(logits, aux_logits)`` output (DARTS auxiliary head)."""
    if isinstance(outputs, tuple):
        logits, aux = outputs
        loss = F.cross_entropy(logits, y, label_smoothing=label_smoothing)
        loss = loss + auxiliary_weight * F.cross_entropy(aux, y, label_smoothing=label_smoothing)
        return loss, logits
    return F.cross_entropy(outputs, y, label_smoothing=label_smoothing), outputs


class Trainer:
    """Train ``model`` on ``train`` batches; validate on ``valid`` after every epoch."""

    def __init__(self, model: nn.Module, config: TrainConfig, train: DeviceLoader, valid: DeviceLoader | None = None):
        self.config = config
        self.device = train.device
        self.model = model.to(self.device)
        if config.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        # static shapes: the last partial batch and the evaluation batches get graphs of their own, the
        # full training batch keeps its specialised one (automatic dynamic shapes would move it to a
        # symbolic-batch graph after the first partial batch)
        compiled = config.compile != "off"
        self.forward = torch.compile(self.model, mode=config.compile, dynamic=False) if compiled else self.model
        self._cuda_graphs = config.compile == "reduce-overhead" and self.device.type == "cuda"
        self.train_loader, self.valid_loader = train, valid
        self.optimizer = torch.optim.SGD(
            self.model.parameters(),
            lr=config.lr,
            momentum=config.momentum,
            nesterov=config.nesterov and config.momentum > 0,
            weight_decay=config.weight_decay,
            fused=self.device.type == "cuda",
        )
        self._per_step = config.lr_schedule == "step"
        steps = config.epochs * (len(train) if self._per_step else 1)
        self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, T_max=steps, eta_min=config.lr_min)
        self.epoch = 0
        self.history: list[EpochMetrics] = []
        self._rng = _RngStreams(torch.Generator().manual_seed(config.seed).get_state())
        self._amp = autocast_dtype(config.amp, self.device)

    # -- training -------------------------------------------------------------------------------
    def train_to(self, epoch: int, on_epoch: Callable[[EpochMetrics], None] | None = None) -> list[EpochMetrics]:
        """Train from the current epoch up to ``epoch`` (at most ``config.epochs``)."""
        if not self.epoch <= epoch <= self.config.epochs:
            raise ValueError(
                f"cannot train to epoch {epoch}: the trainer is at epoch {self.epoch} "
                f"of a {self.config.epochs}-epoch schedule"
            )
        new: list[EpochMetrics] = []
        while self.epoch < epoch:
            metrics = self._run_epoch()
            new.append(metrics)
            if on_epoch is not None:
                on_epoch(metrics)
        return new

    def _run_epoch(self) -> EpochMetrics:
        devices = [self.device.index or 0] if self.device.type == "cuda" else []
        start = time.perf_counter()
        lr = self.optimizer.param_groups[0]["lr"]  # the epoch's (first) rate
        with torch.random.fork_rng(devices=devices):
            torch.set_rng_state(self._rng.cpu)
            if devices and self._rng.cuda:
                torch.cuda.set_rng_state(self._rng.cuda[0], devices[0])
            train_loss, train_acc = self._train_one_epoch()
            self._rng = _RngStreams(torch.get_rng_state(), [torch.cuda.get_rng_state(d) for d in devices])
        if not self._per_step:
            self.scheduler.step()
        self.epoch += 1
        valid_loss, valid_acc = self.evaluate(self.valid_loader) if self.valid_loader is not None else (None, None)
        metrics = EpochMetrics(
            self.epoch, train_loss, train_acc, valid_loss, valid_acc, lr, time.perf_counter() - start
        )
        self.history.append(metrics)
        log.debug("epoch %d: %s", self.epoch, metrics)
        return metrics

    def _train_one_epoch(self) -> tuple[float, float]:
        cfg = self.config
        self.model.train()
        if hasattr(self.model, "drop_path_prob"):
            self.model.drop_path_prob = cfg.drop_path_prob * self.epoch / cfg.epochs
        self.train_loader.set_epoch(self.epoch)
        loss_sum = torch.zeros((), device=self.device)
        correct = torch.zeros((), device=self.device, dtype=torch.long)
        seen = 0
        for x, y in self.train_loader:
            if self._cuda_graphs:  # the previous step's graph outputs may be overwritten from here on
                torch.compiler.cudagraph_mark_step_begin()
            with torch.autocast(self.device.type, dtype=self._amp, enabled=self._amp is not None):
                loss, logits = model_outputs_loss(self.forward(x), y, cfg.label_smoothing, cfg.auxiliary_weight)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip:
                nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
            self.optimizer.step()
            if self._per_step:
                self.scheduler.step()
            loss_sum += loss.detach().float() * len(y)
            correct += (logits.argmax(1) == y).sum()
            seen += len(y)
        train_loss = loss_sum.item() / max(seen, 1)
        if not math.isfinite(train_loss):
            raise TrainingDivergedError(f"training loss became {train_loss} at epoch {self.epoch + 1}")
        return train_loss, 100.0 * correct.item() / max(seen, 1)

    @torch.no_grad()
    def evaluate(self, loader: DeviceLoader) -> tuple[float, float]:
        """(mean cross-entropy, accuracy in %) of the model on ``loader``."""
        self.model.eval()
        loss_sum = torch.zeros((), device=self.device)
        correct = torch.zeros((), device=self.device, dtype=torch.long)
        seen = 0
        for x, y in loader:
            if self._cuda_graphs:
                torch.compiler.cudagraph_mark_step_begin()
            with torch.autocast(self.device.type, dtype=self._amp, enabled=self._amp is not None):
                logits = self.forward(x)
            loss_sum += F.cross_entropy(logits.float(), y, reduction="sum")
            correct += (logits.argmax(1) == y).sum()
            seen += len(y)
        return loss_sum.item() / max(seen, 1), 100.0 * correct.item() / max(seen, 1)

    # -- resumable state ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "epoch": self.epoch,
            "rng_cpu": self._rng.cpu,
            "rng_cuda": self._rng.cuda,
            "history": [m.to_dict() for m in self.history],
            "config": self.config.to_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        saved = TrainConfig.from_dict(state["config"])
        if saved.epochs != self.config.epochs or saved.lr != self.config.lr:
            raise ValueError(
                f"checkpoint was trained with epochs={saved.epochs}, lr={saved.lr}; this trainer "
                f"uses epochs={self.config.epochs}, lr={self.config.lr}"
            )
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.epoch = int(state["epoch"])
        self._rng = _RngStreams(state["rng_cpu"], list(state["rng_cuda"]))
        self.history = [EpochMetrics(**m) for m in state["history"]]
