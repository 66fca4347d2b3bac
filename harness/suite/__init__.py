"""The conformance suite shipped with the plugin: one module per RFC area."""

from __future__ import annotations

__all__: list[str] = []
