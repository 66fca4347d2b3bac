"""Seat counters on tenants: seats in use and pending just-in-time grants.

A seat check (every provisioning under a policy) counted the organization's memberships,
a cost that grows with the organization; the counters are kept in the transaction of
every membership and grant change, so the check reads one row (issue 2, point 9).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(
            sa.Column("used_seats", sa.Integer, nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("pending_seats", sa.Integer, nullable=False, server_default="0")
        )
    op.execute(
        "UPDATE tenants SET"
        " used_seats = (SELECT count(*) FROM memberships m"
        " WHERE m.tenant_id = tenants.id AND m.seat),"
        " pending_seats = (SELECT count(*) FROM sso_grants g WHERE g.tenant_id = tenants.id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("pending_seats")
        batch.drop_column("used_seats")
