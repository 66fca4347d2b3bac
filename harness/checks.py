"""`@clause`: what makes a pytest test a SCIM check, plus the helpers checks assert with.

A check cites the catalogue's requirement ids (`rfc7644-3.5.2-must-3`, see
harness/requirements); the decorator derives RFC, section, keyword and area, adds the area
and keyword markers and records the check in a registry that refuses duplicate names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest

from harness.client import Response
from harness.validation.responses import ERROR_URN, RESPONSE_CHECKS
from harness.verdicts import ErrorBodyInvalid, HarnessError, Keyword, StatusMismatch

__all__ = [
    "AREAS",
    "REGISTRY",
    "ClauseInfo",
    "clause",
    "clause_of",
    "expect_scim_error",
    "expect_status",
    "parse_requirement_id",
    "shipped_checks",
    "without_response_checks",
]

F = TypeVar("F", bound=Callable[..., Any])

AREAS = (
    "auth",
    "errors",
    "discovery",
    "schema",
    "create",
    "read",
    "query",
    "search",
    "replace",
    "patch",
    "delete",
    "bulk",
    "etag",
    "me",
    "groups",
    "idp",
)
"""RFC areas; a suite module `test_<area>.py` belongs to `<area>` and gets its marker."""

_ID = re.compile(r"^rfc(?P<rfc>764[34])-(?P<section>\d+(?:\.\d+)*)-(?P<kw>must|should|may)-\d+$")


def parse_requirement_id(requirement_id: str) -> tuple[str, str, Keyword]:
    """`rfc7644-3.5.2-must-3` -> ("RFC7644", "3.5.2", MUST); HarnessError if malformed."""
    match = _ID.match(requirement_id)
    if not match:
        raise HarnessError(
            f"malformed requirement id {requirement_id!r}; expected e.g. rfc7644-3.5.2-must-3 "
            "(find ids with: python -m harness.requirements --help)"
        )
    return f"RFC{match['rfc']}", match["section"], Keyword.parse(match["kw"])


@dataclass(frozen=True, slots=True)
class ClauseInfo:
    """The metadata a check carries into markers, reports and coverage."""

    name: str  # module::function
    requirement_ids: tuple[str, ...]
    rfc: str
    section: str
    keyword: Keyword
    area: str
    doc: str
    location: tuple[str, int]

    @property
    def clause(self) -> str:
        return f"{self.rfc} {self.section}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "requirement_ids": list(self.requirement_ids),
            "rfc": self.rfc,
            "section": self.section,
            "clause": self.clause,
            "keyword": str(self.keyword),
            "area": self.area,
        }


class _Registry:
    """Every check defined in this process, by `module::function`; duplicates refused."""

    def __init__(self) -> None:
        self._checks: dict[str, ClauseInfo] = {}

    def add(self, info: ClauseInfo) -> None:
        known = self._checks.get(info.name)
        # Two definitions of one name in one file: the first would be silently shadowed.
        # (The same module name from another file is a re-import, e.g. under pytester.)
        if (
            known is not None
            and known.location[0] == info.location[0]
            and known.location != info.location
        ):
            raise HarnessError(
                f"duplicate check name {info.name}: {known.location} and {info.location}"
            )
        self._checks[info.name] = info

    def __iter__(self) -> Any:
        return iter(list(self._checks.values()))

    def __len__(self) -> int:
        return len(self._checks)

    def get(self, name: str) -> ClauseInfo | None:
        return self._checks.get(name)

    def all(self) -> Mapping[str, ClauseInfo]:
        return dict(self._checks)


REGISTRY = _Registry()


def _area_of(module: str) -> str:
    leaf = module.rsplit(".", 1)[-1]
    area = leaf.removeprefix("test_").split("_")[0]
    if area not in AREAS:
        raise HarnessError(f"{module}: suite modules are named test_<area>.py, area in {AREAS}")
    return area


def _section_key(section: str) -> tuple[int, ...]:
    return tuple(int(p) for p in section.split("."))


def clause(*requirement_ids: str, keyword: Keyword | str | None = None) -> Callable[[F], F]:
    """Mark a test as the check of these requirement ids (at least one).

    The keyword defaults to the strongest of the cited ids; the clause section shown in
    reports is the most specific section of the first cited RFC.
    """
    if not requirement_ids:
        raise HarnessError("@clause needs at least one requirement id")
    parsed = [parse_requirement_id(i) for i in requirement_ids]
    kw = Keyword.parse(keyword) if keyword else Keyword.strongest([p[2] for p in parsed])
    rfc = parsed[0][0]
    section = max((p[1] for p in parsed if p[0] == rfc), key=_section_key)

    def decorate(fn: F) -> F:
        code = fn.__code__
        info = ClauseInfo(
            name=f"{fn.__module__}::{fn.__qualname__}",
            requirement_ids=tuple(dict.fromkeys(requirement_ids)),
            rfc=rfc,
            section=section,
            keyword=kw,
            area=_area_of(fn.__module__),
            doc=(fn.__doc__ or "").strip(),
            location=(code.co_filename, code.co_firstlineno),
        )
        REGISTRY.add(info)
        fn.__scim_clause__ = info  # type: ignore[attr-defined]
        marked: F = getattr(pytest.mark, info.area)(fn)
        marked = getattr(pytest.mark, kw.value.lower())(marked)
        return marked

    return decorate


def shipped_checks() -> list[ClauseInfo]:
    """Every check of the suite shipped in harness/suite (imports its modules), by name."""
    import importlib
    from pathlib import Path

    suite = Path(__file__).parent / "suite"
    for module in sorted(suite.glob("test_*.py")):
        importlib.import_module(f"harness.suite.{module.stem}")
    inside = [i for i in REGISTRY if Path(i.location[0]).resolve().parent == suite.resolve()]
    return sorted(inside, key=lambda info: info.name)


def clause_of(obj: Any) -> ClauseInfo | None:
    """The ClauseInfo of a check function (or a pytest item's function), if any."""
    fn = getattr(obj, "function", obj)
    info = getattr(fn, "__scim_clause__", None)
    return info if isinstance(info, ClauseInfo) else None


def without_response_checks(*names: str) -> Callable[[F], F]:
    """Switch always-on response checks off for one check (e.g. a test sending bad media)."""
    unknown = sorted(set(names) - set(RESPONSE_CHECKS))
    if unknown or not names:
        raise HarnessError(f"unknown response checks {unknown}; known: {sorted(RESPONSE_CHECKS)}")

    def decorate(fn: F) -> F:
        marked: F = pytest.mark.scim_response_checks_off(*names)(fn)
        return marked

    return decorate


# -- assertions ------------------------------------------------------------------------------


def _codes(codes: tuple[int, ...]) -> str:
    if len(codes) > 4 and list(codes) == list(range(codes[0], codes[-1] + 1)):
        return f"{codes[0]}-{codes[-1]}"
    return " or ".join(str(c) for c in codes)


def expect_status(response: Response, *codes: int, clause: str = "", why: str = "") -> Response:
    """StatusMismatch unless the response's status is one of `codes`."""
    __tracebackhide__ = True
    if response.status in codes:
        return response
    wanted = _codes(codes)
    raise StatusMismatch(
        why or f"{response.exchange.method} answered {response.status}, expected {wanted}",
        clause=clause,
        expected=wanted,
        actual=str(response.status),
        exchanges=[response.exchange],
    )


def expect_scim_error(
    response: Response,
    status: int | Iterable[int],
    scim_type: str | Iterable[str] | None = None,
    *,
    clause: str = "",
) -> dict[str, Any]:
    """The response is a SCIM Error (RFC 7644 3.12) with this status and scimType."""
    __tracebackhide__ = True
    codes = (status,) if isinstance(status, int) else tuple(status)
    expect_status(response, *codes, clause=clause)
    body = response.json()
    problems = []
    if not isinstance(body, dict):
        body = {}
        problems.append("body is not a JSON object")
    elif ERROR_URN not in (body.get("schemas") or []):
        problems.append(f"schemas lacks {ERROR_URN}")
    if body.get("status") != str(response.status):
        problems.append(f'"status" is {body.get("status")!r}, not "{response.status}"')
    types = (scim_type,) if isinstance(scim_type, str) else tuple(scim_type or ())
    if types and body.get("scimType") not in types:
        problems.append(f'"scimType" is {body.get("scimType")!r}, expected {" or ".join(types)}')
    if problems:
        raise ErrorBodyInvalid(
            "; ".join(problems),
            clause=clause,
            expected=f"status {_codes(codes)}" + (f", scimType {'/'.join(types)}" if types else ""),
            actual=response.text[:300],
            exchanges=[response.exchange],
        )
    return body
