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

import functools
import json
import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, IntegrityError, InterfaceError, OperationalError

import pools.schema as S
from pools.interrupts import uninterrupted
from pools.store import CheckpointStore, open_store
from supernet.spaces import SearchSpace, get_space

log = logging.getLogger(__name__)
T = TypeVar("T")

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
        if not 0.0 < self.valid_fraction < 1.0:  # candidates are compared on validation: it cannot be empty
            raise ValueError(f"valid_fraction must be in (0, 1) for a pool, got {self.valid_fraction!r}")


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
        raise ValueError(f"malformed pool URL {redact(str(url))!r}: {URL_HELP}")
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValueError(f"malformed pool URL {redact(url)!r}: {URL_HELP}") from None
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
            raise ValueError(f"pool URL {redact(url)!r} names no database; {URL_HELP}")
        return parsed
    raise ValueError(f"unsupported pool URL {redact(url)!r} (backend {backend!r}); {URL_HELP}")


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
    try:
        return sa.create_engine(url, pool_pre_ping=True)
    except ImportError as exc:
        raise PoolError(
            f"a PostgreSQL pool needs the psycopg driver, which is not installed ({exc}): "
            "pip install 'nas-suite[postgres]' (or pip install 'psycopg[binary]')"
        ) from None


#: how long a pool method keeps retrying a PostgreSQL connection that dropped (a server restart, a
#: fail-over) before it gives up with a PoolError; waits double from 0.25 s up to 5 s
RETRY_SECONDS = 60.0


