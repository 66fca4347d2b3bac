"""Initial schema: tenants, tokens, resources, attr_index, group_members.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created", sa.String(40), nullable=False),
    )
    op.create_table(
        "tokens",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "tenant_id",
            sa.String(36),
            sa.ForeignKey("tenants.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created", sa.String(40), nullable=False),
        sa.Column("revoked", sa.Boolean, nullable=False, default=False),
    )
    op.create_table(
        "resources",
        sa.Column("tenant_id", sa.String(36), primary_key=True),
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("resource_type", sa.String(32), nullable=False),
        sa.Column("user_name_lower", sa.String(512)),
        sa.Column("external_id", sa.String(512)),
        sa.Column("display_name_lower", sa.String(512)),
        sa.Column("display", sa.String(512)),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created", sa.String(40), nullable=False),
        sa.Column("last_modified", sa.String(40), nullable=False),
        sa.UniqueConstraint("tenant_id", "resource_type", "user_name_lower", name="uq_user_name"),
    )
    op.create_index(
        "ix_resources_external_id", "resources", ["tenant_id", "resource_type", "external_id"]
    )
    op.create_index(
        "ix_resources_display_name",
        "resources",
        ["tenant_id", "resource_type", "display_name_lower"],
    )
    op.create_index(
        "ix_resources_created", "resources", ["tenant_id", "resource_type", "created", "id"]
    )
    op.create_table(
        "attr_index",
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("resource_id", sa.String(36), nullable=False),
        sa.Column("resource_type", sa.String(32), nullable=False),
        sa.Column("path", sa.String(200), nullable=False),
        sa.Column("elem", sa.Integer, nullable=False),
        sa.Column("v_text", sa.Text),
        sa.Column("v_lower", sa.Text),
        sa.Column("v_num", sa.Float),
        sa.Column("v_bool", sa.Boolean),
        sa.Column("v_time", sa.String(40)),
    )
    op.create_index(
        "ix_attr_lower", "attr_index", ["tenant_id", "resource_type", "path", "v_lower"]
    )
    op.create_index("ix_attr_text", "attr_index", ["tenant_id", "resource_type", "path", "v_text"])
    op.create_index("ix_attr_resource", "attr_index", ["tenant_id", "resource_id"])
    op.create_table(
        "group_members",
        sa.Column("tenant_id", sa.String(36), primary_key=True),
        sa.Column("group_id", sa.String(36), primary_key=True),
        sa.Column("member_id", sa.String(36), primary_key=True),
        sa.Column("member_type", sa.String(32), nullable=False),
    )
    op.create_index("ix_group_members_member", "group_members", ["tenant_id", "member_id"])


def downgrade() -> None:
    op.drop_table("group_members")
    op.drop_table("attr_index")
    op.drop_table("resources")
    op.drop_table("tokens")
    op.drop_table("tenants")
