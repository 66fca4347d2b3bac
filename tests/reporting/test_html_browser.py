"""The HTML report in a real browser: Debian's headless Chromium driven by Playwright.

A real run against the fake server writes the report; the page is opened from file:// and
must show the JSON's numbers, hide rows by outcome, expand a failure to its exchange, and
fetch nothing from any network.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from reporting_support import Served, load_json, write_suite

from harness.grading import OUTCOMES
from harness.requirements import load_catalogue

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _unavailable(reason: str) -> None:
    """Fail in CI (CI=true), where the browser test must run; skip on a developer machine."""
    message = f"{reason}: the HTML report's browser test needs it (apt-get install -y chromium)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.is_file():
        _unavailable(f"{CHROMIUM} is absent")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


def test_a_missing_browser_fails_in_ci_and_skips_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="needs it"):
        _unavailable("/usr/bin/chromium is absent")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="needs it"):
        _unavailable("/usr/bin/chromium is absent")


def test_the_html_report_in_a_browser(
    pytester: pytest.Pytester, fake_server: Served, browser: Any, tmp_path: Path
) -> None:
    write_suite(pytester)
    pytester.runpytest(
        "--scim-url", fake_server.url, "--scim-token", fake_server.token, "test_me.py"
    )
    reports = pytester.path / "reports"
    report = load_json(reports / "scim-report.json")
    summary = report["summary"]
    html = reports / "scim-report.html"

    page = browser.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    try:
        page.goto(html.as_uri())

        # The summary shows the JSON's numbers.
        for key in ("total", *OUTCOMES):
            cell = page.locator(f'#summary-counts [data-count="{key}"]')
            assert cell.inner_text() == str(summary[key]), key
        verdicts = sum(summary[o] for o in ("passed", "warning", "failed", "blocked", "error"))
        good = summary["passed"] + summary["warning"]
        assert page.locator("#score").inner_text() == f"{100 * good / verdicts:.1f}%"
        assert page.locator("#target").inner_text().startswith(report["target"]["url"])

        # A filter hides the rows of its outcome, and only those.
        rows = page.locator("#checks tr.check")
        passed = page.locator('#checks tr.check[data-outcome="passed"]')
        assert rows.count() == summary["total"]
        assert passed.count() == summary["passed"] > 0
        assert all(passed.nth(i).is_visible() for i in range(passed.count()))
        page.locator('#filters input[data-filter="passed"]').uncheck()
        assert not any(passed.nth(i).is_visible() for i in range(passed.count()))
        visible = sum(rows.nth(i).is_visible() for i in range(rows.count()))
        assert visible == summary["total"] - summary["passed"]
        shown = f"showing {visible} of {summary['total']} checks"
        assert page.locator("#shown").inner_text() == shown

        # A failure expands to what was expected, what came, the requirement and the exchange.
        failure = page.locator('#checks tr[data-outcome="failed"] details.failure').first
        exchange = failure.locator("pre.exchange").first
        assert not exchange.is_visible()
        failure.locator("summary").click()
        assert exchange.is_visible()
        text = exchange.inner_text()
        assert f"> GET {fake_server.url}/Users/nobody" in text
        assert "authorization: Bearer ***" in text
        assert "< 404" in text
        assert failure.locator("pre.expected").inner_text() == "200"
        assert failure.locator("pre.actual").inner_text() == "404"
        sentence = load_catalogue()["rfc7644-4-must-1"].text
        assert sentence in failure.locator(".quote").first.inner_text()

        # The requirement table shows that sentence beside the failing outcome.
        requirement = page.locator('#requirements tr[data-requirement="rfc7644-4-must-1"]')
        assert requirement.get_attribute("data-outcome") == "failed"
        assert sentence in requirement.inner_text()

        # A docstring's markup is shown as text, never rendered (autoescape).
        title = page.locator('#checks tr.check[data-outcome="failed"] .title').first
        assert title.inner_text() == "RFC 7644 4: a MUST check that fails <b>loudly</b>."
        assert title.locator("b").count() == 0

        page.screenshot(path=str(tmp_path / "scim-report.png"), full_page=True)
    finally:
        page.close()
    assert (tmp_path / "scim-report.png").stat().st_size > 0
    assert [url for url in requests if not url.startswith("file://")] == []
    assert fake_server.token not in html.read_text(encoding="utf-8")
