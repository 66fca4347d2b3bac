"""Proofs for harness/suite/test_schema.py: each check fails against its defect."""

from __future__ import annotations

from typing import Any

import pytest
from defects.batched import BatchedProver
from defects.catalog import EditJson, SetHeader
from defects.proving import Proof, Reference
from defects.resources_defects import EditExchange, EditRequest

ITEM = "/(Users|Groups)/[^/]+"
USER = "/Users/[^/]+"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def _set(key: str, value: Any) -> Any:
    def edit(body: Any) -> Any:
        if isinstance(body, dict) and body.get("id"):
            body[key] = value(body) if callable(value) else value
        return body

    return edit


def _meta(key: str, value: Any) -> Any:
    def edit(body: Any) -> Any:
        if isinstance(body, dict) and isinstance(body.get("meta"), dict):
            body["meta"][key] = value(body["meta"]) if callable(value) else value
        return body

    return edit


def _schemas(edit: Any) -> Any:
    """Apply `edit` to every schema document of a /Schemas answer (list or single)."""

    def apply(body: Any) -> Any:
        if isinstance(body, dict) and isinstance(body.get("Resources"), list):
            body["Resources"] = [edit(s) for s in body["Resources"]]
            return body
        return edit(body) if isinstance(body, dict) else body

    return apply


def _nest_given_name(schema: dict[str, Any]) -> dict[str, Any]:
    for attr in schema.get("attributes") or []:
        for sub in attr.get("subAttributes") or []:
            if sub.get("name") == "givenName":
                sub["type"] = "complex"
    return schema


def _rename_user_name(schema: dict[str, Any]) -> dict[str, Any]:
    for attr in schema.get("attributes") or []:
        if attr.get("name") == "userName":
            attr["name"] = "user name"
    return schema


def _redefine_in_extension(schema: dict[str, Any]) -> dict[str, Any]:
    if schema.get("id") == ENTERPRISE:
        schema["attributes"] = [*schema.get("attributes", []),
                                {"name": "userName", "type": "string", "multiValued": False,
                                 "required": False}]  # fmt: skip
    return schema


def _publish_message_schema(body: Any) -> Any:
    if isinstance(body, dict) and isinstance(body.get("Resources"), list):
        body["Resources"].append(
            {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
             "id": "urn:ietf:params:scim:api:messages:2.0:ListResponse",
             "name": "ListResponse", "attributes": []}
        )  # fmt: skip
    return body


def _ext(key: str, value: Any) -> Any:
    def edit(body: Any) -> Any:
        if isinstance(body, dict) and isinstance(body.get(ENTERPRISE), dict):
            body[ENTERPRISE][key] = value
        return body

    return edit


def _all_primary(body: Any) -> Any:
    if isinstance(body, dict):
        for email in body.get("emails") or []:
            email["primary"] = True
    return body


def _one_primary(body: Any) -> Any:
    if isinstance(body, dict):
        for i, email in enumerate(body.get("emails") or []):
            email["primary"] = i == 0
    return body


def _bad_member_ref(body: Any) -> Any:
    if isinstance(body, dict):
        for member in body.get("members") or []:
            member["$ref"] = "Users/scimtest-no-such-member"
    return body


def _groups_wrong(body: Any) -> Any:
    if isinstance(body, dict):
        body["groups"] = [{**g, "value": f"{g.get('value')}-x"} for g in body.get("groups") or []]
    return body


def _keeps_manager_display_name() -> Any:
    """A server that stores manager.displayName as sent (and returns it on GET)."""
    sent: dict[str, Any] = {}

    def edit(request: Any, body: Any, exchange: Any) -> Any:
        ext = request.get(ENTERPRISE) if isinstance(request, dict) else None
        manager = ext.get("manager") if isinstance(ext, dict) else None
        if isinstance(body, dict) and body.get("id"):
            if isinstance(manager, dict) and manager.get("displayName"):
                sent[body["id"]] = manager["displayName"]
            got = body.get(ENTERPRISE, {}).get("manager")
            if isinstance(got, dict) and body["id"] in sent:
                got["displayName"] = sent[body["id"]]
        return body

    return edit


