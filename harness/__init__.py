"""SCIM 2.0 conformance harness: a pytest plugin that drives any SCIM endpoint over HTTP."""

from __future__ import annotations

__all__: list[str] = []
