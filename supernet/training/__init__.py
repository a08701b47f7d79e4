"""The resumable trainer for discrete networks and atomic checkpoints."""

from __future__ import annotations

import torch

from supernet.training.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from supernet.training.trainer import EpochMetrics, TrainConfig, Trainer, TrainingDivergedError


def resolve_device(device: str | None = "auto") -> torch.device:
    """``auto`` (or None) picks CUDA when present, else the CPU; otherwise ``torch.device(device)``."""
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError:
        raise ValueError(f"invalid device {device!r}; expected 'auto', 'cpu', 'cuda' or 'cuda:N'") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available on this machine")
    return resolved


__all__ = [
    "CheckpointError",
    "EpochMetrics",
    "TrainConfig",
    "Trainer",
    "TrainingDivergedError",
    "load_checkpoint",
    "resolve_device",
    "save_checkpoint",
]
