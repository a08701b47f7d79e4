"""The ``nas`` command line: one entry point, one subcommand per job."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
import threading
import warnings
from collections.abc import Sequence

# torch-geometric still scripts a few helpers with the deprecated torch.jit.script; not our users' concern
warnings.filterwarnings("ignore", message="`torch.jit.script` is deprecated", category=FutureWarning)

from nas_cli.pool_cli import configure_logging  # noqa: E402
from nas_core import plugins  # noqa: E402
from nas_core.ops import op_names  # noqa: E402
from nas_core.plugins import SPEC_HELP  # noqa: E402
from nas_core.spaces import get_space, space_names  # noqa: E402


def _cmd_spaces(args: argparse.Namespace) -> int:
    infos = [get_space(name).describe() for name in space_names()]
    if args.json:
        print(json.dumps({"spaces": infos, "operations": op_names()}, indent=2))
        return 0
    for info in infos:
        print(f"{info['name']:<8} {info['size']!s:>12} architectures  ops: {', '.join(info['ops'])}")
    print(f"\nregistered operations: {', '.join(op_names())}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from nas_cli.demo import run as run_demo

    run_demo(args)
    return 0


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("nas-suite")
    except metadata.PackageNotFoundError:  # run from a checkout that was not installed
        return "(not installed)"


#: subcommands with one module each under nas_cli/ (add_arguments, run -> exit status)
COMMANDS = (
    ("diff", "diff_cmd", "differentiable search (DARTS family) with magnitude or PT selection"),
    ("rank-nosh", "rank_nosh", "RANK-NOSH search (tabular NB201 benchmark or real training)"),
    (
        "pipeline",
        "pipeline",
        "the main job end to end: RANK-NOSH search, retrain the winner and reference points, export, report",
    ),
    ("proxies", "proxies_cmd", "zero-cost proxy scores of architectures listed in a file"),
    ("hybrid", "hybrid", "differentiable searches seed and warm-start a RANK-NOSH search"),
    ("train", "train_cmd", "retrain a found architecture with a published evaluation protocol"),
    ("report", "report", "HTML and Markdown report of a run directory"),
    ("dashboard", "dashboard_cmd", "a live web page of a pool's search, its workers and differentiable runs"),
    ("runs", "runs_cmd", "list the runs of a folder (or a pool's search) with their state and best result"),
)
JSON_COMMANDS = ("diff", "rank-nosh", "hybrid", "train", "proxies", "report", "pipeline", "runs")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nas", description="Neural architecture search: RANK-NOSH, differentiable methods and their hybrid."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument("--version", action="version", version=f"nas {_version()}")
    parser.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="MODULE",
        help="import a module of your own first (a .py file or a module name) that registers ops, datasets or "
        "spaces; repeatable; a `nas worker` elsewhere needs it too",
    )
    parser.add_argument(
        "--declare-space", action="append", default=[], metavar="SPEC", help=f"declare a cell space: {SPEC_HELP}"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("spaces", help="list the search spaces and operations")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_spaces)

    import nas_cli.demo as demo

    p = sub.add_parser("demo", help="train a few sampled NAS-Bench-201 cells on Fashion-MNIST")
    demo.add_arguments(p)
    p.set_defaults(func=_cmd_demo)

    from nas_cli.pool_cli import add_pool_commands

    add_pool_commands(sub)

    for name, module, summary in COMMANDS:
        command = importlib.import_module(f"nas_cli.{module}")
        p = sub.add_parser(
            name, help=summary, description=command.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
        )
        command.add_arguments(p)
        p.set_defaults(func=command.run)

    from nas_cli.config_files import CONFIGURABLE, add_config_command, add_config_option

    add_config_command(sub)
    for name in CONFIGURABLE:
        add_config_option(sub.choices[name])
    for name in JSON_COMMANDS:
        sub.choices[name].add_argument(
            "--json", action="store_true", help="print one JSON summary on stdout and nothing else (implies --quiet)"
        )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from nas_cli.config_files import apply_config

    parser = build_parser()
    try:
        args = apply_config(parser, parser._subparsers._group_actions[0].choices, argv)
    except (ValueError, FileNotFoundError) as exc:
        print(f"nas: error: {exc}", file=sys.stderr)
        return 2
    if getattr(args, "json", False):
        args.quiet = True
    configure_logging(
        logging.DEBUG if args.verbose else logging.WARNING if getattr(args, "quiet", False) else logging.INFO
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    from pools.interrupts import INTERRUPTS, interrupt_on_signals, restore_signals

    main_thread = threading.current_thread() is threading.main_thread()
    # Ctrl-C and a pre-emption (SIGTERM) stop alike: running jobs are released, not failed
    previous = interrupt_on_signals() if main_thread else {}
    try:
        plugins.apply(args.plugin, args.declare_space)
        return int(args.func(args) or 0)
    except INTERRUPTS:
        print(
            f"nas {args.command}: interrupted; run the same command again to resume (running jobs went back to "
            "the queue)",
            file=sys.stderr,
        )
        return 130
    except (ValueError, KeyError, FileNotFoundError, RuntimeError) as exc:  # PoolError is a RuntimeError
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        from pools.records import redact

        print(f"nas {args.command}: error: {redact(str(message))}", file=sys.stderr)
        return 2
    finally:
        restore_signals(previous)


if __name__ == "__main__":
    sys.exit(main())
