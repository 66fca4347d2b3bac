"""Build the compiled reference server (setup.py's mypyc modules) into a cache directory.

    python benchmarks/native_build.py          # prints the directory, building it if needed

The directory holds a copy of `reference_server/` with the C extensions next to their
sources; put it first on PYTHONPATH and `python -m reference_server` (or the tests) run the
compiled build. It is keyed by a hash of the sources, setup.py, the Python version and the
mypy version, so an edit never meets a stale build: it gets a new directory (the three
newest builds are kept, older ones removed). This is
`SCIM_USE_MYPYC=1 pip install .` without pip, for the benchmarks (`--build native`) and CI.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

__all__ = ["ROOT", "build_dir", "ensure", "main"]

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "reference_server"
# Data the package reads from beside it in a checkout (the policy schema).
DATA = "profiles"
CACHE = ROOT / "build" / "native"
_DONE = ".complete"
KEEP_BUILDS = 3


def _sources() -> list[Path]:
    files = [ROOT / "setup.py"]
    for path in sorted([*(ROOT / PACKAGE).rglob("*"), *(ROOT / DATA).rglob("*")]):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".so":
            files.append(path)
    return files


def build_dir() -> Path:
    """Where the build of the current sources lives (whether or not it is built yet)."""
    digest = hashlib.sha256()
    digest.update(sys.version.encode())
    digest.update(metadata.version("mypy").encode())
    for path in _sources():
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return CACHE / digest.hexdigest()[:16]


def ensure(*, quiet: bool = False) -> Path:
    """The build directory of the current sources, compiling them first if needed."""
    target = build_dir()
    if (target / _DONE).exists():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="building-", dir=CACHE))
    try:
        shutil.copy2(ROOT / "setup.py", work / "setup.py")
        shutil.copytree(
            ROOT / PACKAGE, work / PACKAGE, ignore=shutil.ignore_patterns("__pycache__", "*.so")
        )
        shutil.copytree(ROOT / DATA, work / DATA)
        started = time.monotonic()
        if not quiet:
            print(f"compiling {PACKAGE} with mypyc into {target} ...", file=sys.stderr, flush=True)
        # No pyproject.toml in the copy: setup.py is run for its extensions only.
        done = subprocess.run(
            [sys.executable, "setup.py", "build_ext", "--inplace", "-j", str(os.cpu_count() or 1)],
            cwd=work,
            env={**os.environ, "SCIM_USE_MYPYC": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"mypyc build failed:\n{done.stdout[-4000:]}")
        shutil.rmtree(work / "build", ignore_errors=True)  # the generated C and objects
        (work / _DONE).write_text(f"{time.monotonic() - started:.0f} s\n")
        if target.exists():  # another process finished the same build meanwhile
            shutil.rmtree(work)
        else:
            work.rename(target)
        _prune(keep=target)
        if not quiet:
            print(f"compiled in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return target


def _prune(keep: Path, builds: int = KEEP_BUILDS) -> None:
    """Remove all but the newest `builds` finished builds (each source edit makes one)."""
    done = sorted(
        (p for p in CACHE.iterdir() if (p / _DONE).exists() and p != keep),
        key=lambda p: (p / _DONE).stat().st_mtime,
        reverse=True,
    )
    for old in done[builds - 1 :]:
        shutil.rmtree(old, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Compile the reference server with mypyc into a cache directory and "
        "print it (put it first on PYTHONPATH to run the compiled build)."
    )
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    args = parser.parse_args(argv)
    print(ensure(quiet=args.quiet))
    return 0


if __name__ == "__main__":
    sys.exit(main())
