"""Filter and PATCH-path syntax trees (RFC 7644 sections 3.4.2.2 and 3.5.2): frozen values."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "And",
    "AttrPath",
    "CompValue",
    "Compare",
    "Filter",
    "Not",
    "Or",
    "PatchPath",
    "Present",
    "ValuePath",
]

CompValue = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class AttrPath:
    """An attribute path as written: "userName", "name.givenName", "urn:...:User:manager.value"."""

    text: str


@dataclass(frozen=True, slots=True)
class Compare:
    """`path op value`; `op` is lower-case: eq ne co sw ew gt lt ge le."""

    path: AttrPath
    op: str
    value: CompValue


@dataclass(frozen=True, slots=True)
class Present:
    """`path pr`."""

    path: AttrPath


@dataclass(frozen=True, slots=True)
class And:
    left: Filter
    right: Filter


@dataclass(frozen=True, slots=True)
class Or:
    left: Filter
    right: Filter


@dataclass(frozen=True, slots=True)
class Not:
    operand: Filter


@dataclass(frozen=True, slots=True)
class ValuePath:
    """`path[filter]`: the inner filter's paths are sub-attributes of `path`, one element."""

    path: AttrPath
    filter: Filter


Filter = Compare | Present | And | Or | Not | ValuePath


@dataclass(frozen=True, slots=True)
class PatchPath:
    """A PATCH target: `attrPath` or `valuePath [subAttr]` (RFC 7644 section 3.5.2)."""

    path: AttrPath
    filter: Filter | None = None
    sub: str | None = None
