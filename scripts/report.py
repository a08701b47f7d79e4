"""``nas report DIR``: a self-contained report of a run directory, finished or not.

Reads what the run wrote -- ``config.json`` (command, resolved configuration, environment),
``result.json`` when the run has finished, the pool's pyramid when there is a ``pool.db`` -- and every
PNG plot in the directory. Writes ``DIR/report.md`` (images linked) and ``DIR/report.html`` (images
embedded, so the file can be mailed or archived on its own).
"""

from __future__ import annotations

import argparse
import base64
import html
import json
from pathlib import Path
from typing import Any

SCALARS = (int, float, str, bool, type(None))


def _load(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        return {"error": f"{path.name} is not valid JSON ({exc}); the run may be writing it"}


def _pyramid(run_dir: Path) -> dict[str, int] | None:
    db = run_dir / "pool.db"
    if not db.exists():
        return None
    from pools import Pool

    pool = Pool.open(f"sqlite:///{db.resolve()}")
    try:
        sizes: dict[str, int] = {}
        for cand in pool.candidates():
            sizes[str(cand.level)] = sizes.get(str(cand.level), 0) + 1
        return dict(sorted(sizes.items(), key=lambda kv: int(kv[0])))
    finally:
        pool.close()


def collect(run_dir: Path) -> dict[str, Any]:
    """Everything the report shows, as plain data."""
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run directory {run_dir} does not exist")
    config = _load(run_dir / "config.json")
    result = _load(run_dir / "result.json")
    return {
        "dir": str(run_dir),
        "command": (config or {}).get("command", "unknown"),
        "status": "finished" if result is not None else "in progress (no result.json yet)",
        "summary": {k: v for k, v in (result or {}).items() if isinstance(v, SCALARS)},
        "config": (config or {}).get("config", {}),
        "environment": (config or {}).get("environment", {}),
        "pyramid": _pyramid(run_dir),
        "plots": sorted(p.name for p in run_dir.glob("*.png")),
    }


def _rows(data: dict[str, Any]) -> list[tuple[str, str]]:
    return [(k, json.dumps(v) if not isinstance(v, str) else v) for k, v in data.items()]


def to_markdown(info: dict[str, Any]) -> str:
    lines = [f"# {info['command']} run: {info['dir']}", "", f"**Status:** {info['status']}", ""]
    for title, data in (
        ("Result", info["summary"]),
        ("Pool (candidates per NOSH level)", info["pyramid"] or {}),
        ("Environment", {k: v for k, v in info["environment"].items() if isinstance(v, SCALARS)}),
    ):
        if data:
            lines += [f"## {title}", "", "| key | value |", "|---|---|"]
            lines += [f"| {k} | {v} |" for k, v in _rows(data)]
            lines.append("")
    for name in info["plots"]:
        lines += [f"![{name}]({name})", ""]
    lines += ["## Configuration", "", "```json", json.dumps(info["config"], indent=2, default=str), "```", ""]
    return "\n".join(lines)


def to_html(info: dict[str, Any], run_dir: Path) -> str:
    def table(data: dict[str, Any]) -> str:
        rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in _rows(data))
        return f"<table>{rows}</table>"

    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(info['command'])} run</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}td{padding:2px 8px;"
        "border-bottom:1px solid #ddd}img{max-width:100%}</style></head><body>",
        f"<h1>{html.escape(info['command'])} run: {html.escape(info['dir'])}</h1>",
        f"<p><b>Status:</b> {html.escape(info['status'])}</p>",
    ]
    if info["summary"]:
        parts += ["<h2>Result</h2>", table(info["summary"])]
    if info["pyramid"]:
        parts += ["<h2>Pool (candidates per NOSH level)</h2>", table(info["pyramid"])]
    for name in info["plots"]:
        data = base64.b64encode((run_dir / name).read_bytes()).decode()
        parts.append(f"<h2>{html.escape(name)}</h2><img alt='{html.escape(name)}' src='data:image/png;base64,{data}'>")
    env = {k: v for k, v in info["environment"].items() if isinstance(v, SCALARS)}
    if env:
        parts += ["<h2>Environment</h2>", table(env)]
    parts += [
        "<h2>Configuration</h2>",
        f"<pre>{html.escape(json.dumps(info['config'], indent=2, default=str))}</pre>",
        "</body></html>",
    ]
    return "\n".join(parts)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", type=Path, help="a run directory (nas rank-nosh / diff / train / hybrid --out)")


def run(args: argparse.Namespace) -> int:
    info = collect(args.dir)
    (args.dir / "report.md").write_text(to_markdown(info))
    (args.dir / "report.html").write_text(to_html(info, args.dir))
    if getattr(args, "json", False):
        print(json.dumps({"html": str(args.dir / "report.html"), "markdown": str(args.dir / "report.md"), **info}))
    else:
        print(f"wrote {args.dir / 'report.html'} and {args.dir / 'report.md'} ({info['status']})")
    return 0
