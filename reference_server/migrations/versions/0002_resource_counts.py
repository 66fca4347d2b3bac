"""Per-organization, per-type resource counters for constant-cost listing pages.

`total` answers totalResults of an unfiltered list without count(*) (linear in N);
`generation` changes with every insert and delete, so cached page anchors (positions in
the created/id order) are known to be still valid (issue 2, point 9).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "resource_counts",
        sa.Column("tenant_id", sa.String(36), primary_key=True),
        sa.Column("resource_type", sa.String(32), primary_key=True),
        sa.Column("total", sa.Integer, nullable=False),
        sa.Column("generation", sa.Integer, nullable=False),
    )
    op.execute(
        "INSERT INTO resource_counts (tenant_id, resource_type, total, generation) "
        "SELECT tenant_id, resource_type, count(*), 0 FROM resources "
        "GROUP BY tenant_id, resource_type"
    )


def downgrade() -> None:
    op.drop_table("resource_counts")
