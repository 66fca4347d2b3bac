"""The harness's options as one table: command-line flag, ini key, env var, parser, help.

Every option is resolved once (command line > environment > ini > default) into a frozen
`Settings` kept in `config.stash`, so nothing else in the harness reads options itself.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "DEFAULT_EMBEDDED_COMMAND",
    "OPTIONS",
    "SETTINGS_KEY",
    "Option",
    "Settings",
    "add_options",
    "resolve_settings",
]

DEFAULT_EMBEDDED_COMMAND = (
    "{python} -m reference_server --host 127.0.0.1 --port 0 "
    "--database-url {database_url} --bootstrap-token {token}"
)


def _parse_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected a boolean (true/false, 1/0, yes/no), got {text!r}")


def _parse_timeout(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"expected a number of seconds, got {text!r}") from None
    if not 0 < value <= 3600:
        raise ValueError(f"expected seconds between 0 and 3600, got {text!r}")
    return value


def _parse_url(text: str) -> str:
    value = text.strip()
    if value == "embedded":
        return value
    if not value.startswith(("http://", "https://")):
        raise ValueError(f"expected an http(s) URL or 'embedded', got {text!r}")
    return value


def _parse_profiles(text: str) -> tuple[str, ...]:
    return tuple(p for p in (part.strip() for part in text.replace(",", " ").split()) if p)


def _parse_str(text: str) -> str:
    return text


@dataclass(frozen=True, slots=True)
class Option:
    """One row of the option table."""

    dest: str
    flag: str
    ini: str
    env: str
    parse: Callable[[str], Any]
    help: str
    default: Any
    kind: str = "value"  # value | flag | append


OPTIONS: tuple[Option, ...] = (
    Option(
        "url",
        "--scim-url",
        "scim_url",
        "SCIM_URL",
        _parse_url,
        "Base URL of the SCIM service provider under test, or 'embedded' to start the "
        "bundled reference server.",
        None,
    ),
    Option(
        "token",
        "--scim-token",
        "scim_token",
        "SCIM_TOKEN",
        _parse_str,
        "Bearer token sent to the service provider (masked in every output).",
        None,
    ),
    Option(
        "profiles",
        "--scim-profile",
        "scim_profile",
        "SCIM_PROFILE",
        _parse_profiles,
        "IdP request profile to run (repeatable, comma-separated in ini/env; default: all).",
        (),
        "append",
    ),
    Option(
        "timeout",
        "--scim-timeout",
        "scim_timeout",
        "SCIM_TIMEOUT",
        _parse_timeout,
        "Seconds to wait for each HTTP response (default: 10).",
        10.0,
    ),
    Option(
        "destructive",
        "--scim-destructive",
        "scim_destructive",
        "SCIM_DESTRUCTIVE",
        _parse_bool,
        "Also run checks that fill or reset the tenant (never on a tenant you care about).",
        False,
        "flag",
    ),
    Option(
        "report_dir",
        "--scim-report-dir",
        "scim_report_dir",
        "SCIM_REPORT_DIR",
        _parse_str,
        "Folder the SCIM conformance report is written to (default: reports).",
        "reports",
    ),
    Option(
        "strict",
        "--scim-strict",
        "scim_strict",
        "SCIM_STRICT",
        _parse_bool,
        "Fail checks whose SHOULD requirement is not met (default: report a warning).",
        False,
        "flag",
    ),
    Option(
        "replay",
        "--scim-replay",
        "scim_replay",
        "SCIM_REPLAY",
        _parse_str,
        "Traffic file recorded by `scim-idp record` (JSON Lines): run one check per recorded "
        "exchange against the target, ids rewritten.",
        None,
    ),
    Option(
        "policy",
        "--scim-policy",
        "scim_policy",
        "SCIM_POLICY",
        _parse_str,
        "Policy file (TOML: [policy] promises, optional [admin]) or a preset name from "
        "profiles/policies: run the policy checks against what it declares.",
        None,
    ),
    Option(
        "baseline",
        "--scim-baseline",
        "scim_baseline",
        "SCIM_BASELINE",
        _parse_str,
        "Earlier JSON report to gate against: the run fails only on checks that passed there "
        "and fail now (known failures are listed, not failed).",
        None,
    ),
    Option(
        "save_baseline",
        "--scim-save-baseline",
        "scim_save_baseline",
        "SCIM_SAVE_BASELINE",
        _parse_str,
        "Also write this run's JSON report to FILE, as the baseline of later runs.",
        None,
    ),
)


@dataclass(frozen=True, slots=True)
class Settings:
    """The resolved options of one run."""

    url: str | None = None
    token: str | None = field(default=None, repr=False)  # never in a traceback or report
    profiles: tuple[str, ...] = ()
    timeout: float = 10.0
    destructive: bool = False
    report_dir: Path = Path("reports")
    strict: bool = False
    embedded_command: str = DEFAULT_EMBEDDED_COMMAND
    replay: Path | None = None
    policy: Path | None = None
    baseline: Path | None = None
    save_baseline: Path | None = None
    sources: Mapping[str, str] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        """Whether this is a SCIM run at all (without a URL the plugin stays out of the way)."""
        return self.url is not None


SETTINGS_KEY = pytest.StashKey[Settings]()


def add_options(parser: pytest.Parser) -> None:
    """Register every option as a flag and an ini key (always, so --strict-config works)."""
    group = parser.getgroup("scim", "SCIM 2.0 conformance (RFC 7643/7644)")
    for opt in OPTIONS:
        help_text = f"{opt.help} [env {opt.env}, ini {opt.ini}]"
        if opt.kind == "flag":
            group.addoption(
                opt.flag, action="store_true", default=None, dest=f"scim_{opt.dest}", help=help_text
            )
        elif opt.kind == "append":
            group.addoption(
                opt.flag,
                action="append",
                default=None,
                dest=f"scim_{opt.dest}",
                metavar="NAME",
                help=help_text,
            )
        else:
            group.addoption(
                opt.flag,
                action="store",
                default=None,
                dest=f"scim_{opt.dest}",
                metavar=opt.dest.upper(),
                help=help_text,
            )
        parser.addini(opt.ini, help=opt.help, type="string", default="")
    parser.addini(
        "scim_embedded_command",
        help="Command that starts the bundled server for --scim-url embedded; placeholders "
        "{python}, {database_url}, {token}.",
        type="string",
        default="",
    )


def _parse(opt: Option, raw: str, source: str) -> Any:
    try:
        return opt.parse(raw)
    except ValueError as exc:
        raise pytest.UsageError(f"{source}: {exc}") from None


def _path(config: pytest.Config, value: str | None) -> Path | None:
    """A file option's path, relative to where pytest was invoked."""
    return None if value is None else Path(config.invocation_params.dir) / value


