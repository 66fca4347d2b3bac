"""`scim-idp`: the IdP simulator on the command line (sync, record, replay, diff).

Each subcommand lives in its own module, imported only when that subcommand runs, and
exposes `configure_parser(parser)` and `run(args) -> int`. A subcommand whose module is not
installed is listed as unavailable and refused with exit 2, never a traceback.
Exit codes: 0 ok, 1 failures found, 2 usage or connection error (130 on Ctrl-C).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType

__all__ = ["SUBCOMMANDS", "Subcommand", "build_parser", "main"]

EXIT_OK, EXIT_FAILURES, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


@dataclass(frozen=True, slots=True)
class Subcommand:
    module: str
    summary: str


SUBCOMMANDS: dict[str, Subcommand] = {
    "sync": Subcommand(
        "harness.idp.sync",
        "provision a generated directory into a SCIM server the way an IdP does",
    ),
    "record": Subcommand(
        "harness.idp.record", "record an IdP's SCIM traffic through a proxy (JSON Lines)"
    ),
    "replay": Subcommand(
        "harness.idp.replay", "replay recorded traffic against a server and report differences"
    ),
    "diff": Subcommand(
        "harness.idp.diff", "run one IdP profile against two servers and report disagreements"
    ),
}
"""Subcommand -> module with `configure_parser(parser)` and `run(args) -> int`."""


class _Unavailable(Exception):
    """A subcommand's module is missing or lacks the interface: say so, exit 2."""


def _available(name: str) -> bool:
    try:
        return importlib.util.find_spec(SUBCOMMANDS[name].module) is not None
    except (ImportError, ValueError):
        return False


def _load(name: str) -> ModuleType:
    """Import a subcommand's module; _Unavailable if it is not there (other errors propagate)."""
    module_name = SUBCOMMANDS[name].module
    if not _available(name):
        raise _Unavailable(f"{module_name} is not installed")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            raise _Unavailable(f"{module_name} is not installed") from exc
        raise
    missing = [n for n in ("configure_parser", "run") if not callable(getattr(module, n, None))]
    if missing:
        raise _Unavailable(f"{module_name} does not define {' and '.join(missing)}")
    return module


def _selected(argv: Sequence[str]) -> str | None:
    """The subcommand named on the command line (the first word that is not an option)."""
    for word in argv:
        if word == "--":
            return None
        if not word.startswith("-"):
            return word if word in SUBCOMMANDS else None
    return None


def build_parser(argv: Sequence[str] = ()) -> tuple[argparse.ArgumentParser, str | None]:
    """The parser; only the subcommand named in `argv` gets its module imported and options.

    Returns (parser, why the selected subcommand is unavailable or None).
    """
    parser = argparse.ArgumentParser(
        prog="scim-idp",
        description=(
            "The IdP simulator: provision a generated directory into a SCIM 2.0 server the "
            "way Okta, Entra ID, OneLogin or JumpCloud would, record and replay IdP traffic, "
            "and compare two servers."
        ),
        epilog=(
            "exit codes: 0 ok, 1 failures found, 2 usage or connection error, 130 "
            "interrupted. `scim-idp SUBCOMMAND --help` for a subcommand's options."
        ),
    )
    commands = parser.add_subparsers(dest="command", metavar="SUBCOMMAND", required=True)
    selected = _selected(argv)
    unavailable: str | None = None
    for name, sub in SUBCOMMANDS.items():
        ready = _available(name)
        summary = sub.summary if ready else f"{sub.summary} (not available in this install)"
        child = commands.add_parser(name, help=summary, description=summary)
        if name != selected:
            continue
        try:
            module = _load(name)
        except _Unavailable as exc:
            unavailable = str(exc)
        else:
            module.configure_parser(child)
            child.set_defaults(_run=module.run)
    return parser, unavailable


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `scim-idp` console script; returns the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser, unavailable = build_parser(args_list)
    if unavailable is not None and not {"-h", "--help"} & set(args_list):
        print(
            f"scim-idp: the '{_selected(args_list)}' subcommand is not available yet: "
            f"{unavailable}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        code: int = args._run(args)
    except KeyboardInterrupt:
        print("scim-idp: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
