"""A pool's candidate records: architectures, their NOSH levels, proxy scores, epoch metrics and checkpoints."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection

import pools.schema as S
from pools.records import LINEAGES_BUILTIN, Candidate, EpochRecord, Job, PoolError
from pools.storage import PoolStorage, _retrying


class CandidateRecords(PoolStorage):
    """The candidates of a pool and what was measured on them (one transaction per method)."""

    # -- candidates ----------------------------------------------------------------------------------
    def add_candidate(
        self, arch: Any, lineage: str = "random", parent_id: int | None = None, info: dict[str, Any] | None = None
    ) -> tuple[int, bool]:
        """Add ``arch`` (object or string); returns ``(id, created)``. Isomorphic duplicates are not added."""
        return self.add_candidates([arch], lineage, parent_id, info)[0]

    @_retrying
    def add_candidates(
        self,
        archs: Sequence[Any],
        lineage: str = "random",
        parent_id: int | None = None,
        info: dict[str, Any] | None = None,
    ) -> list[tuple[int, bool]]:
        if not lineage or not isinstance(lineage, str):
            raise ValueError(
                f"lineage must be a non-empty string (e.g. {', '.join(LINEAGES_BUILTIN)}), got {lineage!r}"
            )
        parsed = [self.space.parse(a) for a in archs]  # validate everything before writing anything
        out: list[tuple[int, bool]] = []
        dialect = sqlite_dialect if self._sqlite else pg_dialect
        with self._write() as conn:
            for arch in parsed:
                h = self.space.canonical_hash(arch)
                # INSERT ... ON CONFLICT DO NOTHING: two processes adding the same architecture at once
                # (PostgreSQL, READ COMMITTED) both succeed; the later one finds the row the first made
                new_id = conn.execute(
                    dialect.insert(S.candidates)
                    .values(
                        arch=self.space.to_string(arch),
                        arch_hash=h,
                        lineage=lineage,
                        parent_id=parent_id,
                        created_at=time.time(),
                        info=info,
                    )
                    .on_conflict_do_nothing(index_elements=["arch_hash"])
                    .returning(S.candidates.c.id)
                ).scalar_one_or_none()
                if new_id is not None:
                    out.append((new_id, True))
                    continue
                row = conn.execute(sa.select(S.candidates.c.id).where(S.candidates.c.arch_hash == h)).one()
                out.append((row.id, False))
        return out

    @_retrying
    def set_info(self, candidate_id: int, info: dict[str, Any]) -> None:
        """Replace candidate ``candidate_id``'s ``info`` (e.g. the warm-start weights it will start from)."""
        with self._write() as conn:
            conn.execute(sa.update(S.candidates).where(S.candidates.c.id == candidate_id).values(info=info))

    @_retrying
    def find(self, arch: Any) -> Candidate | None:
        """The candidate isomorphic to ``arch``, if any."""
        h = self.space.canonical_hash(arch)
        with self._read() as conn:
            row = conn.execute(sa.select(S.candidates).where(S.candidates.c.arch_hash == h)).first()
        return Candidate(**row._mapping) if row else None

    @_retrying
    def candidate(self, candidate_id: int) -> Candidate:
        with self._read() as conn:
            row = conn.execute(sa.select(S.candidates).where(S.candidates.c.id == candidate_id)).first()
        if row is None:
            raise PoolError(f"pool {self.url} has no candidate {candidate_id}")
        return Candidate(**row._mapping)

    @_retrying
    def candidates(self, status: str | None = None, level: int | None = None) -> list[Candidate]:
        query = sa.select(S.candidates).order_by(S.candidates.c.id)
        if status is not None:
            query = query.where(S.candidates.c.status == status)
        if level is not None:
            query = query.where(S.candidates.c.level == level)
        with self._read() as conn:
            return [Candidate(**r._mapping) for r in conn.execute(query)]

    @_retrying
    def total_epochs(self) -> int:
        """Epochs trained over all candidates (the cost of a search so far)."""
        with self._read() as conn:
            return int(
                conn.execute(sa.select(sa.func.coalesce(sa.func.sum(S.candidates.c.epochs_trained), 0))).scalar()
            )

    @_retrying
    def set_levels(self, levels: dict[int, int], state: tuple[str, Any] | None = None) -> None:
        """Set NOSH levels of several candidates; with ``state=(key, value)`` also store a state
        record in the same transaction (so a resumed search sees both or neither)."""
        with self._write() as conn:
            for cid, level in levels.items():
                conn.execute(sa.update(S.candidates).where(S.candidates.c.id == cid).values(level=level))
            if state is not None:
                self._upsert(conn, S.pool_meta, [{"key": state[0], "value": state[1]}], ("key",))

    def set_proxy_scores(self, candidate_id: int, scores: dict[str, float]) -> None:
        self.set_proxy_scores_many({candidate_id: scores})

    @_retrying
    def set_proxy_scores_many(self, scores: dict[int, dict[str, float]]) -> None:
        rows = [{"candidate_id": cid, "proxy": k, "score": float(v)} for cid, s in scores.items() for k, v in s.items()]
        with self._write() as conn:
            self._upsert(conn, S.proxy_scores, rows, ("candidate_id", "proxy"))

    @_retrying
    def proxy_scores(self) -> dict[int, dict[str, float]]:
        out: dict[int, dict[str, float]] = {}
        with self._read() as conn:
            for r in conn.execute(sa.select(S.proxy_scores)):
                out.setdefault(r.candidate_id, {})[r.proxy] = r.score
        return out

    # -- metrics -------------------------------------------------------------------------------------
    @_retrying
    def record_metrics(
        self,
        candidate_id: int,
        records: Sequence[EpochRecord],
        epochs_trained: int | None = None,
        checkpoint: str | None = None,
        job: Job | None = None,
        worker: str | None = None,
    ) -> list[str]:
        """Store per-epoch metrics (and the candidate's progress) in one transaction.

        With ``job``/``worker`` the write happens only while the worker still holds the job
        (else :class:`LostLeaseError`). Returns checkpoint keys that fell out of the kept window
        (the caller deletes them from the store after the commit).
        """
        if checkpoint is not None and epochs_trained is None:
            raise ValueError("a checkpoint needs the epoch it was taken at (epochs_trained)")
        now = time.time()
        rows = [{"candidate_id": candidate_id, **asdict(r), "recorded_at": now} for r in records]
        with self._write() as conn:
            if job is not None:
                self._renew(conn, job.id, worker)
            self._upsert(conn, S.epoch_metrics, rows, ("candidate_id", "epoch"))
            values: dict[str, Any] = {}
            if epochs_trained is not None:
                values["epochs_trained"] = epochs_trained
            if checkpoint is not None:
                values["checkpoint"] = checkpoint
                self._upsert(
                    conn,
                    S.checkpoints,
                    [{"candidate_id": candidate_id, "epoch": epochs_trained, "key": checkpoint}],
                    ("candidate_id", "epoch"),
                )
            if values:
                conn.execute(sa.update(S.candidates).where(S.candidates.c.id == candidate_id).values(**values))
            return self._prune_checkpoints(conn, candidate_id) if checkpoint is not None else []

    @_retrying
    def record_observations(self, records: dict[int, list[EpochRecord]], state: tuple[str, Any] | None = None) -> None:
        """Metrics of many candidates in one transaction; each candidate's ``epochs_trained`` becomes
        its highest recorded epoch (for evaluators that look results up instead of training). With
        ``state=(key, value)`` a state record is stored in the same transaction."""
        now = time.time()
        rows = [{"candidate_id": cid, **asdict(r), "recorded_at": now} for cid, recs in records.items() for r in recs]
        with self._write() as conn:
            self._upsert(conn, S.epoch_metrics, rows, ("candidate_id", "epoch"))
            for cid, recs in records.items():
                top = max(r.epoch for r in recs)
                conn.execute(
                    sa.update(S.candidates)
                    .where(S.candidates.c.id == cid, S.candidates.c.epochs_trained < top)
                    .values(epochs_trained=top)
                )
            if state is not None:
                self._upsert(conn, S.pool_meta, [{"key": state[0], "value": state[1]}], ("key",))

    def _prune_checkpoints(self, conn: Connection, candidate_id: int) -> list[str]:
        rows = conn.execute(
            sa.select(S.checkpoints.c.epoch, S.checkpoints.c.key)
            .where(S.checkpoints.c.candidate_id == candidate_id)
            .order_by(S.checkpoints.c.epoch.desc())
        ).all()
        old = rows[self.config.keep_checkpoints :]
        if old:
            conn.execute(
                sa.delete(S.checkpoints).where(
                    S.checkpoints.c.candidate_id == candidate_id, S.checkpoints.c.epoch.in_([r.epoch for r in old])
                )
            )
        return [r.key for r in old]

    @_retrying
    def checkpoints(self, candidate_id: int) -> list[tuple[int, str]]:
        """``(epoch, key)`` of the candidate's recorded checkpoints, newest first."""
        with self._read() as conn:
            rows = conn.execute(
                sa.select(S.checkpoints.c.epoch, S.checkpoints.c.key)
                .where(S.checkpoints.c.candidate_id == candidate_id)
                .order_by(S.checkpoints.c.epoch.desc())
            ).all()
        return [(r.epoch, r.key) for r in rows]

    @_retrying
    def metrics(self, candidate_id: int | None = None) -> dict[int, list[EpochRecord]]:
        """Per-candidate epoch records, in epoch order."""
        query = sa.select(S.epoch_metrics).order_by(S.epoch_metrics.c.candidate_id, S.epoch_metrics.c.epoch)
        if candidate_id is not None:
            query = query.where(S.epoch_metrics.c.candidate_id == candidate_id)
        out: dict[int, list[EpochRecord]] = {}
        with self._read() as conn:
            for r in conn.execute(query):
                m = dict(r._mapping)
                cid = m.pop("candidate_id")
                m.pop("recorded_at")
                out.setdefault(cid, []).append(EpochRecord(**m))
        return out

    # -- jobs --------------------------------------------------------------------------------------------
