"""Config files for ``nas`` subcommands: ``nas diff --config run.yaml`` (flags given on the command line
override the file), and ``nas config show METHOD`` (the resolved defaults of a differentiable method
with their paper source).

A config file is a YAML (or JSON) mapping from option names -- as in ``--help``, with ``-`` or
``_`` -- to values. Unknown names are an error that lists the valid ones.
"""

from __future__ import annotations

import argparse
import inspect
import json
from pathlib import Path
from typing import Any

from nas_core.options import read_mapping, reject_unknown

#: subcommands that take ``--config FILE`` (``nas hybrid --config`` is its own recipe format)
CONFIGURABLE = ("demo", "diff", "rank-nosh", "proxies", "train", "pipeline")


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        dest="config_file",
        type=Path,
        default=None,
        help="YAML/JSON file of option values (command-line flags override it)",
    )


def read_config(path: Path, parser: argparse.ArgumentParser) -> dict[str, Any]:
    """The file's values keyed by argparse ``dest``; unknown keys raise ValueError naming the valid ones."""
    data = read_mapping(path, "config file")
    valid = {a.dest for a in parser._actions if a.dest not in ("help", "config_file", "func")}
    values = {str(k).replace("-", "_"): v for k, v in data.items()}
    reject_unknown(values, valid, where=f" in {path}")
    return values


def apply_config(parser: argparse.ArgumentParser, subparsers: dict[str, argparse.ArgumentParser], argv) -> Any:
    """Parse ``argv``; when it names ``--config FILE``, parse again with the file's values as defaults."""
    args = parser.parse_args(argv)
    path = getattr(args, "config_file", None)
    if path is None:
        return args
    sub = subparsers[args.command]
    values = read_config(path, sub)
    for action in sub._actions:
        if action.dest in values:
            action.required = False  # supplied by the file
    sub.set_defaults(**values)
    return parser.parse_args(argv)


def show_method(name: str) -> dict[str, Any]:
    """Resolved search settings and method options of a differentiable method, with its paper."""
    from supernet.engine.diff_search import DiffSearchConfig
    from supernet.methods import get_method

    method = get_method(name)
    options = {}
    for cls in reversed(method.__mro__):
        if "__init__" in vars(cls):
            for p in inspect.signature(cls.__init__).parameters.values():
                if p.default is not inspect.Parameter.empty and p.name not in ("seed",):
                    options[p.name] = p.default
    return {
        "method": name,
        "paper": method.paper,
        "paper_overrides": dict(method.defaults),
        "search": DiffSearchConfig.resolve(method=name).to_dict(),
        "method_options": options,
    }


def add_config_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("config", help="show the resolved defaults of a method")
    inner = p.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    show = inner.add_parser("show", help="resolved defaults of a differentiable method, with their paper")
    show.add_argument("method")
    show.set_defaults(func=lambda args: print(json.dumps(show_method(args.method), indent=2, default=str)))
