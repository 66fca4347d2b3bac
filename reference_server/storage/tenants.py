"""Organizations (tenants) and their bearer tokens.

Tokens are `secrets.token_urlsafe(32)`, stored only as SHA-256 hex, looked up by that hash
and compared with `hmac.compare_digest`. A verified token is cached in-process for a few
seconds keyed by its hash, so the common request costs no token query (issue 2, point 9).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from reference_server.scim.resources import format_timestamp
from reference_server.storage.engine import WRITE
from reference_server.storage.tables import tenants, tokens

__all__ = [
    "Organization",
    "TokenVerifier",
    "create_organization",
    "ensure_token",
    "find_organization",
    "hash_token",
    "issue_token",
    "list_organizations",
    "list_tokens",
    "new_token",
    "regenerate_token",
    "revoke_token",
]


@dataclass(frozen=True, slots=True)
class Organization:
    id: str
    name: str
    created: str


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def _now() -> str:
    return format_timestamp(datetime.now(UTC))


def create_organization(engine: Engine, name: str) -> Organization:
    org = Organization(str(uuid.uuid4()), name, _now())
    with engine.execution_options(**{WRITE: True}).begin() as conn:
        conn.execute(tenants.insert().values(id=org.id, name=org.name, created=org.created))
    return org


def list_organizations(engine: Engine) -> list[Organization]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(tenants).order_by(tenants.c.created, tenants.c.id))
        return [Organization(r.id, r.name, r.created) for r in rows]


def find_organization(engine: Engine, org_id: str) -> Organization | None:
    with engine.connect() as conn:
        r = conn.execute(sa.select(tenants).where(tenants.c.id == org_id)).first()
        return Organization(r.id, r.name, r.created) if r is not None else None


def issue_token(engine: Engine, tenant_id: str, token: str | None = None) -> str:
    """Store a token (a fresh random one unless given) for the tenant; returns it once."""
    return issue_token_with_id(engine, tenant_id, token)[1]


def issue_token_with_id(
    engine: Engine, tenant_id: str, token: str | None = None
) -> tuple[str, str]:
    """(id, token) of a newly stored token; the id names it in the admin API and audit."""
    token = token if token is not None else new_token()
    token_id = str(uuid.uuid4())
    with engine.execution_options(**{WRITE: True}).begin() as conn:
        conn.execute(
            tokens.insert().values(
                id=token_id,
                tenant_id=tenant_id,
                token_hash=hash_token(token),
                created=_now(),
                revoked=False,
            )
        )
    return token_id, token


def list_tokens(engine: Engine, tenant_id: str) -> list[dict[str, str | None]]:
    """The organization's live tokens: id, created, last_used; never a secret or hash."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(tokens.c.id, tokens.c.created, tokens.c.last_used)
            .where(tokens.c.tenant_id == tenant_id, tokens.c.revoked.is_(False))
            .order_by(tokens.c.created, tokens.c.id)
        )
        return [{"id": r.id, "created": r.created, "last_used": r.last_used} for r in rows]


def _live_hash(conn: sa.Connection, tenant_id: str, token_id: str) -> str | None:
    row = conn.execute(
        sa.select(tokens.c.token_hash).where(
            tokens.c.id == token_id,
            tokens.c.tenant_id == tenant_id,
            tokens.c.revoked.is_(False),
        )
    ).first()
    return str(row.token_hash) if row else None


def regenerate_token(engine: Engine, tenant_id: str, token_id: str) -> tuple[str, str] | None:
    """A new secret for the token `token_id`: (the old hash, the new secret), or None.

    The row keeps its id; the caller drops the old hash from the verifier's cache, so the
    old secret stops working at once.
    """
    token = new_token()
    with engine.execution_options(**{WRITE: True}).begin() as conn:
        old = _live_hash(conn, tenant_id, token_id)
        if old is None:
            return None
        conn.execute(
            tokens.update().where(tokens.c.id == token_id).values(token_hash=hash_token(token))
        )
    return old, token


def revoke_token(engine: Engine, tenant_id: str, token_id: str) -> str | None:
    """Revoke a token; its hash (for the verifier's cache) or None when unknown."""
    with engine.execution_options(**{WRITE: True}).begin() as conn:
        old = _live_hash(conn, tenant_id, token_id)
        if old is not None:
            conn.execute(tokens.update().where(tokens.c.id == token_id).values(revoked=True))
    return old


def ensure_token(engine: Engine, name: str, token: str | None) -> tuple[Organization, str]:
    """The bootstrap organization and a token that works for it.

    With a known `token` that is already stored, its organization is reused; otherwise the
    organization called `name` is reused (or created) and the token (or a fresh one) issued.
    """
    if token is not None:
        with engine.connect() as conn:
            row = conn.execute(
                sa.select(tenants)
                .join(tokens, tokens.c.tenant_id == tenants.c.id)
                .where(tokens.c.token_hash == hash_token(token))
            ).first()
        if row is not None:
            return Organization(row.id, row.name, row.created), token
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(tenants).where(tenants.c.name == name).order_by(tenants.c.created)
        ).first()
    org = Organization(row.id, row.name, row.created) if row else create_organization(engine, name)
    return org, issue_token(engine, org.id, token)


class TokenVerifier:
    """Token -> (tenant id, token id), with a short in-process cache keyed by the hash.

    The admin API calls `forget` when it regenerates or revokes a token, so a rotated
    secret stops working at once rather than when its cache entry expires.
    """

    def __init__(self, engine: Engine, ttl: float) -> None:
        self._engine = engine
        self._ttl = ttl
        self._cache: dict[str, tuple[str, str, float]] = {}
        self._lock = threading.Lock()

    def cached(self, token: str) -> tuple[str, str] | None:
        """(tenant, token id) of a token verified less than `ttl` seconds ago (no query)."""
        hit = self._cache.get(hash_token(token))
        if hit is not None and hit[2] > time.monotonic():
            return hit[0], hit[1]
        return None

    def tenant_for(self, token: str) -> tuple[str, str] | None:
        hit = self.cached(token)
        if hit is not None:
            return hit
        digest = hash_token(token)
        now = time.monotonic()
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(tokens.c.tenant_id, tokens.c.id, tokens.c.token_hash).where(
                    tokens.c.token_hash == digest, tokens.c.revoked.is_(False)
                )
            ).first()
        if row is None or not hmac.compare_digest(row.token_hash, digest):
            return None
        # last_used is as fresh as the cache: one small write per token per `ttl` seconds.
        with self._engine.execution_options(**{WRITE: True}).begin() as conn:
            conn.execute(tokens.update().where(tokens.c.id == row.id).values(last_used=_now()))
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = (row.tenant_id, row.id, now + self._ttl)
        return str(row.tenant_id), str(row.id)

    def forget(self, digest: str) -> None:
        with self._lock:
            self._cache.pop(digest, None)
