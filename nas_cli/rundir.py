"""Run directories: every run records its resolved configuration, seed, library versions, device and
git commit next to its results, so it can be reproduced."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from nas_core.run_record import write_run_config


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in _flatten(item, f"{prefix}{key}.").items()}
    return {prefix.rstrip("."): value}


def changed_settings(out: Path, config: dict[str, Any], ignore: tuple[str, ...]) -> list[str]:
    """``key: old -> new`` for every setting of ``config`` that differs from ``out/config.json``'s."""
    path = out / "config.json"
    if not path.exists():
        return []
    old = _flatten(json.loads(path.read_text())["config"])
    new = _flatten(json.loads(json.dumps(config, default=str)))
    keys = sorted(k for k in old.keys() | new.keys() if not k.startswith(ignore) and old.get(k) != new.get(k))
    return [f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in keys]


def has_trained(out: Path, pool_url: str | None = None) -> bool:
    """Whether the run in ``out`` trained anything: a result or a checkpoint under it, or an epoch in one of
    its pools (``pool.db`` files under it, and ``pool_url`` when the run's pool lives elsewhere)."""
    databases = []
    for path in out.rglob("*"):  # one walk of the folder
        if path.name in ("result.json", "progress.json") or path.suffix == ".pt":
            return True
        if path.name == "pool.db":
            databases.append(path)
    from pools import Pool, PoolError

    urls = [f"sqlite:///{db.resolve()}" for db in databases] + ([pool_url] if pool_url else [])
    for url in urls:
        try:
            pool = Pool.open(url)
        except PoolError:  # no pool there yet
            continue
        try:
            if not pool.never_trained():
                return True
        finally:
            pool.close()
    return False


def prepare_run_dir(
    out: str | Path,
    command: str,
    config: dict[str, Any],
    resume_ignores: tuple[str, ...] | None = None,
    pool_url: str | None = None,
) -> Path:
    """Create ``out`` and write ``config.json`` (the resolved config and the environment).

    ``resume_ignores``: for a command whose run directory resumes (``nas rank-nosh``), a run directory
    made with other settings is an error naming each changed one (keys starting with one of these
    prefixes may change), never a silent rewrite -- unless the run never trained (:func:`has_trained`,
    ``pool_url``: its pool when not under ``out``): then its settings are replaced and its own ``pool.db``
    files (made with the old settings, holding nothing trained) are moved aside, and it says so."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    from pools.records import redact

    if resume_ignores is not None:
        changed = changed_settings(out, json.loads(redact(json.dumps(config, default=str))), resume_ignores)
        if changed and has_trained(out, pool_url):
            raise ValueError(
                f"{out} holds a {command} run made with other settings ({'; '.join(changed)}); rerun with the "
                "same settings to resume it, or give another --out to start a new run"
            )
        if changed:  # its own pool files were made with the old settings and hold nothing trained: set aside
            aside = [db.rename(db.with_name(f"{db.name}.untrained-{time.time_ns()}")) for db in out.rglob("pool.db")]
            note = f"; its pool was moved aside to {', '.join(str(a) for a in aside)}" if aside else ""
            print(
                f"{out} held a {command} run that never trained; its settings are replaced ({'; '.join(changed)})"
                + note,
                file=sys.stderr,
            )

    # a pool URL's password never reaches the run directory
    write_run_config(out, command, json.loads(redact(json.dumps(config, default=str))))
    return out
