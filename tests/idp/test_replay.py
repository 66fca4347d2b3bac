"""`scim-idp replay` and `--scim-replay`: a recording replays clean on a fresh reference
server and reports a server with a defect, in the CLI and as pytest checks."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.client import ScimClient
from harness.exchange import Masker
from harness.idp import cli, replay
from harness.idp.replay import IdMap, Replayer, diff_json
from harness.idp.traffic import TrafficError, dump_line, load_traffic, parse_line
from harness.plugin import SUITE_DIR

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for `defects`
sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/idp, for test_record

from defects.catalog import EditJson, RewriteStatus
from defects.proving import TOKEN, Reference, served_reference
from test_record import record_session

pytest_plugins = ("pytester",)


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A session recorded through the proxy in front of a reference server."""
    folder = tmp_path_factory.mktemp("recording")
    with served_reference(folder) as served:
        record_session(served.url, TOKEN, folder / "traffic.jsonl")
    return folder / "traffic.jsonl"


@pytest.fixture
def reference(tmp_path: Path) -> Iterator[Reference]:
    """A fresh in-process reference server behind the defect switchboard."""
    with served_reference(tmp_path) as served:
        yield served


def _replay(url: str, recording: Path) -> list[replay.StepResult]:
    with ScimClient(url, TOKEN) as client:
        return Replayer(client, load_traffic(recording)).run()


def _cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    replay.configure_parser(parser)
    return replay.run(parser.parse_args(list(argv)))


def test_a_fresh_reference_server_answers_as_recorded(
    recording: Path, reference: Reference, tmp_path: Path
) -> None:
    """The same server, new ids: replay learns and rewrites them and finds no difference."""
    results = _replay(reference.url, recording)
    assert [r.outcome for r in results] == ["ok"] * 6, [r.differences for r in results]
    recorded_id = load_traffic(recording)[0].response.body["id"]
    new_id = results[0].exchange.response_body if results[0].exchange else ""
    assert recorded_id not in new_id
    assert results[1].target.startswith("/Users/")
    assert recorded_id not in results[1].target
    assert results[5].status == 404
    report = tmp_path / "report.json"
    assert (
        _cli(str(recording), "--url", reference.url, "--token", TOKEN, "--json", str(report)) == 0
    )
    data = json.loads(report.read_text())
    assert data["summary"] == {"total": 6, "ok": 6, "differs": 0, "blocked": 0, "skipped": 0}


