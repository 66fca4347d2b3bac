"""`--scim-policy FILE`: a TOML file with `[policy]` (what the organization promises) and an
optional `[admin]` (where its admin API is), validated before any check runs.

`[policy]` is validated with profiles/policies/policy.schema.json, the schema the reference
server applies too; `[admin]` names the admin token's environment variable, never the token.
A file name without a folder or suffix that names a preset (`profiles/policies/<name>.toml`)
is that preset.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import httpx

from harness.idp.profiles import BUNDLED, profiles_dir

__all__ = [
    "ADMIN_KEYS",
    "AdminSection",
    "PolicyFile",
    "PolicyFileError",
    "break_names",
    "load_policy",
    "policy_defaults",
    "policy_schema_path",
    "preset_names",
    "presets_dir",
    "promise_ids",
    "resolve_policy_path",
    "validate_policy_table",
]

ADMIN_KEYS = ("url", "token_env", "organization")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class PolicyFileError(ValueError):
    """A policy file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True, slots=True)
class AdminSection:
    """Where the organization's admin API is and the credential to use (never printed)."""

    url: str
    organization: str
    token_env: str = ""
    token: str = field(default="", repr=False)

    def __repr__(self) -> str:
        return f"AdminSection(url={self.url!r}, organization={self.organization!r})"


