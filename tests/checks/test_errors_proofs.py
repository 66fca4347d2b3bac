"""Proofs for harness/suite/test_errors.py: each check fails against its defect."""

from __future__ import annotations

import pytest
from defects.catalog import (
    EditJson,
    ReencodeBody,
    RejectRequestHeader,
    ReplaceBody,
    RewriteStatus,
    SetHeader,
)
from defects.proving import Proof, Reference, prove

RESOURCE = "/(Users|Groups)/.+"

PROOFS = [
    Proof("test_errors::test_unknown_id_is_a_scim_error",
          ReplaceBody("GET", RESOURCE, body=b"<html>Not Found</html>", content_type="text/html",
                      status=404)),
    Proof("test_errors::test_unknown_id_is_404",
          RewriteStatus("GET", RESOURCE, from_status=404, to_status=400)),
    Proof("test_errors::test_unknown_endpoint_is_404",
          RewriteStatus("GET", "/Scimtest.*", from_status=404, to_status=400)),
    Proof("test_errors::test_malformed_json_is_refused",
          RewriteStatus("POST", "/Users", from_status=400, to_status=201)),
    Proof("test_errors::test_malformed_json_is_400_invalid_syntax",
          EditJson("POST", "/Users", name="no scimType",
                   edit=lambda b: {k: v for k, v in b.items() if k != "scimType"})),
    Proof("test_errors::test_responses_use_the_scim_media_type",
          SetHeader("GET", "/(ServiceProviderConfig|Users)", header="content-type",
                    value="application/json")),
    Proof("test_errors::test_accepts_accept_scim_json",
          RejectRequestHeader("GET", "/Users", header="accept", value="scim\\+json")),
    Proof("test_errors::test_accepts_accept_json",
          RejectRequestHeader("GET", "/Users", header="accept", value="^application/json")),
    Proof("test_errors::test_accepts_content_type_json",
          RejectRequestHeader("POST", "/Users", header="content-type",
                              value="^application/json", status=415)),
    Proof("test_errors::test_utf8_round_trip", ReencodeBody("GET", "/Users/.+")),
]  # fmt: skip


@pytest.mark.parametrize("proof", PROOFS, ids=[p.function for p in PROOFS])
def test_check_is_proven(reference: Reference, proof: Proof) -> None:
    prove(reference, proof)
