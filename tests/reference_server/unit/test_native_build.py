"""The compiled build (mypyc, setup.py): CI's second run really imports it, and its cache
directory follows the sources, so an edit never runs a stale build."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]


def _native_modules() -> list[str]:
    """setup.py's NATIVE_MODULES, read without running setup()."""
    tree = ast.parse((REPO_ROOT / "setup.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "NATIVE_MODULES" for t in node.targets
        ):
            paths: list[str] = ast.literal_eval(node.value)
            return [p.removesuffix(".py").replace("/", ".") for p in paths]
    raise AssertionError("setup.py has no NATIVE_MODULES")


def _native_build() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "native_build", REPO_ROOT / "benchmarks" / "native_build.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_native_modules_exist() -> None:
    for name in _native_modules():
        assert (REPO_ROOT / (name.replace(".", "/") + ".py")).is_file(), name


@pytest.mark.skipif(
    os.environ.get("SCIM_EXPECT_NATIVE") != "1",
    reason="only in CI's compiled run (SCIM_EXPECT_NATIVE=1, native_build.py on PYTHONPATH)",
)
def test_the_compiled_modules_are_the_ones_imported() -> None:
    for name in _native_modules():
        path = str(importlib.import_module(name).__file__)
        assert path.endswith(".so"), f"{name} came from {path}, not from the compiled build"
    # Servers the tests start as `python -m reference_server` from the checkout too (with
    # PYTHONSAFEPATH, the working directory does not come first on the path).
    probe = "import reference_server.scim.resources as m; print(m.__file__)"
    shown = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert shown.endswith(".so"), shown


def test_the_build_directory_follows_the_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    native = _native_build()
    root = tmp_path / "checkout"
    root.mkdir()
    shutil.copy2(REPO_ROOT / "setup.py", root / "setup.py")
    shutil.copytree(
        REPO_ROOT / "reference_server",
        root / "reference_server",
        ignore=shutil.ignore_patterns("__pycache__", "*.so"),
    )
    shutil.copytree(REPO_ROOT / "profiles", root / "profiles")
    monkeypatch.setattr(native, "ROOT", root)
    monkeypatch.setattr(native, "CACHE", root / "build" / "native")
    first = native.build_dir()
    assert first == native.build_dir()  # stable
    assert first.parent == root / "build" / "native"
    (root / "reference_server" / "scim" / "resources.py").write_text(
        (root / "reference_server" / "scim" / "resources.py").read_text() + "\n# edited\n"
    )
    edited = native.build_dir()
    assert edited != first
    (root / "profiles" / "policies" / "policy.schema.json").write_text("{}")
    assert native.build_dir() != edited  # the data the package reads counts too


def test_old_builds_are_pruned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    native = _native_build()
    monkeypatch.setattr(native, "CACHE", tmp_path)
    for age, name in enumerate(["newest", "second", "third", "fourth", "fifth"]):
        (tmp_path / name).mkdir()
        done = tmp_path / name / ".complete"
        done.write_text("1 s\n")
        os.utime(done, (1_000_000 - age, 1_000_000 - age))
    (tmp_path / "building-x").mkdir()  # a build in progress is never touched
    native._prune(keep=tmp_path / "newest")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["building-x", "newest", "second", "third"]
