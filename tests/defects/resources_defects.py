"""Defects for the resource checks (schema, create, read, replace, delete).

Each one breaks the reference server in one way a real SCIM server does: it edits the JSON a
client sends before the app sees it, stores what it should ignore, keeps what a write
should clear, or keeps deleted resources around. Stateful ones remember what they saw in
earlier exchanges (by resource id) in a dict that each proof's fresh instance owns.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from defects.catalog import Defect, Exchange

__all__ = [
    "EchoClientId",
    "EditExchange",
    "EditRequest",
    "ForgetDeletion",
    "IgnoreBody",
    "ImmutableStandIn",
    "JoinGroupsFromUserBody",
    "RefuseBody",
    "StatusThenEdit",
    "Sticky",
    "Tombstone",
]

ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"
CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
_ITEM = re.compile(r"^/(Users|Groups)/([^/]+)$")


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _error(exchange: Exchange, status: int, detail: str, scim_type: str | None = None) -> None:
    body: dict[str, Any] = {"schemas": [ERROR_URN], "status": str(status), "detail": detail}
    if scim_type:
        body["scimType"] = scim_type
    exchange.status = status
    exchange.response_headers = []
    exchange.set_response_body(json.dumps(body).encode(), "application/scim+json")


def _item(exchange: Exchange) -> tuple[str, str] | None:
    match = _ITEM.match(exchange.path)
    return (match[1], match[2]) if match else None


@dataclass(frozen=True)
class EditRequest(Defect):
    """Transform the JSON request body with `edit` before the reference app sees it (and,
    with `after`, the JSON response too)."""

    name: str = "edit"
    edit: Callable[[Any], Any] = field(default=lambda body: body, compare=False)
    after: Callable[[Any], Any] | None = field(default=None, compare=False)

    @property
    def label(self) -> str:
        return f"EditRequest({self.method} {self.path}: {self.name})"

    def rewrite_request(self, exchange: Exchange, token: str) -> None:
        body = _json(exchange.body)
        if body is not None:
            exchange.body = json.dumps(self.edit(body)).encode()

    def rewrite_response(self, exchange: Exchange) -> None:
        body = _json(exchange.response_body)
        if self.after is not None and body is not None:
            exchange.set_response_body(json.dumps(self.after(body)).encode())


@dataclass(frozen=True)
class EditExchange(Defect):
    """Transform the JSON response with `edit(request_json, response_json, exchange)`; it
    also sees exchanges without a JSON body (response_json None), e.g. a DELETE's 204."""

    name: str = "edit"
    edit: Callable[[Any, Any, Exchange], Any] = field(default=lambda q, r, e: r, compare=False)

    @property
    def label(self) -> str:
        return f"EditExchange({self.method} {self.path}: {self.name})"

    def rewrite_response(self, exchange: Exchange) -> None:
        body = _json(exchange.response_body)
        edited = self.edit(_json(exchange.body), body, exchange)  # body None: e.g. a 204
        if body is not None and edited is not None:
            exchange.set_response_body(json.dumps(edited).encode())


@dataclass(frozen=True)
class EchoClientId(Defect):
    """Answer a write with the id the client put in the body (as if it had taken it)."""

    @property
    def label(self) -> str:
        return f"EchoClientId({self.method} {self.path})"

    def rewrite_response(self, exchange: Exchange) -> None:
        sent, body = _json(exchange.body), _json(exchange.response_body)
        if isinstance(sent, dict) and isinstance(body, dict) and sent.get("id"):
            body["id"] = sent["id"]
            exchange.set_response_body(json.dumps(body).encode())


@dataclass(frozen=True)
class RefuseBody(Defect):
    """Refuse (400) requests whose JSON body matches `when`, without calling the app."""

    name: str = "refuse"
    when: Callable[[Any], bool] = field(default=lambda body: True, compare=False)
    status: int = 400
    scim_type: str = "invalidValue"

    @property
    def label(self) -> str:
        return f"RefuseBody({self.method} {self.path}: {self.name})"

    def rewrite_request(self, exchange: Exchange, token: str) -> None:
        exchange.notes["refused"] = bool(self.when(_json(exchange.body)))

    def forward(self, exchange: Exchange) -> bool:
        return not exchange.notes.get("refused")

    def rewrite_response(self, exchange: Exchange) -> None:
        if exchange.notes.get("refused"):
            _error(exchange, self.status, f"refused: {self.name}", self.scim_type)


