"""Persistence: SQLAlchemy 2 Core tables shared by SQLite and PostgreSQL."""