def _retrying(method: Callable[..., T]) -> Callable[..., T]:
    """Retry a pool method (one transaction) while its PostgreSQL connection is down, with bounded
    exponential backoff -- as Optuna's RDB storage and SQLAlchemy's ``pool_pre_ping`` handle a restart.
    SQLite errors are not transient in this sense and are raised at once."""

    @functools.wraps(method)
    def wrapper(self: Pool, *args: Any, **kwargs: Any) -> T:
        delay, deadline = 0.25, time.monotonic() + RETRY_SECONDS
        while True:
            try:
                return method(self, *args, **kwargs)
            except (OperationalError, InterfaceError) as exc:
                if self._sqlite:
                    raise
                if time.monotonic() + delay > deadline:
                    raise PoolError(
                        f"pool {self.url}: the database stayed unreachable for {RETRY_SECONDS:.0f} s "
                        f"({str(exc.orig).strip()}); nothing was lost -- rerun when it is back"
                    ) from None
                log.warning("pool %s: database unreachable (%s); retrying in %.2g s", self.url, exc.orig, delay)
                time.sleep(delay)
                delay = min(2 * delay, 5.0)

    return wrapper


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
        if existing is None:
            if config.checkpoint_store is None:
                if parsed.get_backend_name() != "sqlite":
                    raise ValueError(
                        "a PostgreSQL pool needs config.checkpoint_store (a shared folder or s3://...; "
                        "nas rank-nosh --checkpoint-store)"
                    )
                config.checkpoint_store = str(Path(parsed.database).with_suffix(".checkpoints"))
            # one creator at a time: two searches starting together on a new pool must not both run the
            # DDL (the second would fail with "table ... already exists"); the later one opens the pool
            with _connect_errors(url), _exclusive(engine) as conn:
                existing = _meta_config(conn)
                if existing is None:
                    foreign = sorted(sa.inspect(conn).get_table_names())
                    if foreign:  # another program's database: adding our tables to it would be a surprise
                        raise PoolError(
                            f"the database at {url} holds tables ({', '.join(foreign[:8])}) and is not a NAS pool "
                            "(it has no pool record); nothing was written. Use a new file or an empty database"
                        )
                    S.metadata.create_all(conn)
                    conn.execute(
                        sa.insert(S.pool_meta),
                        [
                            {"key": "config", "value": asdict(config)},
                            {"key": "schema_version", "value": S.SCHEMA_VERSION},
                            {"key": "created_at", "value": time.time()},
                        ],
                    )
                    return cls(engine, config)
        if not exist_ok:
            raise PoolError(
                f"a pool already exists at {url} (space {existing['space']!r}, "
                f"dataset {existing['dataset']!r}); open it instead"
            )
        pool = cls(engine, PoolConfig(**existing))
        pool._check_binding(config.space, config.dataset)
        return pool

    def never_trained(self) -> bool:
        """No epoch trained, observed or queued: the pool's configuration has shaped nothing yet (e.g. a
        search that failed on a wrong data folder before its first job)."""
        with self._read() as conn:
            if any(conn.execute(sa.select(t).limit(1)).first() for t in (S.epoch_metrics, S.jobs)):
                return False
        return self.total_epochs() == 0

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
        """A write transaction; on SQLite it takes the write lock up front (``BEGIN IMMEDIATE``). A signal
        arriving inside interrupts after it (:func:`~pools.interrupts.uninterrupted`)."""
        with uninterrupted(), self.engine.connect() as conn:
            if not self._sqlite:
                with conn.begin():
                    yield conn
                return
            with _immediate(conn) as locked:
                yield locked

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with uninterrupted(), self.engine.connect() as conn:
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

    @_retrying
    def get_state(self, key: str) -> Any:
        """A state record stored with :meth:`set_state` (None if absent)."""
        with self._read() as conn:
            return _meta_value(conn, key)

    @_retrying
    def set_state(self, key: str, value: Any) -> None:
        if key in ("config", "schema_version", "created_at"):
            raise ValueError(f"state key {key!r} is reserved")
        with self._write() as conn:
            self._upsert(conn, S.pool_meta, [{"key": key, "value": value}], ("key",))

    @_retrying
    def hold(self, key: str, owner: str, timeout: float) -> None:
        """Take or renew ``owner``'s lease on ``key`` (one search per pool, say). The lease is free when
        absent, already ``owner``'s, or not renewed for ``timeout`` seconds (its holder died); otherwise
        :class:`PoolError` names the holder and when it will be free."""
        lock_key = f"lock:{key}"
        with self._write() as conn:
            now = conn.execute(sa.select(self._now())).scalar_one()
            held = _meta_value(conn, lock_key)
            if held and held["owner"] != owner and now - held["renewed"] < timeout:
                free_in = timeout - (now - held["renewed"])
                raise PoolError(
                    f"pool {self.url}: the {key} search is running in {held['owner']!r} (renewed "
                    f"{now - held['renewed']:.0f} s ago); one search per pool -- wait for it, stop it, or "
                    f"if it died, rerun in {free_in:.0f} s when its lease has expired ({timeout:.0f} s); more "
                    "processes join a search as `nas worker`s"
                )
            self._upsert(conn, S.pool_meta, [{"key": lock_key, "value": {"owner": owner, "renewed": now}}], ("key",))

    @_retrying
    def lease(self, key: str) -> dict[str, Any] | None:
        """Who holds the lease on ``key`` and how long ago they renewed it (``{"owner", "age"}``, ages on
        the database's clock), or None when nobody does."""
        with self._read() as conn:
            now = conn.execute(sa.select(self._now())).scalar_one()
            held = _meta_value(conn, f"lock:{key}")
        return {"owner": held["owner"], "age": now - held["renewed"]} if held else None

    @_retrying
    def clock(self) -> float:
        """The database's clock in Unix seconds (heartbeats are stamped with it, not with this machine's)."""
        with self._read() as conn:
            return float(conn.execute(sa.select(self._now())).scalar_one())

    @_retrying
    def let_go(self, key: str, owner: str) -> None:
        """End ``owner``'s lease on ``key`` (a no-op if another holds it)."""
        with self._write() as conn:
            held = _meta_value(conn, f"lock:{key}")
            if held and held["owner"] == owner:
                conn.execute(sa.delete(S.pool_meta).where(S.pool_meta.c.key == f"lock:{key}"))

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
    @_retrying
    def enqueue(self, candidate_id: int, to_epoch: int, priority: float = 0.0) -> int | None:
        """Queue "train ``candidate_id`` to ``to_epoch``"; None when it is already trained that far."""
        if to_epoch < 1:
            raise ValueError(f"to_epoch must be >= 1, got {to_epoch}")
        with self._write() as conn:
            cand = conn.execute(sa.select(S.candidates).where(S.candidates.c.id == candidate_id)).first()
            if cand is None:
                raise PoolError(f"pool {self.url} has no candidate {candidate_id}")
            if cand.status == "failed":
                raise PoolError(
                    f"candidate {candidate_id} failed ({cand.error}); it is not trained further "
                    "(after fixing the cause: nas pool retry-failed URL)"
                )
            if cand.epochs_trained >= to_epoch:
                return None
            active_filter = S.jobs.c.state.in_(["queued", "running"])
            dialect = sqlite_dialect if self._sqlite else pg_dialect
            for _ in range(2):  # a concurrent enqueue may create the active job between the two statements
                active = conn.execute(
                    sa.select(S.jobs).where(S.jobs.c.candidate_id == candidate_id, active_filter)
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
                    dialect.insert(S.jobs)
                    .values(
                        candidate_id=candidate_id,
                        to_epoch=to_epoch,
                        state="queued",
                        priority=priority,
                        max_attempts=self.config.max_attempts,
                        created_at=time.time(),
                    )
                    # the partial unique index jobs_one_active_per_candidate (its predicate, as literal SQL)
                    .on_conflict_do_nothing(
                        index_elements=["candidate_id"], index_where=sa.text("state IN ('queued', 'running')")
                    )
                    .returning(S.jobs.c.id)
                ).scalar_one_or_none()
                if job_id is not None:
                    conn.execute(
                        sa.update(S.candidates).where(S.candidates.c.id == candidate_id).values(status="queued")
                    )
                    return job_id
            raise PoolError(f"candidate {candidate_id}: could not enqueue epoch {to_epoch} (concurrent changes)")

    @_retrying
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

    @_retrying
    def heartbeat(self, job: Job, worker: str) -> None:
        """Keep ``worker``'s lease on ``job``; raises :class:`LostLeaseError` if it was lost."""
        with self._write() as conn:
            self._renew(conn, job.id, worker)

    @_retrying
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

    @_retrying
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

    @_retrying
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

    @_retrying
    def retry_failed(self, candidate_ids: Sequence[int] | None = None) -> list[int]:
        """Make failed candidates trainable again once the fault (a full disk, a lost store) is fixed:
        their status goes back to idle and their error is cleared; the failed jobs stay as history.
        Returns the ids reset (all failed candidates, or those of ``candidate_ids`` that failed)."""
        where = S.candidates.c.status == "failed"
        if candidate_ids is not None:
            where = sa.and_(where, S.candidates.c.id.in_(list(candidate_ids)))
        with self._write() as conn:
            ids = conn.execute(
                sa.update(S.candidates).where(where).values(status="idle", error=None).returning(S.candidates.c.id)
            ).scalars()
            return sorted(ids)

    @_retrying
    def release(self, job: Job, worker: str) -> None:
        """Give ``worker``'s running job back to the queue without counting the attempt (an interrupt or a
        pre-emption is not the candidate's fault); raises :class:`LostLeaseError` if it is not held."""
        with self._write() as conn:
            released = conn.execute(
                sa.update(S.jobs)
                .where(S.jobs.c.id == job.id, S.jobs.c.worker == worker, S.jobs.c.state == "running")
                .values(state="queued", worker=None, attempts=S.jobs.c.attempts - 1)  # the claim counted it
            ).rowcount
            if released != 1:
                raise LostLeaseError(f"job {job.id} is no longer held by worker {worker!r}")
            conn.execute(sa.update(S.candidates).where(S.candidates.c.id == job.candidate_id).values(status="queued"))
        log.warning("job %d (candidate %d) released by interrupted worker %s", job.id, job.candidate_id, worker)

    @_retrying
    def jobs(self, state: str | None = None) -> list[Job]:
        query = sa.select(S.jobs).order_by(S.jobs.c.id)
        if state is not None:
            query = query.where(S.jobs.c.state == state)
        with self._read() as conn:
            return [Job(**r._mapping) for r in conn.execute(query)]

    @_retrying
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


