"""The HTML report as text (no browser): escaping, the matrix, policies, nothing fetched."""

from __future__ import annotations

import re
from typing import Any

from harness.reporting.html import NO_PROFILE, render_html
from harness.reporting.model import CheckRecord, build_report, validate_report

HOSTILE = '<script>alert("x")</script>'


def _report(**extra: Any) -> dict[str, Any]:
    checks = [
        CheckRecord(
            nodeid="suite/test_idp.py::test_idp_assign[okta]",
            title="Okta assigns a user",
            requirement_ids=["rfc7644-3.3-must-1"],
            rfc="RFC7644",
            section="3.3",
            keyword="MUST",
            area="idp",
            profile="okta",
            outcome="failed",
            reason=f"Unexpected HTTP status {HOSTILE}",
            expected="201",
            actual="400",
        ),
        CheckRecord(
            nodeid="suite/test_idp.py::test_idp_assign[entra]",
            requirement_ids=["rfc7644-3.3-must-1"],
            area="idp",
            profile="entra",
        ),
        CheckRecord(nodeid="suite/test_read.py::test_get", area="read", keyword="MUST"),
        CheckRecord(nodeid="suite/test_policy.py::test_policy_seat_cap", policy="seat_cap"),
    ]
    report = build_report(
        target={"url": "https://scim.example.com/scim/v2", "embedded": False},
        settings={"profiles": [], "strict": False},
        declared={"patch": True},
        discovery_error=None,
        checks=checks,
        coverage=None,
        **extra,
    )
    validate_report(report)
    return report


def test_text_from_the_server_is_escaped() -> None:
    page = render_html(_report())
    assert HOSTILE not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page


def test_the_page_references_nothing_outside_itself() -> None:
    page = render_html(_report())
    assert "default-src 'none'" in page
    assert not re.search(r"<(link|img|iframe)\b|<script[^>]+src=", page)
    assert not re.search(r"(src|href)=\"(https?:)?//", page)


def test_the_matrix_has_a_row_per_profile_and_one_for_rfc_checks() -> None:
    page = render_html(_report())
    rows = re.findall(r'<tr data-profile="([^"]+)">', page)
    assert rows == [NO_PROFILE, "entra", "okta"]
    assert "policy: seat_cap" in page


def test_requirements_carry_their_sentence_and_worst_outcome() -> None:
    page = render_html(_report())
    row = re.search(
        r'<tr class="requirement outcome-(\w+)" data-outcome="\w+" '
        r'data-requirement="rfc7644-3.3-must-1">(.*?)</tr>',
        page,
        re.S,
    )
    assert row is not None
    assert row.group(1) == "failed"  # okta failed, entra passed: the worst wins
    assert "MUST" in row.group(2)


def test_declared_policies_and_the_gate_are_shown() -> None:
    gate = {
        "baseline": "ci/baseline.json",
        "passed": False,
        "new_failures": ["test_idp::test_idp_assign[okta]"],
        "known_failures": [],
        "fixed": [],
        "unbaselined_failures": [],
    }
    policies = {"file": "strict.toml", "declared": {"seat_cap": 10}}
    page = render_html(_report(gate=gate, policies=policies))
    assert "FAILED: 1 new failures, 0 known, 0 fixed (against ci/baseline.json)" in page
    assert "&#34;seat_cap&#34;: 10" in page


def test_without_a_catalogue_or_settings_the_page_still_renders() -> None:
    report = _report()
    report["settings"] = {}  # the schema leaves settings open
    page = render_html(report, catalogue={})
    assert "The requirements catalogue is not available." in page
    assert "<dt>Profiles</dt><dd>all</dd>" in page
