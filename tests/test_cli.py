import json
import subprocess
import sys

import pytest

from scripts.cli import main


def test_help_and_spaces(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    assert "spaces" in capsys.readouterr().out
    assert main(["spaces", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert {s["name"] for s in info["spaces"]} >= {"nb201", "darts", "s1", "s2", "s3", "s4"}


def test_console_entry_point_is_installed():
    out = subprocess.run([sys.executable, "-m", "scripts.cli", "spaces"], capture_output=True, text=True, check=True)
    assert "nb201" in out.stdout and "15625" in out.stdout


def test_demo_runs_on_digits(tmp_path, capsys):
    out = tmp_path / "demo.json"
    assert (
        main(["demo", "--dataset", "digits", "--cells", "2", "--epochs", "1", "--channels", "4", "--out", str(out)])
        == 0
    )
    results = json.loads(out.read_text())["results"]
    assert len(results) == 2 and all(0 <= r["test_acc"] <= 100 for r in results)


def test_errors_are_reported_not_raised(tmp_path, capsys):
    assert main(["demo", "--dataset", "fashion-mnist", "--data-root", str(tmp_path)]) == 2
    assert "Fashion-MNIST not found" in capsys.readouterr().err
