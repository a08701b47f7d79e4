"""The packages form layers (docs/architecture.md): each imports only the ones below it."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: package -> the packages of this project it may import (the foundation imports none of them)
ALLOWED = {
    "nas_core": set(),
    "pools": {"nas_core"},
    "supernet": {"nas_core"},
    "predictor_nas": {"nas_core", "pools", "supernet"},
    "nas_cli": {"nas_core", "pools", "supernet", "predictor_nas"},
}


def imported_packages(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_the_layers_below_it(package):
    ours = set(ALLOWED) | {"scripts"}
    wrong = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in (ROOT / package).rglob("*.py")
        for name in imported_packages(path) & ours
        if name != package and name not in ALLOWED[package]
    }
    assert not wrong, sorted(wrong)


def test_the_check_sees_a_forbidden_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from supernet.engine import diff_search\n")
    assert "supernet" in imported_packages(module)


def test_supernet_root_holds_only_its_public_api():
    loose = sorted(p.name for p in (ROOT / "supernet").glob("*.py"))
    assert loose == ["__init__.py", "api.py"]


def test_the_architecture_page_names_every_module():
    """docs/architecture.md is the map of the code: a module it does not name is a module it forgot."""
    import re

    page = (ROOT / "docs" / "architecture.md").read_text()
    unnamed = [
        str(path.relative_to(ROOT))
        for package in ALLOWED
        for path in (ROOT / package).rglob("*.py")
        if path.name not in ("__init__.py", "__main__.py") and not re.search(r"(?<![\w/])" + re.escape(path.name), page)
    ]
    assert not unnamed, f"docs/architecture.md does not mention {unnamed}"
