"""The optional compiled build of the reference server's request path (mypyc).

Project metadata lives in pyproject.toml; this file only adds C extensions, and only when
asked: `SCIM_USE_MYPYC=1 pip install .` compiles the modules below with mypyc (the
compiler that ships with mypy and builds mypy and black): 6-10% less server CPU for an
IdP's lookup+create and 9-12% less for a PATCH (benchmarks/README.md, "Done", item 18). Any
other install, editable ones included, stays pure Python, so an edited module is never
shadowed by a stale compiled one.
`benchmarks/native_build.py` builds the same modules into a cache directory for the
benchmarks and CI.
"""

from __future__ import annotations

import os

from setuptools import setup

# The modules a SCIM request runs through; everything else (the app and its Starlette
# subclass, the admin API, migrations, the CLI) stays interpreted.
NATIVE_MODULES = [
    "reference_server/endpoints/common.py",
    "reference_server/endpoints/operations.py",
    "reference_server/endpoints/resources.py",
    "reference_server/provisioning/orgs.py",
    "reference_server/provisioning/scim_hooks.py",
    "reference_server/scim/filter/parser.py",
    "reference_server/scim/patch.py",
    "reference_server/scim/resources.py",
    "reference_server/scim/schemas.py",
    "reference_server/storage/database.py",
    "reference_server/storage/repository.py",
]


def _extensions() -> list[object]:
    if os.environ.get("SCIM_USE_MYPYC") != "1":
        return []
    from mypyc.build import mypycify

    return list(mypycify(NATIVE_MODULES, opt_level="3", multi_file=True))


setup(ext_modules=_extensions())
