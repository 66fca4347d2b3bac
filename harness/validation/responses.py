"""Always-on response checks: run on every exchange the client records.

Each check is `(observed) -> ScimViolation | None`. A MUST finding aborts the running check
at once (the client raises it); a SHOULD finding is kept on the recorder and grades the
check as a warning at its end. Suites switch a check off with `@without_response_checks`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.exchange import Exchange
from harness.verdicts import (
    ErrorBodyInvalid,
    Keyword,
    MediaTypeMismatch,
    ScimViolation,
    ServerError,
    WriteOnlyEchoed,
)

__all__ = [
    "ERROR_URN",
    "RESPONSE_CHECKS",
    "Observed",
    "ResponseCheck",
    "run_response_checks",
]

ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST_URN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SCIM_MEDIA_TYPE = "application/scim+json"
LEGITIMATE_5XX = frozenset({501, 503})
WRITE_ONLY = ("password",)


@dataclass(frozen=True, slots=True)
class Observed:
    """What a response check sees: the exchange and the parsed body (if it was JSON)."""

    exchange: Exchange
    body: Any
    is_json: bool
    truncated: bool


ResponseCheck = Callable[[Observed], ScimViolation | None]


def no_server_error(seen: Observed) -> ScimViolation | None:
    """RFC 7644 3.12: a request the suite sends never warrants an internal error."""
    status = seen.exchange.status
    if status is not None and status >= 500 and status not in LEGITIMATE_5XX:
        return ServerError(
            f"the server answered {status}",
            clause="RFC7644 3.12",
            keyword=Keyword.MUST,
            expected="a 2xx answer or a 4xx SCIM error",
            actual=str(status),
            exchanges=[seen.exchange],
        )
    return None


def scim_media_type(seen: Observed) -> ScimViolation | None:
    """RFC 7644 3.1, 8.1: SCIM bodies SHOULD be sent as application/scim+json."""
    ex = seen.exchange
    if ex.status is None or ex.status in (204, 304) or 300 <= ex.status < 400:
        return None
    if not ex.response_body.strip():
        return None
    content_type = (ex.response_header("content-type") or "").split(";")[0].strip().lower()
    if content_type == SCIM_MEDIA_TYPE:
        return None
    return MediaTypeMismatch(
        "response body is not labelled application/scim+json",
        clause="RFC7644 8.1 (rfc7644-8.1-should-1)",
        keyword=Keyword.SHOULD,
        expected=f"Content-Type: {SCIM_MEDIA_TYPE}",
        actual=f"Content-Type: {content_type or '(none)'}",
        exchanges=[ex],
    )


def scim_error_body(seen: Observed) -> ScimViolation | None:
    """RFC 7644 3.12: errors come back as a JSON Error message whose status is the code."""
    ex = seen.exchange
    if ex.status is None or ex.status < 400 or ex.status == 401:
        # A 401 may come from the HTTP authentication layer (RFC 7235, RFC 6750) before
        # SCIM is reached; test_auth checks it under its own rules.
        return None
    problems: list[str] = []
    body = seen.body
    if not seen.is_json or not isinstance(body, dict):
        problems.append("the body is not a JSON object")
    else:
        schemas = body.get("schemas")
        if not isinstance(schemas, list) or ERROR_URN not in schemas:
            problems.append(f'"schemas" does not contain {ERROR_URN}')
        status = body.get("status")
        if status != str(ex.status):
            problems.append(f'"status" is {status!r}, expected the string "{ex.status}"')
        if "scimType" in body and not isinstance(body["scimType"], str):
            problems.append('"scimType" is not a string')
        if "detail" in body and not isinstance(body["detail"], str):
            problems.append('"detail" is not a string')
    if not problems:
        return None
    return ErrorBodyInvalid(
        "; ".join(problems),
        clause="RFC7644 3.12 (rfc7644-3.12-must-1, rfc7644-3.12-must-2)",
        keyword=Keyword.MUST,
        expected=f'{{"schemas": ["{ERROR_URN}"], "status": "{ex.status}", ...}}',
        actual=(ex.response_body[:300] or "(empty body)"),
        exchanges=[ex],
    )


def _resources(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, dict):
        return []
    schemas = body.get("schemas")
    if isinstance(schemas, list) and LIST_URN in schemas:
        listed = body.get("Resources")
        return [r for r in listed if isinstance(r, dict)] if isinstance(listed, list) else []
    if isinstance(schemas, list) and ERROR_URN in schemas:
        return []
    return [body]


def no_write_only_echo(seen: Observed) -> ScimViolation | None:
    """RFC 7643 7: a writeOnly attribute (password) SHALL NOT be returned."""
    ex = seen.exchange
    if ex.status is None or not 200 <= ex.status < 300:
        return None
    for resource in _resources(seen.body):
        for key in resource:
            if key.lower() in WRITE_ONLY:
                return WriteOnlyEchoed(
                    f'the response carries the writeOnly attribute "{key}"',
                    clause="RFC7643 7 (rfc7643-7-must-11)",
                    keyword=Keyword.MUST,
                    expected=f'no "{key}" attribute',
                    actual=f'"{key}" present',
                    exchanges=[ex],
                )
    return None


RESPONSE_CHECKS: dict[str, ResponseCheck] = {
    "server_error": no_server_error,
    "media_type": scim_media_type,
    "error_body": scim_error_body,
    "write_only": no_write_only_echo,
}


def run_response_checks(seen: Observed, disabled: frozenset[str]) -> list[ScimViolation]:
    """Every enabled check's finding for one response, MUST findings first."""
    found = [
        v
        for name, check in RESPONSE_CHECKS.items()
        if name not in disabled
        if (v := check(seen)) is not None
    ]
    return sorted(found, key=lambda v: -(v.keyword or Keyword.MUST).strength)
