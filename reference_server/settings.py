"""Server settings: one frozen value built from the CLI, the environment or a test.

Environment variables use the `SCIM_REF_` prefix (starlette `Config`), so a deployment can
be configured without flags: SCIM_REF_DATABASE_URL, SCIM_REF_BOOTSTRAP_TOKEN,
SCIM_REF_ADMIN_TOKEN.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.config import Config

__all__ = ["DEFAULT_DATABASE_URL", "ServerSettings"]

DEFAULT_DATABASE_URL = "sqlite:///scim.db"


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """What the app needs to run; the limits are the ones `/ServiceProviderConfig` publishes."""

    database_url: str = DEFAULT_DATABASE_URL
    # Known token of the bootstrap organization (scripts, CI); None: a fresh one is issued.
    bootstrap_token: str | None = None
    # Credential of the /admin/v1 API; None disables that API (every call answers 401).
    admin_token: str | None = None
    # Create (or reuse) the bootstrap organization at start (development mode).
    bootstrap: bool = True
    bootstrap_org_name: str = "Default organization"
    # RFC 7644 section 3.4.2.4: the server caps `count` at this.
    max_results: int = 1000
    # RFC 7644 section 3.7.4: bulk limits.
    bulk_max_operations: int = 1000
    bulk_max_payload_size: int = 1_048_576
    # Seconds a verified token stays cached in-process (revocations take at most this long).
    token_cache_ttl: float = 5.0
    # The [policy] table applied to the bootstrap organization (`--policy FILE`); None:
    # the bootstrap organization is a plain SCIM store, as before the provisioning system.
    policy: dict[str, Any] | None = None
    # Test-only: the one promise every organization breaks (`--break`, needs allow_break),
    # and whether the admin API may set a policy's `break` key (`--allow-break`).
    break_promise: str | None = None
    allow_break: bool = False

    @classmethod
    def from_env(cls, config: Config | None = None, **overrides: object) -> ServerSettings:
        """Settings from SCIM_REF_* variables; explicit overrides (non-None) win."""
        env = config if config is not None else Config(env_prefix="SCIM_REF_")
        values: dict[str, object] = {
            "database_url": env("DATABASE_URL", cast=str, default=DEFAULT_DATABASE_URL),
            "bootstrap_token": env("BOOTSTRAP_TOKEN", cast=str, default=None),
            "admin_token": env("ADMIN_TOKEN", cast=str, default=None),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
