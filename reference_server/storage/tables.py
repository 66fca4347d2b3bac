"""The database tables; one definition serves SQLite and PostgreSQL.

Design rules (issue 2): resources are JSON documents plus an attribute index so every
filter runs in SQL; group membership is rows, never a read-modify-write of a list.
Alembic migrations in `reference_server/migrations` mirror this module.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    true,
)

__all__ = [
    "accounts",
    "attr_index",
    "audit_events",
    "group_members",
    "invitations",
    "memberships",
    "metadata",
    "resource_counts",
    "resources",
    "sso_grants",
    "tenants",
    "tokens",
]

metadata = MetaData()

tenants = Table(
    "tenants",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("created", String(40), nullable=False),
    # The provisioning system (issue 5, migration 0004): the organization's own settings.
    # JSON lists of lower-cased domains: the allow-list and the directory connection's.
    Column("domains", Text, nullable=False, server_default="[]"),
    Column("seat_cap", Integer),
    Column("billed_seats", Integer, nullable=False, server_default="0"),
    # Seats in use and pending just-in-time grants, kept in the transaction of every change
    # (migration 0005): a seat check reads one row instead of counting the memberships.
    Column("used_seats", Integer, nullable=False, server_default="0"),
    Column("pending_seats", Integer, nullable=False, server_default="0"),
    # Display name of the team (SCIM Group) that receives new users no group placed.
    Column("default_team", String(200)),
    Column("admin_first_name", String(200)),
    Column("admin_last_name", String(200)),
    Column("admin_email", String(320)),
    Column("sso_configured", Boolean, nullable=False, server_default=false()),
    Column("sso_enforced", Boolean, nullable=False, server_default=false()),
    Column("scim_enabled", Boolean, nullable=False, server_default=true()),
    # "none" | "active" | "deactivated": SCIM manages the organization unless "none".
    Column("directory", String(16), nullable=False, server_default="none"),
    Column("directory_domains", Text, nullable=False, server_default="[]"),
    # The behaviour keys of the [policy] table as JSON; NULL: no provisioning rules (the
    # bootstrap organization without --policy behaves as a plain SCIM store).
    Column("policy", Text),
)

tokens = Table(
    "tokens",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    # SHA-256 hex of the bearer token; the token itself is never stored.
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created", String(40), nullable=False),
    Column("revoked", Boolean, nullable=False, default=False),
    Column("last_used", String(40)),
)

resources = Table(
    "resources",
    metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("id", String(36), primary_key=True),
    # "User" or "Group": the ResourceType name.
    Column("resource_type", String(32), nullable=False),
    # Lower-cased userName (Users) for the case-insensitive uniqueness rule; NULL for Groups.
    Column("user_name_lower", String(512)),
    Column("external_id", String(512)),
    # Lower-cased displayName, for `displayName eq` lookups and group uniqueness.
    Column("display_name_lower", String(512)),
    # The label a Group's members[].display and a User's groups[].display show: displayName
    # as sent, else (Users) userName; read with member rows, never by parsing `data`.
    Column("display", String(512)),
    # The resource as stored: JSON text (orjson), without id/meta and without Group members.
    Column("data", Text, nullable=False),
    # Monotonic version number; the ETag is W/"<version>".
    Column("version", Integer, nullable=False),
    Column("created", String(40), nullable=False),
    Column("last_modified", String(40), nullable=False),
    # The search document (migration 0007): every filterable value of `data`, as
    # `scim.resources.search_document` writes it (path -> [[elem, text, lower] or
    # [elem, value], ...]), which filters on attributes without an index scan in SQL.
    Column("search", Text),
    UniqueConstraint("tenant_id", "resource_type", "user_name_lower", name="uq_user_name"),
    Index("ix_resources_external_id", "tenant_id", "resource_type", "external_id"),
    Index("ix_resources_display_name", "tenant_id", "resource_type", "display_name_lower"),
    Index("ix_resources_created", "tenant_id", "resource_type", "created", "id"),
)

# One row per value of the attributes IdPs look users up by (`scim.resources.SEEK_PATHS`:
# emails.value, strings only), so those filters are index seeks at any N; every other
# value is in `resources.search` only (migration 0007). The table is its own index
# (migration 0008): keyed by (tenant, type, path, lower-cased value, resource, element),
# WITHOUT ROWID on SQLite, so a row is one B-tree entry instead of a table row and two
# index entries. A resource's rows are found from its values (the repository computes
# them from the stored document), not through an index on the resource.
# `path` is the lower-cased attribute path without the core schema URN ("emails.value");
# `elem` the element's position in a multi-valued attribute (-1 for singular); v_text
# the value as sent, v_lower its lower-cased form.
attr_index = Table(
    "attr_index",
    metadata,
    Column("tenant_id", String(36), nullable=False),
    Column("resource_type", String(32), nullable=False),
    Column("path", String(200), nullable=False),
    Column("v_lower", Text, nullable=False),
    Column("resource_id", String(36), nullable=False),
    Column("elem", Integer, nullable=False, autoincrement=False),
    Column("v_text", Text, nullable=False),
    PrimaryKeyConstraint(
        "tenant_id", "resource_type", "path", "v_lower", "resource_id", "elem", name="pk_attr_index"
    ),
    sqlite_with_rowid=False,
)

group_members = Table(
    "group_members",
    metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("group_id", String(36), primary_key=True),
    Column("member_id", String(36), primary_key=True),
    # "User" or "Group"
    Column("member_type", String(32), nullable=False),
    Index("ix_group_members_member", "tenant_id", "member_id"),
)

# How many resources of each type an organization has, kept in the transaction of every
# insert and delete: totalResults of an unfiltered list without count(*), which is linear
# in N. `generation` changes with each insert and delete, so page anchors cached by the
# server (positions in created/id order) are known to be current.
resource_counts = Table(
    "resource_counts",
    metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("resource_type", String(32), primary_key=True),
    Column("total", Integer, nullable=False),
    Column("generation", Integer, nullable=False),
)

# --- the provisioning system (issue 5) ---------------------------------------------------

# A person's account: global, one per email (lower-cased), outliving any membership.
accounts = Table(
    "accounts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("first_name", String(200)),
    Column("last_name", String(200)),
    Column("display_name", String(200)),
    Column("title", String(200)),
    Column("department", String(200)),
    # JSON list of the sign-in methods the account has used: "sso", "password".
    Column("auth_methods", Text, nullable=False),
    Column("created", String(40), nullable=False),
)

# One membership per account at most (a person belongs to one organization at a time).
memberships = Table(
    "memberships",
    metadata,
    Column(
        "account_id",
        String(36),
        ForeignKey("accounts.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("tenant_id", String(36), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("role", String(16), nullable=False),  # member | it_admin | org_admin
    Column("status", String(16), nullable=False),  # active | suspended
    # The SCIM User this membership is linked to (the directory link); NULL: manual.
    Column("scim_user_id", String(36)),
    Column("seat", Boolean, nullable=False),
    Column("created", String(40), nullable=False),
    Index("ix_memberships_scim_user", "tenant_id", "scim_user_id"),
)

invitations = Table(
    "invitations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("email", String(320), nullable=False),
    Column("status", String(16), nullable=False),  # pending | accepted | revoked
    Column("reason", String(16), nullable=False),  # manual | fallback
    Column("created", String(40), nullable=False),
    Index("ix_invitations_email", "tenant_id", "email"),
)

# Just-in-time mode: a provisioned user's permission to sign in with SSO; the account and
# the seat come at the first login, which consumes the grant.
sso_grants = Table(
    "sso_grants",
    metadata,
    Column("tenant_id", String(36), ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True),
    Column("email", String(320), primary_key=True),
    Column("scim_user_id", String(36), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created", String(40), nullable=False),
    Index("ix_sso_grants_scim_user", "tenant_id", "scim_user_id"),
)

# One row per SCIM write (also refused ones) and per admin change the audit shows.
audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant_id", String(36), nullable=False),
    Column("time", String(40), nullable=False),
    Column("actor", String(64), nullable=False),  # the token's id, never the token
    Column("action", String(32), nullable=False),
    Column("resource_type", String(16), nullable=False),
    Column("resource_id", String(64)),
    Column("outcome", String(16), nullable=False),  # ok | refused | skipped | error
    Column("detail", Text, nullable=False),
    Index("ix_audit_events_tenant", "tenant_id", "id"),
)
