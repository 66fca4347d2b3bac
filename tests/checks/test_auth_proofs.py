"""Proofs for harness/suite/test_auth.py: each check fails against its defect."""

from __future__ import annotations

import pytest
from defects.catalog import AllowWithoutToken, DropHeader, LeakOnRefusal, ReplaceBody, RewriteStatus
from defects.proving import Proof, Reference, prove

PROOFS = [
    Proof("test_auth::test_listing_requires_a_valid_credential",
          AllowWithoutToken("GET", "/(Users|Groups)")),
    Proof("test_auth::test_missing_credential_is_401",
          RewriteStatus("GET", "/Users", from_status=401, to_status=403)),
    Proof("test_auth::test_401_carries_www_authenticate",
          DropHeader("GET", "/Users", header="www-authenticate")),
    Proof("test_auth::test_401_is_a_scim_error",
          ReplaceBody("GET", "/Users", body=b"Unauthorized", content_type="text/plain",
                      status=401)),
    Proof("test_auth::test_refusal_discloses_no_resource_data",
          LeakOnRefusal("GET", "/Users(/.+)?")),
    Proof("test_auth::test_unauthenticated_writes_change_nothing",
          AllowWithoutToken("*", "/Users/.+")),
]  # fmt: skip


@pytest.mark.parametrize("proof", PROOFS, ids=[p.function for p in PROOFS])
def test_check_is_proven(reference: Reference, proof: Proof) -> None:
    prove(reference, proof)
