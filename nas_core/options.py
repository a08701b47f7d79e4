"""Checked option mappings: every configuration (a dataclass, a recipe file, a YAML of flags) rejects
an unknown key with one error that names it and lists the valid ones."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")


def reject_unknown(given: Iterable[str], valid: Iterable[str], what: str = "option(s)", where: str = "") -> None:
    """ValueError naming the keys of ``given`` outside ``valid`` (``what``: whose keys; ``where``: from where)."""
    valid = set(valid)
    unknown = sorted(set(given) - valid)
    if unknown:
        raise ValueError(f"unknown {what} {unknown}{where}; valid options: {sorted(valid)}")


def field_names(cls: type) -> set[str]:
    return {f.name for f in fields(cls)}


def dataclass_from_dict(cls: type[T], data: dict[str, Any], what: str) -> T:
    """``cls(**data)`` for a dataclass, after rejecting keys that are not its fields."""
    reject_unknown(data, field_names(cls), what)
    return cls(**data)


def read_mapping(path: Path, what: str) -> dict[str, Any]:
    """The YAML/JSON mapping in ``path`` (an empty file is an empty mapping)."""
    if not path.exists():
        raise FileNotFoundError(f"{what} {path} does not exist")
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{what} {path} must hold a mapping of option names to values, got {type(data).__name__}")
    return data


def require_at_least(minimum: int, **values: float) -> None:
    """ValueError naming every one of ``values`` below ``minimum`` with its value."""
    bad = {name: value for name, value in values.items() if value < minimum}
    if bad:
        got = ", ".join(f"{name}={value!r}" for name, value in bad.items())
        raise ValueError(f"{' and '.join(bad)} must be >= {minimum}, got {got}")
