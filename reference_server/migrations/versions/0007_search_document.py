"""Search documents: attr_index keeps rows for SEEK_PATHS only; the rest moves to JSON.

A create wrote an attr_index row (and three B-tree entries) for every simple value of the
user, about ten for an Okta-shaped user: most of a create's database time. Now each
resource carries `resources.search`, the same values as one JSON document that filters on
other attributes scan in SQL, and attr_index keeps the rows of `SEEK_PATHS` (emails.value),
the lookups that must stay index seeks (issue 2, point 9).

Existing resources get their document from their stored `data`, computed by the server's
own `index_values`/`search_document`, in batches.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from alembic import op

from reference_server.scim.resources import SEEK_PATHS, index_rows, index_values, search_document
from reference_server.scim.schemas import load_registry

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_BATCH = 1_000


def _batches(conn: sa.Connection) -> Iterator[Sequence[tuple[str, str, str, str]]]:
    """Every resource as (tenant_id, id, resource_type, data), _BATCH rows at a time."""
    last: tuple[str, str] = ("", "")
    while True:
        batch = conn.execute(
            sa.text(
                "SELECT tenant_id, id, resource_type, data FROM resources"
                " WHERE (tenant_id, id) > (:t, :i) ORDER BY tenant_id, id LIMIT :n"
            ),
            {"t": last[0], "i": last[1], "n": _BATCH},
        ).all()
        if not batch:
            return
        yield [(r[0], r[1], r[2], r[3]) for r in batch]
        last = (batch[-1][0], batch[-1][1])


def upgrade() -> None:
    op.add_column("resources", sa.Column("search", sa.Text()))
    conn = op.get_bind()
    reg = load_registry()
    for batch in _batches(conn):
        updates = []
        for tenant, rid, resource_type, data in batch:
            values = index_values(reg, resource_type, orjson.loads(data))
            updates.append({"t": tenant, "i": rid, "s": search_document(values)})
        conn.execute(
            sa.text("UPDATE resources SET search = :s WHERE tenant_id = :t AND id = :i"), updates
        )
    keep: sa.BindParameter[list[str]] = sa.bindparam("keep", sorted(SEEK_PATHS), expanding=True)
    conn.execute(sa.text("DELETE FROM attr_index WHERE path NOT IN :keep").bindparams(keep))


def downgrade() -> None:
    conn = op.get_bind()
    reg = load_registry()
    insert = sa.text(
        "INSERT INTO attr_index (tenant_id, resource_id, resource_type, path, elem, v_text,"
        " v_lower, v_num, v_bool, v_time) VALUES (:tenant_id, :resource_id, :resource_type,"
        " :path, :elem, :v_text, :v_lower, :v_num, :v_bool, :v_time)"
    )
    for batch in _batches(conn):
        rows = [
            {"tenant_id": tenant, "resource_id": rid, "resource_type": resource_type}
            | row
            for tenant, rid, resource_type, data in batch
            for row in index_rows(reg, resource_type, orjson.loads(data))
            if row["path"] not in SEEK_PATHS
        ]
        if rows:
            conn.execute(insert, rows)
    op.drop_column("resources", "search")
