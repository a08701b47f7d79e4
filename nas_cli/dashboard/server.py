"""The dashboard's web server: the standard library's threaded HTTP server, pages from ``static/``, their
data as JSON from :mod:`nas_cli.dashboard.views`, charts drawn in the browser by plotly.js served
from the installed ``plotly`` package (nothing is fetched from the internet).

Read-only unless started with ``allow_actions``; then ``POST /api/retry/ID`` makes a failed candidate
trainable again (:meth:`pools.Pool.retry_failed`). A POST must carry the ``X-NAS-Dashboard`` header, which
a page from another origin cannot send without a CORS preflight this server never grants.
"""

from __future__ import annotations

import json
import logging
import math
import mimetypes
import threading
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from nas_cli.dashboard import views
from pools import Pool
from pools.frames import CANDIDATE_COLUMNS, CURVE_COLUMNS, candidate_rows, csv_text, curve_rows
from pools.records import PoolError
from predictor_nas.runs import list_runs

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
PAGES = ("pool", "candidate", "run", "runs")
ACTION_HEADER = "X-NAS-Dashboard"


@dataclass
class Dashboard:
    """What one server shows: a pool (and the run folder it belongs to) and/or a folder of runs."""

    pool: Pool | None = None
    root: Path | None = None  # the run folder: differentiable runs and rounds.jsonl are read under it
    allow_actions: bool = False
    refresh: float = 5.0

    def home(self) -> str:
        if self.pool is not None:
            return "/pool"
        if self.root is not None and any((self.root / f).exists() for f in ("progress.json", "search.pt")):
            return "/run/"  # the folder is a differentiable search
        return "/runs"

    def run_dir(self, relative: str) -> Path:
        """``root / relative``, refused when it leaves the root folder."""
        if self.root is None:
            raise FileNotFoundError("this dashboard was started without a run folder")
        path = (self.root / relative).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise PermissionError(f"{relative!r} is outside the dashboard's folder")
        return path


