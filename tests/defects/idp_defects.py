"""Defects that break what real IdPs send (profiles/*.json), each in one way a real SCIM
server does: op names matched with case, "False" refused, a path-less replace ignored, a
member filter ignored, a remove-with-value that empties the group, a lookup miss answered
404, a create answered 200, a query flag on the base URL refused, ...

`ParamProof` proves one parametrization of an IdP check (`test_idp_update[entra]`,
`test_quirk_rfc_strict[entra-string-booleans]`), so each profile and quirk has its own.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from defects.catalog import Defect, EditJson, Exchange, IgnoreWrite, ReplaceBody, RewriteStatus
from defects.patch_defects import (
    EditRequest,
    OnBody,
    Refuse,
    drop_pathless,
    drop_remove_values,
    keep_first_op,
    on_ops,
    truncate_values,
)
from defects.proving import Proof

__all__ = [
    "ACTIVATION_IGNORED",
    "CASE_SENSITIVE_OPS",
    "COUNTERS_AS_STRINGS",
    "CREATE_ANSWERS_200",
    "CREATE_ANSWERS_EMPTY",
    "DELETE_IGNORED",
    "EMAIL_CHANGES_IGNORED",
    "FILTER_FINDS_NOTHING",
    "INACTIVE_HIDDEN_FROM_FILTER",
    "MEMBER_FILTER_REMOVE_IGNORED",
    "MISS_AS_404",
    "PATHLESS_IGNORED",
    "PUT_IGNORED",
    "REMOVE_WITH_VALUE_EMPTIES",
    "STRING_BOOLEANS_REFUSED",
    "MissAs404",
    "ParamProof",
    "RefuseUntypedMembers",
    "StartIndexIgnored",
]

USER = "/Users/.+"
GROUP = "/Groups/.+"
OP = r'"op"\s*:\s*"'
ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"


@dataclass(frozen=True)
class ParamProof(Proof):
    """A proof of one parametrization (`param` is the id inside the brackets)."""

    param: str = ""

    @property
    def target(self) -> str:
        return f"{super().target}[{self.param}]"

    def owns(self, nodeid: str) -> bool:
        return super().owns(nodeid) and nodeid.endswith(f"[{self.param}]")


def _error(exchange: Exchange, status: int, detail: str) -> None:
    body = {"schemas": [ERROR_URN], "status": str(status), "detail": detail}
    exchange.status = status
    exchange.response_headers = []
    exchange.set_response_body(json.dumps(body).encode(), "application/scim+json")


@dataclass(frozen=True)
class MissAs404(Defect):
    """A filter that matches nothing answers 404 with an Error, not an empty ListResponse."""

    def rewrite_response(self, exchange: Exchange) -> None:
        try:
            body = json.loads(exchange.response_body)
        except ValueError:
            return
        if exchange.status == 200 and isinstance(body, dict) and body.get("totalResults") == 0:
            _error(exchange, 404, "no such resource")


def _counters_as_strings(body: Any) -> Any:
    if isinstance(body, dict):
        for key in ("totalResults", "startIndex", "itemsPerPage"):
            if isinstance(body.get(key), int):
                body[key] = str(body[key])
    return body


def _nothing_found(body: Any) -> Any:
    if isinstance(body, dict) and "Resources" in body:
        body.update({"totalResults": 0, "Resources": [], "itemsPerPage": 0})
    return body


def _hide_inactive(body: Any) -> Any:
    if isinstance(body, dict) and isinstance(body.get("Resources"), list):
        kept = [
            r for r in body["Resources"] if not (isinstance(r, dict) and r.get("active") is False)
        ]
        body.update({"Resources": kept, "totalResults": len(kept), "itemsPerPage": len(kept)})
    return body


def _drop_email_ops(op: dict[str, Any]) -> list[dict[str, Any]]:
    return [] if str(op.get("path", "")).lower().startswith("emails") else [op]


def _drop_emails(body: Any) -> Any:
    if isinstance(body, dict):
        if isinstance(body.get("Operations"), list):
            return on_ops(_drop_email_ops)(body)
        body.pop("emails", None)
    return body


def _members_back(body: Any) -> Any:
    if isinstance(body, dict) and "members" not in body and "displayName" in body:
        body["members"] = [{"value": "excluded-but-sent"}]
    return body


def _drop_manager(body: Any) -> Any:
    extension = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    if isinstance(body, dict) and isinstance(body.get(extension), dict):
        body[extension].pop("manager", None)
    return body


def _string_true_as_false(body: Any) -> Any:
    if isinstance(body, dict) and body.get("active") == "true":
        body["active"] = False
    return body


def _legacy_core_drops_name(body: Any) -> Any:
    if isinstance(body, dict) and "urn:scim:schemas:core:1.0" in (body.get("schemas") or []):
        body.pop("name", None)
    return body


@dataclass(frozen=True)
class RefuseUntypedMembers(Defect):
    """A server that needs each member's type (User or Group) and refuses members without."""

    def rewrite_request(self, exchange: Exchange, token: str) -> None:
        try:
            body = json.loads(exchange.body)
        except ValueError:
            return
        ops = body.get("Operations") if isinstance(body, dict) else None
        exchange.notes["untyped"] = any(
            isinstance(op, dict)
            and str(op.get("path", "")).lower() == "members"
            and isinstance(op.get("value"), list)
            and any(isinstance(m, dict) and "type" not in m for m in op["value"])
            for op in ops or []
        )

    def forward(self, exchange: Exchange) -> bool:
        return not exchange.notes.get("untyped")

    def rewrite_response(self, exchange: Exchange) -> None:
        if exchange.notes.get("untyped"):
            _error(exchange, 400, "members need a type")


