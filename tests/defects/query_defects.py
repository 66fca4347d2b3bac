"""Defects of the query area (RFC 7644 3.4.2 and 3.4.3): each breaks filtering, sorting,
paging or attribute selection in exactly one way, as middleware around the reference app.

Request-side defects rewrite the query parameters (GET) or the SearchRequest members
(POST .search) before the app sees them; `QuerySwitchboard` forwards a rewritten query
string (the shared `Switchboard` forwards the original one).
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.types import Scope

from defects.catalog import Defect, Exchange, Switchboard
from defects.proving import TOKEN, Proof, Reference
from defects.serve import serve

__all__ = [
    "CaseInsensitiveEq",
    "EditParam",
    "NoMatchIs404",
    "QuerySwitchboard",
    "Refuse",
    "RewriteFilter",
    "by_defect",
    "error_body",
    "list_edit",
    "prove_together",
    "served_query_reference",
]

ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"


def error_body(status: int, scim_type: str | None = None) -> bytes:
    body: dict[str, Any] = {"schemas": [ERROR_URN], "status": str(status),
                            "detail": "injected defect"}  # fmt: skip
    if scim_type:
        body["scimType"] = scim_type
    return json.dumps(body).encode()


class QuerySwitchboard(Switchboard):
    """The shared switchboard, forwarding the query string a defect rewrote."""

    async def _call_app(self, scope: Scope, exchange: Exchange) -> None:
        query = exchange.query.encode("latin-1")
        await super()._call_app(dict(scope, query_string=query), exchange)


@contextmanager
def served_query_reference(folder: Path) -> Iterator[Reference]:
    """The reference server behind a `QuerySwitchboard`."""
    from reference_server.app import create_app
    from reference_server.settings import ServerSettings

    app = create_app(
        ServerSettings(database_url=f"sqlite:///{folder / 'scim.db'}", bootstrap_token=TOKEN)
    )
    board = QuerySwitchboard(app, TOKEN)
    with serve(board) as url:
        yield Reference(url, board, folder)


def by_defect(proofs: list[Proof]) -> list[list[Proof]]:
    """Proofs grouped by equal defect, so one inner run serves every check of a group."""
    groups: dict[Defect, list[Proof]] = {}
    for proof in proofs:
        groups.setdefault(proof.defect, []).append(proof)
    return list(groups.values())


def prove_together(reference: Reference, proofs: list[Proof]) -> None:
    """`defects.proving.prove` for checks sharing one defect: each passes on the clean server
    and fails in a single run with the defect."""
    defect = proofs[0].defect
    assert all(p.defect == defect for p in proofs)
    for proof in proofs:
        mine = {n: r.outcome for n, r in reference.clean(proof.module).items() if proof.owns(n)}
        assert mine, f"{proof.check} is not in the shipped suite"
        assert all(o in ("passed", "skipped") for o in mine.values()), mine
        assert "passed" in mine.values(), f"{proof.check} never passes on the clean server: {mine}"
    broken = reference.run_with(defect, [p.target for p in proofs])
    for proof in proofs:
        outcomes = {n: (r.outcome, r.reason[:300]) for n, r in broken.items() if proof.owns(n)}
        assert any(o == "failed" for o, _ in outcomes.values()), (
            f"{proof.check} did not fail with {defect.label}: {outcomes}"
        )


def _edit_request(exchange: Exchange, name: str, edit: Callable[[str | None], str | None]) -> None:
    """Apply `edit` to one query parameter, or to one SearchRequest member on POST."""
    if exchange.method.upper() == "POST":
        try:
            body = json.loads(exchange.body or b"{}")
        except ValueError:
            return
        if not isinstance(body, dict):
            return
        current = body.get(name)
        shown = ",".join(current) if isinstance(current, list) else current
        new = edit(None if shown is None else str(shown))
        if new is None:
            body.pop(name, None)
        elif name in ("attributes", "excludedAttributes"):
            body[name] = new.split(",")
        elif name in ("startIndex", "count") and re.fullmatch(r"-?\d+", new):
            body[name] = int(new)
        else:
            body[name] = new
        exchange.body = json.dumps(body).encode()
        return
    pairs = urllib.parse.parse_qsl(exchange.query, keep_blank_values=True)
    found = [v for k, v in pairs if k == name]
    new = edit(found[0] if found else None)
    pairs = [(k, v) for k, v in pairs if k != name]
    if new is not None:
        pairs.append((name, new))
    exchange.query = urllib.parse.urlencode(pairs)


@dataclass(frozen=True)
class RewriteFilter(Defect):
    """Rewrite the filter text (regex) before evaluating it: a mis-parsed or mis-read filter."""

    pattern: str = ""
    replacement: str = ""

    @property
    def label(self) -> str:
        return f"RewriteFilter({self.method} {self.path}: {self.pattern!r} -> {self.replacement!r})"

    def rewrite_request(self, exchange: Exchange, token: str) -> None:
        def edit(value: str | None) -> str | None:
            return None if value is None else re.sub(self.pattern, self.replacement, value)

        _edit_request(exchange, "filter", edit)


@dataclass(frozen=True)
class EditParam(Defect):
    """Rewrite one query parameter (regex on its value; `drop` removes it, `add` sets it when
    absent): count ignored, startIndex off by one, excludedAttributes ignored, and so on."""

    param: str = "count"
    pattern: str = ".*"
    replacement: str = ""
    drop: bool = False
    add: str | None = None
    shift: int = 0

    @property
    def label(self) -> str:
        how = (
            "drop"
            if self.drop
            else f"add {self.add}"
            if self.add
            else f"shift {self.shift}"
            if self.shift
            else f"{self.pattern!r} -> {self.replacement!r}"
        )
        return f"EditParam({self.method} {self.path}: {self.param} {how})"  # fmt: skip

    def rewrite_request(self, exchange: Exchange, token: str) -> None:
        def edit(value: str | None) -> str | None:
            if value is None:
                return self.add
            if self.drop:
                return None
            if self.shift and re.fullmatch(r"-?\d+", value):
                return str(int(value) + self.shift)
            if self.shift:
                return value
            return re.sub(self.pattern, self.replacement, value)

        _edit_request(exchange, self.param, edit)


@dataclass(frozen=True)
class Refuse(Defect):
    """Answer 400 (with a scimType) instead of serving the request: a feature not supported."""

    status: int = 400
    scim_type: str | None = "invalidFilter"

    def forward(self, exchange: Exchange) -> bool:
        return False

    def rewrite_response(self, exchange: Exchange) -> None:
        exchange.status = self.status
        exchange.response_headers = [(b"content-type", b"application/scim+json")]
        exchange.set_response_body(error_body(self.status, self.scim_type))


def list_edit(edit: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]) -> Callable[[Any], Any]:
    """An EditJson edit that rewrites a ListResponse's Resources (the counts stay as sent)."""

    def apply(body: Any) -> Any:
        if isinstance(body, dict) and isinstance(body.get("Resources"), list):
            body = dict(body, Resources=edit(list(body["Resources"])))
        return body

    return apply