def test_a_defect_is_reported_where_the_answer_differs(
    recording: Path, reference: Reference, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A GET that drops `name` is reported on that exchange, with the attribute."""
    drop = EditJson("GET", r"/Users/[^/]+", name="drops name",
                    edit=lambda b: {k: v for k, v in b.items() if k != "name"})  # fmt: skip
    report = tmp_path / "report.json"
    with reference.board.active(drop):
        code = _cli(str(recording), "--url", reference.url, "--token", TOKEN, "--json", str(report))
    assert code == 1
    data = json.loads(report.read_text())
    steps = {s["seq"]: s for s in data["steps"]}
    assert [s["outcome"] for s in data["steps"]] == ["ok", "ok", "differs", "ok", "ok", "ok"]
    assert steps[3]["differences"][0]["where"] == "/name"
    assert steps[3]["differences"][0]["actual"] == "(absent)"
    out = capsys.readouterr().out
    assert "differs" in out
    assert "/name" in out
    assert TOKEN not in out
    assert TOKEN not in report.read_text()


def test_a_failed_create_blocks_the_steps_that_need_its_id(
    recording: Path, reference: Reference
) -> None:
    """A create answered 400 fails; the PATCH, GET and DELETE of its user are blocked (the
    lookup still runs, and differs: the blocked PATCH never renamed the user)."""
    with reference.board.active(RewriteStatus("POST", "/Users", to_status=400)):
        results = _replay(reference.url, recording)
    outcomes = [r.outcome for r in results]
    assert outcomes == ["differs", "blocked", "blocked", "differs", "blocked", "blocked"]
    assert results[0].differences[0].kind == "status"
    assert results[1].blocked is not None
    assert "step 1 (POST /Users)" in results[1].blocked
    lookup = {(d.where, d.expected, d.actual) for d in results[3].differences}
    assert ("/Resources/0/name/givenName", "Alicia", "Alice") in lookup


def test_unusable_file_or_server_is_exit_2(recording: Path, tmp_path: Path) -> None:
    """A file that is not format 1, or a server that does not answer, is not a difference."""
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"format": 99, "seq": 1}\n')
    assert _cli(str(bad), "--url", "http://127.0.0.1:9/scim/v2", "--token", "t") == 2
    assert _cli(str(tmp_path / "missing.jsonl"), "--url", "http://x/scim", "--token", "t") == 2
    assert _cli(str(recording), "--url", "http://127.0.0.1:9/scim/v2", "--token", "t") == 2


def test_content_diff_ignores_what_legitimately_changes() -> None:
    """Volatile meta, names' case, unordered multi-valued attributes and null are not diffs."""
    recorded: dict[str, Any] = {
        "id": "a",
        "userName": "x",
        "emails": [{"value": "1"}, {"value": "2"}],
        "nickName": None,
        "meta": {"created": "t1", "lastModified": "t1", "version": 'W/"1"', "location": "u"},
    }
    new = {
        "id": "a",
        "USERNAME": "x",
        "emails": [{"value": "2"}, {"value": "1"}],
        "meta": {"created": "t2", "lastModified": "t3", "version": 'W/"7"', "location": "v"},
        "groups": [],
    }
    assert diff_json(recorded, new) == []
    changed = diff_json(recorded, {**new, "USERNAME": "y", "title": "t"})
    assert {(d.where, d.expected, d.actual) for d in changed} == {
        ("/userName", "x", "y"),
        ("/title", "(absent)", "t"),
    }


def test_a_page_is_ordered_only_when_sort_by_asked_for_it() -> None:
    """RFC 7644 3.4.2.3: without sortBy a page's entries are paired by id, not position."""
    one, two = {"id": "1", "userName": "a"}, {"id": "2", "userName": "b"}
    page = {"totalResults": 2, "Resources": [one, two]}
    flipped = {"totalResults": 2, "Resources": [two, one]}
    assert diff_json(page, flipped) == []
    assert diff_json(page, flipped, sorted_list=True) != []
    changed = {"totalResults": 2, "Resources": [two, {**one, "userName": "z"}]}
    assert [(d.where, d.actual) for d in diff_json(page, changed)] == [
        ("/Resources/0/userName", "z")
    ]


def test_ids_are_rewritten_as_whole_tokens_only() -> None:
    """A learned id replaces the recorded one in paths and filters, never inside other ids."""
    ids = IdMap()
    ids.learn("abc", "XYZ")
    assert ids.text("/Users/abc") == "/Users/XYZ"
    assert ids.text('members[value eq "abc"]') == 'members[value eq "XYZ"]'
    assert ids.text("/Users/abcd") == "/Users/abcd"
    assert ids.json({"members": [{"value": "abc"}]}) == {"members": [{"value": "XYZ"}]}
    assert ids.query("filter=members%5Bvalue+eq+%22abc%22%5D") == (
        "filter=members%5Bvalue%20eq%20%22XYZ%22%5D"
    )
    assert ids.query("aadOptscim062020&count=1") == "aadOptscim062020&count=1"


def _inner(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    # A subprocess: in-process, modules the outer session imported (the shipped suite's
    # own test_replay among them) leak into the inner run under xdist.
    return pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", *args, str(SUITE_DIR / "test_replay.py")
    )


def test_scim_replay_runs_a_clean_recording_as_passing_checks(
    pytester: pytest.Pytester, recording: Path
) -> None:
    """`pytest --scim-url embedded --scim-replay FILE`: one passing check per exchange."""
    result = _inner(pytester, "--scim-url", "embedded", "--scim-replay", str(recording))
    result.assert_outcomes(passed=6)


def test_scim_replay_fails_the_exchange_whose_recorded_answer_differs(
    pytester: pytest.Pytester, recording: Path, reference: Reference
) -> None:
    """An edited expected answer fails exactly that check, with the difference shown."""
    lines = recording.read_text().splitlines()
    third = json.loads(lines[2])
    third["response"]["body"]["name"]["givenName"] = "Bob"
    lines[2] = json.dumps(third)
    edited = pytester.path / "edited.jsonl"
    edited.write_text("\n".join(lines) + "\n")
    target = ("--scim-url", reference.url, "--scim-token", TOKEN)
    result = _inner(pytester, *target, "--scim-replay", str(edited))
    result.assert_outcomes(passed=5, failed=1)
    result.stdout.fnmatch_lines(["*3-GET-/Users/*", '*givenName*expected "Bob"*'])


def test_without_scim_replay_nothing_is_collected(pytester: pytest.Pytester) -> None:
    """The replay module stays out of ordinary runs."""
    result = _inner(pytester, "--scim-url", "http://127.0.0.1:9/scim/v2", "--co")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_traffic_lines_round_trip_and_bad_lines_name_file_and_line(tmp_path: Path) -> None:
    """Format 1: JSON bodies stay JSON, other bodies are text; a bad line is named."""
    masker = Masker(["tok-secret-1"])
    line = dump_line(
        seq=1, time="t", elapsed=0.5, method="post", path="/Users", query="a=tok-secret-1",
        request_headers=[("Authorization", "Bearer tok-secret-1")], request_body=b'{"a": 1}',
        status=400, response_headers=[("Content-Type", "text/plain")],
        response_body=b"no tok-secret-1 here", masker=masker,
    )  # fmt: skip
    assert "tok-secret-1" not in line
    parsed = parse_line(line, "f:1")
    assert parsed.request.method == "POST"
    assert parsed.request.body == {"a": 1}
    assert parsed.request.query == "a=***"
    assert parsed.request.header("authorization") == "Bearer ***"
    assert parsed.response.text == "no *** here"
    assert parsed.response.body is None
    bad = tmp_path / "bad.jsonl"
    bad.write_text(line + "\n" + line + "\n")
    with pytest.raises(TrafficError, match="seq 1 appears twice"):
        load_traffic(bad)
    bad.write_text(line + "\n{not json\n")
    with pytest.raises(TrafficError, match=r"bad.jsonl:2: not JSON"):
        load_traffic(bad)
    elsewhere = line.replace('"path":"/Users"', '"path":"http://elsewhere.invalid/Users"')
    bad.write_text(elsewhere + "\n")
    with pytest.raises(TrafficError, match="relative to the base URL"):
        load_traffic(bad)


def test_scim_idp_replay_prints_json_on_stdout(
    recording: Path, reference: Reference, capsys: pytest.CaptureFixture[str]
) -> None:
    """`scim-idp replay FILE --json -`: the console script dispatches here; JSON only."""
    code = cli.main(["replay", str(recording), "--url", reference.url, "--token", TOKEN,
                     "--json", "-"])  # fmt: skip
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["summary"]["ok"] == 6
    assert [s["outcome"] for s in data["steps"]] == ["ok"] * 6
