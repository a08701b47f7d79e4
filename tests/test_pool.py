"""The pool API: binding, de-duplication, lineage, metrics, job life cycle, bad input."""

import random
import time

import pytest

from nas_core.spaces import ArchitectureError
from nas_core.training import CheckpointError
from nas_core.vocabulary import NetworkSize
from pools import EpochRecord, LostLeaseError, Pool, PoolConfig, PoolError
from pools.store import open_store


def make_pool(url, **overrides):
    config = dict(
        space="nb201",
        dataset="digits",
        network={"C": 4, "N": 1},
        train={"epochs": 4, "batch_size": 128, "lr": 0.05, "crop_padding": 1, "flip": False},
    )
    config.update(overrides)
    return Pool.create(url, PoolConfig(**config))


@pytest.fixture(params=["sqlite", "postgresql"])
def pool_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/pool.db"
    url = request.getfixturevalue("postgres_url")
    return url


def new_pool(url, tmp_path, **overrides):
    if url.startswith("postgresql"):
        overrides.setdefault("checkpoint_store", str(tmp_path / "ckpt"))
    return make_pool(url, **overrides)


def test_candidates_are_deduplicated_by_isomorphism(pool_url, tmp_path):
    pool = new_pool(pool_url, tmp_path)
    a = "|nor_conv_1x1~0|+|nor_conv_3x3~0|none~1|+|none~0|skip_connect~1|skip_connect~2|"
    b = "|nor_conv_3x3~0|+|nor_conv_1x1~0|none~1|+|none~0|skip_connect~1|skip_connect~2|"  # isomorphic to a
    (ia, created_a), (ib, created_b) = pool.add_candidates([a, b], lineage="random")
    assert created_a and not created_b and ia == ib
    cid, created = pool.add_candidate(pool.space.sample(random.Random(0)), lineage="drnas", parent_id=ia)
    assert created and pool.candidate(cid).lineage == "drnas" and pool.candidate(cid).parent_id == ia
    assert pool.find(b).id == ia and len(pool.candidates()) == 2


def test_metrics_proxies_levels_and_export(pool_url, tmp_path):
    pool = new_pool(pool_url, tmp_path)
    cid, _ = pool.add_candidate(pool.space.from_index(6111))
    pool.record_metrics(cid, [EpochRecord(1, 2.0, 30.0, 1.9, 35.0, None, 0.5)], epochs_trained=1)
    pool.record_metrics(cid, [EpochRecord(1, 2.0, 30.0, 1.9, 36.0, None, 0.5), EpochRecord(2, valid_acc=50.0)], 2)
    pool.set_proxy_scores(cid, {"synflow": 12.5, "nwot": 3.0})
    pool.set_levels({cid: 2})
    recs = pool.metrics(cid)[cid]
    assert [r.epoch for r in recs] == [1, 2] and recs[0].valid_acc == 36.0  # re-recorded, not duplicated
    assert pool.proxy_scores()[cid] == {"synflow": 12.5, "nwot": 3.0}
    data = pool.export()
    (cand,) = data["candidates"]
    assert cand["level"] == 2 and cand["epochs_trained"] == 2 and len(cand["metrics"]) == 2
    assert data["config"]["space"] == "nb201"


def test_job_life_cycle(pool_url, tmp_path):
    pool = new_pool(pool_url, tmp_path, heartbeat_timeout=0.5, max_attempts=2)
    cid, _ = pool.add_candidate(pool.space.from_index(1))
    job_id = pool.enqueue(cid, 2)
    assert pool.enqueue(cid, 1) == job_id  # already queued further
    assert pool.enqueue(cid, 3) == job_id and pool.jobs()[0].to_epoch == 3  # raised while queued
    job = pool.claim("w1")
    assert job.id == job_id and job.attempts == 1 and pool.claim("w2") is None
    assert pool.candidate(cid).status == "training"
    with pytest.raises(PoolError, match="being trained to epoch 3"):
        pool.enqueue(cid, 5)

    time.sleep(1.2)  # w1 stops heartbeating: the job is requeued and w2 takes it
    again = pool.claim("w2")
    assert again.id == job_id and again.attempts == 2
    with pytest.raises(LostLeaseError):
        pool.complete(job, "w1")
    with pytest.raises(LostLeaseError):
        pool.record_metrics(cid, [EpochRecord(1)], 1, job=job, worker="w1")
    assert pool.fail(again, "w2", "CUDA out of memory", retry=True) == "failed"  # attempts exhausted
    cand = pool.candidate(cid)
    assert cand.status == "failed" and "out of memory" in cand.error
    with pytest.raises(PoolError, match="failed"):
        pool.enqueue(cid, 4)


