"""Command-line flags made from a config dataclass's fields, so that every setting is settable and each
default is declared once, in the dataclass (``nas diff`` gets one flag per :class:`DiffSearchConfig` field
that has no hand-written flag)."""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from typing import Any

_PARSERS: dict[Any, Any] = {int: int, float: float, str: str}


def _parser(hint: Any) -> tuple[Any, int | None] | None:
    """(element parser, nargs) for a field type of int/float/str/bool, optional or a fixed tuple; else None."""
    inner = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and len(inner) == 1:
        hint = inner[0]
    if hint is bool:
        return _bool, None
    if hint in _PARSERS:
        return _PARSERS[hint], None
    items = typing.get_args(hint)
    if typing.get_origin(hint) is tuple and items and Ellipsis not in items and all(a in _PARSERS for a in items):
        return _PARSERS[items[0]], len(items)
    return None


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def add_dataclass_flags(group: Any, cls: type, skip: set[str]) -> list[str]:
    """``--field-name VALUE`` for each field of ``cls`` not in ``skip`` whose type a flag can carry (default
    None: the dataclass's default applies). Returns the field names added."""
    hints = typing.get_type_hints(cls)
    added = []
    for f in dataclasses.fields(cls):
        parsed = None if f.name in skip else _parser(hints[f.name])
        if parsed is None:
            continue
        convert, nargs = parsed
        default = f.default if f.default is not dataclasses.MISSING else None
        group.add_argument(
            f"--{f.name.replace('_', '-')}",
            dest=f"field_{f.name}",
            type=convert,
            nargs=nargs,
            default=None,
            metavar=f.name.upper(),
            help=f"{cls.__name__}.{f.name} (default {default!r})",
        )
        added.append(f.name)
    return added


def given_dataclass_flags(args: argparse.Namespace, names: list[str]) -> dict[str, Any]:
    """The fields whose flag was given, by field name."""
    values = {name: getattr(args, f"field_{name}", None) for name in names}
    return {k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if v is not None}
