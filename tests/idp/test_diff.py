"""`scim-idp diff`: two reference servers agree; a server with one defect disagrees there."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.exchange import Exchange
from harness.idp import diff
from harness.idp.diff import compare_exchanges, returned_names, step_key

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for `defects`

from defects.catalog import Defect, EditJson, RewriteStatus
from defects.proving import TOKEN, Reference, served_reference

LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Reference, Reference]]:
    """Two independent reference servers (own databases), in-process on 127.0.0.1."""
    with (
        served_reference(tmp_path_factory.mktemp("a")) as a,
        served_reference(tmp_path_factory.mktemp("b")) as b,
    ):
        yield a, b


def _diff(a: Reference, b: Reference, out: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    parser = argparse.ArgumentParser()
    diff.configure_parser(parser)
    args = parser.parse_args(
        ["--profile", "okta", "--a", a.url, "--b", b.url, "--token-a", TOKEN,
         "--token-b", TOKEN, "--json", str(out), *extra]
    )  # fmt: skip
    code = diff.run(args)
    return code, json.loads(out.read_text()) if out.exists() else {}


def _with_defect(
    servers: tuple[Reference, Reference], defect: Defect, out: Path, *scenarios: str
) -> tuple[int, dict[str, Any]]:
    a, b = servers
    chosen = [arg for s in scenarios for arg in ("--scenario", s)]
    with b.board.active(defect):
        return _diff(a, b, out, *chosen)


def test_two_reference_servers_agree_on_every_scenario(
    servers: tuple[Reference, Reference], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same implementation twice: no disagreement in any okta scenario."""
    code, report = _diff(*servers, tmp_path / "diff.json")
    assert code == 0, report["disagreements"]
    assert report["disagreements"] == []
    assert len(report["scenarios"]) == 11  # the simulator's ten and diff's list-order
    assert all(s["a"] == s["b"] for s in report["scenarios"].values())
    assert report["scenarios"]["assign"]["exchanges"][0] > 0
    out = capsys.readouterr().out
    assert "no disagreement" in out
    assert TOKEN not in out