def test_stale_job_fails_after_max_attempts(pool_url, tmp_path):
    pool = new_pool(pool_url, tmp_path, heartbeat_timeout=0.3, max_attempts=1)
    cid, _ = pool.add_candidate(pool.space.from_index(2))
    pool.enqueue(cid, 1)
    assert pool.claim("w1") is not None
    time.sleep(0.8)
    assert pool.claim("w2") is None
    (job,) = pool.jobs()
    assert job.state == "failed" and "heartbeat" in job.error and pool.candidate(cid).status == "failed"


def test_completed_job_and_done_candidate(pool_url, tmp_path):
    pool = new_pool(pool_url, tmp_path)
    cid, _ = pool.add_candidate(pool.space.from_index(3))
    pool.enqueue(cid, 1)
    job = pool.claim("w")
    pool.record_metrics(cid, [EpochRecord(1, valid_acc=40.0)], 1, "k1", job=job, worker="w")
    pool.complete(job, "w")
    assert pool.enqueue(cid, 1) is None  # already trained that far
    assert pool.count_jobs() == {"done": 1} and pool.candidate(cid).status == "idle"


def test_opening_checks_the_binding(tmp_path):
    url = f"sqlite:///{tmp_path}/p.db"
    make_pool(url)
    assert Pool.open(url, space="nb201").config.dataset == "digits"
    with pytest.raises(PoolError, match="created for space 'nb201', not 'darts'"):
        Pool.open(url, space="darts")
    with pytest.raises(PoolError, match="created for dataset 'digits', not 'cifar10'"):
        Pool.open(url, dataset="cifar10")
    with pytest.raises(PoolError, match="already exists"):
        make_pool(url)
    with pytest.raises(PoolError, match="created for space"):
        Pool.create(url, PoolConfig(space="darts", dataset="digits"), exist_ok=True)


def test_reopening_with_other_training_settings_is_refused_by_the_library(tmp_path):
    """An API user who reopens a pool with other settings gets an error naming them, not the stored ones
    silently; the same settings (whatever the data folder) reopen it, and Pool.open takes the pool's own."""
    url = f"sqlite:///{tmp_path}/p.db"
    make_pool(url).add_candidate("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|skip_connect~2|")
    stored = Pool.open(url).config
    other = PoolConfig(space="nb201", dataset="digits", network={"C": 8, "N": 1}, train=dict(stored.train, lr=0.1))
    with pytest.raises(
        PoolError,
        match=r"network: NetworkSize\(channels=4, .*\) -> NetworkSize\(channels=8, .*'lr': 0.1",
    ):
        Pool.create(url, other, exist_ok=True)
    moved = PoolConfig(**{**vars(stored), "data_root": "/elsewhere", "heartbeat_timeout": 30.0})
    reopened = Pool.create(url, moved, exist_ok=True)
    assert reopened.config.network == NetworkSize(4, 1) and len(reopened.candidates()) == 1
    assert Pool.open(url).config == stored


@pytest.mark.parametrize(
    "url,match",
    [
        ("notaurl", "malformed pool URL"),
        ("mysql://u@h/db", "unsupported pool URL"),
        ("sqlite://", "names no database"),
        ("postgresql://u@localhost", "names no database"),
    ],
)
def test_bad_urls(url, match):
    with pytest.raises(ValueError, match=match):
        Pool.create(url, PoolConfig(space="nb201"))


def test_missing_pool_is_not_created(tmp_path):
    with pytest.raises(PoolError, match="no pool at"):
        Pool.open(f"sqlite:///{tmp_path}/none/p.db")
    assert not (tmp_path / "none").exists()


