"""The RFC 7643/7644 requirements catalogue: every MUST/SHOULD/MAY sentence with a stable id.

Checks cite these ids; the report states which share of the black-box-testable ones the
run exercised. ``python -m harness.requirements --help`` finds ids.
"""

from __future__ import annotations

from harness.requirements._catalogue import (
    KEYWORDS,
    Coverage,
    Requirement,
    Tally,
    coverage,
    load_catalogue,
    section_key,
    unknown_ids,
)

__all__ = [
    "KEYWORDS",
    "Coverage",
    "Requirement",
    "Tally",
    "coverage",
    "load_catalogue",
    "section_key",
    "unknown_ids",
]
