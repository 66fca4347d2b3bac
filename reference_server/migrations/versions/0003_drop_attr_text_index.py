"""Drop ix_attr_text: caseExact lookups seek ix_attr_lower and compare v_text exactly.

Every attr_index row was written to the table and three indexes; with one index fewer a
create or update writes a quarter fewer B-tree entries (issue 2, point 9).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_attr_text", table_name="attr_index")


def downgrade() -> None:
    op.create_index(
        "ix_attr_text", "attr_index", ["tenant_id", "resource_type", "path", "v_text"]
    )