def test_unknown_space_and_bad_config():
    with pytest.raises(KeyError, match=r"unknown search space 'nb301'.*nb201"):
        PoolConfig(space="nb301")
    with pytest.raises(ValueError, match="heartbeat_timeout"):
        PoolConfig(space="nb201", heartbeat_timeout=0)
    # make_splits takes 0 (a final model trains on everything) but a pool compares candidates on validation
    with pytest.raises(ValueError, match=r"valid_fraction must be in \(0, 1\) for a pool, got 0.0"):
        PoolConfig(space="nb201", valid_fraction=0.0)


def test_bad_architectures_store_nothing(tmp_path):
    pool = make_pool(f"sqlite:///{tmp_path}/p.db")
    good = str(pool.space.from_index(5))
    with pytest.raises(ArchitectureError, match="unknown operation"):
        pool.add_candidates([good, good.replace("nor_conv_3x3", "conv_7x7").replace("skip_connect", "conv_7x7")])
    assert pool.candidates() == []
    with pytest.raises(ValueError, match="lineage"):
        pool.add_candidate(good, lineage="")


@pytest.mark.parametrize("kind", ["file", "optuna-fs"])
def test_checkpoint_stores(tmp_path, kind):
    import torch

    store = open_store(tmp_path / "c" if kind == "file" else f"optuna-fs://{tmp_path}/c")
    store.save("a.pt", {"w": torch.arange(5)})
    assert torch.equal(store.load("a.pt")["w"], torch.arange(5))
    store.delete("a.pt")
    with pytest.raises(CheckpointError, match="does not exist"):
        store.load("a.pt")
    with pytest.raises(ValueError, match="unsupported checkpoint store"):
        open_store("ftp://x/y")


def test_unwritable_checkpoint_folder_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    store = open_store(blocker / "ckpt")
    with pytest.raises(CheckpointError, match="not writable"):
        store.save("x.pt", {})


@pytest.mark.parametrize("key", ["/etc/passwd", "../outside.pt", "sub/../../outside.pt"])
def test_checkpoint_keys_stay_inside_the_store(tmp_path, key):
    from nas_core.training import CheckpointError
    from pools.store import FileCheckpointStore

    (tmp_path / "outside.pt").write_bytes(b"not yours")
    store = FileCheckpointStore(tmp_path / "store")
    for action in (lambda: store.load(key), lambda: store.save(key, {}), lambda: store.delete(key)):
        with pytest.raises(CheckpointError, match="outside the store"):
            action()
    assert (tmp_path / "outside.pt").read_bytes() == b"not yours"
    store.save("sub/ok.pt", {"x": 1})
    assert store.load("sub/ok.pt") == {"x": 1}


def _add_and_enqueue(url: str, barrier, errors) -> None:
    try:
        pool = Pool.open(url)
        archs = [pool.space.from_index(i) for i in range(300)]
        barrier.wait()
        for cid, _ in pool.add_candidates(archs):
            pool.enqueue(cid, 1)
    except Exception as exc:  # reported to the parent: the child's traceback would be lost
        errors.put(f"{type(exc).__name__}: {exc}")


def test_two_processes_adding_the_same_architectures_race_safely(pool_url, tmp_path):
    import multiprocessing as mp

    pool = new_pool(pool_url, tmp_path)
    ctx = mp.get_context("spawn")
    barrier, errors = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_add_and_enqueue, args=(pool_url, barrier, errors)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert errors.empty(), errors.get()
    assert all(p.exitcode == 0 for p in procs)
    classes = {pool.space.canonical_hash(pool.space.from_index(i)) for i in range(300)}
    assert len(pool.candidates()) == len(classes)
    jobs = pool.jobs()
    assert len(jobs) == len(classes) and len({j.candidate_id for j in jobs}) == len(classes)


def _create(url: str, barrier, errors, checkpoints: str) -> None:
    try:
        barrier.wait()
        Pool.create(url, PoolConfig(space="nb201", dataset="digits", checkpoint_store=checkpoints), exist_ok=True)
    except Exception as exc:
        errors.put(f"{type(exc).__name__}: {exc}")


