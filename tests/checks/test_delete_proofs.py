"""Proofs for harness/suite/test_delete.py: each check fails against its defect."""

from __future__ import annotations

from typing import Any

import pytest
from defects.batched import BatchedProver
from defects.catalog import EditJson, IgnoreWrite, RewriteStatus
from defects.proving import Proof, Reference
from defects.resources_defects import EditExchange, ForgetDeletion, Tombstone

ITEM = "/(Users|Groups)/[^/]+"
ANY = "/(Users|Groups)(/[^/]+)?"


def _drop_members(body: Any) -> Any:
    """A server whose groups lose their members (here: after one member was deleted)."""
    if isinstance(body, dict):
        body.pop("members", None)
    return body


def _reuse_deleted_ids() -> Any:
    """A server handing a deleted resource's id to the next resource it creates."""
    freed: list[str] = []

    def edit(request: Any, body: Any, exchange: Any) -> Any:
        if exchange.method == "DELETE" and exchange.status == 204:
            freed.append(exchange.path.rsplit("/", 1)[-1])
        elif exchange.method == "POST" and isinstance(body, dict) and body.get("id") and freed:
            body["id"] = freed.pop()
        return body

    return edit


DELETE_IGNORED = IgnoreWrite("DELETE", ITEM, success_status=204)
MEMBERSHIPS_KEPT = ForgetDeletion("*", ANY)

PROOFS = [
    Proof("test_delete::test_delete_answers_204",
          RewriteStatus("DELETE", ITEM, from_status=204, to_status=200)),
    Proof("test_delete::test_deleted_resource_is_404_on_get",
          DELETE_IGNORED),
    Proof("test_delete::test_deleting_twice_is_404",
          RewriteStatus("DELETE", ITEM, from_status=404, to_status=204)),
    Proof("test_delete::test_deleted_resource_is_404_on_put",
          RewriteStatus("PUT", ITEM, from_status=404, to_status=200)),
    Proof("test_delete::test_deleted_resource_is_404_on_patch",
          RewriteStatus("PATCH", ITEM, from_status=404, to_status=200)),
    Proof("test_delete::test_deleted_resource_is_omitted_from_filtered_queries",
          DELETE_IGNORED),
    Proof("test_delete::test_deleted_user_is_omitted_from_listing",
          DELETE_IGNORED),
    Proof("test_delete::test_deleted_user_name_can_be_reused", Tombstone("*", ANY)),
    Proof("test_delete::test_delete_unknown_id_is_404",
          RewriteStatus("DELETE", ITEM, from_status=404, to_status=400)),
    Proof("test_delete::test_deleted_user_leaves_its_groups",
          EditJson("GET", "/Groups/[^/]+", name="members lost", edit=_drop_members)),
    Proof("test_delete::test_deleted_group_leaves_its_members", MEMBERSHIPS_KEPT),
    Proof("test_delete::test_deleted_id_is_not_reassigned",
          EditExchange("*", ANY, name="deleted ids reused", edit=_reuse_deleted_ids())),
]  # fmt: skip


PROVER = BatchedProver(PROOFS)


@pytest.mark.parametrize("proof", PROOFS, ids=[p.function for p in PROOFS])
def test_check_is_proven(reference: Reference, proof: Proof) -> None:
    PROVER.prove(reference, proof)
