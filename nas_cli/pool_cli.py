"""``nas pool create|show|export`` and ``nas worker``."""

from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path

from nas_cli.size_flags import add_size_arguments, size_from_args
from nas_core.presets import search_network
from pools import Pool, PoolConfig
from pools.interrupts import INTERRUPTS, interrupt_on_signals
from pools.report import format_summary, summary
from pools.worker import default_worker_name

POOL_URL_ENV = "NAS_POOL_URL"
URL_SOURCES = f"a URL argument, --pool-file FILE (its first line) or ${POOL_URL_ENV}"


def configure_logging(level: int) -> None:
    """The log format of every ``nas`` process (also the workers ``nas worker --processes`` starts)."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def add_pool_file_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--pool-file",
        type=Path,
        default=None,
        help=f"read the pool URL from this file (keeps a password out of `ps`); or set ${POOL_URL_ENV}",
    )


def pool_url(given: str | None, pool_file: Path | None, required: bool = True) -> str | None:
    """The pool URL: as given, else the first line of ``pool_file``, else ``$NAS_POOL_URL``."""
    if given:
        return given
    if pool_file is not None:
        try:
            lines = pool_file.read_text().split()
        except OSError as exc:
            raise ValueError(f"cannot read --pool-file {pool_file}: {exc.strerror}") from None
        if not lines:
            raise ValueError(f"--pool-file {pool_file} is empty; it should hold the pool URL")
        return lines[0]
    if os.environ.get(POOL_URL_ENV):
        return os.environ[POOL_URL_ENV]
    if required:
        raise ValueError(f"no pool URL: give {URL_SOURCES}")
    return None


def add_pool_commands(sub: argparse._SubParsersAction) -> None:
    pool = sub.add_parser("pool", help="create, inspect or export a candidate pool")
    pool_sub = pool.add_subparsers(dest="pool_command", metavar="POOL_COMMAND", required=True)

    p = pool_sub.add_parser("create", help="create an empty pool bound to a space and dataset")
    p.add_argument("url", nargs="?", help=f"sqlite:///path/pool.db or postgresql://user:pw@host/db ({URL_SOURCES})")
    add_pool_file_argument(p)
    p.add_argument("--space", required=True)
    p.add_argument("--dataset", default="fashion-mnist")
    p.add_argument("--data-root", default=None)
    p.add_argument("--epochs", type=int, default=12, help="length of each candidate's LR schedule")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--lr", type=float, default=0.1)
    add_size_arguments(p, "the candidates (default: nb201's C=16 N=5; DARTS's 8-cell search network)")
    p.add_argument("--max-train", type=int, default=None)
    p.add_argument("--checkpoint-store", default=None, help="folder, optuna-fs:///path, s3://bucket/prefix")
    p.add_argument("--heartbeat-timeout", type=float, default=120.0)
    p.set_defaults(func=_create)

    p = pool_sub.add_parser("show", help="the pyramid, job states and the top candidates")
    p.add_argument("url", nargs="?", help=URL_SOURCES)
    add_pool_file_argument(p)
    p.add_argument("--top", type=int, default=10)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_show)

    p = pool_sub.add_parser(
        "export", help="write everything in the pool to a JSON file, or its candidates / learning curves as CSV"
    )
    p.add_argument("url", help="the pool URL ('-': from --pool-file or $NAS_POOL_URL)")
    p.add_argument("out", type=Path, nargs="?", default=None, help="JSON file: everything in the pool")
    p.add_argument("--candidates-csv", type=Path, default=None, help="one row per candidate (proxies as columns)")
    p.add_argument("--curves-csv", type=Path, default=None, help="one row per candidate and trained epoch")
    add_pool_file_argument(p)
    p.set_defaults(func=_export)

    p = pool_sub.add_parser(
        "retry-failed", help="make failed candidates trainable again once the fault that failed them is fixed"
    )
    p.add_argument("url", nargs="?", help=URL_SOURCES)
    p.add_argument("--candidates", type=int, nargs="+", default=None, help="only these candidate ids")
    add_pool_file_argument(p)
    p.set_defaults(func=_retry_failed)

    w = sub.add_parser("worker", help="claim and run training jobs of a pool until none are left")
    w.add_argument("--pool", default=None, help=f"the pool URL ({URL_SOURCES})")
    add_pool_file_argument(w)
    w.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    w.add_argument("--data-root", default=None, help="where this machine keeps the dataset")
    w.add_argument("--idle-timeout", type=float, default=0.0, help="keep polling this long when idle (s)")
    w.add_argument(
        "--wait-for-pool",
        type=float,
        default=0.0,
        metavar="S",
        help="retry the pool's first connection for up to S seconds (a job may start before its database)",
    )
    w.add_argument("--max-jobs", type=int, default=None)
    w.add_argument("--heartbeat-interval", type=float, default=None)
    w.add_argument("--name", default=None)
    w.add_argument(
        "--processes",
        type=int,
        default=1,
        help="worker processes sharing the device (small candidates fill a GPU better several at once; "
        "scripts/bench_gpu.py measures which count pays)",
    )
    w.set_defaults(func=_worker)


def _create(args: argparse.Namespace) -> int:
    network = size_from_args(args, search_network(args.space))
    config = PoolConfig(
        space=args.space,
        dataset=args.dataset,
        data_root=args.data_root,
        max_train=args.max_train,
        network=network,
        train={"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr},
        checkpoint_store=args.checkpoint_store,
        heartbeat_timeout=args.heartbeat_timeout,
    )
    pool = Pool.create(pool_url(args.url, args.pool_file), config)
    print(f"created pool {pool.url} (space {config.space}, dataset {config.dataset}, checkpoints in {pool.store.url})")
    return 0


def _show(args: argparse.Namespace) -> int:
    info = summary(Pool.open(pool_url(args.url, args.pool_file)), top=args.top)
    print(json.dumps(info, indent=2) if args.json else format_summary(info))
    return 0


def _export(args: argparse.Namespace) -> int:
    from pools.frames import CANDIDATE_COLUMNS, CURVE_COLUMNS, candidate_rows, curve_rows, write_csv

    if not (args.out or args.candidates_csv or args.curves_csv):
        raise ValueError("nothing to write: give a JSON file, --candidates-csv FILE and/or --curves-csv FILE")
    pool = Pool.open(pool_url(None if args.url == "-" else args.url, args.pool_file))
    if args.out:
        data = pool.export()
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(data, indent=1))
        print(f"wrote {len(data['candidates'])} candidates and {len(data['jobs'])} jobs to {args.out}")
    if args.candidates_csv:
        rows = candidate_rows(pool)
        print(f"wrote {len(rows)} candidates to {write_csv(rows, args.candidates_csv, CANDIDATE_COLUMNS)}")
    if args.curves_csv:
        rows = curve_rows(pool)
        print(f"wrote {len(rows)} epoch records to {write_csv(rows, args.curves_csv, CURVE_COLUMNS)}")
    return 0


def _retry_failed(args: argparse.Namespace) -> int:
    pool = Pool.open(pool_url(args.url, args.pool_file))
    ids = pool.retry_failed(args.candidates)
    print(f"{len(ids)} failed candidate(s) can be trained again: {ids}" if ids else "no failed candidates")
    print("a search resumes them when run again; `nas worker` trains what is queued")
    return 0


def _worker(args: argparse.Namespace) -> int:
    if args.processes < 1:
        raise ValueError(f"--processes must be at least 1, got {args.processes}")
    if args.processes > 1:
        return _worker_processes(args)
    return _one_worker(args)


#: seconds a ``--processes`` parent waits for its children to stop on their own before passing SIGTERM on
CHILD_GRACE_S = 3.0


def _worker_processes(args: argparse.Namespace) -> int:
    """``--processes N``: N independent workers on the same device, each claiming its own jobs."""
    import multiprocessing as mp

    base = args.name or default_worker_name()
    ctx = mp.get_context("spawn")  # CUDA cannot be used in a forked child
    procs = [
        ctx.Process(
            target=_worker_child,
            args=(argparse.Namespace(**{**vars(args), "name": f"{base}/{i}"}), logging.getLogger().level),
        )
        for i in range(args.processes)
    ]
    for proc in procs:
        proc.start()
    try:
        for proc in procs:
            proc.join()
    except INTERRUPTS:
        # a Ctrl-C reaches the whole process group and each child requeues its job itself; a SIGTERM sent
        # to this process alone (`kill PID`, a scheduler's pre-emption) is passed on to the children
        # still running after a grace period, so they requeue theirs too and this process can exit
        for proc in procs:
            proc.join(timeout=CHILD_GRACE_S)
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
        for proc in procs:
            proc.join()
        return 130
    return max(proc.exitcode or 0 for proc in procs)


def _worker_child(args: argparse.Namespace, log_level: int) -> None:
    from nas_core.training import share_cpu_cores

    configure_logging(log_level)
    share_cpu_cores(args.processes)  # on the CPU, N workers of all cores each would oversubscribe them
    from nas_core import plugins

    # a spawned child starts empty: the user's ops and declared spaces are registered again here
    plugins.apply(getattr(args, "plugin", ()), getattr(args, "declare_space", ()))
    raise SystemExit(_one_worker(args))


def _one_worker(args: argparse.Namespace) -> int:
    from pools.runner import TrainingRunner
    from pools.worker import Worker

    interrupt_on_signals()  # SIGTERM releases the job like Ctrl-C (also in a --processes child)
    pool = Pool.open_when_ready(pool_url(args.pool, args.pool_file), args.wait_for_pool)
    worker = Worker(
        pool,
        TrainingRunner(pool, args.device, args.data_root),
        name=args.name,
        heartbeat_interval=args.heartbeat_interval,
        idle_timeout=args.idle_timeout,
    )
    try:
        done = worker.run(args.max_jobs)
    except INTERRUPTS:
        print(f"worker {worker.name} interrupted; its job went back to the queue (attempt not counted)")
        return 130
    print(f"worker {worker.name} finished {done} job(s)")
    return 0
