"""The persistent candidate pool: storage, training jobs, checkpoints and workers."""

from pools.pool import Candidate, EpochRecord, Job, LostLeaseError, Pool, PoolConfig, PoolError, parse_pool_url
from pools.store import open_store

__all__ = [
    "Candidate",
    "EpochRecord",
    "Job",
    "LostLeaseError",
    "Pool",
    "PoolConfig",
    "PoolError",
    "open_store",
    "parse_pool_url",
]
