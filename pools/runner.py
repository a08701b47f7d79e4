"""Running a training job: build the candidate's network, resume it from its last good checkpoint,
train to the job's epoch with a checkpoint and a metrics record after every epoch.

Every candidate's initial weights and training randomness come from the pool's seed and the candidate's
architecture (its canonical hash: isomorphs alike, whatever order a pool added them in), and the data order
from the pool's seed and the epoch, so a job that is killed and resumed elsewhere produces the same weights
as one that never stopped, and two pools of one seed train an architecture identically.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import replace
from typing import Protocol

import torch

from nas_core.data import make_splits, split_loaders
from nas_core.training import CheckpointError, TrainConfig, Trainer, resolve_device
from pools.pool import Pool
from pools.records import Candidate, EpochRecord, Job

log = logging.getLogger(__name__)


class Lease(Protocol):
    worker: str

    def check(self) -> None: ...


def init_seed(pool_seed: int, arch_hash: str) -> int:
    """The seed of a candidate's initial weights and training randomness: (pool seed, architecture) only."""
    digest = hashlib.sha256(f"{pool_seed}:{arch_hash}".encode()).hexdigest()
    return int(digest[:15], 16)  # < 2**60: a valid torch seed


class TrainingRunner:
    """Trains pool candidates for real with :class:`nas_core.training.Trainer`."""

    def __init__(self, pool: Pool, device: str = "auto", data_root: str | None = None):
        self.pool = pool
        cfg = pool.config
        self.device = resolve_device(device)
        self.splits = make_splits(
            cfg.dataset,
            data_root or cfg.data_root,
            valid_fraction=cfg.valid_fraction,
            seed=cfg.split_seed,
            max_train=cfg.max_train,
            max_test=cfg.max_test,
        )
        self.train_config = TrainConfig.from_dict(cfg.train)
        loaders = split_loaders(
            self.splits,
            self.train_config.batch_size,
            device=self.device,
            seed=cfg.seed,
            augment=self.train_config.augment,
            channels_last=self.train_config.channels_last,
            pad_to=cfg.pad_to,
        )
        self.train_loader, self.valid_loader, self.test_loader = loaders.train, loaders.valid, loaders.test

    def network(self, arch: object) -> torch.nn.Module:
        """A freshly initialised network of ``arch`` at the pool's size for its data (the global RNG's init)."""
        c, _, _ = self.splits.shape
        return self.pool.space.build_network(
            arch, num_classes=self.splits.num_classes, in_channels=c, **self.pool.config.network_kwargs()
        )

    def trainer(self, candidate: Candidate) -> Trainer:
        """A fresh trainer for ``candidate`` (deterministic initial weights)."""
        seed = init_seed(self.pool.config.seed, candidate.arch_hash)
        torch.manual_seed(seed)
        net = self.network(candidate.arch)
        init = (candidate.info or {}).get("init")
        if init:  # a warm start: weights inherited from a supernet (supernet.engine.proposals.save_warm_start)
            try:
                inherited = self.pool.store.load(init)["model"]
            except CheckpointError as exc:
                raise CheckpointError(
                    f"candidate {candidate.id}: its warm-start weights are unreadable: {exc}"
                ) from exc
            try:
                net.load_state_dict(inherited)
            except RuntimeError as exc:
                raise CheckpointError(
                    f"candidate {candidate.id}: inherited weights {init} do not fit the pool's network "
                    f"{self.pool.config.network} (train the supernet with the same size): {exc}"
                ) from exc
        return Trainer(net, replace(self.train_config, seed=seed), self.train_loader, self.valid_loader)

    def restore(self, candidate: Candidate) -> tuple[Trainer, int]:
        """A trainer holding the newest usable checkpoint and its epoch. A checkpoint that cannot be read,
        or is readable but does not fit (another shape, missing keys), is skipped for an older one, each
        tried on a fresh trainer so a half-loaded one is never used; none usable: epoch 0."""
        for epoch, key in self.pool.checkpoints(candidate.id):
            if epoch > candidate.epochs_trained:
                continue
            trainer = self.trainer(candidate)
            try:
                trainer.load_state_dict(self.pool.store.load(key))
            except (CheckpointError, RuntimeError, KeyError, ValueError, TypeError) as exc:
                log.warning("candidate %d: checkpoint %s unusable (%s); trying an older one", candidate.id, key, exc)
                continue
            if epoch < candidate.epochs_trained:
                log.warning(
                    "candidate %d: resuming from epoch %d instead of %d (newer checkpoint unusable)",
                    candidate.id,
                    epoch,
                    candidate.epochs_trained,
                )
            return trainer, epoch
        if candidate.epochs_trained:
            log.warning(
                "candidate %d: no usable checkpoint; retraining from scratch (had %d epochs)",
                candidate.id,
                candidate.epochs_trained,
            )
        return self.trainer(candidate), 0

    def run(self, job: Job, lease: Lease) -> None:
        candidate = self.pool.candidate(job.candidate_id)
        trainer, _ = self.restore(candidate)

        def on_epoch(m) -> None:
            lease.check()
            key = f"cand{candidate.id:06d}_epoch{m.epoch:04d}.pt"
            self.pool.store.save(key, trainer.state_dict())
            record = EpochRecord(m.epoch, m.train_loss, m.train_acc, m.valid_loss, m.valid_acc, None, m.seconds)
            for old in self.pool.record_metrics(candidate.id, [record], m.epoch, key, job=job, worker=lease.worker):
                self.pool.store.delete(old)

        trainer.train_to(job.to_epoch, on_epoch)

    def test_accuracy(self, candidate: Candidate) -> float:
        """Test accuracy (%) of the candidate's latest checkpoint."""
        trainer, epoch = self.restore(candidate)
        if epoch == 0:
            raise CheckpointError(f"candidate {candidate.id} has no usable checkpoint to evaluate")
        return trainer.evaluate(self.test_loader)[1]