def resolve_settings(config: pytest.Config, environ: Mapping[str, str] | None = None) -> Settings:
    """Resolve every option: command line, then environment, then ini, then the default."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for opt in OPTIONS:
        cli = config.getoption(f"scim_{opt.dest}")
        ini = str(config.getini(opt.ini) or "").strip()
        if cli is not None:
            if opt.kind == "flag":
                value: Any = bool(cli)
            elif opt.kind == "append":
                value = tuple(p for raw in cli for p in _parse(opt, raw, opt.flag))
            else:
                value = _parse(opt, str(cli), opt.flag)
            values[opt.dest], sources[opt.dest] = value, "command line"
        elif opt.env in env and env[opt.env].strip():
            values[opt.dest] = _parse(opt, env[opt.env], f"environment variable {opt.env}")
            sources[opt.dest] = "environment"
        elif ini:
            values[opt.dest] = _parse(opt, ini, f"ini option {opt.ini}")
            sources[opt.dest] = "ini"
        else:
            values[opt.dest] = opt.default
            sources[opt.dest] = "default"
    command = str(config.getini("scim_embedded_command") or "").strip()
    if command:
        try:
            shlex.split(command)
        except ValueError as exc:
            raise pytest.UsageError(f"ini option scim_embedded_command: {exc}") from None
    report_dir = Path(values["report_dir"])
    if not report_dir.is_absolute():
        report_dir = Path(config.invocation_params.dir) / report_dir
    return Settings(
        url=values["url"],
        token=values["token"],
        profiles=values["profiles"],
        timeout=values["timeout"],
        destructive=values["destructive"],
        report_dir=report_dir,
        strict=values["strict"],
        embedded_command=command or DEFAULT_EMBEDDED_COMMAND,
        replay=None
        if values["replay"] is None
        else Path(config.invocation_params.dir) / values["replay"],
        policy=_policy_path(values["policy"], Path(config.invocation_params.dir)),
        baseline=_path(config, values["baseline"]),
        save_baseline=_path(config, values["save_baseline"]),
        sources=sources,
    )


def _policy_path(text: str | None, base: Path) -> Path | None:
    """The policy file's path (a bare preset name resolves to its file); UsageError if none."""
    if text is None or not text.strip():
        return None
    from harness.policy.loader import PolicyFileError, resolve_policy_path

    try:
        return resolve_policy_path(text.strip(), base)
    except PolicyFileError as exc:
        raise pytest.UsageError(f"--scim-policy: {exc}") from None
