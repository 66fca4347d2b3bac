"""Read-back oracle: after a write, GET the resource and compare it with the state it must have.

Catches the server that answers 200 and does nothing. No false positives: it ignores what
a client cannot expect back (readOnly and server-set attributes, writeOnly/returned=never
ones, attributes the server does not publish) and compares case-insensitive strings
without case (RFC 7643 section 7: the server MAY alter their case).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from harness.discovery import AttributeInfo, Capabilities
from harness.exchange import Exchange
from harness.verdicts import StateNotApplied

__all__ = ["ABSENT", "compare", "expect_state"]

ABSENT: Any = None
"""An expected value of None means: the attribute must be absent (removed/cleared)."""

SERVER_SET = frozenset({"id", "meta", "schemas", "groups"})


def _is_urn(key: str) -> bool:
    return key.lower().startswith("urn:")


def _norm(value: Any, attr: AttributeInfo | None) -> Any:
    if (
        isinstance(value, str)
        and (attr is None or not attr.case_exact)
        and (attr is None or attr.type in ("string", "reference"))
    ):
        return value.casefold()
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return float(value)
    return value


def _skip(attr: AttributeInfo | None, strict_unknown: bool) -> bool:
    if attr is None:
        return not strict_unknown
    return attr.mutability in ("readOnly", "writeOnly") or attr.returned == "never"


def _match_element(expected: Any, actual: Any, attr: AttributeInfo | None) -> bool:
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping):
            return False
        return not _diff_complex(expected, actual, attr, "", strict_unknown=False)
    return bool(_norm(expected, attr) == _norm(actual, attr))


def _diff_complex(
    expected: Mapping[str, Any],
    actual: Mapping[str, Any],
    attr: AttributeInfo | None,
    prefix: str,
    *,
    strict_unknown: bool,
) -> list[str]:
    diffs: list[str] = []
    lowered = {k.lower(): v for k, v in actual.items()}
    for key, want in expected.items():
        sub = attr.sub(key) if attr is not None else None
        if attr is not None and sub is None and attr.sub_attributes:
            continue  # not published: the server may ignore it
        if sub is not None and _skip(sub, strict_unknown=True):
            continue
        diffs += _diff_value(want, lowered.get(key.lower()), sub, f"{prefix}{key}")
    return diffs


def _diff_value(want: Any, got: Any, attr: AttributeInfo | None, path: str) -> list[str]:
    if want is ABSENT:
        empty = got is None or got == [] or got == {}
        return [] if empty else [f"{path}: expected absent, found {got!r}"]
    if got is None:
        return [f"{path}: expected {want!r}, attribute missing"]
    if isinstance(want, list):
        if not isinstance(got, list):
            return [f"{path}: expected a list {want!r}, found {got!r}"]
        remaining = list(got)
        diffs = []
        for element in want:
            hit = next(
                (i for i, a in enumerate(remaining) if _match_element(element, a, attr)), None
            )
            if hit is None:
                diffs.append(f"{path}: expected an element matching {element!r}, none found")
            else:
                remaining.pop(hit)
        if remaining:
            diffs.append(f"{path}: unexpected extra elements {remaining!r}")
        return diffs
    if isinstance(want, Mapping):
        if not isinstance(got, Mapping):
            return [f"{path}: expected an object {want!r}, found {got!r}"]
        return _diff_complex(want, got, attr, f"{path}.", strict_unknown=False)
    if _norm(want, attr) != _norm(got, attr):
        return [f"{path}: expected {want!r}, found {got!r}"]
    return []


def compare(
    expected: Mapping[str, Any],
    actual: Mapping[str, Any],
    capabilities: Capabilities | None,
    resource_type: str,
) -> list[str]:
    """The differences between an expected state and a read-back resource (empty: equal)."""
    rt = capabilities.resource_type(resource_type) if capabilities else None
    core = capabilities.schema(rt.schema) if capabilities and rt else None
    diffs: list[str] = []
    lowered = {k.lower(): v for k, v in actual.items()}
    for key, want in expected.items():
        if key.lower() in SERVER_SET:
            continue
        if _is_urn(key) and isinstance(want, Mapping):
            ext = capabilities.schema(key) if capabilities else None
            if capabilities is not None and ext is None:
                continue
            got = lowered.get(key.lower())
            if want and got is None:
                got = {}
            for sub_key, sub_want in want.items():
                attr = ext.attribute(sub_key) if ext else None
                if (ext is not None and attr is None) or _skip(attr, strict_unknown=ext is None):
                    continue
                got_map = got if isinstance(got, Mapping) else {}
                sub_got = {k.lower(): v for k, v in got_map.items()}.get(sub_key.lower())
                diffs += _diff_value(sub_want, sub_got, attr, f"{key}:{sub_key}")
            continue
        attr = core.attribute(key) if core else None
        if (core is not None and attr is None) or _skip(attr, strict_unknown=core is None):
            continue
        diffs += _diff_value(want, lowered.get(key.lower()), attr, key)
    return diffs


def expect_state(
    expected: Mapping[str, Any],
    actual: Mapping[str, Any],
    capabilities: Capabilities | None,
    resource_type: str,
    *,
    clause: str = "",
    exchanges: Sequence[Exchange] = (),
) -> None:
    """StateNotApplied with the diff unless the read-back resource has the expected state."""
    __tracebackhide__ = True
    diffs = compare(expected, actual, capabilities, resource_type)
    if diffs:
        raise StateNotApplied(
            "the resource read back does not have the state the write must leave: "
            + "; ".join(diffs),
            clause=clause,
            expected=dict(expected),
            actual={k: actual[k] for k in actual if k not in ("meta",)},
            exchanges=exchanges,
        )
