"""A pool's storage: opening and creating the database, its transactions, its state records and key leases.

:class:`PoolStorage` is the base of :class:`pools.pool.Pool`; the candidate records
(:mod:`pools.candidates`) and the job queue (:mod:`pools.queue`) build on its transactions.
"""

from __future__ import annotations

import functools
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any, Self, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, IntegrityError, InterfaceError, OperationalError

import pools.schema as S
from nas_core.spaces import SearchSpace, get_space
from pools.interrupts import uninterrupted
from pools.records import URL_HELP, PoolConfig, PoolError, redact
from pools.store import CheckpointStore, open_store

log = logging.getLogger(__name__)
T = TypeVar("T")


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
            _switch_to_wal(cursor)
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


def _switch_to_wal(cursor: Any, tries: int = 100) -> None:
    """``PRAGMA journal_mode=WAL``, retried: on a new file the switch needs an exclusive lock, and SQLite
    answers "database is locked" at once, without its busy timeout, while another process creating the
    same pool holds the write lock (waiting could deadlock). Once one process has switched, the others' is
    a no-op."""
    for attempt in range(tries):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == tries - 1:
                raise
            time.sleep(0.05 * (1 + attempt % 10))


#: how long a pool method keeps retrying a PostgreSQL connection that dropped (a server restart, a
#: fail-over) before it gives up with a PoolError; waits double from 0.25 s up to 5 s
RETRY_SECONDS = 60.0


def _retrying(method: Callable[..., T]) -> Callable[..., T]:
    """Retry a pool method (one transaction) while its PostgreSQL connection is down, with bounded
    exponential backoff -- as Optuna's RDB storage and SQLAlchemy's ``pool_pre_ping`` handle a restart.
    SQLite errors are not transient in this sense and are raised at once."""

    @functools.wraps(method)
    def wrapper(self: PoolStorage, *args: Any, **kwargs: Any) -> T:
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


class PoolStorage:
    """The database of a pool bound to one search space and dataset. Use :meth:`create` / :meth:`open`."""

    def __init__(self, engine: Engine, config: PoolConfig):
        self.engine, self.config = engine, config
        self.url = engine.url.render_as_string(hide_password=True)
        self.space: SearchSpace = get_space(config.space)
        self._sqlite = engine.dialect.name == "sqlite"
        self.store: CheckpointStore = open_store(config.checkpoint_store)

    # -- opening -----------------------------------------------------------------------------------
    @classmethod
    def create(cls, url: str, config: PoolConfig, exist_ok: bool = False) -> Self:
        """Create a pool at ``url`` bound to ``config`` and return it.

        With ``exist_ok`` an existing pool is opened instead, but only if it was made with the same training
        settings (:data:`~pools.records.TRAINING_SETTINGS`); otherwise :class:`PoolError` names each one that
        differs, and nothing is written. To join a pool on its own settings, use :meth:`open`."""
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
        changed = pool.config.differences(config)
        if changed:
            pool.close()
            raise PoolError(
                f"pool {url} was made with other training settings ({'; '.join(changed)}); reopening it with "
                "these would mix two experiments. Use the same settings, Pool.open(url) to take the pool's "
                "own, or another pool URL"
            )
        return pool

    @classmethod
    def open(cls, url: str, space: str | None = None, dataset: str | None = None) -> Self:
        """Open an existing pool; ``space``/``dataset``, when given, must match what it was created for."""
        engine = _make_engine(parse_pool_url(url))
        url = engine.url.render_as_string(hide_password=True)
        meta = _read_meta(engine, url)
        if meta is None:
            raise PoolError(f"no pool at {url}; create one first (`nas pool create` or a search with --pool)")
        pool = cls(engine, PoolConfig(**meta))
        pool._check_binding(space, dataset)
        return pool

    @classmethod
    def open_when_ready(cls, url: str, wait_s: float, poll_s: float = 2.0) -> Self:
        """:meth:`open`, retried for up to ``wait_s`` seconds while the database does not answer or holds no
        pool yet (a worker job often starts before the database or the search that creates the pool)."""
        deadline = time.monotonic() + wait_s
        while True:
            try:
                return cls.open(url)
            except (OperationalError, PoolError) as exc:
                if time.monotonic() + poll_s > deadline:
                    raise PoolError(f"no pool answered at {redact(url)} within {wait_s:g} s: {exc}") from None
                log.info("pool not ready (%s); retrying in %g s", exc, poll_s)
                time.sleep(poll_s)

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

    # -- state records and key leases ----------------------------------------------------------------
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
