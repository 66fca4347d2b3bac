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


def test_unfiltered_pages_from_cached_anchors_follow_inserts_and_deletes(
    settings: Any, token: str
) -> None:
    """An IdP import pages without a filter: deep pages start from cached anchors (flat
    cost); they must still equal the full listing in any page order, and stay right after
    an insert or delete changes every position (the counter's generation)."""
    import random

    from scim_http_helpers import serve

    from reference_server.app import create_app

    app = create_app(settings)
    with serve(app) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        app.state.scim.repo.anchor_step = 2
        users = [new_user(client, f"a{i:02d}") for i in range(13)]

        def check() -> None:
            full = _ids(client, count=100)
            starts = list(range(1, len(full) + 2, 3))
            random.Random(7).shuffle(starts)
            pages: dict[int, list[str]] = {}
            for start in starts:
                page = client.get("/Users", params={"startIndex": start, "count": 3}).json()
                assert page["totalResults"] == len(full)
                pages[start] = [r["id"] for r in page["Resources"]]
            assert [i for s in sorted(pages) for i in pages[s]] == full

        check()
        assert client.delete(f"/Users/{users[1]['id']}").status_code == 204
        check()
        new_user(client, "a99")
        check()
        assert _ids(client, count=100)[-1] != users[-1]["id"]
