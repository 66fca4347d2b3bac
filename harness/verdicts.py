"""What a check can conclude: the RFC keyword it enforces and the typed ways a server fails it.

Hierarchy (grading happens in the plugin, by keyword):

    AssertionError
     +-- ScimViolation            the server departs from the RFC (a finding)
          +-- StatusMismatch, HeaderMismatch, MediaTypeMismatch, BodyNotJson,
          |   SchemaViolation, ErrorBodyInvalid, ServerError, WriteOnlyEchoed,
          |   StateNotApplied, UnsafeRedirect, DataLeak, ValueMismatch
          +-- TransportFailure    timeout, refused connection, broken response
    Exception
     +-- Blocked                  a prerequisite failed: dependents report "blocked"
     +-- HarnessError             a bug in the harness itself, never booked on the server
    pytest.skip.Exception (Skipped)
     +-- Unsupported              the server declares it does not support a MAY feature
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from _pytest.outcomes import Skipped  # public as pytest.skip.Exception

if TYPE_CHECKING:
    from harness.exchange import Exchange

__all__ = [
    "Blocked",
    "BodyNotJson",
    "DataLeak",
    "ErrorBodyInvalid",
    "HarnessError",
    "HeaderMismatch",
    "Keyword",
    "MediaTypeMismatch",
    "SchemaViolation",
    "ScimViolation",
    "ServerError",
    "StateNotApplied",
    "StatusMismatch",
    "TransportFailure",
    "UnsafeRedirect",
    "Unsupported",
    "ValueMismatch",
    "WriteOnlyEchoed",
]


class Keyword(enum.StrEnum):
    """RFC 2119 strength of a requirement; the order is the strength."""

    MUST = "MUST"
    SHOULD = "SHOULD"
    MAY = "MAY"

    @property
    def strength(self) -> int:
        return {"MUST": 3, "SHOULD": 2, "MAY": 1}[self.value]

    @classmethod
    def parse(cls, value: str | Keyword) -> Keyword:
        """Accept MUST/SHALL/REQUIRED, SHOULD/RECOMMENDED, MAY/OPTIONAL, with or without NOT."""
        text = str(value).upper().replace("_", " ").replace("-", " ").split()
        word = text[0] if text else ""
        if word in {"MUST", "SHALL", "REQUIRED"}:
            return cls.MUST
        if word in {"SHOULD", "RECOMMENDED"}:
            return cls.SHOULD
        if word in {"MAY", "OPTIONAL"}:
            return cls.MAY
        raise ValueError(f"not an RFC 2119 keyword: {value!r}")

    @classmethod
    def strongest(cls, keywords: Sequence[Keyword]) -> Keyword:
        return max(keywords, key=lambda k: k.strength) if keywords else cls.MUST


class ScimViolation(AssertionError):
    """The server departs from RFC 7643/7644: expected against actual, with the exchanges.

    `keyword` None means "the keyword of the check that saw it" (the check's @clause).
    """

    title = "SCIM violation"

    def __init__(
        self,
        message: str,
        *,
        clause: str = "",
        keyword: Keyword | None = None,
        expected: Any = None,
        actual: Any = None,
        exchanges: Sequence[Exchange] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.clause = clause
        self.keyword = keyword
        self.expected = expected
        self.actual = actual
        self.exchanges: tuple[Exchange, ...] = tuple(exchanges)

    def __str__(self) -> str:
        lines = [f"{self.title}: {self.message}"]
        if self.clause:
            kw = f" ({self.keyword})" if self.keyword else ""
            lines.append(f"Clause: {self.clause}{kw}")
        if self.expected is not None:
            lines.append(f"Expected: {self.expected}")
        if self.actual is not None:
            lines.append(f"Actual: {self.actual}")
        return "\n".join(lines)


class StatusMismatch(ScimViolation):
    title = "Unexpected HTTP status"


class HeaderMismatch(ScimViolation):
    title = "Missing or wrong response header"


class MediaTypeMismatch(ScimViolation):
    title = "Wrong media type"


class BodyNotJson(ScimViolation):
    title = "Response body is not JSON"


class SchemaViolation(ScimViolation):
    title = "Message does not match its schema"


class ErrorBodyInvalid(ScimViolation):
    title = "Malformed SCIM Error response"


class ServerError(ScimViolation):
    title = "Server error"


class WriteOnlyEchoed(ScimViolation):
    title = "writeOnly attribute returned"


class StateNotApplied(ScimViolation):
    title = "Write not applied"


class ValueMismatch(ScimViolation):
    title = "Unexpected value"


class UnsafeRedirect(ScimViolation):
    title = "Redirect to another origin"


class DataLeak(ScimViolation):
    title = "Data disclosed to an unauthorized request"


class TransportFailure(ScimViolation):
    title = "No usable HTTP response"


class Blocked(Exception):
    """A prerequisite failed (a user could not be created): the check could not run."""

    def __init__(self, reason: str, *, exchanges: Sequence[Exchange] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.exchanges: tuple[Exchange, ...] = tuple(exchanges)

    def __str__(self) -> str:
        return f"BLOCKED: {self.reason}"


class Unsupported(Skipped):
    """The server declares it does not support an optional (MAY) feature: skip with why."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"unsupported: {reason}", _use_item_location=True)
        self.reason = reason


class HarnessError(Exception):
    """A bug or misuse inside the harness; never reported as a server failure."""
