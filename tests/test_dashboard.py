"""`nas dashboard`: the server over a small pool answers each page and its JSON with the pool's numbers,
never shows test accuracy, refuses actions unless allowed; a differentiable run is followed through its
progress.json; `nas runs` and the pool's DataFrames/CSV; a headless-Chromium check that the page renders."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from nas_cli.dashboard.server import Dashboard, serve_in_background
from nas_core.vocabulary import NetworkSize
from pools import Pool, PoolConfig
from pools.records import EpochRecord
from predictor_nas.runs import SEARCH_KEY, list_runs

ARCHS = [
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|",
    "|nor_conv_1x1~0|+|none~0|nor_conv_3x3~1|+|nor_conv_3x3~0|none~1|nor_conv_1x1~2|",
    "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|",
]
TEST_ACC = 12.3456  # a test accuracy stored in the pool: no page may show it


@pytest.fixture
def pool(tmp_path):
    """A pool mid-search: four candidates (random, a mutation, two DARTS proposals, one warm-started),
    learning curves at budgets 1 and 3, proxy scores, a running job, a failed one, a search state."""
    p = Pool.create(f"sqlite:///{tmp_path / 'pool.db'}", PoolConfig(space="nb201", dataset="digits", max_attempts=1))
    (a, _), (b, _) = p.add_candidates(ARCHS[:2], lineage="random")
    (c, _) = p.add_candidate(ARCHS[2], lineage="mutation", parent_id=a)
    (d, _) = p.add_candidate(ARCHS[3], lineage="darts", info={"proposal": "selected", "init": "warm.pt"})
    for cid, accs in ((a, [50.0, 61.0, 70.5]), (b, [40.0, 45.0, 52.25]), (c, [55.5])):
        records = [EpochRecord(e + 1, 2.0 - e * 0.1, acc - 5, 1.5, acc, TEST_ACC, 0.5) for e, acc in enumerate(accs)]
        p.record_metrics(cid, records, epochs_trained=len(accs))
    p.set_levels({a: 2, b: 2, c: 1})
    p.set_proxy_scores_many(
        {a: {"synflow": 3.5}, b: {"synflow": 1.25}, c: {"synflow": float("-inf")}, d: {"synflow": 9.0}}
    )
    p.enqueue(c, 3)
    p.enqueue(d, 1)
    running = p.claim("worker-A")  # c's job: a live lease
    failing = p.claim("worker-B")
    p.fail(failing, "worker-B", "CUDA out of memory (simulated)", retry=False)
    p.set_state(
        SEARCH_KEY,
        {
            "config": {"budgets": [1, 3], "budget_epochs": 100.0},
            "round": 2,
            "phase": "train:1",
            "done": False,
            "curve": [[3, ARCHS[1], 45.0, 3], [6, ARCHS[0], 61.0, 3]],
            "rounds": [{"round": 0, "cost_epochs": 3, "pyramid": {"0": 4, "1": 2}, "admission_tau": 0.5}],
            "ranker_tau": [
                {"round": 0, "cost_epochs": 3, "tau": 0.5, "ranked_by": "proxy"},
                {"round": 1, "cost_epochs": 6, "tau": -0.25, "ranked_by": "ranker"},  # a round not finished yet
            ],
        },
    )
    yield p, {"ids": (a, b, c, d), "running": running}
    p.close()


def _get(server, path, data=None, headers=None):
    url = f"http://127.0.0.1:{server.server_port}{path}"
    request = urllib.request.Request(
        url, data=data, headers=headers or {}, method="POST" if data is not None else "GET"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers.get("Content-Type"), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type"), exc.read()


@pytest.fixture
def server(pool, tmp_path):
    p, _ = pool
    srv = serve_in_background(Dashboard(p, tmp_path))
    yield srv
    srv.shutdown()
    srv.server_close()


def test_pages_and_their_json_show_the_pools_numbers(pool, server):
    p, made = pool
    a, b, c, d = made["ids"]
    for page in ("/pool", f"/candidate/{a}", "/runs"):
        status, kind, body = _get(server, page)
        assert status == 200 and kind.startswith("text/html") and b"/static/app.js" in body
    status, _, body = _get(server, "/static/plotly.min.js")  # served from the plotly package, not a CDN
    assert status == 200 and len(body) > 1_000_000

    overview = json.loads(_get(server, "/api/overview")[2])
    assert overview["candidates"] == 4 and overview["lineage"] == {"random": 2, "mutation": 1, "darts": 1}
    assert overview["levels"] == {"0": 1, "1": 1, "2": 2}
    assert overview["epochs_spent"] == p.total_epochs() == 7
    assert [pt["valid_acc"] for pt in overview["curve"]] == [45.0, 61.0]
    assert overview["rounds"][0]["pyramid"] == {"0": 4, "1": 2} and overview["rounds"][0]["admission_tau"] == 0.5
    assert [t["tau"] for t in overview["ranker_tau"]] == [0.5, -0.25]  # every admission, not only finished rounds
    assert overview["search"]["budgets"] == [1, 3] and overview["search"]["running"] is False  # no lease held

    table = json.loads(_get(server, "/api/candidates")[2])
    rows = {r["id"]: r for r in table["rows"]}
    assert rows[a]["valid"] == {"1": 50.0, "3": 70.5}  # validation at the NOSH budgets only
    assert rows[c]["valid"] == {"1": 55.5} and rows[c]["parent_id"] == a and rows[c]["lineage"] == "mutation"
    assert rows[d]["proposal"] == "selected" and rows[d]["warm_started"] is True and rows[a]["warm_started"] is False
    assert rows[b]["proxy_synflow"] == 1.25 and table["proxies"] == ["synflow"]
    assert rows[c]["proxy_synflow"] is None  # -inf (synflow of a cell with no path) is not valid JSON

    work = json.loads(_get(server, "/api/workers")[2])
    (lease,) = work["leases"]
    assert (lease["worker"], lease["candidate"], lease["to_epoch"]) == ("worker-A", c, 3)
    assert 0 <= lease["heartbeat_age"] < 60 and lease["stale"] is False
    (failed,) = work["failed"]
    assert failed["candidate"] == d and "out of memory" in failed["error"] and failed["retryable"] is True
    assert work["workers"] == {"worker-A": {"running": 1}, "worker-B": {"failed": 1}}

    detail = json.loads(_get(server, f"/api/candidate/{a}")[2])
    assert [r["valid_acc"] for r in detail["curve"]] == [50.0, 61.0, 70.5]
    assert detail["retrain"].startswith("nas train --arch '" + ARCHS[0] + "' --space nb201 --dataset digits")
    status, kind, svg = _get(server, f"/api/candidate/{a}/cell.svg")
    assert status == 200 and kind == "image/svg+xml" and b"<svg" in svg and b"nor_conv_3x3" in svg

    status, _, body = _get(server, "/api/curves.csv")
    lines = list(csv.DictReader(body.decode().splitlines()))
    assert status == 200 and len(lines) == 7 and "test_acc" not in lines[0]

    everything = b"".join(_get(server, u)[2] for u in ("/api/overview", "/api/candidates", f"/api/candidate/{a}"))
    assert str(TEST_ACC).encode() not in everything and b"test_acc" not in everything  # validation only


def test_bad_requests_get_clear_errors(server):
    status, _, body = _get(server, "/api/candidate/999")
    assert status == 404 and b"no candidate 999" in body
    status, _, body = _get(server, "/api/candidate/seven")
    assert status == 400 and b"'seven'" in body
    status, _, body = _get(server, "/api/run/../../etc")  # outside the run folder
    assert status == 400 and b"outside" in body
    assert _get(server, "/nothing")[0] == 404


def test_a_browser_that_leaves_mid_answer_is_no_error(server, capfd):
    import socket
    import time

    for _ in range(3):  # ask for the 4 MB plotly bundle and hang up once it starts coming
        with socket.create_connection(("127.0.0.1", server.server_port)) as sock:
            sock.sendall(b"GET /static/plotly.min.js HTTP/1.1\r\nHost: x\r\n\r\n")
            assert sock.recv(1000).startswith(b"HTTP/1.0 200")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    time.sleep(0.5)  # the server's writes into the closed connection fail meanwhile
    assert _get(server, "/api/overview")[0] == 200  # still serving
    err = capfd.readouterr().err
    assert "Traceback" not in err and "BrokenPipeError" not in err and "ConnectionResetError" not in err


def test_stopping_the_dashboard_says_stopped_not_resume(tmp_path, capsys, monkeypatch):
    from nas_cli import main
    from nas_cli.dashboard import server as server_module
    from pools.interrupts import Interrupted

    class Stopped:
        server_address = ("127.0.0.1", 0)

        def serve_forever(self):
            raise Interrupted("SIGINT")

        def server_close(self):
            pass

    monkeypatch.setattr(server_module, "make_server", lambda *a, **k: Stopped())
    assert main(["dashboard", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "stopped" in err and "resume" not in err


def test_the_command_refuses_what_it_cannot_show(tmp_path, capsys, monkeypatch):
    from nas_cli import main

    monkeypatch.delenv("NAS_POOL_URL", raising=False)
    assert main(["dashboard"]) == 2
    assert "nothing to show" in capsys.readouterr().err
    assert main(["dashboard", str(tmp_path / "missing")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert main(["dashboard", str(tmp_path), "--refresh", "0"]) == 2
    assert "--refresh must be positive" in capsys.readouterr().err


def test_retry_needs_allow_actions_and_the_pages_header(pool, tmp_path):
    p, made = pool
    d = made["ids"][3]
    read_only = serve_in_background(Dashboard(p, tmp_path))
    try:
        status, _, body = _get(read_only, f"/api/retry/{d}", data=b"", headers={"X-NAS-Dashboard": "1"})
        assert status == 403 and b"--allow-actions" in body
        assert p.candidate(d).status == "failed"  # nothing written
    finally:
        read_only.shutdown()
    actions = serve_in_background(Dashboard(p, tmp_path, allow_actions=True))
    try:
        assert _get(actions, f"/api/retry/{d}", data=b"")[0] == 403  # no header: a cross-site form cannot retry
        status, _, body = _get(actions, f"/api/retry/{d}", data=b"", headers={"X-NAS-Dashboard": "1"})
        assert status == 200 and json.loads(body) == {"reset": [d]}
        assert p.candidate(d).status == "idle"
    finally:
        actions.shutdown()


def test_a_differentiable_run_is_followed_epoch_by_epoch(tmp_path):
    from supernet.engine.diff_search import PROGRESS_FILE, DiffSearch, DiffSearchConfig

    run_dir = tmp_path / "darts"
    seen = []
    config = DiffSearchConfig(
        method="darts",
        dataset="digits",
        epochs=2,
        network=NetworkSize(4, 1),
        max_train=96,
        batch_size=32,
        hessian_every=1,
    )
    search = DiffSearch(
        config, run_dir=run_dir, on_epoch=lambda e: seen.append(json.loads((run_dir / PROGRESS_FILE).read_text()))
    )
    search.run()
    # on_epoch runs after the checkpoint: progress.json already holds that epoch while the search goes on
    assert [len(s["history"]) for s in seen] == [1, 2]
    srv = serve_in_background(Dashboard(None, tmp_path))
    try:
        data = json.loads(_get(srv, "/api/run/darts")[2])
        assert data["method"] == "darts" and data["epochs"] == 2 and len(data["history"]) == 2
        last = search.history[-1]
        assert data["history"][-1]["probabilities"] == last["probabilities"]
        assert data["history"][-1]["eigenvalue"] == pytest.approx(last["hessian_eigenvalue"])
        assert data["history"][-1]["skips"] == last["skip_connections"]
        assert data["ops"]["normal"][0] == ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
        status, _, svg = _get(srv, "/api/run/darts/cell.svg")
        assert status == 200 and b"<svg" in svg
        (run,) = json.loads(_get(srv, "/api/runs")[2])
        assert run["kind"] == "diff" and run["relative"] == "darts" and run["progress"] == "epoch 2/2"
    finally:
        srv.shutdown()


def test_list_runs_states_and_the_cli(pool, tmp_path, capsys):
    from nas_cli import main

    p, _ = pool
    (tmp_path / "config.json").write_text(json.dumps({"command": "rank-nosh"}))
    (run,) = list_runs(tmp_path)
    assert (run.kind, run.state, run.best, run.best_valid) == ("rank-nosh", "unfinished", ARCHS[0], 61.0)
    assert run.progress == "round 2, 6 epochs"
    p.hold(SEARCH_KEY, "searcher", timeout=60)
    assert list_runs(tmp_path)[0].state == "running"  # a live lease
    assert list_runs(f"sqlite:///{tmp_path / 'pool.db'}")[0].state == "running"
    assert main(["runs", str(tmp_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["best_valid"] == 61.0
    with pytest.raises(ValueError, match="not a folder of runs"):
        list_runs(tmp_path / "missing")


def test_pool_tables_as_dataframes_and_csv(pool, tmp_path, capsys):
    from nas_cli import main
    from pools.frames import candidates_dataframe, curves_dataframe

    p, made = pool
    a = made["ids"][0]
    frame = candidates_dataframe(p)
    assert len(frame) == 4 and frame.set_index("id").loc[a, "proxy_synflow"] == 3.5
    curves = curves_dataframe(p)
    assert len(curves) == 7 and "test_acc" not in curves.columns
    assert curves[curves.candidate_id == a].valid_acc.tolist() == [50.0, 61.0, 70.5]
    url = f"sqlite:///{tmp_path / 'pool.db'}"
    out = tmp_path / "export"
    assert (
        main(["pool", "export", url, "--candidates-csv", str(out / "c.csv"), "--curves-csv", str(out / "e.csv")]) == 0
    )
    assert len(list(csv.DictReader((out / "e.csv").read_text().splitlines()))) == 7
    assert main(["pool", "export", url]) == 2  # nothing to write: a clear error
    assert "nothing to write" in capsys.readouterr().err


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]
FLAGS += ["--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("NAS_REQUIRE_CHROMIUM"),
    reason="headless Chromium is not installed (Debian: apt-get install chromium); CI installs it",
)
def test_the_pool_page_renders_its_charts_in_chromium(server, tmp_path):
    assert CHROMIUM, "NAS_REQUIRE_CHROMIUM is set but chromium is not installed"
    url = f"http://127.0.0.1:{server.server_port}/pool"
    base = [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=10000"]
    dom = subprocess.run([*base, "--dump-dom", url], capture_output=True, text=True, timeout=120).stdout
    assert 'data-ready="1"' in dom  # the first refresh finished
    assert "ranker τ per admission" in dom  # the τ chart drew from ranker_tau
    assert dom.count('class="main-svg"') >= 4  # plotly drew the four pool charts
    assert "worker-A" in dom and "CUDA out of memory" in dom and ARCHS[0] in dom
    shot = tmp_path / "pool.png"
    subprocess.run([*base, "--window-size=1200,900", f"--screenshot={shot}", url], capture_output=True, timeout=120)
    import matplotlib.image

    pixels = matplotlib.image.imread(shot)
    assert pixels.shape[:2] == (900, 1200) and pixels.std() > 0.05  # not a blank page


def test_a_study_run_from_python_writes_the_same_run_record_as_the_cli(tmp_path, shared_data, capsys):
    """A library run is not second-class: config.json, result.json with the test figure, baselines and
    plots, listed by `nas runs` as the rank-nosh run it is, rendered by `nas report`; a retraining's folder
    is listed too (as `train`, never with a test accuracy)."""
    from nas_cli import main
    from predictor_nas import Study, search_preset
    from supernet import retrain

    run = tmp_path / "lib"
    config = search_preset("tabular", budget_epochs=400, level0_samples=40, initial=10, k=5, proxies=())
    with Study.create(config, benchmark="nb201:cifar10", benchmark_dir=str(shared_data / "nb201"), run_dir=run) as s:
        result = s.report(s.optimize())
        s.report(s.baseline("random"))
    record = json.loads((run / "config.json").read_text())
    assert record["command"] == "rank-nosh" and record["config"]["search"]["budget_epochs"] == 400
    assert record["environment"]["packages"]["torch"]
    saved = json.loads((run / "result.json").read_text())
    assert saved["test_accuracy"] == result.test_accuracy is not None and saved["best_arch"] == result.best_arch
    assert "random" in json.loads((run / "baselines.json").read_text())
    assert (run / "curve.png").read_bytes()[:4] == b"\x89PNG"
    retrain(
        result.best_arch,
        space="nb201",
        dataset="digits",
        run_dir=tmp_path / "final",
        network={"C": 4, "N": 1},
        epochs=1,
        max_train=200,
        export=False,
    )
    listed = {Path(r.path).name: r for r in list_runs(tmp_path)}
    assert listed["lib"].kind == "rank-nosh" and listed["lib"].state == "finished"
    assert listed["lib"].best == result.best_arch and listed["lib"].best_valid == result.observed
    assert listed["final"].kind == "train" and listed["final"].state == "finished"
    assert listed["final"].progress == "epoch 1/1" and listed["final"].best == result.best_arch
    assert main(["report", str(run)]) == 0
    assert f"| test_accuracy | {json.dumps(result.test_accuracy)} |" in (run / "report.md").read_text()
