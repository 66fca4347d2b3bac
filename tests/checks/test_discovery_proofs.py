"""Proofs for harness/suite/test_discovery.py: each check fails against its defect."""

from __future__ import annotations

from typing import Any

import pytest
from defects.catalog import EditJson, RewriteStatus
from defects.proving import Proof, Reference, prove

DISCOVERY = "/(Schemas|ResourceTypes)"


def _without(key: str) -> Any:
    return lambda body: {k: v for k, v in body.items() if k != key}


def _set(path: str, value: Any) -> Any:
    def edit(body: Any) -> Any:
        *parents, leaf = path.split(".")
        node = body
        for part in parents:
            node = node[part]
        node[leaf] = value
        return body

    return edit


def _each_resource(edit: Any) -> Any:
    def apply(body: Any) -> Any:
        body["Resources"] = [edit(r) for r in body.get("Resources", [])]
        return body

    return apply


def _attributes(edit: Any) -> Any:
    return _each_resource(lambda s: {**s, "attributes": [edit(a) for a in s["attributes"]]})


def _spc(name: str, edit: Any) -> EditJson:
    return EditJson("GET", "/ServiceProviderConfig", name=name, edit=edit)


PROOFS = [
    Proof("test_discovery::test_service_provider_config_schema",
          _spc("no SPC urn", _set("schemas", ["urn:example:config"]))),
    Proof("test_discovery::test_service_provider_config_declares_patch",
          _spc("no patch", _without("patch"))),
    Proof("test_discovery::test_service_provider_config_declares_bulk",
          _spc("no bulk.maxOperations", _set("bulk", {"supported": False}))),
    Proof("test_discovery::test_service_provider_config_declares_filter",
          _spc("filter.maxResults string", _set("filter.maxResults", "100"))),
    Proof("test_discovery::test_service_provider_config_declares_change_password",
          _spc("changePassword.supported string", _set("changePassword.supported", "false"))),
    Proof("test_discovery::test_service_provider_config_declares_sort",
          _spc("no sort", _without("sort"))),
    Proof("test_discovery::test_service_provider_config_declares_etag",
          _spc("etag null", _set("etag", None))),
    Proof("test_discovery::test_service_provider_config_lists_authentication_schemes",
          _spc("no schemes", _set("authenticationSchemes", []))),
    Proof("test_discovery::test_service_provider_config_matches_rfc_schema",
          _spc("documentationUri number", _set("documentationUri", 42))),
    Proof("test_discovery::test_resource_types_is_a_list_response",
          EditJson("GET", "/ResourceTypes", name="bare list", edit=lambda b: b["Resources"])),
    Proof("test_discovery::test_resource_types_carry_name_endpoint_schema",
          EditJson("GET", "/ResourceTypes", name="no endpoint",
                   edit=_each_resource(_without("endpoint")))),
    Proof("test_discovery::test_resource_type_extensions_are_well_formed",
          EditJson("GET", "/ResourceTypes", name="required as string",
                   edit=_each_resource(lambda r: {**r, "schemaExtensions": [
                       {**e, "required": "false"} for e in r.get("schemaExtensions", [])
                   ]}))),
    Proof("test_discovery::test_resource_types_match_rfc_schema",
          EditJson("GET", "/ResourceTypes", name="description number",
                   edit=_each_resource(_set("description", 42)))),
    Proof("test_discovery::test_resource_type_schemas_are_published",
          EditJson("GET", "/Schemas", name="Group schema unpublished",
                   edit=lambda b: {**b, "Resources": [
                       s for s in b["Resources"] if not s["id"].endswith(":Group")]})),
    Proof("test_discovery::test_resource_type_by_name",
          EditJson("GET", "/ResourceTypes/.+", name="wrong type", edit=_set("endpoint", "/X"))),
    Proof("test_discovery::test_schemas_is_a_list_response_of_schemas",
          EditJson("GET", "/Schemas", name="schemas without id",
                   edit=_each_resource(_without("id")))),
    Proof("test_discovery::test_schema_attributes_are_well_formed",
          EditJson("GET", "/Schemas", name="type text", edit=_attributes(
              lambda a: {**a, "type": "text"} if a["name"] == "userName" else a))),
    Proof("test_discovery::test_complex_attributes_list_sub_attributes",
          EditJson("GET", "/Schemas", name="no subAttributes",
                   edit=_attributes(_without("subAttributes")))),
    Proof("test_discovery::test_schemas_match_rfc_schema",
          EditJson("GET", "/Schemas", name="attributes object",
                   edit=_each_resource(_set("attributes", {})))),
    Proof("test_discovery::test_schema_by_urn",
          EditJson("GET", "/Schemas/.+", name="wrong id", edit=_set("id", "urn:example:x"))),
    Proof("test_discovery::test_unknown_discovery_item_is_404",
          RewriteStatus("GET", f"{DISCOVERY}/.+", from_status=404, to_status=200)),
    Proof("test_discovery::test_discovery_ignores_paging_and_sorting",
          EditJson("GET", DISCOVERY, query="count=", name="honours count",
                   edit=lambda b: {**b, "Resources": b["Resources"][:1]})),
    Proof("test_discovery::test_discovery_filter_is_forbidden",
          RewriteStatus("GET", DISCOVERY, query="filter=", from_status=403, to_status=200)),
]  # fmt: skip


@pytest.mark.parametrize("proof", PROOFS, ids=[p.function for p in PROOFS])
def test_check_is_proven(reference: Reference, proof: Proof) -> None:
    prove(reference, proof)