def test_two_searches_creating_one_new_pool_at_once_both_get_it(pool_url, tmp_path):
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    barrier, errors = ctx.Barrier(3), ctx.Queue()
    procs = [ctx.Process(target=_create, args=(pool_url, barrier, errors, str(tmp_path / "ckpt"))) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert errors.empty(), errors.get()
    assert Pool.open(pool_url).config.space == "nb201"


def test_a_postgresql_restart_is_waited_out_not_fatal(restartable_postgres, tmp_path):
    import threading

    server = restartable_postgres
    pool = make_pool(server.url, checkpoint_store=str(tmp_path / "ckpt"))
    cid, _ = pool.add_candidate(pool.space.from_index(3))
    pool.enqueue(cid, 2)
    job = pool.claim("w")
    server.stop()  # the database goes away for ~3 s while the worker is training
    restart = threading.Timer(3.0, server.start)
    restart.start()
    pool.record_metrics(cid, [EpochRecord(1, valid_acc=50.0)], 1, job=job, worker="w")  # waits, then succeeds
    pool.fail(job, "w", "a real error", retry=True)
    restart.join()
    assert [r.valid_acc for r in pool.metrics(cid)[cid]] == [50.0]
    assert pool.jobs()[0].state == "queued" and pool.candidate(cid).status == "queued"


def test_a_database_that_stays_away_is_one_clear_error(restartable_postgres, tmp_path, monkeypatch):
    from pools import storage as pool_storage

    pool = make_pool(restartable_postgres.url, checkpoint_store=str(tmp_path / "ckpt"))
    restartable_postgres.stop()
    monkeypatch.setattr(pool_storage, "RETRY_SECONDS", 1.0)
    with pytest.raises(PoolError, match="stayed unreachable for 1 s"):
        pool.candidates()


def test_release_gives_the_job_back_without_counting_the_attempt(pool_url, tmp_path):
    pool = new_pool(pool_url, tmp_path, max_attempts=2)
    cid, _ = pool.add_candidate(pool.space.from_index(4))
    pool.enqueue(cid, 1)
    for _ in range(3):  # more releases than max_attempts: none of them counts
        job = pool.claim("w")
        assert job.attempts == 1
        pool.release(job, "w")
        (job,) = pool.jobs()
        assert job.state == "queued" and job.attempts == 0 and job.worker is None
    assert pool.candidate(cid).status == "queued"
    with pytest.raises(LostLeaseError):
        pool.release(job, "w")  # not running any more


def test_a_database_of_another_program_is_refused_untouched(tmp_path):
    """Issue 43 (2): a pool URL pointing at someone else's database must not get the pool's tables."""
    import sqlite3

    path = tmp_path / "other.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
        db.execute("INSERT INTO users (name) VALUES ('ada')")
    with pytest.raises(PoolError, match=r"holds tables \(users\) and is not a NAS pool"):
        Pool.create(f"sqlite:///{path}", PoolConfig(space="nb201", dataset="digits"))
    with sqlite3.connect(path) as db:
        assert [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")] == ["users"]
        assert db.execute("SELECT name FROM users").fetchall() == [("ada",)]


def test_switching_a_new_pool_file_to_wal_waits_for_a_creator_holding_the_write_lock(tmp_path):
    """SQLite answers the switch to WAL with "database is locked" at once (no busy timeout) while another
    process creating the pool holds its write lock: the switch is retried until the lock is released."""
    import sqlite3
    import threading

    from pools.storage import _switch_to_wal

    path = tmp_path / "new.db"
    creator = sqlite3.connect(path, timeout=120, isolation_level=None, check_same_thread=False)
    creator.execute("BEGIN IMMEDIATE")
    creator.execute("CREATE TABLE t (x)")
    joiner = sqlite3.connect(path, timeout=120, isolation_level=None)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        joiner.execute("PRAGMA journal_mode=WAL")  # what an unretried switch meets
    threading.Timer(0.3, lambda: creator.execute("COMMIT")).start()
    _switch_to_wal(joiner.cursor())
    assert joiner.execute("PRAGMA journal_mode").fetchone() == ("wal",)
