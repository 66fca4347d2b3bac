"""Deep pages (startIndex > 1) read ids first, then documents: the concatenated pages must
equal one full listing, in the same order, with and without sortBy and a filter."""

from __future__ import annotations

from typing import Any

import pytest
from scim_http_helpers import TestClient, new_user


def _ids(client: TestClient, **params: Any) -> list[str]:
    body = client.get("/Users", params=params).json()
    return [r["id"] for r in body["Resources"]]


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"sortBy": "userName", "sortOrder": "descending"},
        {"sortBy": "title"},
        {"filter": 'title eq "odd" or userName sw "p0"'},
    ],
)
def test_pages_concatenate_to_the_full_listing(client: TestClient, extra: dict[str, Any]) -> None:
    for i in range(11):
        new_user(client, f"p{i:02d}", title="odd" if i % 2 else "even")
    full = _ids(client, count=100, **extra)
    assert full
    paged: list[str] = []
    for start in range(1, len(full) + 1, 3):
        page = client.get("/Users", params={"startIndex": start, "count": 3, **extra}).json()
        assert page["totalResults"] == len(full)
        assert page["itemsPerPage"] == len(page["Resources"])
        paged += [r["id"] for r in page["Resources"]]
    assert paged == full