class Handler(BaseHTTPRequestHandler):
    dashboard: Dashboard  # set on the subclass make_server builds
    server_version = "nas-dashboard"

    def log_message(self, format: str, *args: Any) -> None:  # the access log at debug level, not on stderr
        log.debug("%s " + format, self.address_string(), *args)

    # -- responses ------------------------------------------------------------------------------
    def _send(self, status: int, body: bytes, content_type: str, cache: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "max-age=86400" if cache else "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, data: Any, status: int = HTTPStatus.OK) -> None:
        body = json.dumps(_finite(data), default=str, allow_nan=False)
        self._send(status, body.encode(), "application/json")

    def _error(self, status: int, message: str) -> None:
        self._json({"error": message}, status)

    # -- routing --------------------------------------------------------------------------------
    def do_GET(self) -> None:
        self._dispatch(self._get)

    def do_HEAD(self) -> None:
        self._dispatch(self._get)

    def do_POST(self) -> None:
        self._dispatch(self._post)

    def _dispatch(self, route: Any) -> None:
        try:
            self._answer(route)
        except ConnectionError:  # the browser went away mid-answer (navigated on, closed the tab): no one to tell
            log.debug("dashboard: %s: the client closed the connection", self.path)

    def _answer(self, route: Any) -> None:
        path = unquote(urlsplit(self.path).path)
        try:
            route(path)
        except (PoolError, FileNotFoundError, KeyError) as exc:
            self._error(HTTPStatus.NOT_FOUND, str(exc))
        except (PermissionError, ValueError) as exc:
            self._error(HTTPStatus.BAD_REQUEST, str(exc))
        except ConnectionError:
            raise
        except Exception as exc:  # the page shows the error; the server keeps serving
            log.exception("dashboard: %s failed", path)
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, f"{type(exc).__name__}: {exc}")

    def _page(self, name: str) -> None:
        html = (STATIC / "page.html").read_text().replace("{{PAGE}}", name)
        self._send(HTTPStatus.OK, html.encode(), "text/html; charset=utf-8")

    def _pool(self) -> Pool:
        if self.dashboard.pool is None:
            raise FileNotFoundError("this dashboard was started without a pool (nas dashboard --pool URL)")
        return self.dashboard.pool

    def _get(self, path: str) -> None:
        d = self.dashboard
        parts = [p for p in path.split("/") if p]
        if not parts:
            self.send_response(HTTPStatus.FOUND)
            self.send_header("Location", d.home())
            self.end_headers()
        elif parts[0] in PAGES:
            self._page(parts[0])
        elif parts[0] == "static" and len(parts) == 2:
            self._static(parts[1])
        elif parts[:1] == ["api"]:
            self._api(parts[1:])
        else:
            raise FileNotFoundError(f"no page {path}")

    def _static(self, name: str) -> None:
        if name == "plotly.min.js":
            from plotly.offline import get_plotlyjs

            body = get_plotlyjs().encode()
        else:
            file = (STATIC / name).resolve()
            if file.parent != STATIC.resolve() or not file.is_file():
                raise FileNotFoundError(f"no static file {name}")
            body = file.read_bytes()
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        self._send(HTTPStatus.OK, body, kind, cache=True)

    def _api(self, parts: list[str]) -> None:
        d = self.dashboard
        what = parts[0] if parts else ""
        if what == "settings":
            self._json(
                {
                    "refresh": d.refresh,
                    "allow_actions": d.allow_actions,
                    "pool": d.pool is not None,
                    "root": str(d.root) if d.root else None,
                }
            )
        elif what == "overview":
            self._json(views.overview(self._pool(), d.root))
        elif what == "candidates":
            self._json(views.candidate_table(self._pool()))
        elif what == "workers":
            self._json(views.workers(self._pool(), d.allow_actions))
        elif what == "candidates.csv":
            self._send(HTTPStatus.OK, csv_text(candidate_rows(self._pool()), CANDIDATE_COLUMNS).encode(), "text/csv")
        elif what == "curves.csv":
            self._send(HTTPStatus.OK, csv_text(curve_rows(self._pool()), CURVE_COLUMNS).encode(), "text/csv")
        elif what == "candidate" and len(parts) in (2, 3):
            cid = _candidate_id(parts[1])
            if len(parts) == 3 and parts[2] == "cell.svg":
                pool = self._pool()
                self._send(HTTPStatus.OK, views.cell_svg(pool.config.space, pool.candidate(cid).arch), "image/svg+xml")
            else:
                self._json(views.candidate_detail(self._pool(), cid))
        elif what == "runs":
            if d.root is None:
                raise FileNotFoundError("this dashboard was started without a run folder")
            self._json([r.to_dict() | {"relative": _relative(r.path, d.root)} for r in list_runs(d.root)])
        elif what == "run":
            relative = "/".join(parts[1:])
            if relative.endswith("cell.svg"):
                data = views.diff_run(d.run_dir(relative.removesuffix("cell.svg")))
                self._send(HTTPStatus.OK, views.cell_svg(data["space"], data["genotype"]), "image/svg+xml")
            else:
                self._json(views.diff_run(d.run_dir(relative)))
        else:
            raise FileNotFoundError(f"no API endpoint /api/{'/'.join(parts)}")

    def _post(self, path: str) -> None:
        parts = [p for p in path.split("/") if p]
        if parts[:2] != ["api", "retry"] or len(parts) != 3:
            raise FileNotFoundError(f"no action {path}")
        if not self.dashboard.allow_actions:
            self._error(HTTPStatus.FORBIDDEN, "read-only dashboard: start it with --allow-actions to retry jobs")
            return
        if self.headers.get(ACTION_HEADER) != "1":
            self._error(HTTPStatus.FORBIDDEN, f"an action needs the {ACTION_HEADER} header (sent by the page)")
            return
        cid = _candidate_id(parts[2])
        reset = self._pool().retry_failed([cid])
        log.info("dashboard: candidate %d reset for retry (%s)", cid, reset)
        self._json({"reset": reset})


def _finite(value: Any) -> Any:
    """``value`` with NaN and ±inf (a proxy score can be -inf) as None: JSON has no such numbers."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _candidate_id(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"candidate id must be an integer, got {text!r}") from None


def _relative(path: str, root: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(root.resolve()))
    except ValueError:
        return path


def make_server(dashboard: Dashboard, host: str = "127.0.0.1", port: int = 8050) -> ThreadingHTTPServer:
    """A server for ``dashboard`` bound to ``host:port`` (port 0: a free one; see ``server.server_port``)."""
    handler = type("DashboardHandler", (Handler,), {"dashboard": dashboard})
    server = QuietServer((host, port), handler)
    server.daemon_threads = True
    return server


class QuietServer(ThreadingHTTPServer):
    """A connection the browser dropped is not an error (no traceback on stderr); anything else still is."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            log.debug("dashboard: %s closed the connection", client_address)
            return
        super().handle_error(request, client_address)


def serve_in_background(dashboard: Dashboard, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """Start a server on a thread (tests, notebooks); ``server.shutdown()`` stops it."""
    server = make_server(dashboard, host, port)
    threading.Thread(target=server.serve_forever, daemon=True, name="nas-dashboard").start()
    return server