def _first_primary(body: Any) -> Any:
    if isinstance(body, dict) and body.get("emails"):
        body["emails"][0]["primary"] = True
    return body


def _cert_not_base64(body: Any) -> Any:
    if isinstance(body, dict):
        for cert in body.get("x509Certificates") or []:
            cert["value"] = "-----BEGIN CERTIFICATE----- not base64!"
    return body


def _uuid_type(schema: dict[str, Any]) -> dict[str, Any]:
    if schema.get("id") == ENTERPRISE:
        for attr in schema.get("attributes") or []:
            if attr.get("name") == "employeeNumber":
                attr["type"] = "uuid"
    return schema


def _password_returned(schema: dict[str, Any]) -> dict[str, Any]:
    for attr in schema.get("attributes") or []:
        if attr.get("name") == "password":
            attr["returned"] = "default"
    return schema


def _email_twice(body: Any) -> Any:
    if isinstance(body, dict) and body.get("emails"):
        body["emails"] = [body["emails"][0], *body["emails"]]
    return body


PROOFS = [
    Proof("test_schema::test_resource_matches_rfc_schema",
          EditJson("GET", ITEM, name="schemas a string",
                   edit=_set("schemas", lambda b: (b.get("schemas") or ["x"])[0]))),
    Proof("test_schema::test_resource_matches_published_schema",
          EditJson("GET", ITEM, name="displayName a number", edit=_set("displayName", 42))),
    Proof("test_schema::test_enterprise_user_matches_schemas",
          EditJson("GET", USER, name="employeeNumber a number", edit=_ext("employeeNumber", 7))),
    Proof("test_schema::test_schemas_names_the_core_schema",
          EditJson("GET", ITEM, name="schemas without core",
                   edit=_set("schemas", ["urn:ietf:params:scim:schemas:core:2.0:Other"]))),
    Proof("test_schema::test_schemas_lists_only_declared_schemas",
          EditJson("GET", ITEM, name="undeclared schema",
                   edit=_set("schemas", lambda b: [*b["schemas"], "urn:scimtest:undeclared"]))),
    Proof("test_schema::test_schemas_has_no_duplicates",
          EditJson("GET", ITEM, name="schemas twice",
                   edit=_set("schemas", lambda b: b["schemas"] * 2))),
    Proof("test_schema::test_extension_schema_listed_when_extension_data_present",
          EditJson("GET", USER, name="extension URN left out of schemas",
                   edit=_set("schemas", lambda b: [s for s in b["schemas"] if s != ENTERPRISE]))),
    Proof("test_schema::test_ids_are_unique",
          EditJson("POST", "/(Users|Groups)", name="one id for all",
                   edit=_set("id", "scimtest-the-same-id"))),
    Proof("test_schema::test_id_is_stable",
          EditJson("GET", ITEM, name="id changes", edit=_set("id", lambda b: b["id"] + "-v2"))),
    Proof("test_schema::test_server_does_not_invent_external_id",
          EditJson("GET", USER, name="externalId invented",
                   edit=_set("externalId", lambda b: b.get("externalId") or "server-made"))),
    Proof("test_schema::test_external_id_is_kept_exactly",
          EditJson("GET", USER, name="externalId lower-cased",
                   edit=_set("externalId", lambda b: str(b.get("externalId")).lower()))),
    Proof("test_schema::test_meta_resource_type_names_the_endpoint_type",
          EditJson("GET", ITEM, name="resourceType wrong", edit=_meta("resourceType", "Thing"))),
    Proof("test_schema::test_meta_created_is_a_datetime",
          EditJson("GET", ITEM, name="created a date", edit=_meta("created", "2024-01-01"))),
    Proof("test_schema::test_meta_last_modified_equals_created_when_new",
          EditJson("GET", ITEM, name="lastModified differs",
                   edit=_meta("lastModified", "2030-01-01T00:00:00Z"))),
    Proof("test_schema::test_meta_location_resolves_to_the_resource",
          EditJson("GET", ITEM, name="location elsewhere",
                   edit=_meta("location", lambda m: m["location"] + "-elsewhere"))),
    Proof("test_schema::test_content_location_matches_meta_location",
          SetHeader("GET", ITEM, header="content-location", value="http://127.0.0.1/other")),
    Proof("test_schema::test_meta_version_is_an_entity_tag",
          EditJson("GET", ITEM, name="version unquoted", edit=_meta("version", "w/1"))),
    Proof("test_schema::test_password_is_never_returned",
          EditJson("GET", USER, name="password echoed", edit=_set("password", "hunter2"))),
    Proof("test_schema::test_at_most_one_primary_is_returned",
          EditJson("GET", USER, name="every email primary", edit=_all_primary)),
    Proof("test_schema::test_two_primaries_are_refused_or_resolved",
          EditRequest("POST", "/Users", name="accepts two primaries, keeps both",
                      edit=_one_primary, after=_all_primary)),
    Proof("test_schema::test_null_and_empty_mean_unassigned",
          EditJson("GET", USER, name='null stored as "null"',
                   edit=_set("nickName", lambda b: b.get("nickName") or "null"))),
    Proof("test_schema::test_published_attribute_names_follow_the_abnf",
          EditJson("GET", "/Schemas.*", name="attribute name with a space",
                   edit=_schemas(_rename_user_name))),
    Proof("test_schema::test_returned_attribute_names_follow_the_abnf",
          EditJson("GET", ITEM, name="key with a space", edit=_set("bad name!", 1))),
    Proof("test_schema::test_published_complex_attributes_are_not_nested",
          EditJson("GET", "/Schemas.*", name="name.givenName complex",
                   edit=_schemas(_nest_given_name))),
    Proof("test_schema::test_message_schemas_are_not_discoverable",
          EditJson("GET", "/Schemas", name="ListResponse published",
                   edit=_publish_message_schema)),
    Proof("test_schema::test_extensions_do_not_redefine_core_attributes",
          EditJson("GET", "/Schemas.*", name="extension redefines userName",
                   edit=_schemas(_redefine_in_extension))),
    Proof("test_schema::test_user_groups_name_the_group_by_id",
          EditJson("GET", USER, name="groups value not the id", edit=_groups_wrong)),
    Proof("test_schema::test_member_refs_resolve",
          EditJson("GET", "/Groups/[^/]+", name="member $ref dangling", edit=_bad_member_ref)),
    Proof("test_schema::test_manager_display_name_is_read_only",
          EditExchange("*", "/Users(/[^/]+)?", name="manager.displayName stored as sent",
                       edit=_keeps_manager_display_name())),
    Proof("test_schema::test_manager_display_name_is_read_only",
          EditExchange("*", "/Users(/[^/]+)?", name="manager.displayName stored as sent",
                       edit=_keeps_manager_display_name())),
    Proof("test_schema::test_common_attributes_are_present",
          EditJson("GET", ITEM, name="meta left out",
                   edit=lambda b: {k: v for k, v in b.items() if k != "meta"})),
    Proof("test_schema::test_primary_is_not_invented",
          EditJson("GET", USER, name="first email made primary", edit=_first_primary)),
    Proof("test_schema::test_binary_values_are_base64",
          EditJson("GET", USER, name="certificate not base64", edit=_cert_not_base64)),
    Proof("test_schema::test_extension_attributes_use_scim_types",
          EditJson("GET", "/Schemas.*", name="extension attribute of type uuid",
                   edit=_schemas(_uuid_type))),
    Proof("test_schema::test_published_characteristics_match_the_rfc",
          EditJson("GET", "/Schemas.*", name="password returned by default",
                   edit=_schemas(_password_returned))),
    Proof("test_schema::test_same_type_and_value_not_returned_twice",
          EditJson("GET", USER, name="first email returned twice", edit=_email_twice)),
]  # fmt: skip


PROVER = BatchedProver(PROOFS)


@pytest.mark.parametrize("proof", PROOFS, ids=[p.function for p in PROOFS])
def test_check_is_proven(reference: Reference, proof: Proof) -> None:
    PROVER.prove(reference, proof)
