"""Proofs for harness/suite/test_bulk.py: each check fails against its defect."""

from __future__ import annotations

import json
from typing import Any

import pytest
from defects.batched import BatchedProver
from defects.bulk_etag_defects import (
    DropBulkIdReferences,
    ErrorStatus,
    FakeBulkSuccess,
    PartialPatchReportedFailed,
    ProcessDespiteLimit,
    RewriteBulkRequest,
    StoreBulkIdLiterally,
    each_result,
    set_fail_on_errors,
)
from defects.catalog import AllowWithoutToken, EditJson, ReplaceBody, RewriteStatus
from defects.proving import Proof, Reference

BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


def _results(name: str, edit: Any) -> EditJson:
    return EditJson("POST", "/Bulk", name=name, edit=each_result(edit))


def _without(key: str, *, failed: bool = False) -> Any:
    def edit(result: dict[str, Any]) -> dict[str, Any]:
        status = str(result.get("status", ""))
        if not failed or not status.startswith("2"):
            result.pop(key, None)
        return result

    return edit


def _set(key: str, value: Any) -> Any:
    return lambda result: {**result, key: value}


def _failed_as_400(result: dict[str, Any]) -> dict[str, Any]:
    if not str(result.get("status", "")).startswith("2"):
        result["status"] = "400"
        if isinstance(result.get("response"), dict):
            result["response"]["status"] = "400"
    return result


def _no_detail(result: dict[str, Any]) -> dict[str, Any]:
    if isinstance(result.get("response"), dict):
        result["response"].pop("detail", None)
    return result


def _other_location(result: dict[str, Any]) -> dict[str, Any]:
    if isinstance(result.get("location"), str):
        result["location"] = result["location"].rsplit("/", 1)[0] + "/scimtest-elsewhere"
    return result


def _only_errors(result: dict[str, Any]) -> dict[str, Any] | None:
    return None if str(result.get("status", "")).startswith("2") else result


def _drop_last(body: Any) -> Any:
    body["Operations"] = body["Operations"][:-1]
    return body


def _reversed(body: Any) -> Any:
    body["Operations"] = list(reversed(body.get("Operations", [])))
    return body


def _versions(value: str | None) -> Any:
    def edit(body: Any) -> Any:
        for op in body.get("Operations", []):
            op.pop("version", None)
            if value is not None:
                op["version"] = value
        return body

    return edit


def _spc_bulk(body: Any) -> Any:
    body["bulk"]["maxOperations"] = 0
    return body


EMPTY = json.dumps({"schemas": [BULK_RESPONSE], "Operations": []}).encode()
# Shared instances: the proofs of one defect run in one inner session (BatchedProver).
NO_REFERENCES = DropBulkIdReferences()
FAKE_SUCCESS = FakeBulkSuccess()
FAIL_ON_FIRST = RewriteBulkRequest(name="failOnErrors 1", edit=set_fail_on_errors(1))
EMPTY_ANSWER = ReplaceBody("POST", "/Bulk", body=EMPTY, content_type="application/scim+json",
                           status=200)  # fmt: skip