@dataclass(frozen=True)
class IgnoreBody(Defect):
    """Answer a write whose JSON body matches `when` as if it worked (200, the resource's
    current state) and apply nothing; other writes are served as usual."""

    name: str = "ignore"
    when: Callable[[Any], bool] = field(default=lambda body: True, compare=False)

    @property
    def label(self) -> str:
        return f"IgnoreBody({self.method} {self.path}: {self.name})"

    def rewrite_request(self, exchange: Exchange, token: str) -> None:
        if self.when(_json(exchange.body)):
            exchange.method = "GET"
            exchange.body = b""


@dataclass(frozen=True)
class ImmutableStandIn(Defect):
    """A stand-in for a server with a single-valued immutable string attribute.

    Its /Schemas publish the User attribute `attribute` (one the reference server stores
    and returns as sent, e.g. nickName) as "immutable". With `enforce`, it keeps that
    promise itself (RFC 7643 section 7, RFC 7644 section 3.5.1): a PUT to /Users/{id} that
    sends another value than the stored one gets 400 mutability and changes nothing, and a
    PUT that leaves it out keeps it. Without `enforce`, it is the defect: published
    immutable, replaced like any readWrite attribute. Must apply to every exchange
    (method "*", path ".*"): it learns stored values from the responses it sees.
    """

    attribute: str = "nickName"
    enforce: bool = True
    stored: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def label(self) -> str:
        how = "enforced" if self.enforce else "NOT enforced"
        return f"ImmutableStandIn(User {self.attribute} published immutable, {how})"

    def _publish(self, schema: Any) -> None:
        if not isinstance(schema, dict) or schema.get("id") != CORE_USER:
            return
        for attr in schema.get("attributes") or []:
            if isinstance(attr, dict) and attr.get("name") == self.attribute:
                attr["mutability"] = "immutable"

    def rewrite_request(self, exchange: Exchange, token: str) -> None:
        item = _item(exchange)
        sent = _json(exchange.body)
        if not self.enforce or exchange.method != "PUT" or not item or item[0] != "Users":
            return
        if not isinstance(sent, dict) or item[1] not in self.stored:
            return
        kept = self.stored[item[1]]
        if sent.get(self.attribute) is None:
            sent[self.attribute] = kept  # left out of a PUT: an immutable value is kept
            exchange.body = json.dumps(sent).encode()
        elif sent[self.attribute] != kept:
            exchange.notes["refused"] = True

    def forward(self, exchange: Exchange) -> bool:
        return not exchange.notes.get("refused")

    def rewrite_response(self, exchange: Exchange) -> None:
        if exchange.notes.get("refused"):
            _error(exchange, 400, f"{self.attribute} is immutable", "mutability")
            return
        body = _json(exchange.response_body)
        if exchange.path.startswith("/Schemas") and isinstance(body, dict):
            for schema in body.get("Resources") or [body]:
                self._publish(schema)
            exchange.set_response_body(json.dumps(body).encode())
            return
        if not exchange.path.startswith("/Users") or exchange.status not in (200, 201):
            return
        if isinstance(body, dict) and body.get("id") and body.get(self.attribute) is not None:
            self.stored[str(body["id"])] = body[self.attribute]


@dataclass(frozen=True)
class StatusThenEdit(Defect):
    """Answer `to_status` where the app said `from_status`; edit GET bodies with `edit`."""

    name: str = "edit"
    from_status: int = 400
    to_status: int = 200
    write_method: str = "PUT"
    edit: Callable[[Any], Any] = field(default=lambda body: body, compare=False)

    @property
    def label(self) -> str:
        return (
            f"StatusThenEdit({self.write_method} {self.from_status}->{self.to_status}: {self.name})"
        )

    def rewrite_response(self, exchange: Exchange) -> None:
        if exchange.method == self.write_method and exchange.status == self.from_status:
            exchange.status = self.to_status
        elif exchange.method == "GET" and exchange.status == 200:
            body = _json(exchange.response_body)
            if isinstance(body, dict):
                exchange.set_response_body(json.dumps(self.edit(body)).encode())


