"""The candidate pool: the system of record of a search, in SQLite (default) or PostgreSQL.

Why not Optuna's storages for the job queue: Optuna's ``RDBStorage`` pops a waiting trial by
reading it and then updating it; SQLite ignores ``FOR UPDATE``, so two processes can pop the same
trial (measured: 36 of 200 jobs claimed twice by 8 processes on Optuna 5.0). Here every claim is a
single conditional ``UPDATE ... RETURNING`` inside a write transaction (``BEGIN IMMEDIATE`` on
SQLite, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so a job is claimed by exactly one worker, and
"epoch finished" + "metrics recorded" + "checkpoint recorded" commit together. Heartbeats and
staleness use the *database's* clock, so workers on machines with skewed clocks still agree.
Optuna's artifact stores serve as checkpoint stores (``pools.store``).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError

from pools import schema as S
from pools.store import CheckpointStore, open_store
from supernet.spaces import SearchSpace, get_space

log = logging.getLogger(__name__)

LINEAGES_BUILTIN = ("random", "mutation", "ranker", "proxy", "seed")
URL_HELP = "expected sqlite:///path/to/pool.db or postgresql://user:password@host[:port]/database"


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
    network: dict[str, Any] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    checkpoint_store: str | None = None
    keep_checkpoints: int = 2
    max_attempts: int = 3
    heartbeat_timeout: float = 120.0

    def __post_init__(self) -> None:
        get_space(self.space)  # raises KeyError naming the known spaces
        if self.keep_checkpoints < 1 or self.max_attempts < 1 or self.heartbeat_timeout <= 0:
            raise ValueError(
                f"keep_checkpoints and max_attempts must be >= 1 and heartbeat_timeout > 0, got "
                f"{self.keep_checkpoints}, {self.max_attempts}, {self.heartbeat_timeout}"
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


def parse_pool_url(url: str, create: bool = False) -> sa.URL:
    """Validate a pool URL; relative SQLite paths are resolved (and, with ``create``, their folder made)."""
    if not isinstance(url, str) or not url.strip():
        raise ValueError(f"malformed pool URL {url!r}: {URL_HELP}")
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValueError(f"malformed pool URL {url!r}: {URL_HELP}") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise ValueError(f"pool URL {url!r} names no database file; {URL_HELP}")
        path = Path(parsed.database).expanduser().resolve()
        if create:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ValueError(f"cannot create the folder of pool {url!r}: {exc}") from None
        elif not path.exists():
            raise PoolError(f"no pool at {url}: {path} does not exist")
        return parsed.set(database=str(path))
    if backend == "postgresql":
        if not parsed.database:
            raise ValueError(f"pool URL {url!r} names no database; {URL_HELP}")
        return parsed
    raise ValueError(f"unsupported pool URL {url!r} (backend {backend!r}); {URL_HELP}")


def _make_engine(url: sa.URL) -> Engine:
    if url.get_backend_name() == "sqlite":
        engine = sa.create_engine(url, connect_args={"timeout": 120})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


class Pool:
    """A pool of candidates bound to one search space and dataset. Use :meth:`create` / :meth:`open`."""

    def __init__(self, engine: Engine, config: PoolConfig):
        self.engine, self.config = engine, config
        self.url = engine.url.render_as_string(hide_password=True)
        self.space: SearchSpace = get_space(config.space)
        self._sqlite = engine.dialect.name == "sqlite"
        self.store: CheckpointStore = open_store(config.checkpoint_store)

    # -- opening -----------------------------------------------------------------------------------
    @classmethod
    def create(cls, url: str, config: PoolConfig, exist_ok: bool = False) -> Pool:
        """Create a pool at ``url``; with ``exist_ok`` an existing pool of the same space/dataset is opened."""
        parsed = parse_pool_url(url, create=True)
        engine = _make_engine(parsed)
        url = engine.url.render_as_string(hide_password=True)
        existing = _read_meta(engine, url)
        if existing is not None:
            if not exist_ok:
                raise PoolError(
                    f"a pool already exists at {url} (space {existing['space']!r}, "
                    f"dataset {existing['dataset']!r}); open it instead"
                )
            pool = cls(engine, PoolConfig(**existing))
            pool._check_binding(config.space, config.dataset)
            return pool
        if config.checkpoint_store is None:
            if parsed.get_backend_name() != "sqlite":
                raise ValueError("a PostgreSQL pool needs config.checkpoint_store (a shared folder or s3://...)")
            config.checkpoint_store = str(Path(parsed.database).with_suffix(".checkpoints"))
        with _connect_errors(url):
            S.metadata.create_all(engine)
            pool = cls(engine, config)
            with pool._write() as conn:
                conn.execute(
                    sa.insert(S.pool_meta),
                    [
                        {"key": "config", "value": asdict(config)},
                        {"key": "schema_version", "value": S.SCHEMA_VERSION},
                        {"key": "created_at", "value": time.time()},
                    ],
                )
        return pool

    @classmethod
    def open(cls, url: str, space: str | None = None, dataset: str | None = None) -> Pool:
        """Open an existing pool; ``space``/``dataset``, when given, must match what it was created for."""
        engine = _make_engine(parse_pool_url(url))
        url = engine.url.render_as_string(hide_password=True)
        meta = _read_meta(engine, url)
        if meta is None:
            raise PoolError(f"no pool at {url}; create one first (`nas pool create` or a search with --pool)")
        pool = cls(engine, PoolConfig(**meta))
        pool._check_binding(space, dataset)
        return pool

    def _check_binding(self, space: str | None, dataset: str | None) -> None:
        for what, asked, bound in (("space", space, self.config.space), ("dataset", dataset, self.config.dataset)):
            if asked is not None and asked != bound:
                raise PoolError(
                    f"pool {self.url} was created for {what} {bound!r}, not {asked!r}; "
                    f"use another pool URL for a different {what}"
                )

    def close(self) -> None:
        self.engine.dispose()

    # -- transactions ----------------------------------------------------------------------------------
    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A write transaction; on SQLite it takes the write lock up front (``BEGIN IMMEDIATE``)."""
        with self.engine.connect() as conn:
            if not self._sqlite:
                with conn.begin():
                    yield conn
                return
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.exec_driver_sql("ROLLBACK")
                raise
            conn.exec_driver_sql("COMMIT")

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    def _now(self) -> sa.ColumnElement[float]:
        """The database's clock in Unix seconds (used for every heartbeat comparison)."""
        if self._sqlite:
            return sa.literal_column("((julianday('now') - 2440587.5) * 86400.0)", sa.Float)
        return sa.extract("epoch", sa.func.clock_timestamp()).cast(sa.Float)

    def _upsert(self, conn: Connection, table: sa.Table, rows: list[dict[str, Any]], keys: Sequence[str]) -> None:
        if not rows:
            return
        dialect = sqlite_dialect if self._sqlite else pg_dialect
        stmt = dialect.insert(table).values(rows)
        stmt = stmt.on_conflict_do_update(
            index_elements=list(keys), set_={c: stmt.excluded[c] for c in rows[0] if c not in keys}
        )
        conn.execute(stmt)

    # -- candidates ----------------------------------------------------------------------------------
    def add_candidate(
        self, arch: Any, lineage: str = "random", parent_id: int | None = None, info: dict[str, Any] | None = None
    ) -> tuple[int, bool]:
        """Add ``arch`` (object or string); returns ``(id, created)``. Isomorphic duplicates are not added."""
        return self.add_candidates([arch], lineage, parent_id, info)[0]

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
        with self._write() as conn:
            for arch in parsed:
                h = self.space.canonical_hash(arch)
                row = conn.execute(sa.select(S.candidates.c.id).where(S.candidates.c.arch_hash == h)).first()
                if row is not None:
                    out.append((row.id, False))
                    continue
                new_id = conn.execute(
                    sa.insert(S.candidates)
                    .values(
                        arch=self.space.to_string(arch),
                        arch_hash=h,
                        lineage=lineage,
                        parent_id=parent_id,
                        created_at=time.time(),
                        info=info,
                    )
                    .returning(S.candidates.c.id)
                ).scalar_one()
                out.append((new_id, True))
        return out

    def find(self, arch: Any) -> Candidate | None:
        """The candidate isomorphic to ``arch``, if any."""
        h = self.space.canonical_hash(arch)
        with self._read() as conn:
            row = conn.execute(sa.select(S.candidates).where(S.candidates.c.arch_hash == h)).first()
        return Candidate(**row._mapping) if row else None

    def candidate(self, candidate_id: int) -> Candidate:
        with self._read() as conn:
            row = conn.execute(sa.select(S.candidates).where(S.candidates.c.id == candidate_id)).first()
        if row is None:
            raise PoolError(f"pool {self.url} has no candidate {candidate_id}")
        return Candidate(**row._mapping)

    def candidates(self, status: str | None = None, level: int | None = None) -> list[Candidate]:
        query = sa.select(S.candidates).order_by(S.candidates.c.id)
        if status is not None:
            query = query.where(S.candidates.c.status == status)
        if level is not None:
            query = query.where(S.candidates.c.level == level)
        with self._read() as conn:
            return [Candidate(**r._mapping) for r in conn.execute(query)]

    def total_epochs(self) -> int:
        """Epochs trained over all candidates (the cost of a search so far)."""
        with self._read() as conn:
            return int(
                conn.execute(sa.select(sa.func.coalesce(sa.func.sum(S.candidates.c.epochs_trained), 0))).scalar()
            )

    def set_levels(self, levels: dict[int, int], state: tuple[str, Any] | None = None) -> None:
        """Set NOSH levels of several candidates; with ``state=(key, value)`` also store a state
        record in the same transaction (so a resumed search sees both or neither)."""
        with self._write() as conn:
            for cid, level in levels.items():
                conn.execute(sa.update(S.candidates).where(S.candidates.c.id == cid).values(level=level))
            if state is not None:
                self._upsert(conn, S.pool_meta, [{"key": state[0], "value": state[1]}], ("key",))

    def get_state(self, key: str) -> Any:
        """A state record stored with :meth:`set_state` (None if absent)."""
        with self._read() as conn:
            row = conn.execute(sa.select(S.pool_meta.c.value).where(S.pool_meta.c.key == key)).first()
        if row is None:
            return None
        return json.loads(row.value) if isinstance(row.value, str) else row.value

    def set_state(self, key: str, value: Any) -> None:
        if key in ("config", "schema_version", "created_at"):
            raise ValueError(f"state key {key!r} is reserved")
        with self._write() as conn:
            self._upsert(conn, S.pool_meta, [{"key": key, "value": value}], ("key",))

    def set_proxy_scores(self, candidate_id: int, scores: dict[str, float]) -> None:
        self.set_proxy_scores_many({candidate_id: scores})

    def set_proxy_scores_many(self, scores: dict[int, dict[str, float]]) -> None:
        rows = [{"candidate_id": cid, "proxy": k, "score": float(v)} for cid, s in scores.items() for k, v in s.items()]
        with self._write() as conn:
            self._upsert(conn, S.proxy_scores, rows, ("candidate_id", "proxy"))

    def proxy_scores(self) -> dict[int, dict[str, float]]:
        out: dict[int, dict[str, float]] = {}
        with self._read() as conn:
            for r in conn.execute(sa.select(S.proxy_scores)):
                out.setdefault(r.candidate_id, {})[r.proxy] = r.score
        return out

    # -- metrics -------------------------------------------------------------------------------------
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

    def checkpoints(self, candidate_id: int) -> list[tuple[int, str]]:
        """``(epoch, key)`` of the candidate's recorded checkpoints, newest first."""
        with self._read() as conn:
            rows = conn.execute(
                sa.select(S.checkpoints.c.epoch, S.checkpoints.c.key)
                .where(S.checkpoints.c.candidate_id == candidate_id)
                .order_by(S.checkpoints.c.epoch.desc())
            ).all()
        return [(r.epoch, r.key) for r in rows]

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
    def enqueue(self, candidate_id: int, to_epoch: int, priority: float = 0.0) -> int | None:
        """Queue "train ``candidate_id`` to ``to_epoch``"; None when it is already trained that far."""
        if to_epoch < 1:
            raise ValueError(f"to_epoch must be >= 1, got {to_epoch}")
        with self._write() as conn:
            cand = conn.execute(sa.select(S.candidates).where(S.candidates.c.id == candidate_id)).first()
            if cand is None:
                raise PoolError(f"pool {self.url} has no candidate {candidate_id}")
            if cand.status == "failed":
                raise PoolError(f"candidate {candidate_id} failed ({cand.error}); it is not trained further")
            if cand.epochs_trained >= to_epoch:
                return None
            active = conn.execute(
                sa.select(S.jobs).where(
                    S.jobs.c.candidate_id == candidate_id, S.jobs.c.state.in_(["queued", "running"])
                )
            ).first()
            if active is not None:
                if active.to_epoch >= to_epoch:
                    return active.id
                if active.state == "queued":
                    conn.execute(sa.update(S.jobs).where(S.jobs.c.id == active.id).values(to_epoch=to_epoch))
                    return active.id
                raise PoolError(
                    f"candidate {candidate_id} is being trained to epoch {active.to_epoch}; "
                    f"enqueue epoch {to_epoch} after that job finishes"
                )
            job_id = conn.execute(
                sa.insert(S.jobs)
                .values(
                    candidate_id=candidate_id,
                    to_epoch=to_epoch,
                    state="queued",
                    priority=priority,
                    max_attempts=self.config.max_attempts,
                    created_at=time.time(),
                )
                .returning(S.jobs.c.id)
            ).scalar_one()
            conn.execute(sa.update(S.candidates).where(S.candidates.c.id == candidate_id).values(status="queued"))
            return job_id

    def claim(self, worker: str) -> Job | None:
        """Atomically take the highest-priority queued job (after requeueing jobs of dead workers).

        One write transaction: stale jobs are requeued (or failed) and one queued job is claimed.
        """
        now = self._now()
        next_id = (
            sa.select(S.jobs.c.id)
            .where(S.jobs.c.state == "queued")
            .order_by(S.jobs.c.priority.desc(), S.jobs.c.id)
            .limit(1)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        with self._write() as conn:
            self._requeue_stale(conn)
            row = conn.execute(
                sa.update(S.jobs)
                .where(S.jobs.c.id == next_id, S.jobs.c.state == "queued")
                .values(state="running", worker=worker, heartbeat=now, started_at=now, attempts=S.jobs.c.attempts + 1)
                .returning(*S.jobs.c)
            ).first()
            if row is None:
                return None
            conn.execute(sa.update(S.candidates).where(S.candidates.c.id == row.candidate_id).values(status="training"))
        return Job(**row._mapping)

    def _renew(self, conn: Connection, job_id: int, worker: str | None) -> None:
        renewed = conn.execute(
            sa.update(S.jobs)
            .where(S.jobs.c.id == job_id, S.jobs.c.worker == worker, S.jobs.c.state == "running")
            .values(heartbeat=self._now())
        ).rowcount
        if renewed != 1:
            raise LostLeaseError(f"job {job_id} is no longer held by worker {worker!r} (heartbeat timed out)")

    def heartbeat(self, job: Job, worker: str) -> None:
        """Keep ``worker``'s lease on ``job``; raises :class:`LostLeaseError` if it was lost."""
        with self._write() as conn:
            self._renew(conn, job.id, worker)

    def requeue_stale(self) -> int:
        """Jobs whose worker stopped heartbeating: requeue them, or fail them after ``max_attempts``."""
        with self._write() as conn:
            return self._requeue_stale(conn)

    def _requeue_stale(self, conn: Connection) -> int:
        stale = sa.and_(S.jobs.c.state == "running", S.jobs.c.heartbeat < self._now() - self.config.heartbeat_timeout)
        lost = "worker lost (heartbeat timed out) on every attempt"
        failed = (
            conn.execute(
                sa.update(S.jobs)
                .where(stale, S.jobs.c.attempts >= S.jobs.c.max_attempts)
                .values(state="failed", finished_at=self._now(), error=lost)
                .returning(S.jobs.c.candidate_id)
            )
            .scalars()
            .all()
        )
        requeued = conn.execute(
            sa.update(S.jobs)
            .where(stale)
            .values(state="queued", worker=None)
            .returning(S.jobs.c.id, S.jobs.c.candidate_id)
        ).all()
        if failed:
            conn.execute(
                sa.update(S.candidates).where(S.candidates.c.id.in_(failed)).values(status="failed", error=lost)
            )
        if requeued:
            conn.execute(
                sa.update(S.candidates)
                .where(S.candidates.c.id.in_([r.candidate_id for r in requeued]))
                .values(status="queued")
            )
        for r in requeued:
            log.warning("job %d (candidate %d): worker stopped heartbeating; requeued", r.id, r.candidate_id)
        return len(requeued)

    def complete(self, job: Job, worker: str) -> None:
        with self._write() as conn:
            done = conn.execute(
                sa.update(S.jobs)
                .where(S.jobs.c.id == job.id, S.jobs.c.worker == worker, S.jobs.c.state == "running")
                .values(state="done", finished_at=self._now())
            ).rowcount
            if done != 1:
                raise LostLeaseError(f"job {job.id} is no longer held by worker {worker!r}")
            conn.execute(sa.update(S.candidates).where(S.candidates.c.id == job.candidate_id).values(status="idle"))

    def fail(self, job: Job, worker: str, error: str, retry: bool = True) -> str:
        """Record a failed attempt: requeue while attempts remain (and ``retry``), else mark failed.

        Returns the job's new state.
        """
        with self._write() as conn:
            row = conn.execute(
                sa.select(S.jobs)
                .where(S.jobs.c.id == job.id, S.jobs.c.worker == worker, S.jobs.c.state == "running")
                .with_for_update()
            ).first()
            if row is None:
                raise LostLeaseError(f"job {job.id} is no longer held by worker {worker!r}")
            state = "queued" if retry and row.attempts < row.max_attempts else "failed"
            conn.execute(
                sa.update(S.jobs)
                .where(S.jobs.c.id == job.id)
                .values(
                    state=state,
                    error=error,
                    worker=None if state == "queued" else worker,
                    finished_at=None if state == "queued" else self._now(),
                )
            )
            conn.execute(
                sa.update(S.candidates)
                .where(S.candidates.c.id == job.candidate_id)
                .values(status=state if state == "failed" else "queued", error=error if state == "failed" else None)
            )
        (log.warning if state == "queued" else log.error)(
            "job %d (candidate %d) failed: %s -> %s", job.id, job.candidate_id, error, state
        )
        return state

    def jobs(self, state: str | None = None) -> list[Job]:
        query = sa.select(S.jobs).order_by(S.jobs.c.id)
        if state is not None:
            query = query.where(S.jobs.c.state == state)
        with self._read() as conn:
            return [Job(**r._mapping) for r in conn.execute(query)]

    def count_jobs(self) -> dict[str, int]:
        with self._read() as conn:
            rows = conn.execute(sa.select(S.jobs.c.state, sa.func.count()).group_by(S.jobs.c.state)).all()
        return {state: n for state, n in rows}

    # -- reporting ------------------------------------------------------------------------------------
    def export(self) -> dict[str, Any]:
        """Everything in the pool, as JSON-ready data."""
        metrics, proxies = self.metrics(), self.proxy_scores()
        cands = []
        for c in self.candidates():
            item = asdict(c)
            item["metrics"] = [asdict(m) for m in metrics.get(c.id, [])]
            item["proxies"] = proxies.get(c.id, {})
            item["checkpoints"] = [{"epoch": e, "key": k} for e, k in self.checkpoints(c.id)]
            cands.append(item)
        return {
            "url": self.url,
            "config": asdict(self.config),
            "candidates": cands,
            "jobs": [asdict(j) for j in self.jobs()],
        }


def _read_meta(engine: Engine, url: str) -> dict[str, Any] | None:
    with _connect_errors(url):
        if not sa.inspect(engine).has_table("pool_meta"):
            return None
        with engine.connect() as conn:
            row = conn.execute(sa.select(S.pool_meta.c.value).where(S.pool_meta.c.key == "config")).first()
    if row is None:
        return None
    value = row.value
    return json.loads(value) if isinstance(value, str) else value


@contextmanager
def _connect_errors(url: str) -> Iterator[None]:
    try:
        yield
    except OperationalError as exc:
        raise PoolError(f"cannot reach pool database {url}: {str(exc.orig).strip()}") from None
    except IntegrityError as exc:
        raise PoolError(f"pool {url}: {str(exc.orig).strip()}") from None