PROOFS = [
    Proof("test_bulk::test_operation_reports_single_request_status",
          _results("every status 200", _set("status", "200"))),
    Proof("test_bulk::test_operation_reports_location",
          _results("no location", _without("location"))),
    Proof("test_bulk::test_operation_takes_effect", FAKE_SUCCESS),
    Proof("test_bulk::test_operation_version_is_the_resource_version",
          _results("stale version", _set("version", 'W/"0"'))),
    Proof("test_bulk::test_bulk_job_answers_200",
          RewriteStatus("POST", "/Bulk", from_status=200, to_status=201)),
    Proof("test_bulk::test_bulk_response_matches_its_schema",
          EditJson("POST", "/Bulk", name="ListResponse urn",
                   edit=lambda b: {**b, "schemas": [LIST_RESPONSE]})),
    Proof("test_bulk::test_post_returns_its_bulk_id", _results("no bulkId", _without("bulkId"))),
    Proof("test_bulk::test_response_lists_every_operation",
          EditJson("POST", "/Bulk", name="last result dropped", edit=_drop_last)),
    Proof("test_bulk::test_failed_operation_keeps_its_location",
          _results("no location on failures", _without("location", failed=True))),
    Proof("test_bulk::test_failed_operation_carries_a_scim_error",
          _results("no error response", _without("response", failed=True))),
    Proof("test_bulk::test_failed_operation_explains_the_error", _results("no detail", _no_detail)),
    Proof("test_bulk::test_failed_operation_code_matches_a_single_request",
          _results("failures as 400", _failed_as_400)),
    Proof("test_bulk::test_put_to_unknown_id_creates_nothing", FAKE_SUCCESS),
    Proof("test_bulk::test_failed_post_keeps_its_bulk_id",
          _results("no bulkId on failures", _without("bulkId", failed=True))),
    Proof("test_bulk::test_operations_keep_their_order",
          RewriteBulkRequest(name="operations reversed", edit=_reversed)),
    Proof("test_bulk::test_failure_does_not_stop_the_others",
          FAIL_ON_FIRST),
    Proof("test_bulk::test_fail_on_errors_stops_processing",
          RewriteBulkRequest(name="failOnErrors ignored", edit=set_fail_on_errors(None))),
    Proof("test_bulk::test_fail_on_errors_reports_what_was_done",
          _results("only errors listed", _only_errors)),
    Proof("test_bulk::test_fail_on_errors_not_reached_continues",
          FAIL_ON_FIRST),
    Proof("test_bulk::test_bulk_id_adds_new_user_to_new_group", NO_REFERENCES),
    Proof("test_bulk::test_bulk_id_forward_reference_is_resolved",
          DropBulkIdReferences(forward_only=True)),
    Proof("test_bulk::test_circular_references_resolved_or_409", NO_REFERENCES),
    Proof("test_bulk::test_bulk_id_in_extension_is_resolved", NO_REFERENCES),
    Proof("test_bulk::test_bulk_id_in_patch_value_is_resolved", NO_REFERENCES),
    Proof("test_bulk::test_bulk_id_in_put_data_is_resolved", NO_REFERENCES),
    Proof("test_bulk::test_stale_version_is_refused",
          RewriteBulkRequest(name="version ignored", edit=_versions(None))),
    Proof("test_bulk::test_current_version_is_accepted",
          RewriteBulkRequest(name="version compared wrongly", edit=_versions('W/"999999"'))),
    Proof("test_bulk::test_limits_are_declared",
          EditJson("GET", "/ServiceProviderConfig", name="maxOperations 0", edit=_spc_bulk)),
    Proof("test_bulk::test_exceeded_limit_is_413",
          ErrorStatus("POST", "/Bulk", from_status=413, to_status=400)),
    Proof("test_bulk::test_exceeded_limit_is_named",
          EditJson("POST", "/Bulk", name="vague 413",
                   edit=lambda b: {**b, "detail": "Request rejected."})),
    Proof("test_bulk::test_exceeded_limit_processes_nothing", ProcessDespiteLimit()),
    Proof("test_bulk::test_request_without_operations_is_400",
          EMPTY_ANSWER),
    Proof("test_bulk::test_malformed_request_is_an_error",
          EMPTY_ANSWER),
    Proof("test_bulk::test_bulk_requires_a_valid_credential", AllowWithoutToken("POST", "/Bulk")),
    Proof("test_bulk::test_unresolved_bulk_id_is_never_stored", StoreBulkIdLiterally()),
    Proof("test_bulk::test_failed_patch_operation_changes_nothing", PartialPatchReportedFailed()),
    Proof("test_bulk::test_post_location_resolves_to_the_resource",
          _results("location of another id", _other_location)),
]  # fmt: skip


PROVER = BatchedProver(PROOFS)


@pytest.mark.parametrize("proof", PROOFS, ids=[p.function for p in PROOFS])
def test_check_is_proven(reference: Reference, proof: Proof) -> None:
    PROVER.prove(reference, proof)
