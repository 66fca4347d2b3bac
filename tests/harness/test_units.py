"""Unit tests of the harness core: settings, exchange rendering, grading, oracle, collector,
registry, and the embedded server's start/stop."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from harness.checks import REGISTRY, ClauseInfo, clause, clause_of
from harness.discovery import AttributeInfo, Capabilities, ResourceTypeInfo, SchemaInfo
from harness.endpoint import EmbeddedServer
from harness.exchange import BODY_KEEP, Masker, render_curl, render_text
from harness.grading import grade
from harness.reporting.collector import Collector
from harness.settings import _parse_bool, _parse_profiles, _parse_timeout, _parse_url
from harness.validation.oracle import compare
from harness.verdicts import (
    Blocked,
    HarnessError,
    Keyword,
    ScimViolation,
    StatusMismatch,
    Unsupported,
)

SECRET = "unit-secret-token-42"

# -- settings ---------------------------------------------------------------------------------


def test_option_parsers_refuse_bad_values() -> None:
    assert _parse_url("embedded") == "embedded"
    assert _parse_url(" https://x/scim/v2 ") == "https://x/scim/v2"
    assert _parse_timeout("2.5") == 2.5
    assert _parse_bool("Yes") is True
    assert _parse_bool("off") is False
    assert _parse_profiles("okta, entra onelogin") == ("okta", "entra", "onelogin")
    for parse, value in (
        (_parse_url, "x"),
        (_parse_timeout, "0"),
        (_parse_timeout, "ten"),
        (_parse_bool, "maybe"),
    ):
        with pytest.raises(ValueError, match="expected"):
            parse(value)


def test_command_line_beats_env_beats_ini(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeini("[pytest]\nscim_timeout = 3\nscim_strict = true\nscim_profile = okta\n")
    pytester.makeconftest(
        """
        from harness.settings import SETTINGS_KEY

        def pytest_report_header(config):
            s = config.stash[SETTINGS_KEY]
            return f"settings timeout={s.timeout} strict={s.strict} profiles={s.profiles}"
        """
    )
    monkeypatch.setenv("SCIM_TIMEOUT", "4")
    monkeypatch.setenv("SCIM_PROFILE", "entra,onelogin")
    result = pytester.runpytest("--scim-timeout", "5", "--co")
    result.stdout.fnmatch_lines(["settings timeout=5.0 strict=True profiles=('entra', 'onelogin')"])


def test_a_bad_env_value_is_a_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCIM_TIMEOUT", "soon")
    result = pytester.runpytest("--co")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*environment variable SCIM_TIMEOUT: expected a number*"])


# -- exchange ---------------------------------------------------------------------------------


def _exchange(**kw: Any) -> Any:
    values: dict[str, Any] = {
        "method": "POST",
        "url": f"https://h/scim/v2/Users?token={SECRET}",
        "request_headers": [("Authorization", f"Bearer {SECRET}"), ("Cookie", "sid=1")],
        "request_body": '{"userName": "a"}',
        "status": 201,
        "response_headers": [("Content-Type", "application/scim+json")],
        "response_body": f'{{"echo": "{SECRET}"}}',
        "elapsed": 0.012,
    }
    values.update(kw)
    return Masker([SECRET]).exchange(**values)


def test_masking_happens_when_recorded() -> None:
    exchange = _exchange()
    dumped = repr(exchange) + render_text(exchange) + render_curl(exchange)
    assert SECRET not in dumped
    assert ("Authorization", "Bearer ***") in exchange.request_headers
    assert ("Cookie", "***") in exchange.request_headers


def test_the_curl_line_replays_with_the_env_token() -> None:
    line = render_curl(_exchange())
    assert line.startswith("curl -sS -X POST 'https://h/scim/v2/Users?token=***'")
    assert '-H "Authorization: Bearer $SCIM_TOKEN"' in line
    assert '--data-raw \'{"userName": "a"}\'' in line


def test_bodies_are_bounded_and_marked() -> None:
    exchange = _exchange(response_body="y" * (BODY_KEEP + 10), response_dropped=100)
    assert len(exchange.response_body) == BODY_KEEP
    assert exchange.response_cut == 110
    assert render_text(exchange).endswith("[cut: 110 bytes more]")


def test_a_missing_response_renders_the_error() -> None:
    exchange = _exchange(status=None, response_headers=[], response_body="", error="refused")
    assert render_text(exchange).splitlines()[-1].startswith("< no response: refused")


# -- grading ----------------------------------------------------------------------------------


def _grade(error: BaseException | None, outcome: str = "failed", **kw: Any) -> str:
    kw.setdefault("check_keyword", Keyword.MUST)
    return grade(when=kw.pop("when", "call"), pytest_outcome=outcome, error=error, **kw).outcome


def test_grading_follows_the_keyword() -> None:
    violation = StatusMismatch("x")
    assert _grade(violation) == "failed"
    assert _grade(violation, check_keyword=Keyword.SHOULD) == "warning"
    assert _grade(violation, check_keyword=Keyword.SHOULD, strict=True) == "failed"
    assert _grade(StatusMismatch("x", keyword=Keyword.MUST), check_keyword=Keyword.SHOULD) == (
        "failed"
    )
    assert _grade(Blocked("no user")) == "blocked"
    assert _grade(Blocked("no user"), when="setup") == "blocked"
    assert _grade(Unsupported("no bulk"), outcome="skipped") == "skipped"
    assert _grade(HarnessError("bug")) == "error"
    assert _grade(KeyError("x"), when="setup") == "error"
    assert _grade(None, outcome="passed") == "passed"
    assert _grade(AssertionError("plain")) == "failed"
    assert _grade(AssertionError("plain"), check_keyword=Keyword.SHOULD) == "warning"
    assert _grade(AssertionError("plain"), when="teardown") == "error"
    finding = ScimViolation("media type", keyword=Keyword.SHOULD)
    assert _grade(None, outcome="passed", findings=[finding]) == "warning"
    assert _grade(None, outcome="passed", findings=[finding], strict=True) == "failed"


# -- registry ---------------------------------------------------------------------------------


def test_clause_derives_metadata_and_markers() -> None:
    def test_x() -> None:
        """RFC 7644 3.12: sample."""

    test_x.__module__ = "harness.suite.test_errors"
    marked = clause("rfc7644-3.12-should-1", "rfc7644-3.12-must-2")(test_x)
    info = clause_of(marked)
    assert isinstance(info, ClauseInfo)
    assert (info.rfc, info.section, info.keyword, info.area) == (
        "RFC7644",
        "3.12",
        Keyword.MUST,
        "errors",
    )
    assert {m.name for m in marked.pytestmark} == {"errors", "must"}  # type: ignore[attr-defined]
    assert REGISTRY.get(
        "harness.suite.test_errors::test_clause_derives_metadata_and_markers.<locals>.test_x"
    )


def test_the_registry_refuses_a_duplicate_name() -> None:
    def first() -> None: ...

    def second() -> None: ...

    for fn in (first, second):
        fn.__module__ = "harness.suite.test_me"
        fn.__qualname__ = "test_duplicate"
    clause("rfc7644-4-must-1")(first)
    with pytest.raises(HarnessError, match="duplicate check name"):
        clause("rfc7644-4-must-1")(second)


def test_a_module_outside_the_areas_is_refused() -> None:
    def test_y() -> None: ...

    test_y.__module__ = "harness.suite.test_misc"
    with pytest.raises(HarnessError, match=r"test_<area>\.py"):
        clause("rfc7644-4-must-1")(test_y)


# -- oracle -----------------------------------------------------------------------------------

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def _caps() -> Capabilities:
    user = SchemaInfo(
        USER_URN,
        "User",
        (
            AttributeInfo("userName", case_exact=False),
            AttributeInfo("password", mutability="writeOnly", returned="never"),
            AttributeInfo("displayName"),
            AttributeInfo("active", "boolean"),
            AttributeInfo(
                "emails",
                "complex",
                multi_valued=True,
                sub_attributes=(AttributeInfo("value"), AttributeInfo("type")),
            ),
        ),
    )
    ext = SchemaInfo(ENTERPRISE, "Enterprise", (AttributeInfo("department"),))
    rt = ResourceTypeInfo("User", "/Users", USER_URN, ((ENTERPRISE, False),))
    return Capabilities({}, (rt,), (user, ext))


def test_the_oracle_ignores_what_a_client_cannot_expect_back() -> None:
    expected = {
        "userName": "Alice@Example.com",
        "password": "x",
        "nickName": "unpublished",
        "id": "server-set",
        "emails": [{"value": "a@example.com"}],
    }
    actual = {
        "userName": "alice@example.com",
        "id": "1",
        "emails": [{"value": "a@example.com", "type": "work"}],
    }
    assert compare(expected, actual, _caps(), "User") == []


def test_the_oracle_sees_a_write_that_was_not_applied() -> None:
    expected = {
        "displayName": "New",
        "active": False,
        "emails": [{"value": "b@example.com"}],
        ENTERPRISE: {"department": "R&D"},
        "title": None,
    }
    actual = {
        "displayName": "Old",
        "active": True,
        "emails": [{"value": "a@example.com"}],
        ENTERPRISE: {"department": "Sales"},
    }
    diffs = compare(expected, actual, _caps(), "User")
    assert len(diffs) == 5, diffs  # displayName, active, emails (missing + extra), department
    assert any("extra elements" in d for d in diffs)


def test_the_oracle_checks_removals() -> None:
    caps = _caps()
    assert compare({"displayName": None}, {"displayName": "still"}, caps, "User") == [
        "displayName: expected absent, found 'still'"
    ]
    assert compare({"displayName": None}, {}, caps, "User") == []


# -- collector --------------------------------------------------------------------------------


def test_the_collector_keeps_the_worst_phase() -> None:
    collector = Collector()
    meta = {
        "clause": {
            "requirement_ids": ["rfc7644-4-must-1"],
            "rfc": "RFC7644",
            "section": "4",
            "keyword": "MUST",
            "area": "discovery",
        }
    }
    collector.add("a", "setup", 0.1, {**meta, "outcome": "passed"})
    collector.add("a", "call", 0.2, {**meta, "outcome": "failed", "reason": "boom"})
    collector.add("a", "teardown", 0.1, {**meta, "outcome": "passed"})
    collector.add("b", "setup", 0.1, {**meta, "outcome": "blocked", "reason": "no user"})
    collector.add("b", "teardown", 0.0, {**meta, "outcome": "passed"})
    collector.add("c", "setup", 0.0, {**meta, "outcome": "skipped", "reason": "no bulk"})
    collector.add("c", "teardown", 0.0, {**meta, "outcome": "passed"})
    records = collector.records
    assert (records["a"].outcome, records["a"].reason) == ("failed", "boom")
    assert records["a"].duration == pytest.approx(0.4)
    assert records["b"].outcome == "blocked"
    assert records["c"].outcome == "skipped"
    assert collector.exercised_ids() == {"rfc7644-4-must-1"}


# -- embedded server --------------------------------------------------------------------------


def _script(tmp_path: Path, body: str) -> str:
    script = tmp_path / "fake_server.py"
    script.write_text(body, encoding="utf-8")
    return f"{{python}} {script} {{database_url}} {{token}}"


def test_the_embedded_server_waits_for_ready(tmp_path: Path) -> None:
    ready = "print('READY http://127.0.0.1:1234/scim/v2', flush=True)"
    command = _script(tmp_path, f"import time\nprint('starting')\n{ready}\ntime.sleep(60)\n")
    server = EmbeddedServer(command)
    try:
        target = server.start()
        assert target.url == "http://127.0.0.1:1234/scim/v2"
        assert target.token == server.token
        assert target.embedded
    finally:
        server.stop()
    assert server._process is None


def test_the_embedded_server_can_be_given_its_token(tmp_path: Path) -> None:
    """A caller that must send a known token (the policy proofs) passes it in; the server
    is started with it, and the target carries it."""
    echo = "import sys, time\nprint('READY http://127.0.0.1:1/' + sys.argv[2], flush=True)\n"
    server = EmbeddedServer(_script(tmp_path, echo + "time.sleep(60)\n"), token="given-token")
    try:
        target = server.start()
        assert target.token == "given-token"
        assert target.url == "http://127.0.0.1:1/given-token"
    finally:
        server.stop()
    first, second = EmbeddedServer(), EmbeddedServer()
    first.stop()
    second.stop()
    assert first.token != second.token  # without one, each gets a random token


def test_a_dying_embedded_server_shows_its_output(tmp_path: Path) -> None:
    command = _script(
        tmp_path,
        "import sys\nprint('boom: port in use', flush=True)\n"
        "print(sys.argv[2], flush=True)\nsys.exit(3)\n",
    )
    server = EmbeddedServer(command)
    with pytest.raises(HarnessError) as caught:
        server.start()
    text = str(caught.value)
    assert "exited before READY" in text
    assert "boom: port in use" in text
    assert server.token not in text


def test_a_silent_embedded_server_times_out(tmp_path: Path) -> None:
    command = _script(tmp_path, "import time\ntime.sleep(60)\n")
    server = EmbeddedServer(command, ready_timeout=0.5)
    with pytest.raises(HarnessError, match=r"no READY line within 0\.5 s"):
        server.start()


def test_the_default_command_runs_this_interpreter() -> None:
    server = EmbeddedServer()
    try:
        argv = server.argv()
    finally:
        server.stop()
    assert argv[:3] == [sys.executable, "-m", "reference_server"]
    assert argv[argv.index("--port") + 1] == "0"


# -- published schemas ------------------------------------------------------------------------


def test_published_schema_validation_finds_type_shape_and_never() -> None:
    from harness.validation.published import published_errors

    caps = _caps()
    good = {"userName": "a", "active": True, "emails": [{"value": "a@x", "type": "work"}]}
    assert published_errors(good, caps, "User") == []
    bad = {"active": "yes", "emails": {"value": "a@x"}, "password": "p", "displayName": ["x"]}
    errors = published_errors(bad, caps, "User")
    assert "active: expected type boolean, found 'yes'" in errors
    assert any(e.startswith("emails: multiValued but not a list") for e in errors)
    assert 'password: returned="never" but present' in errors
    assert "displayName: single-valued but a list" in errors


def test_the_report_schema_is_a_valid_json_schema() -> None:
    from jsonschema import Draft202012Validator

    from harness.reporting.model import build_report, report_schema, validate_report

    Draft202012Validator.check_schema(report_schema())
    report = build_report(target={"url": None, "embedded": False}, settings={}, declared=None,
                          discovery_error="x", checks=[], coverage=None)  # fmt: skip
    validate_report(report)
    report["summary"]["bogus"] = 1
    with pytest.raises(HarnessError, match=r"report breaks report\.schema\.json"):
        validate_report(report)