@dataclass(frozen=True, slots=True)
class PolicyFile:
    """The promises (`policy`, validated) and the admin section (None: admin checks skip).

    A key the file leaves out takes the schema's default (`defaults`), as on the server.
    """

    path: Path
    policy: Mapping[str, Any]
    admin: AdminSection | None = None
    defaults: Mapping[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        """The declared value, else the schema's default, else `default` (None: unset)."""
        value = self.policy.get(key)
        if value is None:
            value = self.defaults.get(key)
        return default if value is None else value

    def declares(self, key: str) -> bool:
        """Whether the key has a value (declared or by default); null means "none"."""
        return self.get(key) is not None

    def with_admin(self, admin: AdminSection) -> PolicyFile:
        return PolicyFile(self.path, self.policy, admin, self.defaults)


def presets_dir() -> Path:
    return profiles_dir() / "policies"


def preset_names() -> tuple[str, ...]:
    folder = presets_dir()
    return tuple(sorted(p.stem for p in folder.glob("*.toml"))) if folder.is_dir() else ()


def policy_schema_path() -> Path:
    found = presets_dir() / "policy.schema.json"
    return found if found.is_file() else BUNDLED / "policies" / "policy.schema.json"


def resolve_policy_path(text: str, base: Path) -> Path:
    """A path (relative to `base`), or the bare name of a preset in profiles/policies/."""
    given = Path(text)
    path = given if given.is_absolute() else base / given
    if path.exists() or given.suffix or len(given.parts) > 1:
        return path
    preset = presets_dir() / f"{text}.toml"
    if preset.is_file():
        return preset
    known = ", ".join(preset_names()) or "(none)"
    raise PolicyFileError(f"{text}: no such file, and not a preset name (presets: {known})")


@cache
def _schema(schema_path: Path) -> dict[str, Any]:
    from jsonschema import Draft202012Validator

    try:
        schema: dict[str, Any] = json.loads(schema_path.read_text("utf-8"))
    except FileNotFoundError:
        raise PolicyFileError(
            f"the policy schema {schema_path} is missing (it ships in profiles/policies/)"
        ) from None
    Draft202012Validator.check_schema(schema)
    return schema


@cache
def _validator(schema_path: Path) -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(_schema(schema_path))


def break_names() -> list[str]:
    """Every `--break` name: each promise, and `promise:mode` for another way to break it."""
    enum: list[str] = _schema(policy_schema_path())["properties"]["break"]["enum"]
    return enum


def promise_ids() -> list[str]:
    """The promises (policy check ids): the `break` names that are not `promise:mode`."""
    return [name for name in break_names() if ":" not in name]


def policy_defaults(schema_path: Path | None = None) -> dict[str, Any]:
    """Each `[policy]` key's default, as the schema states it (what an absent key means)."""
    properties = _schema(schema_path or policy_schema_path()).get("properties") or {}
    return {
        k: v["default"] for k, v in properties.items() if isinstance(v, dict) and "default" in v
    }


def validate_policy_table(
    table: Mapping[str, Any], origin: str, schema_path: Path | None = None
) -> None:
    """PolicyFileError listing every place where `[policy]` breaks the schema."""
    validator = _validator(schema_path or policy_schema_path())
    problems = []
    for error in sorted(validator.iter_errors(dict(table)), key=lambda e: list(e.path)):
        where = ".".join(str(p) for p in error.absolute_path)
        problems.append(f"[policy]{'.' + where if where else ''}: {error.message}")
    if problems:
        raise PolicyFileError(f"{origin}: " + "; ".join(problems[:8]))


def _admin(raw: Any, origin: str, environ: Mapping[str, str]) -> AdminSection:
    if not isinstance(raw, dict):
        raise PolicyFileError(f"{origin}: [admin] must be a table")
    unknown = sorted(set(raw) - set(ADMIN_KEYS))
    if unknown:
        raise PolicyFileError(
            f"{origin}: [admin] has unknown key(s) {', '.join(unknown)}; "
            f"known: {', '.join(ADMIN_KEYS)}"
        )
    missing = [k for k in ADMIN_KEYS if not isinstance(raw.get(k), str) or not raw[k].strip()]
    if missing:
        raise PolicyFileError(
            f"{origin}: [admin] needs {', '.join(missing)} (non-empty strings): url of the "
            "admin API, token_env naming the environment variable with its token, and the "
            "organization the SCIM token belongs to"
        )
    url = raw["url"].strip()
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise PolicyFileError(f"{origin}: [admin] url {url!r}: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise PolicyFileError(f"{origin}: [admin] url must be an http(s) URL, got {url!r}")
    env = raw["token_env"].strip()
    if not _ENV_NAME.match(env):
        raise PolicyFileError(
            f"{origin}: [admin] token_env must name an environment variable (not hold the "
            f"token itself), got a value that is not a variable name"
        )
    token = environ.get(env, "").strip()
    if not token:
        raise PolicyFileError(
            f"{origin}: [admin] token_env names {env}, which is not set: export the admin "
            "API token in it, or remove [admin] to skip the admin-API checks"
        )
    return AdminSection(url.rstrip("/"), raw["organization"].strip(), env, token)


def load_policy(
    path: Path,
    *,
    environ: Mapping[str, str] | None = None,
    schema_path: Path | None = None,
    read_admin: bool = True,
) -> PolicyFile:
    """Read and validate a policy file; PolicyFileError with the file and key otherwise.

    `read_admin` False ignores `[admin]` (the embedded server supplies its own).
    """
    origin = str(path)
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise PolicyFileError(f"{origin}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyFileError(f"{origin}: cannot read it: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyFileError(f"{origin}: not valid TOML: {exc}") from None
    unknown = sorted(set(data) - {"policy", "admin"})
    if unknown:
        raise PolicyFileError(
            f"{origin}: unknown table(s) or key(s) {', '.join(unknown)}; a policy file has "
            "[policy] and optionally [admin]"
        )
    table = data.get("policy")
    if not isinstance(table, dict):
        raise PolicyFileError(
            f"{origin}: no [policy] table: it lists what the organization promises "
            "(see profiles/policies/ for examples)"
        )
    validate_policy_table(table, origin, schema_path)
    admin = None
    if read_admin and "admin" in data:
        admin = _admin(data["admin"], origin, os.environ if environ is None else environ)
    return PolicyFile(path, dict(table), admin, policy_defaults(schema_path))