def test_a_dropped_attribute_is_reported_at_its_step(
    servers: tuple[Reference, Reference], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """B's GET drops `name`: the returned attribute sets differ at GET /Users/{id}."""
    drop = EditJson("GET", r"/Users/[^/]+", name="drops name",
                    edit=lambda b: {k: v for k, v in b.items() if k != "name"})  # fmt: skip
    code, report = _with_defect(servers, drop, tmp_path / "d.json", "assign")
    assert code == 1
    found = [d for d in report["disagreements"] if d["kind"] == "attributes"]
    assert found
    assert found[0]["step"].endswith("GET /Users/{id}")
    assert "name.givenname" in found[0]["a"]
    assert found[0]["b"] == "-"
    out = capsys.readouterr().out
    assert "attributes" in out
    assert TOKEN not in out


def test_a_different_status_is_reported(
    servers: tuple[Reference, Reference], tmp_path: Path
) -> None:
    """B answers a create with 200 instead of 201."""
    wrong = RewriteStatus("POST", "/Users", from_status=201, to_status=200)
    code, report = _with_defect(servers, wrong, tmp_path / "s.json", "assign")
    assert code == 1
    statuses = [d for d in report["disagreements"] if d["kind"] == "status"]
    assert [(d["step"].split(": ", 1)[1], d["a"], d["b"]) for d in statuses] == [
        ("POST /Users", 201, 200)
    ]


def test_paging_fields_the_rfc_fixes_are_compared(
    servers: tuple[Reference, Reference], tmp_path: Path
) -> None:
    """B's lists claim startIndex 0: a paging disagreement on the lookup."""
    zero = EditJson("GET", "/Users", name="startIndex 0",
                    edit=lambda b: {**b, "startIndex": 0})  # fmt: skip
    code, report = _with_defect(servers, zero, tmp_path / "p.json", "assign")
    assert code == 1
    paging = [d for d in report["disagreements"] if d["kind"] == "paging"]
    assert paging
    assert paging[0]["a"] == "startIndex=1"
    assert paging[0]["b"] == "startIndex=0"


def test_a_sorted_page_in_another_order_is_reported(
    servers: tuple[Reference, Reference], tmp_path: Path
) -> None:
    """B ignores sortBy (reverses the page): an ordering disagreement on the sorted listing."""
    reverse = EditJson("GET", "/Users", query="sortBy", name="reversed page",
                       edit=lambda b: {**b, "Resources": b.get("Resources", [])[::-1]})  # fmt: skip
    code, report = _with_defect(servers, reverse, tmp_path / "o.json", "list-order")
    assert code == 1
    (order,) = [d for d in report["disagreements"] if d["kind"] == "ordering"]
    assert "sortBy=userName" in order["step"]
    assert order["a"].startswith("sortBy=userName: ")
    assert order["b"][0].endswith("1@example.com")


def _exchange(url: str, body: Any, status: int = 200) -> Exchange:
    return Exchange("GET", url, (), "", status, (), json.dumps(body), 0.01)


def test_sort_order_is_compared_only_where_sort_by_fixes_it() -> None:
    """RFC 7644 3.4.2.3: with sortBy the order is the answer; without it, it is not."""
    names = [{"userName": "a"}, {"userName": "b"}]
    page = {"schemas": [LIST], "startIndex": 1, "itemsPerPage": 2, "Resources": names}
    flipped = {**page, "Resources": names[::-1]}
    sorted_url = "http://h/scim/v2/Users?sortBy=userName"
    kinds = [k for k, _, _ in compare_exchanges(_exchange(sorted_url, page),
                                                 _exchange(sorted_url, flipped))]  # fmt: skip
    assert kinds == ["ordering"]
    plain = "http://h/scim/v2/Users"
    assert compare_exchanges(_exchange(plain, page), _exchange(plain, flipped)) == []


def test_a_bodiless_answer_with_another_status_is_one_disagreement() -> None:
    """PATCH 200 with the resource against 204: the status says it all."""
    ok = _exchange("http://h/scim/v2/Users/1", {"id": "1", "userName": "a"})
    empty = Exchange("PATCH", "http://h/scim/v2/Users/1", (), "", 204, (), "", 0.01)
    assert compare_exchanges(ok, empty) == [("status", 200, 204)]


def test_other_tenant_data_in_a_listing_is_not_a_disagreement() -> None:
    """Only the run's own entries count; an unfiltered page is judged by its own count."""
    mine = {"userName": "run-1-ada@example.com", "title": "x"}
    page_a = {"schemas": [LIST], "startIndex": 1, "itemsPerPage": 2,
              "Resources": [mine, {"userName": "old@example.com", "nickName": "n"}]}  # fmt: skip
    page_b = {"schemas": [LIST], "startIndex": 1, "itemsPerPage": 1, "Resources": [mine]}
    url = "http://h/scim/v2/Users?startIndex=1&count=100"
    assert compare_exchanges(_exchange(url, page_a), _exchange(url, page_b), "run-1-") == []
    wrong = {**page_b, "itemsPerPage": 100}
    kinds = compare_exchanges(_exchange(url, page_a), _exchange(url, wrong), "run-1-")
    assert kinds == [("paging", "itemsPerPage counts the page", "itemsPerPage=100, 1 resources")]


def test_steps_pair_without_ids_and_names_ignore_case_and_unassigned() -> None:
    """Pairing keys hide server ids; attribute names compare without case, nulls ignored."""
    ex = _exchange("http://h/scim/v2/Groups/abc-1?filter=members%5Bvalue+eq+%22abc-1%22%5D", {})
    pattern = diff._id_pattern({"abc-1"})
    assert step_key(ex, "/scim/v2", pattern) == 'GET /Groups/{id}?filter=members[value eq "{id}"]'
    assert returned_names({"Name": {"givenName": "x"}, "title": None, "emails": []}) == {
        "name",
        "name.givenname",
    }


def test_usage_and_connection_errors_exit_2(tmp_path: Path) -> None:
    """An unknown profile or a server that does not answer is exit 2, not a difference."""
    parser = argparse.ArgumentParser()
    diff.configure_parser(parser)
    down = "http://127.0.0.1:9/scim/v2"
    base = ["--a", down, "--b", down + "x", "--token-a", "t1", "--token-b", "t2"]
    assert diff.run(parser.parse_args(["--profile", "no-such-idp", *base])) == 2
    assert diff.run(parser.parse_args(["--profile", "okta", *base])) == 2
    assert diff.run(parser.parse_args(["--profile", "okta", *base, "--scenario", "nope"])) == 2
