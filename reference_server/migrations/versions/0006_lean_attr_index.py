"""Leaner attr_index: ix_attr_lower holds strings only, and no rows for core schema URNs.

Every create wrote an ix_attr_lower entry for each boolean (v_lower NULL) and for the
core schema URN, keys that every resource shares: the least selective entries of the
index and the most written, inserted on the same few pages by every create. A boolean
filter now reads the rows through the table; `schemas` filters compare the core URN
without a row (issue 2, point 9: a create writes about a sixth fewer B-tree pages).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_COLUMNS = ["tenant_id", "resource_type", "path", "v_lower"]
_CORE_SCHEMAS = (
    "urn:ietf:params:scim:schemas:core:2.0:user",
    "urn:ietf:params:scim:schemas:core:2.0:group",
)


def upgrade() -> None:
    op.drop_index("ix_attr_lower", table_name="attr_index")
    op.execute(
        sa.text("DELETE FROM attr_index WHERE path = 'schemas' AND v_lower IN (:user, :group)")
        .bindparams(user=_CORE_SCHEMAS[0], group=_CORE_SCHEMAS[1])
    )
    where = sa.text("v_lower IS NOT NULL")
    op.create_index(
        "ix_attr_lower", "attr_index", _COLUMNS, sqlite_where=where, postgresql_where=where
    )


def downgrade() -> None:
    op.drop_index("ix_attr_lower", table_name="attr_index")
    op.execute(
        sa.text(
            "INSERT INTO attr_index (tenant_id, resource_id, resource_type, path, elem, "
            "v_text, v_lower) SELECT tenant_id, id, resource_type, 'schemas', 0, "
            "CASE resource_type WHEN 'User' THEN :user_text ELSE :group_text END, "
            "CASE resource_type WHEN 'User' THEN :user ELSE :group END FROM resources"
        ).bindparams(
            user_text="urn:ietf:params:scim:schemas:core:2.0:User",
            group_text="urn:ietf:params:scim:schemas:core:2.0:Group",
            user=_CORE_SCHEMAS[0],
            group=_CORE_SCHEMAS[1],
        )
    )
    op.create_index("ix_attr_lower", "attr_index", _COLUMNS)
