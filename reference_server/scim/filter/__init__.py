"""SCIM filters (RFC 7644 section 3.4.2.2) and PATCH paths (section 3.5.2).

A lark grammar parses to frozen AST nodes; `filter_to_sql` turns a filter into a WHERE
clause over the storage tables and `matches` evaluates it in memory with the same
meaning (see `semantics` for the decisions both share).
"""

from __future__ import annotations

from reference_server.scim.filter.ast import (
    And,
    AttrPath,
    Compare,
    CompValue,
    Filter,
    Not,
    Or,
    PatchPath,
    Present,
    ValuePath,
)
from reference_server.scim.filter.evaluate import match_element, matches
from reference_server.scim.filter.parser import FastEq, fast_filter, parse_filter, parse_path
from reference_server.scim.filter.sql import filter_to_sql, sort_clauses, sort_key_sql

__all__ = [
    "And",
    "AttrPath",
    "CompValue",
    "Compare",
    "FastEq",
    "Filter",
    "Not",
    "Or",
    "PatchPath",
    "Present",
    "ValuePath",
    "fast_filter",
    "filter_to_sql",
    "match_element",
    "matches",
    "parse_filter",
    "parse_path",
    "sort_clauses",
    "sort_key_sql",
]
