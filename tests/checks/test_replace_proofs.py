"""Proofs for harness/suite/test_replace.py: each check fails against its defect.

One check cannot pass on the bare reference server: test_put_cannot_change_an_immutable_attribute
skips there (RFC 7643 publishes no single-valued immutable string attribute on User/Group).
Its clean side is a stand-in (STAND_INS): the reference server publishing User nickName as
immutable and enforcing it; its defect is the same publication without the enforcement.
"""

from __future__ import annotations

from typing import Any

import pytest
from defects.batched import BatchedProver
from defects.catalog import Defect, EditJson, IgnoreWrite, RewriteStatus
from defects.proving import Proof, Reference
from defects.resources_defects import (
    EchoClientId,
    EditRequest,
    IgnoreBody,
    ImmutableStandIn,
    JoinGroupsFromUserBody,
    RefuseBody,
    StatusThenEdit,
    Sticky,
)

USER = "/Users/[^/]+"
GROUP = "/Groups/[^/]+"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LEGACY_SCHEMAS = ["urn:scim:schemas:core:2.0", "urn:scim:schemas:extension:enterprise:2.0"]


def _drop(*keys: str) -> Any:
    def edit(body: Any) -> Any:
        return {k: v for k, v in body.items() if k not in keys} if isinstance(body, dict) else body

    return edit


def _stale_display_name(body: Any) -> Any:
    if isinstance(body, dict) and "displayName" in body:
        body["displayName"] = "Scimtest Stale Name"
    return body


def _merge_emails(body: Any) -> Any:
    if isinstance(body, dict) and isinstance(body.get("emails"), list):
        body["emails"] = [*body["emails"], {"value": "old@example.org", "type": "work"}]
    return body


def _meta(key: str, value: str) -> Any:
    def edit(body: Any) -> Any:
        if isinstance(body, dict) and isinstance(body.get("meta"), dict):
            body["meta"][key] = value
        return body

    return edit


def _carries_read_only(body: Any) -> bool:
    return isinstance(body, dict) and ("meta" in body or "id" in body)


def _shouted_user_name(body: Any) -> bool:
    name = str(body.get("userName", "")) if isinstance(body, dict) else ""
    return bool(name) and name == name.upper() and name != name.lower()


def _active_string(body: Any) -> Any:
    if isinstance(body, dict) and isinstance(body.get("active"), bool):
        body["active"] = str(body["active"]).lower()
    return body


def _legacy_schemas(body: Any) -> bool:
    sent = body.get("schemas") if isinstance(body, dict) else None
    return isinstance(sent, list) and any(str(s).lower() in LEGACY_SCHEMAS for s in sent)


def _stored_legacy_schemas(body: Any) -> Any:
    if isinstance(body, dict) and isinstance(body.get("schemas"), list):
        body["schemas"] = [*body["schemas"], *LEGACY_SCHEMAS]
    return body


def _echo_password(body: Any) -> Any:
    if isinstance(body, dict) and body.get("id"):
        body["password"] = "Scimtest-stored-in-clear"
    return body


