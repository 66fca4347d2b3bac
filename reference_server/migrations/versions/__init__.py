"""Alembic revisions; each mirrors a change to `reference_server/storage/tables.py`."""
