"""Alembic migrations of the reference server (run by `storage.engine.upgrade`, no ini file)."""
