"""SCIM errors (RFC 7644 section 3.12): one exception class per status/scimType.

Every refusal the server makes is one of these; the app's exception handler turns it
into an Error body with `status`, `scimType` and a `detail` a person can act on.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "Conflict",
    "Forbidden",
    "InvalidFilter",
    "InvalidPath",
    "InvalidSyntax",
    "InvalidValue",
    "InvalidVersion",
    "MethodNotAllowed",
    "Mutability",
    "NoTarget",
    "NotAcceptable",
    "NotFound",
    "NotImplementedFeature",
    "NotModified",
    "PayloadTooLarge",
    "PreconditionFailed",
    "Refused",
    "ScimError",
    "Sensitive",
    "ServiceUnavailable",
    "TooMany",
    "Unauthorized",
    "Uniqueness",
    "UnsupportedMediaType",
]

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


class ScimError(Exception):
    """Base class: an HTTP status, an optional scimType and a human-readable detail."""

    status: ClassVar[int] = 400
    scim_type: ClassVar[str | None] = None

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "schemas": [ERROR_SCHEMA],
            "status": str(self.status),
            "detail": self.detail,
        }
        if self.scim_type is not None:
            body["scimType"] = self.scim_type
        return body

    def headers(self) -> dict[str, str]:
        """Response headers the error needs besides the body (none by default)."""
        return {}


class InvalidFilter(ScimError):
    scim_type = "invalidFilter"


class TooMany(ScimError):
    scim_type = "tooMany"


class Uniqueness(ScimError):
    status = 409
    scim_type = "uniqueness"


class Mutability(ScimError):
    scim_type = "mutability"


class InvalidSyntax(ScimError):
    scim_type = "invalidSyntax"


class InvalidPath(ScimError):
    scim_type = "invalidPath"


class NoTarget(ScimError):
    scim_type = "noTarget"


class InvalidValue(ScimError):
    scim_type = "invalidValue"


class InvalidVersion(ScimError):
    scim_type = "invalidVers"


class Sensitive(ScimError):
    scim_type = "sensitive"


class Unauthorized(ScimError):
    status = 401

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="scim"'}


class Forbidden(ScimError):
    status = 403


class NotFound(ScimError):
    status = 404


class MethodNotAllowed(ScimError):
    status = 405


class NotAcceptable(ScimError):
    status = 406


class Conflict(ScimError):
    status = 409


class PreconditionFailed(ScimError):
    status = 412


class PayloadTooLarge(ScimError):
    status = 413


class UnsupportedMediaType(ScimError):
    status = 415


class NotImplementedFeature(ScimError):
    status = 501


class ServiceUnavailable(ScimError):
    """A transient failure: the client may retry after `retry_after` seconds."""

    status = 503

    def __init__(self, detail: str, retry_after: int = 5) -> None:
        super().__init__(detail)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


_REFUSED: dict[int, type[ScimError]] = {}


def Refused(status: int, detail: str) -> ScimError:
    """A policy refusal answered with a status the organization chose (`seat_cap_status`)."""
    cls = _REFUSED.get(status)
    if cls is None:
        cls = _REFUSED[status] = type(f"Refused{status}", (ScimError,), {"status": status})
    return cls(detail)


class NotModified(ScimError):
    """Not an error to the client: answers 304 with no body (RFC 7644 section 3.14)."""

    status = 304
