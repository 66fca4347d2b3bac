"""Alembic environment: always run on a connection the server hands over (no alembic.ini).

`reference_server.storage.engine.upgrade` passes its connection in
`config.attributes["connection"]`; migrations run in that connection's transaction.
"""

from __future__ import annotations

from alembic import context

from reference_server.storage.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through reference_server.storage.engine.upgrade()")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
