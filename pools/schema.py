"""The pool's tables (SQLAlchemy Core), identical on SQLite and PostgreSQL.

- ``pool_meta``: what the pool is bound to (space, dataset, training and network config).
- ``candidates``: one row per distinct architecture (unique canonical hash), its lineage, NOSH
  level, status, epochs trained and the key of its latest checkpoint.
- ``epoch_metrics``: per candidate and epoch -- train loss/accuracy, validation loss/accuracy,
  wall time (and test accuracy where an evaluator reports it).
- ``proxy_scores``: zero-cost proxy values per candidate.
- ``checkpoints``: the checkpoint keys written per candidate and epoch.
- ``jobs``: "train candidate X to epoch e" -- queued, claimed by exactly one worker (a lease kept
  alive by heartbeats), done or failed. A partial unique index allows at most one active job per
  candidate.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

SCHEMA_VERSION = 1
metadata = MetaData()

pool_meta = Table(
    "pool_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", JSON, nullable=False),
)

candidates = Table(
    "candidates",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("arch", Text, nullable=False),
    Column("arch_hash", String(32), nullable=False, unique=True),
    Column("lineage", String(64), nullable=False),
    Column("parent_id", Integer, ForeignKey("candidates.id"), nullable=True),
    Column("level", Integer, nullable=False, server_default=text("0")),
    Column("status", String(16), nullable=False, server_default=text("'idle'")),
    Column("epochs_trained", Integer, nullable=False, server_default=text("0")),
    Column("checkpoint", Text, nullable=True),
    Column("error", Text, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("info", JSON, nullable=True),
)

epoch_metrics = Table(
    "epoch_metrics",
    metadata,
    Column("candidate_id", Integer, ForeignKey("candidates.id"), primary_key=True),
    Column("epoch", Integer, primary_key=True),
    Column("train_loss", Float, nullable=True),
    Column("train_acc", Float, nullable=True),
    Column("valid_loss", Float, nullable=True),
    Column("valid_acc", Float, nullable=True),
    Column("test_acc", Float, nullable=True),
    Column("seconds", Float, nullable=True),
    Column("recorded_at", Float, nullable=False),
)

proxy_scores = Table(
    "proxy_scores",
    metadata,
    Column("candidate_id", Integer, ForeignKey("candidates.id"), primary_key=True),
    Column("proxy", String(32), primary_key=True),
    Column("score", Float, nullable=True),
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("candidate_id", Integer, ForeignKey("candidates.id"), primary_key=True),
    Column("epoch", Integer, primary_key=True),
    Column("key", Text, nullable=False),
    UniqueConstraint("key"),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("candidate_id", Integer, ForeignKey("candidates.id"), nullable=False),
    Column("to_epoch", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("priority", Float, nullable=False, server_default=text("0")),
    Column("worker", String(128), nullable=True),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("max_attempts", Integer, nullable=False),
    Column("heartbeat", Float, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("started_at", Float, nullable=True),
    Column("finished_at", Float, nullable=True),
    Column("error", Text, nullable=True),
)
Index("jobs_state_priority", jobs.c.state, jobs.c.priority, jobs.c.id)
Index(
    "jobs_one_active_per_candidate",
    jobs.c.candidate_id,
    unique=True,
    sqlite_where=jobs.c.state.in_(["queued", "running"]),
    postgresql_where=jobs.c.state.in_(["queued", "running"]),
)
