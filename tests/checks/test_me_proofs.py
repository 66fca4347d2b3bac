"""Proofs for harness/suite/test_me.py: each check fails against its defect.

The reference server does not serve /Me (501), so the check of a served /Me is proven
against stand-ins: a correct one (the check passes) and one without Location (it fails).
"""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from defects.bulk_etag_defects import ErrorStatus, MeStandIn, me_body
from defects.proving import TOKEN, Proof, Reference, prove

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
STAND_IN = me_body({"schemas": [USER_URN], "id": "scimtest-me", "userName": "me@example.com"})

SERVED = Proof("test_me::test_served_me_names_the_subject_location",
               MeStandIn("GET", body=STAND_IN, location=""))  # fmt: skip

PROOFS = [
    Proof("test_me::test_unsupported_me_is_501",
          ErrorStatus("*", "/Me", from_status=501, to_status=404)),
    SERVED,
    Proof("test_me::test_me_requires_a_valid_credential", MeStandIn("GET", body=STAND_IN)),
]  # fmt: skip


@pytest.mark.parametrize("proof", [p for p in PROOFS if p is not SERVED],
                         ids=[p.function for p in PROOFS if p is not SERVED])  # fmt: skip
def test_check_is_proven(reference: Reference, proof: Proof) -> None:
    prove(reference, proof)


def test_served_me_check_is_proven(reference: Reference) -> None:
    """A /Me served with the subject's Location passes; the same without Location fails."""
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/scim+json"}
    name = f"scimtest-me-{uuid.uuid4().hex[:8]}@example.com"
    with httpx.Client(base_url=reference.url, headers=headers, timeout=10) as http:
        created = http.post("/Users", content=json.dumps({"schemas": [USER_URN], "userName": name}))
        assert created.status_code == 201, created.text
        user = created.json()
        try:
            good = MeStandIn("GET", body=me_body(user), location=user["meta"]["location"])
            passed = reference.run_with(good, [SERVED.target])
            assert {r.outcome for r in passed.values()} == {"passed"}, passed
            broken = reference.run_with(MeStandIn("GET", body=me_body(user)), [SERVED.target])
            assert {r.outcome for r in broken.values()} == {"failed"}, broken
        finally:
            http.delete(f"/Users/{user['id']}")
