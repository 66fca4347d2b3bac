"""query_dict reads a query string exactly as Starlette's `request.query_params` does."""

from __future__ import annotations

from urllib.parse import quote, quote_plus

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.datastructures import QueryParams

from reference_server.endpoints.common import query_dict

TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


def _starlette(raw: bytes) -> dict[str, str]:
    return dict(QueryParams(raw.decode("latin-1")).items())


@given(
    pairs=st.lists(st.tuples(TEXT, TEXT), max_size=5),
    plus=st.booleans(),
    junk=st.sampled_from(["", "&", "&&", "&flag", "&=x", "&%zz=%4", "&a=1&a=2"]),
)
def test_same_as_starlette(pairs: list[tuple[str, str]], plus: bool, junk: str) -> None:
    encode = quote_plus if plus else quote
    raw = ("&".join(f"{encode(k)}={encode(v)}" for k, v in pairs) + junk).encode("latin-1")
    assert query_dict({"query_string": raw}) == _starlette(raw)


@pytest.mark.parametrize(
    "raw",
    [
        b'filter=userName eq "a@b"',
        b"filter=userName+eq+%22a%40b%22&count=1",
        b"attributes=userName,emails&excludedAttributes=",
        b"aadOptscim062020",
        b"filter=displayName%20eq%20%22%C3%A9quipe%22",
        'filter=displayName eq "équipe"'.encode(),  # raw UTF-8, as some clients send
        "filter=displayName+eq+%22équipe%22".encode(),  # raw UTF-8 beside %-escapes
        b"filter=x%FFy+%zz",  # an escape that is not UTF-8, and one that is no escape
        b"",
    ],
)
def test_typical_scim_queries(raw: bytes) -> None:
    assert query_dict({"query_string": raw}) == _starlette(raw)