@dataclass(frozen=True)
class StartIndexIgnored(Defect):
    """Every page is the first page: the startIndex of the request is ignored."""

    def rewrite_request(self, exchange: Exchange, token: str) -> None:
        exchange.query = re.sub(r"(^|&)startIndex=\d+", r"\1startIndex=1", exchange.query)


def _drop_single_emails(body: Any) -> Any:
    if isinstance(body, dict) and isinstance(body.get("emails"), dict):
        body.pop("emails")
    return body


# -- lifecycle defects ------------------------------------------------------------------------

MISS_AS_404 = MissAs404("GET", "/Users", query="filter")
CREATE_ANSWERS_EMPTY = ReplaceBody("POST", "/Users", body=b"")
CREATE_ANSWERS_200 = RewriteStatus("POST", "/Users", from_status=201, to_status=200)
CASE_SENSITIVE_OPS = OnBody(
    "PATCH", ".+", pattern=OP + "[A-Z]", inner=Refuse(scim_type="invalidSyntax")
)
STRING_BOOLEANS_REFUSED = OnBody(
    "PATCH", USER, pattern=r'"value"\s*:\s*"(False|True)"', inner=Refuse(scim_type="invalidValue")
)
PUT_IGNORED = IgnoreWrite("PUT", USER)
PATHLESS_IGNORED = EditRequest("PATCH", ".+", name="path-less values ignored", edit=drop_pathless)
EMAIL_CHANGES_IGNORED = EditRequest("*", USER, name="email changes ignored", edit=_drop_emails)
INACTIVE_HIDDEN_FROM_FILTER = EditJson(
    "GET", "/Users", query="filter", name="inactive users hidden", edit=_hide_inactive
)
ACTIVATION_IGNORED = OnBody(
    "*",
    USER,
    pattern=r'"active"\s*:\s*true|"value"\s*:\s*"True"|'
    r'"path"\s*:\s*"active"\s*,\s*"value"\s*:\s*true',
    inner=IgnoreWrite(),
)
DELETE_IGNORED = IgnoreWrite("DELETE", USER, success_status=204)
REMOVE_WITH_VALUE_EMPTIES = EditRequest(
    "PATCH", GROUP, name="remove value ignored: group emptied", edit=drop_remove_values
)
MEMBER_FILTER_REMOVE_IGNORED = OnBody(
    "PATCH", GROUP, pattern=r"members\[value eq", inner=IgnoreWrite()
)
COUNTERS_AS_STRINGS = EditJson(
    "GET", "/(Users|Groups)", name="counters as strings", edit=_counters_as_strings
)
START_INDEX_IGNORED = StartIndexIgnored("GET", "/(Users|Groups)")
FILTER_FINDS_NOTHING = EditJson(
    "GET", "/Users", query="filter", name="filter finds nothing", edit=_nothing_found
)

# -- quirk defects: "refused cleanly" (works-with-IdP fails) / "accepted, ignored" (both fail) --

