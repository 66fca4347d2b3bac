"""Validate raw JSON against the RFC 7643/7644 message JSON Schemas (draft 2020-12).

The schemas are package data in harness/validation/schemas/<Name>.json, loaded once with
importlib.resources. Validation runs on the raw JSON, before anything interprets it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator

from harness.exchange import Exchange
from harness.verdicts import HarnessError, SchemaViolation

__all__ = ["MESSAGE_SCHEMAS", "message_errors", "validate_message"]

MESSAGE_SCHEMAS = (
    "User",
    "EnterpriseUser",
    "Group",
    "ListResponse",
    "PatchOp",
    "Error",
    "ServiceProviderConfig",
    "ResourceType",
    "Schema",
    "SearchRequest",
    "BulkRequest",
    "BulkResponse",
)


@cache
def _validator(name: str) -> Draft202012Validator:
    if name not in MESSAGE_SCHEMAS:
        raise HarnessError(f"unknown message schema {name!r}; known: {MESSAGE_SCHEMAS}")
    source = resources.files("harness.validation").joinpath("schemas", f"{name}.json")
    try:
        schema = json.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HarnessError(f"message schema {name}.json is not shipped yet") from None
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def message_errors(name: str, instance: Any, *, limit: int = 10) -> list[str]:
    """Readable schema errors (`path: message`), at most `limit` of them."""
    found = []
    for error in _validator(name).iter_errors(instance):
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        found.append(f"{where}: {error.message[:200]}")
        if len(found) >= limit:
            break
    return found


def validate_message(
    name: str,
    instance: Any,
    *,
    clause: str = "",
    exchanges: Sequence[Exchange] = (),
) -> None:
    """SchemaViolation listing what in `instance` breaks the RFC's `name` message schema."""
    __tracebackhide__ = True
    errors = message_errors(name, instance)
    if errors:
        raise SchemaViolation(
            f"the {name} message breaks its RFC schema: " + "; ".join(errors),
            clause=clause,
            expected=f"a valid {name} message",
            actual=errors,
            exchanges=exchanges,
        )
