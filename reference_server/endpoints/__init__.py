"""Starlette endpoints: discovery, resources (CRUD and search), bulk, /Me and admin."""

from __future__ import annotations

__all__: list[str] = []
