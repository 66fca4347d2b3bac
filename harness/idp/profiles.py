"""IdP profiles: the data files in `profiles/`, validated and turned into typed objects.

Every profile file passes `profiles/profile.schema.json`, and every `source` it cites names
one of its own `sources`. `profile_names()` only lists files (cheap enough for the plugin's
marker registration); `load_profile()` validates and parses.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

__all__ = [
    "OPERATIONS",
    "Expect",
    "Page",
    "Profile",
    "ProfileError",
    "Quirk",
    "RequestTemplate",
    "RetryPolicy",
    "load_profile",
    "profile_names",
    "profiles_dir",
]

OPERATIONS = (
    "probe",
    "lookup_user",
    "create_user",
    "update_user",
    "deactivate_user",
    "reactivate_user",
    "unassign_user",
    "delete_user",
    "lookup_group",
    "create_group",
    "add_members",
    "remove_members",
    "rename_group",
    "delete_group",
    "import_users",
    "import_groups",
)
SCHEMA_FILE = "profile.schema.json"


class ProfileError(ValueError):
    """A profile file that cannot be used: names the file and the JSON pointer."""


BUNDLED = Path(__file__).resolve().parent.parent.parent / "profiles"
# Where a non-editable install puts them (pyproject [tool.setuptools.data-files]).
INSTALLED = Path(sys.prefix) / "share" / "scim-conformance" / "profiles"


def profiles_dir() -> Path:
    """`SCIM_PROFILES_DIR`, else `profiles/` beside the `harness` package (a checkout or an
    editable install), else the copy a regular install keeps under `<prefix>/share`."""
    configured = os.environ.get("SCIM_PROFILES_DIR")
    if configured:
        return Path(configured)
    return BUNDLED if BUNDLED.is_dir() or not INSTALLED.is_dir() else INSTALLED


def profile_names(directory: Path | None = None) -> tuple[str, ...]:
    """Names of the profile files (no parsing), sorted."""
    folder = directory or profiles_dir()
    if not folder.is_dir():
        return ()
    return tuple(sorted(p.stem for p in folder.glob("*.json") if p.name != SCHEMA_FILE))


@dataclass(frozen=True, slots=True)
class Expect:
    """What the IdP needs from the answer to one request."""

    status: tuple[int, ...]
    absent_status: tuple[int, ...] = ()  # statuses read as "not found" (Okta's 404)
    fields: tuple[str, ...] = ()  # top-level response fields it reads
    list: bool = False  # a ListResponse with numeric counters
    source: str = ""


@dataclass(frozen=True, slots=True)
class Page:
    """Paging of a listing: startIndex from `start`, `count` per page."""

    count: int
    start: int = 1
    step: str = "returned"  # next startIndex: + items returned (RFC), or + count (Okta)


@dataclass(frozen=True, slots=True)
class RequestTemplate:
    """One request of an operation, before its placeholders are filled."""

    method: str
    path: str
    source: str
    expect: Expect
    params: Mapping[str, Any] = field(default_factory=dict)
    query: str | None = None  # a raw query string sent verbatim (OneLogin's trailing "&")
    body: Any = None
    has_body: bool = False
    headers: Mapping[str, str] = field(default_factory=dict)
    when: str | None = None  # "members": sent only with members; "no_members": only without
    page: Page | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How the IdP retries: which statuses, how many attempts in all, Retry-After or not."""

    statuses: tuple[int, ...]
    max_attempts: int
    retry_after: bool
    backoff: float
    source: str


@dataclass(frozen=True, slots=True, repr=False)
class Quirk:
    """One IdP habit sent on its own: the request, its effect, and what the RFC says of it."""

    id: str
    title: str
    operation: str
    setup: str
    request: RequestTemplate
    effect: Mapping[str, Any]
    rfc: str  # required | undefined | violation
    rfc_effects: tuple[Mapping[str, Any], ...]
    creates: str | None
    source: str
    why: str

    def __repr__(self) -> str:
        return f"<Quirk {self.id} ({self.rfc}; {self.source})>"


@dataclass(frozen=True, slots=True, repr=False)
class Profile:
    """One IdP: headers, retry policy, operations as request templates, quirks."""

    name: str
    title: str
    sources: Mapping[str, str]
    headers: Mapping[str, str]
    base_url_query: str | None
    retry: RetryPolicy
    unassign: str  # "deactivate" or "delete"
    operations: Mapping[str, tuple[RequestTemplate, ...]]
    quirks: tuple[Quirk, ...]
    raw: Mapping[str, Any] = field(repr=False, compare=False)
    path: Path | None = None

    def __repr__(self) -> str:
        return (
            f"<Profile {self.name}: {len(self.operations)} operations, {len(self.quirks)} quirks>"
        )

    def has(self, operation: str) -> bool:
        return bool(self.operations.get(operation))

    def quirk(self, quirk_id: str) -> Quirk:
        for quirk in self.quirks:
            if quirk.id == quirk_id:
                return quirk
        raise KeyError(f"profile {self.name} has no quirk {quirk_id!r}")