def _meta_value(conn: Connection, key: str) -> Any:
    """The JSON value stored under ``key`` in ``pool_meta`` (None if absent)."""
    row = conn.execute(sa.select(S.pool_meta.c.value).where(S.pool_meta.c.key == key)).first()
    if row is None:
        return None
    return json.loads(row.value) if isinstance(row.value, str) else row.value


def _meta_config(conn: Connection) -> dict[str, Any] | None:
    if not sa.inspect(conn).has_table("pool_meta"):
        return None
    return _meta_value(conn, "config")


def _read_meta(engine: Engine, url: str) -> dict[str, Any] | None:
    with _connect_errors(url), engine.connect() as conn:
        return _meta_config(conn)


@contextmanager
def _exclusive(engine: Engine) -> Iterator[Connection]:
    """A transaction no other creator of this pool runs at the same time: SQLite's write lock
    (``BEGIN IMMEDIATE``), a transaction-scoped advisory lock on PostgreSQL."""
    with uninterrupted(), engine.connect() as conn:
        if engine.dialect.name != "sqlite":
            with conn.begin():
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_CREATE_LOCK)))
                yield conn
            return
        with _immediate(conn) as locked:
            yield locked


@contextmanager
def _immediate(conn: Connection) -> Iterator[Connection]:
    """A SQLite transaction that takes the write lock up front (``BEGIN IMMEDIATE``)."""
    conn = conn.execution_options(isolation_level="AUTOCOMMIT")
    conn.exec_driver_sql("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.exec_driver_sql("ROLLBACK")
        raise
    conn.exec_driver_sql("COMMIT")


_CREATE_LOCK = 0x6E61_7370  # "nasp": the advisory lock key of pool creation


@contextmanager
def _connect_errors(url: str) -> Iterator[None]:
    try:
        yield
    except OperationalError as exc:
        raise PoolError(f"cannot reach pool database {url}: {str(exc.orig).strip()}") from None
    except IntegrityError as exc:
        raise PoolError(f"pool {url}: {str(exc.orig).strip()}") from None
    except DatabaseError as exc:  # e.g. SQLite's "file is not a database": never touched, never overwritten
        raise PoolError(
            f"pool {url} is not a readable pool database ({str(exc.orig).strip()}); the file was left "
            "untouched: restore it from a backup or use another pool URL"
        ) from None