CAPITALISED_OP_IGNORED = OnBody("PATCH", USER, pattern=OP + "Replace", inner=IgnoreWrite())
STRING_FALSE_IGNORED = OnBody("PATCH", USER, pattern=r'"value"\s*:\s*"False"', inner=IgnoreWrite())
ADD_IGNORED = OnBody("PATCH", USER, pattern=OP + "Add", inner=IgnoreWrite())
FILTERED_PATH_REFUSED = OnBody(
    "PATCH", USER, pattern=r"\[type eq", inner=Refuse(scim_type="invalidPath")
)
FILTERED_PATH_IGNORED = OnBody("PATCH", USER, pattern=r"\[type eq", inner=IgnoreWrite())
URN_PATH_IGNORED = OnBody(
    "PATCH", USER, pattern=r"enterprise:2\.0:User:department", inner=IgnoreWrite()
)
REMOVE_IGNORED = OnBody("PATCH", GROUP, pattern=OP + "[Rr]emove", inner=IgnoreWrite())
FIRST_MEMBER_ONLY = EditRequest("PATCH", GROUP, name="first value only", edit=truncate_values(1))
MANAGER_STRING_REFUSED = OnBody(
    "POST", "/Users", pattern=r'"manager"\s*:\s*"', inner=Refuse(scim_type="invalidValue")
)
MANAGER_STRING_DROPPED = EditRequest(
    "POST", "/Users", name="string manager dropped", edit=_drop_manager
)
NULLS_REFUSED = OnBody(
    "POST", "/Users", pattern=r":\s*null", inner=Refuse(scim_type="invalidValue")
)
QUERY_FLAG_REFUSED = Refuse("GET", "/Users", query="aadOptscim062020", scim_type="invalidSyntax")
QUERY_FLAG_NOT_FOUND = Refuse("GET", "/Users", query="aadOptscim062020", status=404, scim_type=None)
DOTTED_KEYS_REFUSED = OnBody(
    "PATCH", USER, pattern=r'"name\.givenName"', inner=Refuse(scim_type="invalidPath")
)
EXCLUDED_MEMBERS_SENT = EditJson(
    "GET", GROUP, query="excludedAttributes", name="members sent anyway", edit=_members_back
)
MANAGER_PATH_IGNORED = OnBody("PATCH", USER, pattern=r'User:manager"', inner=IgnoreWrite())
EMPTY_MANAGER_REFUSED = OnBody(
    "PATCH", USER, pattern=r'User:manager", "value": ""', inner=Refuse(scim_type="invalidValue")
)
EMPTY_MANAGER_IGNORED = OnBody(
    "PATCH", USER, pattern=r'User:manager", "value": ""', inner=IgnoreWrite()
)
CAPITAL_SUB_ATTRIBUTE_REFUSED = OnBody(
    "PATCH", USER, pattern=r"\]\.Value", inner=Refuse(scim_type="invalidPath")
)
CASE_SENSITIVE_USERNAME_FILTER = EditJson(
    "GET", "/Users", query="SCIMTEST", name="userName compared with case", edit=_nothing_found
)
ROLE_ADD_IGNORED = OnBody("PATCH", USER, pattern=r'"path": "roles"', inner=IgnoreWrite())
EMAILS_OBJECT_REFUSED = OnBody(
    "POST", "/Users", pattern=r'"emails": \{', inner=Refuse(scim_type="invalidSyntax")
)
EMAILS_OBJECT_DROPPED = EditRequest(
    "POST", "/Users", name="emails object dropped", edit=_drop_single_emails
)
UNQUOTED_FILTER_REFUSED = Refuse(
    "GET", "/Users", query=r"filter=externalId\+eq\+[^%+]", scim_type="invalidFilter"
)
UNQUOTED_FILTER_MATCHES_NOTHING = EditJson(
    "GET", "/Users", query=r"filter=externalId\+eq\+[^%+]", name="bare value", edit=_nothing_found
)
UNTYPED_MEMBERS_REFUSED = RefuseUntypedMembers("PATCH", GROUP)
ONLY_FIRST_OP = EditRequest("PATCH", GROUP, name="first operation only", edit=keep_first_op)
GROUPS_IN_CREATE_REFUSED = OnBody(
    "POST", "/Users", pattern=r'"groups"\s*:\s*\[\]', inner=Refuse(scim_type="mutability")
)
META_IN_PUT_REFUSED = OnBody("PUT", USER, pattern=r'"meta"', inner=Refuse(scim_type="mutability"))
ID_IN_VALUE_REFUSED = OnBody(
    "PATCH", GROUP, pattern=r'"value"\s*:\s*\{\s*"id"', inner=Refuse(scim_type="mutability")
)
ID_IN_VALUE_IGNORED = OnBody(
    "PATCH", GROUP, pattern=r'"value"\s*:\s*\{\s*"id"', inner=IgnoreWrite()
)
LEGACY_URNS_REFUSED = OnBody(
    "PUT", USER, pattern=r"urn:scim:schemas:core:2\.0", inner=Refuse(scim_type="invalidValue")
)
LEGACY_URNS_IGNORED = OnBody(
    "PUT", USER, pattern=r"urn:scim:schemas:core:2\.0", inner=IgnoreWrite()
)
TRAILING_AMPERSAND_REFUSED = Refuse("GET", "/Users", query="&$", scim_type="invalidFilter")
TRAILING_AMPERSAND_NOT_FOUND = Refuse("GET", "/Users", query="&$", status=404, scim_type=None)
STRING_ACTIVE_REFUSED = OnBody(
    "POST", "/Users", pattern=r'"active"\s*:\s*"true"', inner=Refuse(scim_type="invalidValue")
)
STRING_ACTIVE_AS_FALSE = EditRequest(
    "POST", "/Users", name='"true" read as false', edit=_string_true_as_false
)
CORE_1_0_REFUSED = OnBody(
    "POST", "/Users", pattern=r"urn:scim:schemas:core:1\.0", inner=Refuse(scim_type="invalidValue")
)
CORE_1_0_DROPS_NAME = EditRequest(
    "POST", "/Users", name="1.0 template: name dropped", edit=_legacy_core_drops_name
)
