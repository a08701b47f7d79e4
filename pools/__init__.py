"""The persistent candidate pool: storage, training jobs, checkpoints and workers."""

from pools.pool import Pool
from pools.records import Candidate, EpochRecord, Job, LostLeaseError, PoolConfig, PoolError
from pools.storage import parse_pool_url
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
