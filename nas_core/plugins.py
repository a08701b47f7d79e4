"""What a user adds before anything runs, by name, so that a command line or a job on another machine can
repeat it: a module of their own (``nas --plugin``, which registers ops, datasets or spaces as it is
imported) and cell spaces declared from an op list (``nas --declare-space``,
:func:`nas_core.spaces.declare_space`)."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path

SPEC_HELP = (
    "NAME:STYLE:NODES:OP,OP,...  e.g. my-dag:nb201:4:none,skip_connect,conv_5x5 (STYLE nb201: one op per edge of "
    "a NODES-node DAG; darts: NODES intermediate nodes of two inputs each)"
)


def load_plugin(name: str) -> None:
    """Import ``name``: a ``.py`` file's path or an importable module name (its imports register things)."""
    path = Path(name)
    if name.endswith(".py"):
        if not path.is_file():
            raise FileNotFoundError(f"--plugin {name!r}: no such file")
        module_name = f"nas_plugin_{path.stem}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        sys.modules[module_name] = module
        spec.loader.exec_module(module)  # type: ignore[union-attr]
        return
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as exc:
        raise ValueError(f"--plugin {name!r}: {exc}; give a .py file or a module on the Python path") from None


def declare_from_spec(spec: str) -> str:
    """Declare the space ``spec`` describes (:data:`SPEC_HELP`); returns its name."""
    from nas_core.spaces import declare_space

    parts = spec.split(":")
    if len(parts) != 4 or not all(parts):
        raise ValueError(f"--declare-space {spec!r}: expected {SPEC_HELP.split('  ')[0]}")
    name, style, nodes, ops = parts
    try:
        count = int(nodes)
    except ValueError:
        raise ValueError(f"--declare-space {spec!r}: NODES must be an integer, got {nodes!r}") from None
    declare_space(name, [op.strip() for op in ops.split(",")], nodes=count, style=style)
    return name


def apply(plugins: Sequence[str], spaces: Sequence[str]) -> None:
    """Import every plugin, then declare every space (a space may use ops a plugin registered)."""
    for name in plugins:
        load_plugin(name)
    for spec in spaces:
        declare_from_spec(spec)