@cache
def _validator() -> Any:
    from jsonschema import Draft202012Validator

    schema = json.loads((BUNDLED / SCHEMA_FILE).read_text("utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _pointer(parts: Any) -> str:
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def validate_profile_data(data: Any, origin: str) -> None:
    """ProfileError naming `origin` and the JSON pointer of the first problem."""
    errors = sorted(_validator().iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        raise ProfileError(f"{origin}: {_pointer(first.absolute_path)}: {first.message}")
    known = set(data["sources"])
    for pointer, cited in _citations(data, ()):
        for key in [cited] if isinstance(cited, str) else cited:
            if key not in known:
                raise ProfileError(
                    f"{origin}: {_pointer(pointer)}: source {key!r} is not in /sources"
                )
    ids = [q["id"] for q in data.get("quirks", [])]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ProfileError(f"{origin}: /quirks: duplicate quirk ids {dupes}")


def _citations(node: Any, at: tuple[Any, ...]) -> list[tuple[tuple[Any, ...], Any]]:
    found: list[tuple[tuple[Any, ...], Any]] = []
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "source" and isinstance(value, str | list):
                found.append(((*at, key), value))
            elif key not in ("body", "sources"):
                found.extend(_citations(value, (*at, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(_citations(value, (*at, index)))
    return found


def _source(value: Any) -> str:
    return value if isinstance(value, str) else " ".join(value)


def _expect(raw: Mapping[str, Any], default_source: str) -> Expect:
    return Expect(
        status=tuple(raw["status"]),
        absent_status=tuple(raw.get("absent_status", ())),
        fields=tuple(raw.get("fields", ())),
        list=bool(raw.get("list", False)),
        source=_source(raw.get("source", default_source)),
    )


def _template(raw: Mapping[str, Any]) -> RequestTemplate:
    source = _source(raw["source"])
    page = raw.get("page")
    return RequestTemplate(
        method=raw["method"],
        path=raw["path"],
        source=source,
        expect=_expect(raw["expect"], source),
        params=dict(raw.get("params", {})),
        query=raw.get("query"),
        body=raw.get("body"),
        has_body="body" in raw,
        headers=dict(raw.get("headers", {})),
        when=raw.get("when"),
        page=Page(page["count"], page.get("start", 1), page.get("step", "returned"))
        if page
        else None,
        note=raw.get("note", ""),
    )


def _quirk(raw: Mapping[str, Any]) -> Quirk:
    return Quirk(
        id=raw["id"],
        title=raw["title"],
        operation=raw["operation"],
        setup=raw["setup"],
        request=_template(raw["request"]),
        effect=dict(raw.get("effect", {})),
        rfc=raw["rfc"],
        rfc_effects=tuple(dict(e) for e in raw.get("rfc_effects", ())),
        creates=raw.get("creates"),
        source=_source(raw["source"]),
        why=raw.get("why", ""),
    )


def parse_profile(data: Mapping[str, Any], path: Path | None = None) -> Profile:
    """A Profile from already validated data."""
    retry = data["retry"]
    query = data.get("base_url_query")
    return Profile(
        name=data["name"],
        title=data["title"],
        sources=dict(data["sources"]),
        headers={k: v["value"] for k, v in data.get("headers", {}).items()},
        base_url_query=query["flag"] if query else None,
        retry=RetryPolicy(
            statuses=tuple(retry["statuses"]),
            max_attempts=retry["max_attempts"],
            retry_after=retry["retry_after"],
            backoff=float(retry.get("backoff", 1.0)),
            source=_source(retry["source"]),
        ),
        unassign=data["unassign"]["action"],
        operations={
            name: tuple(_template(t) for t in templates)
            for name, templates in data["operations"].items()
        },
        quirks=tuple(_quirk(q) for q in data.get("quirks", ())),
        raw=data,
        path=path,
    )


def load_profile(name_or_path: str | Path) -> Profile:
    """Load and validate a profile by name (`okta`) or file path; ProfileError if unusable."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".json" or candidate.parent != Path("."):
        path = candidate
    else:
        path = profiles_dir() / f"{name_or_path}.json"
    if not path.is_file():
        known = ", ".join(profile_names()) or "none"
        raise ProfileError(f"{path}: no such profile file (known profiles: {known})")
    try:
        data = json.loads(path.read_text("utf-8"))
    except ValueError as exc:
        raise ProfileError(f"{path}: not valid JSON: {exc}") from exc
    validate_profile_data(data, str(path))
    if data["name"] != path.stem:
        raise ProfileError(f"{path}: /name: {data['name']!r} differs from the file name")
    return parse_profile(data, path)