_EQ = r'(?i)\b{attr} eq "([^"]*)"'


@dataclass(frozen=True)
class CaseInsensitiveEq(Defect):
    """`<attribute> eq "v"` compares without case (wrong for a caseExact attribute)."""

    attribute: str = "externalId"
    notes_key: str = field(default="case-insensitive-eq", compare=False)

    def rewrite_request(self, exchange: Exchange, token: str) -> None:
        wanted: list[str] = []

        def edit(value: str | None) -> str | None:
            if value is None:
                return None
            pattern = _EQ.format(attr=re.escape(self.attribute))
            wanted.extend(m.group(1) for m in re.finditer(pattern, value))
            return re.sub(pattern, f"{self.attribute} pr", value)

        _edit_request(exchange, "filter", edit)
        exchange.notes[self.notes_key] = wanted

    def rewrite_response(self, exchange: Exchange) -> None:
        wanted = [w.casefold() for w in exchange.notes.get(self.notes_key, [])]
        if not wanted:
            return
        try:
            body = json.loads(exchange.response_body)
        except ValueError:
            return
        if not isinstance(body, dict) or not isinstance(body.get("Resources"), list):
            return
        key = self.attribute.lower()

        def value(resource: dict[str, Any]) -> str:
            found = next((v for k, v in resource.items() if k.lower() == key), "")
            return str(found).casefold()

        kept = [r for r in body["Resources"] if all(value(r) == w for w in wanted)]
        body.update(Resources=kept, totalResults=len(kept), itemsPerPage=len(kept))
        exchange.set_response_body(json.dumps(body).encode())


@dataclass(frozen=True)
class NoMatchIs404(Defect):
    """A filtered query or search without matches is answered 404 instead of 200 (the
    compliance issue that puts an Entra ID provisioning job in quarantine)."""

    def rewrite_request(self, exchange: Exchange, token: str) -> None:
        filtered = "filter=" in exchange.query
        if exchange.method.upper() == "POST":
            try:
                filtered = "filter" in json.loads(exchange.body or b"{}")
            except (ValueError, TypeError):
                filtered = False
        exchange.notes["filtered"] = filtered

    def rewrite_response(self, exchange: Exchange) -> None:
        try:
            body = json.loads(exchange.response_body)
        except ValueError:
            return
        if (
            exchange.notes.get("filtered")
            and isinstance(body, dict)
            and body.get("totalResults") == 0
        ):
            exchange.status = 404
            exchange.set_response_body(error_body(404))
