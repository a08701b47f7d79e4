"""``--launcher`` and the scheduler's resources, the same on every command that sends out jobs
(:class:`predictor_nas.launch.LaunchSettings`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from predictor_nas.launch import LAUNCHERS, LaunchSettings, WorkerFleet


def add_launch_arguments(p: argparse.ArgumentParser, what: str, workers: bool = False) -> None:
    """The launcher and its resources; ``workers``: also how many pool workers and their idle timeout."""
    g = p.add_argument_group("launching jobs (Slurm through submitit, Ray, or this machine)")
    if workers:
        g.add_argument("--workers", type=int, default=2, help="with --launcher: the pool workers sent out as jobs")
        g.add_argument(
            "--worker-idle-timeout",
            type=float,
            default=300.0,
            help="with --launcher: seconds a worker job waits for new work before it ends (rounds leave gaps)",
        )
    g.add_argument(
        "--launcher",
        choices=LAUNCHERS,
        default=None,
        help=f"send {what} out as jobs: slurm (a job array), ray (Ray tasks) or local (the same path on this machine)",
    )
    g.add_argument(
        "--ray-address", default=None, help="Ray: the cluster to join (auto, ray://HEAD:10001); default local"
    )
    g.add_argument("--partition", default=None, help="Slurm partition")
    g.add_argument("--time-min", type=int, default=60, help="time limit of each job in minutes")
    g.add_argument("--gpus-per-job", type=int, default=0)
    g.add_argument("--cpus-per-job", type=int, default=1)
    g.add_argument("--mem-gb", type=float, default=None)
    g.add_argument("--account", default=None, help="Slurm account")
    g.add_argument(
        "--sbatch", action="append", default=[], metavar="KEY=VALUE", help="any other sbatch option; repeatable"
    )
    g.add_argument("--launch-dir", default=None, help="the jobs' logs and pickles (default OUT/launch)")


def launch_settings(args: argparse.Namespace, out: Path) -> LaunchSettings | None:
    """The settings the flags give (None without ``--launcher``)."""
    if args.launcher is None:
        return None
    extra = {}
    for item in args.sbatch:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--sbatch {item!r}: expected KEY=VALUE, e.g. qos=high")
        extra[key.lstrip("-").replace("-", "_")] = value
    return LaunchSettings(
        launcher=args.launcher,
        folder=str(Path(args.launch_dir) if args.launch_dir else out / "launch"),
        partition=args.partition,
        time_min=args.time_min,
        gpus=args.gpus_per_job,
        cpus=args.cpus_per_job,
        mem_gb=args.mem_gb,
        account=args.account,
        sbatch=extra,
        ray_address=args.ray_address,
    )


def worker_fleet(args: argparse.Namespace, out: Path, **given: Any) -> WorkerFleet | None:
    """The pool workers the flags send out (None without ``--launcher``), with the command's device,
    data root, plugins and declared spaces (``given`` worker options replace the command's)."""
    settings = launch_settings(args, out)
    if settings is None:
        return None
    worker = {
        "device": getattr(args, "device", "auto"),
        "data_root": getattr(args, "data_root", None),
        "idle_timeout": args.worker_idle_timeout,
        "plugins": getattr(args, "plugin", ()),
        "spaces": getattr(args, "declare_space", ()),
        **given,
    }
    return WorkerFleet(settings, args.workers, worker)
