"""Serve a live dashboard of a pool and/or a run folder on this machine (read-only by default).

    nas dashboard --pool sqlite:///runs/search/pool.db      # a RANK-NOSH pool while its workers train
    nas dashboard runs/search                               # a run folder: its pool.db and its runs
    nas dashboard runs/darts                                # a differentiable search (α, skips, eigenvalue)

Open the address it prints (http://127.0.0.1:8050/ by default) in a browser; the page refreshes itself.
``--allow-actions`` adds a retry button to failed jobs; without it the server never writes to the pool.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from nas_cli.pool_cli import POOL_URL_ENV, add_pool_file_argument, pool_url

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", nargs="?", type=Path, default=None, help="a run folder (or a folder of runs)")
    parser.add_argument("--pool", default=None, help=f"the pool URL (default: RUN_DIR/pool.db, else ${POOL_URL_ENV})")
    add_pool_file_argument(parser)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: this machine only)")
    parser.add_argument("--port", type=int, default=8050, help="port (0: any free one)")
    parser.add_argument("--refresh", type=float, default=5.0, help="seconds between the page's updates")
    parser.add_argument(
        "--allow-actions", action="store_true", help="let the page retry failed jobs (it writes to the pool)"
    )


def run(args: argparse.Namespace) -> int:
    from nas_cli.dashboard.server import Dashboard, make_server
    from pools import Pool

    if args.refresh <= 0:
        raise ValueError(f"--refresh must be positive seconds, got {args.refresh}")
    root = args.run_dir
    if root is not None and not root.is_dir():
        raise ValueError(f"{root} is not a folder; expected a run directory or a folder of runs")
    url = pool_url(args.pool, args.pool_file, required=False)
    if url is None and root is not None and (root / "pool.db").exists():
        url = f"sqlite:///{(root / 'pool.db').resolve()}"
    if url is None and root is None:
        raise ValueError(f"nothing to show: give a run folder, --pool URL, --pool-file FILE or ${POOL_URL_ENV}")
    dashboard = Dashboard(Pool.open(url) if url else None, root, args.allow_actions, args.refresh)
    server = make_server(dashboard, args.host, args.port)
    host, port = server.server_address[:2]
    mode = "read-write: retry allowed" if args.allow_actions else "read-only"
    print(f"nas dashboard on http://{host}:{port}/ ({mode}); Ctrl-C stops it", flush=True)
    from pools.interrupts import INTERRUPTS

    try:
        server.serve_forever()
    except INTERRUPTS:  # Ctrl-C ends it: a dashboard has nothing to resume
        print("nas dashboard: stopped", file=sys.stderr)
    finally:
        server.server_close()
        if dashboard.pool is not None:
            dashboard.pool.close()
    return 0
