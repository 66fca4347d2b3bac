"""Resource ids: RFC 9562 version 7 UUIDs, ordered by creation time, never repeated."""

from __future__ import annotations

import time
import uuid

from reference_server.storage.repository import new_resource_id


def test_ids_are_version_7_uuids_in_canonical_form() -> None:
    rid = new_resource_id()
    parsed = uuid.UUID(rid)
    assert str(parsed) == rid
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122


def test_ids_carry_the_creation_millisecond_so_later_ids_sort_after() -> None:
    """Neighbouring ids keep a create's index entries on the same B-tree pages."""
    before = time.time_ns() // 1_000_000
    first = new_resource_id()
    time.sleep(0.002)
    second = new_resource_id()
    after = time.time_ns() // 1_000_000
    stamp = uuid.UUID(first).int >> 80
    assert before <= stamp <= after
    assert first < second  # text order is creation order across milliseconds


def test_ids_do_not_repeat_within_a_millisecond() -> None:
    ids = [new_resource_id() for _ in range(20_000)]
    assert len(set(ids)) == len(ids)
    # 74 random bits: two ids of the same millisecond still differ in their random part
    tails = {uuid.UUID(i).int & ((1 << 62) - 1) for i in ids}
    assert len(tails) == len(ids)