@dataclass(frozen=True)
class Sticky(Defect):
    """Never clear `attribute`: a GET that lacks it gets back the last value ever returned."""

    attribute: str = "title"
    seen: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def rewrite_response(self, exchange: Exchange) -> None:
        body = _json(exchange.response_body)
        if not isinstance(body, dict) or not body.get("id"):
            return
        rid = str(body["id"])
        if body.get(self.attribute) not in (None, [], ""):
            self.seen[rid] = body[self.attribute]
        elif exchange.method == "GET" and rid in self.seen:
            body[self.attribute] = self.seen[rid]
            exchange.set_response_body(json.dumps(body).encode())


@dataclass(frozen=True)
class JoinGroupsFromUserBody(Defect):
    """Honour a readOnly "groups" in User writes: GET of those groups lists the user."""

    joined: dict[str, list[str]] = field(default_factory=dict, compare=False, repr=False)

    def rewrite_response(self, exchange: Exchange) -> None:
        sent, body = _json(exchange.body), _json(exchange.response_body)
        if exchange.method in ("POST", "PUT") and exchange.path.startswith("/Users"):
            if isinstance(sent, dict) and isinstance(body, dict) and body.get("id"):
                for group in sent.get("groups") or []:
                    if isinstance(group, dict) and group.get("value"):
                        self.joined.setdefault(str(group["value"]), []).append(str(body["id"]))
            return
        item = _item(exchange)
        if exchange.method == "GET" and item and item[0] == "Groups" and isinstance(body, dict):
            extra = [{"value": uid, "type": "User"} for uid in self.joined.get(item[1], [])]
            if extra:
                body["members"] = [*(body.get("members") or []), *extra]
                exchange.set_response_body(json.dumps(body).encode())


@dataclass(frozen=True)
class ForgetDeletion(Defect):
    """Deleting a User or Group does not touch memberships.

    Remembers memberships from Group writes; after a DELETE, GETs still show the deleted
    resource in the other side's memberships.
    """

    members: dict[str, list[str]] = field(default_factory=dict, compare=False, repr=False)
    deleted: set[str] = field(default_factory=set, compare=False, repr=False)

    def rewrite_response(self, exchange: Exchange) -> None:
        body = _json(exchange.response_body)
        item = _item(exchange)
        if exchange.method in ("POST", "PUT") and isinstance(body, dict) and body.get("id"):
            if exchange.path.startswith("/Groups"):
                values = [str(m.get("value")) for m in body.get("members") or []]
                self.members[str(body["id"])] = values
            return
        if exchange.method == "DELETE" and item and exchange.status in (200, 204):
            self.deleted.add(item[1])
            return
        if exchange.method != "GET" or not item or not isinstance(body, dict):
            return
        kind, rid = item
        if kind == "Groups":
            ghosts = [u for u in self.members.get(rid, []) if u in self.deleted]
            present = {str(m.get("value")) for m in body.get("members") or []}
            extra = [{"value": u, "type": "User"} for u in ghosts if u not in present]
            if extra:
                body["members"] = [*(body.get("members") or []), *extra]
                exchange.set_response_body(json.dumps(body).encode())
        elif kind == "Users":
            gone = [g for g, us in self.members.items() if g in self.deleted and rid in us]
            if gone:
                body["groups"] = [*(body.get("groups") or []),
                                  *({"value": g, "type": "direct"} for g in gone)]  # fmt: skip
                exchange.set_response_body(json.dumps(body).encode())


@dataclass(frozen=True)
class Tombstone(Defect):
    """A deleted User's userName stays taken: creating it again answers 409."""

    names: dict[str, str] = field(default_factory=dict, compare=False, repr=False)
    taken: set[str] = field(default_factory=set, compare=False, repr=False)

    def rewrite_request(self, exchange: Exchange, token: str) -> None:
        sent = _json(exchange.body)
        exchange.notes["refused"] = (
            exchange.method == "POST"
            and isinstance(sent, dict)
            and str(sent.get("userName", "")).lower() in self.taken
        )

    def forward(self, exchange: Exchange) -> bool:
        return not exchange.notes.get("refused")

    def rewrite_response(self, exchange: Exchange) -> None:
        if exchange.notes.get("refused"):
            _error(exchange, 409, "userName already exists", "uniqueness")
            return
        body = _json(exchange.response_body)
        item = _item(exchange)
        if isinstance(body, dict) and body.get("id") and body.get("userName"):
            self.names[str(body["id"])] = str(body["userName"]).lower()
        if exchange.method == "DELETE" and item and item[1] in self.names:
            self.taken.add(self.names[item[1]])
