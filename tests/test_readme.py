"""The README's two set-up commands are what a new user copies; CI must run the same test command."""

import re

from conftest import ROOT


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"## Set up\n.*?```bash\n(.*?)```", text, re.S)
    assert block, "README needs a '## Set up' section with a bash block"
    return [line for line in block.group(1).splitlines() if line and not line.startswith("#")]


def test_readme_has_exactly_two_setup_commands():
    assert len(readme_commands()) == 2


def test_ci_runs_the_readme_test_command():
    test_command = readme_commands()[1]
    assert "pytest" in test_command
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command in ci


def test_every_torch_pin_the_readme_states_is_pyprojects():
    """The README's CPU-only install line must install the versions the package pins, or pip replaces them."""
    pins = dict(re.findall(r'"(torch|torchvision)==([\d.]+)"', (ROOT / "pyproject.toml").read_text()))
    assert set(pins) == {"torch", "torchvision"}
    stated = re.findall(r"\b(torch|torchvision)==([\d.]+)", (ROOT / "README.md").read_text())
    assert stated and all(pins[name] == version for name, version in stated)
    assert "download.pytorch.org/whl/cpu" in (ROOT / "README.md").read_text()
