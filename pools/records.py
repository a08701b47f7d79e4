"""What a pool stores, as Python values: its configuration, candidates, jobs and epoch records, and its errors."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from nas_core.spaces import declaration, declare_space, get_space, space_names
from nas_core.vocabulary import NetworkSize

LINEAGES_BUILTIN = ("random", "mutation", "ranker", "proxy", "seed")
URL_HELP = "expected sqlite:///path/to/pool.db or postgresql://user:password@host[:port]/database"


_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")


def redact(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@host`` URL in it replaced by ``***``."""
    return _PASSWORD.sub(r"\1***@", text)


class PoolError(RuntimeError):
    """A pool operation is invalid (missing pool, mismatched binding, unknown candidate ...)."""


class LostLeaseError(PoolError):
    """The job no longer belongs to this worker (its heartbeat went stale and it was requeued)."""


@dataclass
class PoolConfig:
    """What a pool is bound to and how its candidates are trained."""

    space: str
    dataset: str = "fashion-mnist"
    data_root: str | None = None
    valid_fraction: float = 0.2
    split_seed: int = 0
    max_train: int | None = None
    max_test: int | None = None
    pad_to: int | None = None
    #: the candidates' size (None: the space's default network, nb201 C=16 N=5 / DARTS 20 cells C=36)
    network: NetworkSize | None = None
    train: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    checkpoint_store: str | None = None
    keep_checkpoints: int = 2
    max_attempts: int = 3
    heartbeat_timeout: float = 120.0
    #: how a space made by ``declare_space`` was declared (filled in when the pool is created; a process that
    #: opens the pool without the declaration makes it from this)
    space_declaration: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        self._declare_space()
        get_space(self.space)  # raises KeyError naming the known spaces
        # a stored pool holds a mapping ({} or, written before NetworkSize, {C, N} / {C, layers})
        self.network = NetworkSize.parse(self.network) if self.network else None
        if self.keep_checkpoints < 1 or self.max_attempts < 1 or self.heartbeat_timeout <= 0:
            raise ValueError(
                f"keep_checkpoints and max_attempts must be >= 1 and heartbeat_timeout > 0, got "
                f"{self.keep_checkpoints}, {self.max_attempts}, {self.heartbeat_timeout}"
            )
        if not 0.0 < self.valid_fraction < 1.0:  # candidates are compared on validation: it cannot be empty
            raise ValueError(f"valid_fraction must be in (0, 1) for a pool, got {self.valid_fraction!r}")

    def _declare_space(self) -> None:
        known = declaration(self.space) if self.space in space_names() else None
        if self.space_declaration is None:
            self.space_declaration = known
        elif self.space not in space_names():
            declare_space(self.space, **self.space_declaration)
        elif known != self.space_declaration:
            raise ValueError(
                f"space {self.space!r} is declared here as {known}, the pool was made with {self.space_declaration}"
            )

    def network_kwargs(self) -> dict[str, int]:
        """The space's network constructor arguments for :attr:`network` ({}: the space's defaults)."""
        return get_space(self.space).size_kwargs(self.network) if self.network else {}

    def differences(self, other: PoolConfig) -> list[str]:
        """``"name: ours -> other's"`` for each setting that decides how candidates train and differ between
        the two (:data:`TRAINING_SETTINGS`); where the data sits and how checkpoints are kept may differ."""
        return [
            f"{name}: {getattr(self, name)!r} -> {getattr(other, name)!r}"
            for name in TRAINING_SETTINGS
            if getattr(self, name) != getattr(other, name)
        ]


#: the settings of a :class:`PoolConfig` that decide what a candidate's training gives: a pool reopened with
#: other values would mix two experiments (the data folder, checkpoint store and lease timing may differ
#: from machine to machine)
TRAINING_SETTINGS = (
    "space",
    "dataset",
    "valid_fraction",
    "split_seed",
    "max_train",
    "max_test",
    "pad_to",
    "network",
    "train",
    "seed",
    "space_declaration",
)


@dataclass
class Candidate:
    id: int
    arch: str
    arch_hash: str
    lineage: str
    parent_id: int | None
    level: int
    status: str
    epochs_trained: int
    checkpoint: str | None
    error: str | None
    created_at: float
    info: dict[str, Any] | None


@dataclass
class Job:
    id: int
    candidate_id: int
    to_epoch: int
    state: str
    priority: float
    worker: str | None
    attempts: int
    max_attempts: int
    heartbeat: float | None
    created_at: float
    started_at: float | None
    finished_at: float | None
    error: str | None


@dataclass
class EpochRecord:
    epoch: int
    train_loss: float | None = None
    train_acc: float | None = None
    valid_loss: float | None = None
    valid_acc: float | None = None
    test_acc: float | None = None
    seconds: float | None = None
