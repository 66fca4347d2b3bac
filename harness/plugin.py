"""pytest entry point (pytest11 "scim"): options and markers always, everything else on demand.

Without --scim-url the plugin only registers its options, ini keys and markers (so
`--strict-markers` and `--strict-config` work in any project) and imports nothing heavy,
like Hypothesis' plugin: a project's own tests never see it. With --scim-url it collects
the suite shipped in harness/suite, starts the embedded server if asked, and registers the
hooks of harness.run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.settings import SETTINGS_KEY, add_options, resolve_settings

__all__ = [
    "MARKERS",
    "SUITE_DIR",
    "pytest_addoption",
    "pytest_configure",
]

SUITE_DIR = Path(__file__).parent / "suite"

MARKERS = {
    "auth": "SCIM check: authentication (RFC 7644 section 2)",
    "errors": "SCIM check: media type and errors (RFC 7644 sections 3.1, 3.12, 8.1)",
    "discovery": "SCIM check: discovery endpoints (RFC 7644 section 4, RFC 7643 5-7)",
    "schema": "SCIM check: schemas and attribute characteristics (RFC 7643 2, 4, 7, 8)",
    "create": "SCIM check: creating resources (RFC 7644 section 3.3)",
    "read": "SCIM check: retrieving a known resource (RFC 7644 section 3.4.1)",
    "query": "SCIM check: filter, sort, paging, attributes (RFC 7644 section 3.4.2)",
    "search": "SCIM check: /.search (RFC 7644 section 3.4.3)",
    "replace": "SCIM check: PUT (RFC 7644 section 3.5.1)",
    "patch": "SCIM check: PATCH (RFC 7644 section 3.5.2)",
    "delete": "SCIM check: DELETE (RFC 7644 section 3.6)",
    "bulk": "SCIM check: /Bulk (RFC 7644 section 3.7)",
    "etag": "SCIM check: versioning and ETags (RFC 7644 section 3.14)",
    "me": "SCIM check: /Me (RFC 7644 section 3.11)",
    "groups": "SCIM check: groups and membership consistency (RFC 7643 4.2, RFC 7644 3.5.2)",
    "idp": "SCIM check: what an IdP profile sends and needs (profiles/, harness/idp)",
    "policy": "SCIM check: a provisioning promise of the --scim-policy file (SPEC.md, issue 5)",
    "must": "SCIM check enforcing a MUST requirement (a violation fails)",
    "should": "SCIM check enforcing a SHOULD requirement (warns; fails with --scim-strict)",
    "may": "SCIM check of a MAY feature (skipped with the reason when unsupported)",
    "scim_response_checks_off(*names)": "switch always-on SCIM response checks off for a check",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    _add_profile_markers(config)
    settings = resolve_settings(config)
    config.stash[SETTINGS_KEY] = settings
    if not settings.active:
        return
    _collect_shipped_suite(config)
    from harness.policy.session import PolicyRun
    from harness.run import RUN_KEY, RunState, ScimRun, XdistHooks

    state = RunState(settings=settings)
    config.stash[RUN_KEY] = state
    config.pluginmanager.register(PolicyRun(config, settings), "scim-policy")
    _resolve_target(config, state)
    config.pluginmanager.register(ScimRun(config, state), "scim-run")
    if config.pluginmanager.hasplugin("xdist") and not hasattr(config, "workerinput"):
        config.pluginmanager.register(XdistHooks(state), "scim-xdist")


def _add_profile_markers(config: pytest.Config) -> None:
    """One marker per profile file (`-m entra`); lists file names only, parses nothing."""
    from harness.idp.profiles import profile_names

    for name in profile_names():
        if name not in MARKERS:
            config.addinivalue_line("markers", f"{name}: IdP check of the {name} profile")


def _collect_shipped_suite(config: pytest.Config) -> None:
    """No test paths on the command line: run the shipped suite, not the project's testpaths."""
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        config.args = [str(SUITE_DIR)]
        config.args_source = pytest.Config.ArgsSource.ARGS


def _resolve_target(config: pytest.Config, state: object) -> None:
    from harness.endpoint import EmbeddedServer, Target
    from harness.run import RunState

    assert isinstance(state, RunState)
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        state.uid = str(workerinput.get("testrunuid") or state.uid)
        state.worker = str(workerinput.get("workerid", "gw"))
        if workerinput.get("scim_url"):
            state.target = Target(
                workerinput["scim_url"],
                workerinput.get("scim_token"),
                bool(workerinput.get("scim_embedded")),
            )
            return
    settings = state.settings
    if settings.url != "embedded":
        state.target = Target(str(settings.url), settings.token)
        return
    if config.option.collectonly or config.option.help:
        return
    server = EmbeddedServer(settings.embedded_command, policy=settings.policy)
    state.server = server
    config.add_cleanup(server.stop)
    state.target = server.start()
