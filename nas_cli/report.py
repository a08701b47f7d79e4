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


def _comparison(pipeline: dict[str, Any] | None) -> list[dict[str, Any]]:
    """``nas pipeline``'s table: the winner and the reference points, retrained the same way."""
    if not pipeline or "final" not in pipeline:
        return []
    keys = ("test_accuracy", "params_millions", "flops_millions", "latency_ms_batch1", "train_seconds", "arch")
    return [{"network": name, **{k: row.get(k) for k in keys}} for name, row in pipeline["final"].items()]


def collect(run_dir: Path) -> dict[str, Any]:
    """Everything the report shows, as plain data."""
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run directory {run_dir} does not exist")
    config = _load(run_dir / "config.json")
    pipeline = _load(run_dir / "pipeline.json")
    result = _load(run_dir / "result.json") or (pipeline or {}).get("search")
    return {
        "dir": str(run_dir),
        "command": (config or {}).get("command", "unknown"),
        "status": "finished" if result is not None else "in progress (no result.json yet)",
        "summary": {k: v for k, v in (result or {}).items() if isinstance(v, SCALARS)},
        "config": (config or {}).get("config", {}),
        "environment": (config or {}).get("environment", {}),
        "pyramid": _pyramid(run_dir) or _pyramid(run_dir / "search"),
        "comparison": _comparison(pipeline),
        "not_beaten": [k for k, v in ((pipeline or {}).get("verdicts") or {}).items() if v["verdict"] != "beats"],
        "plots": sorted(p.name for p in run_dir.glob("*.png")),
    }


def _rows(data: dict[str, Any]) -> list[tuple[str, str]]:
    return [(k, json.dumps(v) if not isinstance(v, str) else v) for k, v in data.items()]


def _fmt(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def _md(value: Any) -> str:
    """A Markdown table cell: NAS-Bench-201 strings are full of ``|``, which would end the cell."""
    return _fmt(value).replace("|", "\\|")


COMPARISON_NOTE = (
    "Each network retrained from scratch the same way (protocol, epochs, training images) and tested "
    "once; latency is one image on this machine's device."
)


def to_markdown(info: dict[str, Any]) -> str:
    lines = [f"# {info['command']} run: {info['dir']}", "", f"**Status:** {info['status']}", ""]
    if info["comparison"]:
        cols = list(info["comparison"][0])
        lines += ["## The winner and the reference points", "", COMPARISON_NOTE, ""]
        lines += ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        lines += ["| " + " | ".join(_md(row[c]) for c in cols) + " |" for row in info["comparison"]]
        if info["not_beaten"]:
            lines += ["", f"**The search's winner does not beat (ties or loses): {', '.join(info['not_beaten'])}.**"]
        lines.append("")
    for title, data in (
        ("Result", info["summary"]),
        ("Pool (candidates per NOSH level)", info["pyramid"] or {}),
        ("Environment", {k: v for k, v in info["environment"].items() if isinstance(v, SCALARS)}),
    ):
        if data:
            lines += [f"## {title}", "", "| key | value |", "|---|---|"]
            lines += [f"| {_md(k)} | {_md(v)} |" for k, v in _rows(data)]
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
    if info["comparison"]:
        cols = list(info["comparison"][0])
        head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(_fmt(row[c]))}</td>" for c in cols) + "</tr>"
            for row in info["comparison"]
        )
        parts += ["<h2>The winner and the reference points</h2>", f"<p>{COMPARISON_NOTE}</p>"]
        parts.append(f"<table><tr>{head}</tr>{body}</table>")
        if info["not_beaten"]:
            parts.append(
                "<p><b>The search's winner does not beat (ties or loses): "
                f"{html.escape(', '.join(info['not_beaten']))}.</b></p>"
            )
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


def write_report(run_dir: Path) -> Path:
    """Write ``report.md`` and ``report.html`` into ``run_dir``; returns the HTML's path."""
    info = collect(run_dir)
    (run_dir / "report.md").write_text(to_markdown(info))
    (run_dir / "report.html").write_text(to_html(info, run_dir))
    return run_dir / "report.html"


def run(args: argparse.Namespace) -> int:
    write_report(args.dir)
    info = collect(args.dir)
    if getattr(args, "json", False):
        print(json.dumps({"html": str(args.dir / "report.html"), "markdown": str(args.dir / "report.md"), **info}))
    else:
        print(f"wrote {args.dir / 'report.html'} and {args.dir / 'report.md'} ({info['status']})")
    return 0
