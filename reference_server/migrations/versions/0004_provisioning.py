"""The provisioning system (issue 5): organization settings, accounts, memberships,
invitations, just-in-time SSO grants and the audit log.

Every new tenants column has a server default (or is nullable), so existing organizations
keep behaving as before: no domains, no cap, SCIM enabled, no directory, no policy.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TENANT_COLUMNS = (
    ("domains", sa.Text, False, "[]"),
    ("seat_cap", sa.Integer, True, None),
    ("billed_seats", sa.Integer, False, "0"),
    ("default_team", sa.String(200), True, None),
    ("admin_first_name", sa.String(200), True, None),
    ("admin_last_name", sa.String(200), True, None),
    ("admin_email", sa.String(320), True, None),
    ("sso_configured", sa.Boolean, False, sa.false()),
    ("sso_enforced", sa.Boolean, False, sa.false()),
    ("scim_enabled", sa.Boolean, False, sa.true()),
    ("directory", sa.String(16), False, "none"),
    ("directory_domains", sa.Text, False, "[]"),
    ("policy", sa.Text, True, None),
)


def _tenant_fk() -> sa.ForeignKey:
    return sa.ForeignKey("tenants.id", ondelete="CASCADE")


def upgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        for name, type_, nullable, default in _TENANT_COLUMNS:
            batch.add_column(
                sa.Column(name, type_, nullable=nullable, server_default=default)
            )
    with op.batch_alter_table("tokens") as batch:
        batch.add_column(sa.Column("last_used", sa.String(40)))
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("first_name", sa.String(200)),
        sa.Column("last_name", sa.String(200)),
        sa.Column("display_name", sa.String(200)),
        sa.Column("title", sa.String(200)),
        sa.Column("department", sa.String(200)),
        sa.Column("auth_methods", sa.Text, nullable=False),
        sa.Column("created", sa.String(40), nullable=False),
    )
    op.create_table(
        "memberships",
        sa.Column(
            "account_id",
            sa.String(36),
            sa.ForeignKey("accounts.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("tenant_id", sa.String(36), _tenant_fk(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("scim_user_id", sa.String(36)),
        sa.Column("seat", sa.Boolean, nullable=False),
        sa.Column("created", sa.String(40), nullable=False),
    )
    op.create_index("ix_memberships_scim_user", "memberships", ["tenant_id", "scim_user_id"])
    op.create_table(
        "invitations",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant_id", sa.String(36), _tenant_fk(), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("created", sa.String(40), nullable=False),
    )
    op.create_index("ix_invitations_email", "invitations", ["tenant_id", "email"])
    op.create_table(
        "sso_grants",
        sa.Column("tenant_id", sa.String(36), _tenant_fk(), primary_key=True),
        sa.Column("email", sa.String(320), primary_key=True),
        sa.Column("scim_user_id", sa.String(36), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created", sa.String(40), nullable=False),
    )
    op.create_index("ix_sso_grants_scim_user", "sso_grants", ["tenant_id", "scim_user_id"])
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("time", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("resource_type", sa.String(16), nullable=False),
        sa.Column("resource_id", sa.String(64)),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_index("ix_audit_events_tenant", "audit_events", ["tenant_id", "id"])


def downgrade() -> None:
    op.drop_table("audit_events")
    op.drop_table("sso_grants")
    op.drop_table("invitations")
    op.drop_table("memberships")
    op.drop_table("accounts")
    with op.batch_alter_table("tokens") as batch:
        batch.drop_column("last_used")
    with op.batch_alter_table("tenants") as batch:
        for name, *_ in reversed(_TENANT_COLUMNS):
            batch.drop_column(name)