PROOFS = [
    Proof("test_replace::test_put_replaces_attributes", IgnoreWrite("PUT", USER)),
    Proof("test_replace::test_put_returns_the_replaced_resource",
          EditJson("PUT", USER, name="stale representation", edit=_stale_display_name)),
    Proof("test_replace::test_put_accepts_the_resource_as_read",
          RefuseBody("PUT", USER, name="readOnly attributes refused", when=_carries_read_only,
                     scim_type="mutability")),
    Proof("test_replace::test_put_replaces_a_multi_valued_attribute",
          EditJson("GET", USER, name="emails merged, not replaced", edit=_merge_emails)),
    Proof("test_replace::test_put_replaces_extension_attributes",
          EditRequest("PUT", USER, name="extension ignored", edit=_drop(ENTERPRISE))),
    Proof("test_replace::test_put_replaces_group_members",
          EditRequest("PUT", GROUP, name="members ignored", edit=_drop("members"))),
    Proof("test_replace::test_put_null_clears_a_single_valued_attribute",
          Sticky("*", "/Users(/[^/]+)?", attribute="title")),
    Proof("test_replace::test_put_empty_array_clears_a_multi_valued_attribute",
          Sticky("*", "/Users(/[^/]+)?", attribute="phoneNumbers")),
    Proof("test_replace::test_put_empty_members_empties_the_group",
          Sticky("*", "/Groups(/[^/]+)?", attribute="members")),
    Proof("test_replace::test_put_clears_omitted_attributes",
          Sticky("*", "/Users(/[^/]+)?", attribute="nickName")),
    Proof("test_replace::test_put_ignores_read_only_meta",
          EditJson("GET", USER, name="client meta.created stored",
                   edit=_meta("created", "2001-01-01T00:00:00Z"))),
    Proof("test_replace::test_put_ignores_read_only_groups",
          JoinGroupsFromUserBody("*", "/(Users|Groups)(/[^/]+)?")),
    Proof("test_replace::test_put_does_not_change_the_id", EchoClientId("PUT", USER)),
    Proof("test_replace::test_put_keeps_created_and_advances_last_modified",
          EditJson("GET", USER, name="lastModified in the past",
                   edit=_meta("lastModified", "2000-01-01T00:00:00Z"))),
    Proof("test_replace::test_put_does_not_create",
          RewriteStatus("PUT", USER, from_status=404, to_status=201)),
    Proof("test_replace::test_put_unknown_id_is_404",
          RewriteStatus("PUT", "/(Users|Groups)/[^/]+", from_status=404, to_status=400)),
    Proof("test_replace::test_put_duplicate_user_name_is_refused",
          RewriteStatus("PUT", USER, from_status=409, to_status=200)),
    Proof("test_replace::test_put_duplicate_user_name_is_409_uniqueness",
          RewriteStatus("PUT", USER, from_status=409, to_status=400)),
    Proof("test_replace::test_put_without_user_name_leaves_a_user_name",
          StatusThenEdit("*", USER, name="userName cleared", from_status=400, to_status=200,
                         edit=_drop("userName"))),
    Proof("test_replace::test_put_replaces_group_display_name", IgnoreWrite("PUT", GROUP)),
    Proof("test_replace::test_put_own_user_name_in_other_case_is_not_a_conflict",
          RefuseBody("PUT", USER, name="uniqueness counts the user itself",
                     when=_shouted_user_name, status=409, scim_type="uniqueness")),
    Proof("test_replace::test_put_accepts_boolean_string",
          EditJson("GET", USER, name="active stored as a string", edit=_active_string)),
    Proof("test_replace::test_put_sets_a_write_only_password",
          EditJson("GET", USER, name="password echoed", edit=_echo_password)),
    # A 400 refusal of the legacy URNs is the RFC-strict answer (the check skips: a MAY);
    # the defects are accepting them and then not applying the PUT, or keeping them.
    Proof("test_replace::test_put_accepts_onelogin_legacy_schemas",
          IgnoreBody("PUT", USER, name="legacy-URN PUT answered 200, not applied",
                     when=_legacy_schemas)),
    Proof("test_replace::test_put_accepts_onelogin_legacy_schemas",
          EditJson("GET", USER, name="legacy URNs kept in schemas",
                   edit=_stored_legacy_schemas)),
    Proof("test_replace::test_put_cannot_change_an_immutable_attribute",
          ImmutableStandIn(attribute="nickName", enforce=False)),
]  # fmt: skip

# Checks whose clean side is a stand-in, not the bare reference server (see the docstring).
STAND_INS: dict[str, Defect] = {
    "test_replace::test_put_cannot_change_an_immutable_attribute": ImmutableStandIn(
        attribute="nickName", enforce=True
    ),
}
ON_REFERENCE = [p for p in PROOFS if p.check not in STAND_INS]
ON_STAND_IN = [p for p in PROOFS if p.check in STAND_INS]

PROVER = BatchedProver(ON_REFERENCE)


@pytest.mark.parametrize("proof", ON_REFERENCE, ids=[p.function for p in ON_REFERENCE])
def test_check_is_proven(reference: Reference, proof: Proof) -> None:
    PROVER.prove(reference, proof)


@pytest.mark.parametrize("proof", ON_STAND_IN, ids=[p.function for p in ON_STAND_IN])
def test_check_is_proven_on_a_stand_in(reference: Reference, proof: Proof) -> None:
    """Passes on its stand-in (which keeps the promise), fails with the defect (which
    does not); the bare reference server cannot show the pass (the check skips there)."""
    clean_run = reference.run_with(STAND_INS[proof.check], [proof.target])
    clean = {n: (r.outcome, r.reason[:300]) for n, r in clean_run.items() if proof.owns(n)}
    assert clean, f"{proof.check} did not run on its stand-in"
    assert all(o == "passed" for o, _ in clean.values()), clean
    broken_run = reference.run_with(proof.defect, [proof.target])
    broken = {n: (r.outcome, r.reason[:300]) for n, r in broken_run.items() if proof.owns(n)}
    assert broken, f"{proof.check} did not run with {proof.defect.label}"
    assert all(o == "failed" for o, _ in broken.values()), (
        f"{proof.check} did not fail with {proof.defect.label}: {broken}"
    )
