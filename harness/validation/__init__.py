"""Checking what a server sends: RFC message schemas, its own /Schemas, read-back state.

Submodules: `responses` (always-on checks), `messages` (RFC JSON Schemas), `published`
(the server's own /Schemas), `oracle` (read-back). Nothing here knows pytest; every finding
is a `ScimViolation` carrying its exchanges. Import the submodules directly: this package
stays empty so that the client can use `responses` without import cycles.
"""

from __future__ import annotations

__all__: list[str] = []
