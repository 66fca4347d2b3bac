"""The harness is a black box: it never imports the reference server; modules are documented
and declare their public names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parents[1] / "harness"
MODULES = sorted(p for p in HARNESS.rglob("*.py") if "__pycache__" not in p.parts)


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _imports(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _rel(path: Path) -> str:
    return str(path.relative_to(HARNESS.parent))


def test_there_are_modules_to_check() -> None:
    assert len(MODULES) > 10


@pytest.mark.parametrize("path", MODULES, ids=_rel)
def test_harness_never_imports_the_reference_server(path: Path) -> None:
    bad = sorted(n for n in _imports(_tree(path)) if n.split(".")[0] == "reference_server")
    assert not bad, f"{_rel(path)} imports {bad}"


@pytest.mark.parametrize("path", MODULES, ids=_rel)
def test_every_harness_module_has_a_docstring(path: Path) -> None:
    assert ast.get_docstring(_tree(path)), f"{_rel(path)} has no module docstring"


LIBRARY = [p for p in MODULES if not p.name.startswith("test_") and p.name != "conftest.py"
           and p.name != "__main__.py"]  # fmt: skip


@pytest.mark.parametrize("path", LIBRARY, ids=_rel)
def test_every_harness_module_declares_all(path: Path) -> None:
    tree = _tree(path)
    names = [t.id for node in tree.body if isinstance(node, ast.Assign | ast.AnnAssign)
             for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
             if isinstance(t, ast.Name)]  # fmt: skip
    assert "__all__" in names, f"{_rel(path)} does not declare __all__"


def test_the_check_finds_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "bad.py"
    sample.write_text('"""x"""\nfrom reference_server.app import create_app\n')
    assert "reference_server.app" in _imports(_tree(sample))
