"""IdP profiles (profiles/*.json): each lifecycle scenario and each quirk, per profile.

A scenario check replays what the IdP sends for one lifecycle step, in its order, with its
headers and PATCH dialect, and fails where the IdP would not accept the answer or where a
read-back does not show the change. A quirk is sent on its own, twice graded: "works with
this IdP" (the IdP's documented need) and "RFC-strict" (an answer RFC 7644 allows: for a
request the RFC defines, its effect; for one it does not, the effect or a clean 400).
Select with `-m <profile>` or `--scim-profile`; every item carries the profile's marker.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from functools import cache
from typing import Any

import pytest

from harness.checks import clause
from harness.client import ScimClient
from harness.discovery import ENTERPRISE_URN, Capabilities
from harness.idp.profiles import Profile, Quirk, RequestTemplate, load_profile, profile_names
from harness.idp.simulator import (
    SCENARIO_OPERATIONS,
    IdpFailure,
    QuirkResult,
    Simulator,
    run_scenario,
)
from harness.settings import SETTINGS_KEY
from harness.suite.conftest import CreatedResources
from harness.verdicts import StateNotApplied, StatusMismatch, Unsupported

RecordProperty = Callable[[str, object], None]


@cache
def _profile(name: str) -> Profile:
    return load_profile(name)


def _selected(config: pytest.Config) -> list[Profile]:
    """The profiles named by --scim-profile (all when none), validated."""
    settings = config.stash.get(SETTINGS_KEY, None)
    wanted = tuple(settings.profiles) if settings is not None else ()
    known = profile_names()
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise pytest.UsageError(
            f"--scim-profile: unknown profile(s) {', '.join(unknown)}; known: {', '.join(known)}"
        )
    return [_profile(name) for name in (wanted or known)]


def _marks(profile: Profile) -> list[pytest.MarkDecorator]:
    return [getattr(pytest.mark, profile.name)]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Profiles (scenario checks) or profile x quirk pairs (quirk checks), with markers."""
    if "idp_profile" in metafunc.fixturenames:
        params = [pytest.param(p, id=p.name, marks=_marks(p)) for p in _selected(metafunc.config)]
        metafunc.parametrize("idp_profile", params)
    elif "idp_quirk" in metafunc.fixturenames:
        params = [
            pytest.param((p, q), id=f"{p.name}-{q.id}", marks=_marks(p))
            for p in _selected(metafunc.config)
            for q in p.quirks
        ]
        metafunc.parametrize("idp_quirk", params)


@pytest.fixture
def simulator(scim: ScimClient, created: CreatedResources) -> Callable[[Profile], Simulator]:
    """`simulator(profile)`: the profile's IdP over this check's client; what it creates is
    deleted at the end of the check."""

    def make(profile: Profile) -> Simulator:
        return Simulator(scim, profile, on_create=lambda endpoint, rid: created.add(endpoint, rid))

    return make


def _require_for(
    capabilities: Capabilities, profile: Profile, templates: list[RequestTemplate], what: str
) -> None:
    """Unsupported when the server declares it lacks what these requests need (PATCH, filter,
    Groups): the IdP cannot work with it, and the report says why instead of failing."""
    patches = any(t.method == "PATCH" for t in templates)
    filters = any("filter" in t.params or "filter=" in (t.query or "") for t in templates)
    groups = any(t.path.startswith("/Groups") for t in templates)
    missing = [
        label
        for label, needed, declared in (
            ("PATCH support", patches, capabilities.patch),
            ("filter support", filters, capabilities.filter),
            ("Group resource type", groups, capabilities.resource_type("Group") is not None),
        )
        if needed and not declared
    ]
    if missing:
        raise Unsupported(
            f"the server declares no {', no '.join(missing)}; {profile.title} needs it {what}"
        )


@pytest.fixture
def scenario(
    idp_profile: Profile,
    simulator: Callable[[Profile], Simulator],
    run_prefix: str,
    record_property: RecordProperty,
    capabilities: Capabilities,
) -> Callable[[str], None]:
    """`scenario(name)`: run one lifecycle scenario of the check's profile, recording the
    profile and scenario in the report; unsupported when the server lacks what it needs."""

    def run(name: str) -> None:
        __tracebackhide__ = True
        record_property("idp_profile", idp_profile.name)
        record_property("idp_scenario", name)
        ops = SCENARIO_OPERATIONS[name]
        templates = [t for op in ops for t in idp_profile.operations.get(op, ())]
        _require_for(capabilities, idp_profile, templates, f"in the {name} scenario")
        run_scenario(simulator(idp_profile), name, f"{run_prefix}{idp_profile.name}-")

    return run


# -- scenarios -----------------------------------------------------------------------------


@clause("rfc7644-3.3-must-3", "rfc7644-3.4.2-must-6")
def test_idp_assign(scenario: Callable[[str], None]) -> None:
    """RFC 7644 3.3: assigning a user: the lookup misses, the create answers 201 with an id."""
    scenario("assign")


@clause("rfc7644-3.5.1-must-2", "rfc7644-3.5.2-must-14")
def test_idp_update(scenario: Callable[[str], None]) -> None:
    """RFC 7644 3.5: the IdP's attribute update (its PUT or PATCH dialect) is applied."""
    scenario("update")


@clause("rfc7644-3.5.1-must-2", "rfc7644-3.5.2-must-14", "rfc7644-3.4.2.2-must-1")
def test_idp_rename_and_email(scenario: Callable[[str], None]) -> None:
    """RFC 7644 3.5: a changed userName and e-mail are applied and the lookup finds the new one."""
    scenario("rename-and-email")


@clause("rfc7644-3.5.2-must-14", "rfc7644-3.4.2.2-must-1")
def test_idp_deactivate(scenario: Callable[[str], None]) -> None:
    """RFC 7644 3.5.2: the IdP's deactivation sets active false; the user stays readable."""
    scenario("deactivate")


@clause("rfc7644-3.5.2-must-14")
def test_idp_reactivate(scenario: Callable[[str], None]) -> None:
    """RFC 7644 3.5.2: the IdP's reactivation sets active true again."""
    scenario("reactivate")


@clause("rfc7644-3.6-must-3", "rfc7644-3.5.2-must-14")
def test_idp_unassign(scenario: Callable[[str], None]) -> None:
    """RFC 7644 3.6: unassigning deactivates or deletes, as the IdP does; the result shows."""
    scenario("unassign")


@clause("rfc7644-3.6-should-2", "rfc7644-3.3-must-3", keyword="MUST")
def test_idp_reassign_after_delete(scenario: Callable[[str], None]) -> None:
    """RFC 7644 3.6: after the IdP's deprovisioning, assigning again yields one active user."""
    scenario("reassign-after-delete")


@clause("rfc7644-3.5.2.1-must-1", "rfc7644-3.5.2.2-must-1", "rfc7644-3.5.2-must-14")
def test_idp_group_push(scenario: Callable[[str], None]) -> None:
    """RFC 7644 3.5.2: group push (create, add, remove, rename, delete) in the IdP's dialect."""
    scenario("group-push")


@clause("rfc7644-3.4.2-must-1", "rfc7644-3.4.2.4-must-4")
def test_idp_import(scenario: Callable[[str], None]) -> None:
    """RFC 7644 3.4.2.4: the IdP's paged import lists every existing user and group once."""
    scenario("import")


@clause("rfc7644-3.4.2.2-must-1", "rfc7644-3.3-must-5")
def test_idp_link_existing(scenario: Callable[[str], None]) -> None:
    """RFC 7644 3.4.2.2: the lookup finds a user the app already has; linked, not duplicated."""
    scenario("link-existing")


@clause("rfc7644-3.4.2-must-6", "rfc7644-3.4.2-must-1")
def test_idp_connection_test(
    idp_profile: Profile,
    simulator: Any,
    run_prefix: str,
    record_property: RecordProperty,
    capabilities: Capabilities,
) -> None:
    """RFC 7644 3.4.2: the IdP's connection test (its probe requests) gets the answers it needs."""
    record_property("idp_profile", idp_profile.name)
    probe = list(idp_profile.operations.get("probe", ()))
    _require_for(capabilities, idp_profile, probe, "in its connection test")
    simulator(idp_profile).probe(f"{run_prefix}{idp_profile.name}-")


# -- quirks --------------------------------------------------------------------------------


def _run_quirk(
    verdict: str,
    idp_quirk: tuple[Profile, Quirk],
    simulator: Callable[[Profile], Simulator],
    run_prefix: str,
    record_property: RecordProperty,
    capabilities: Capabilities,
) -> tuple[Quirk, QuirkResult]:
    profile, quirk = idp_quirk
    templates = [quirk.request]
    if quirk.setup == "group_with_members":
        templates.append(replace(quirk.request, path="/Groups", method="POST", params={}))
    _require_for(capabilities, profile, templates, f"for quirk {quirk.id}")
    uses_extension = ENTERPRISE_URN in json.dumps([quirk.request.path, quirk.request.body])
    if uses_extension and capabilities.schema(ENTERPRISE_URN) is None:
        raise Unsupported(f"the server publishes no enterprise extension; quirk {quirk.id} uses it")
    for name, value in (
        ("idp_profile", profile.name),
        ("idp_quirk", quirk.id),
        ("idp_source", quirk.source),
        ("idp_rfc", quirk.rfc),
    ):
        record_property(name, value)
    sim = simulator(profile)
    # The two verdicts of one quirk may run at once (xdist): their names must differ.
    return quirk, sim.run_quirk(quirk, f"{run_prefix}{profile.name}-{verdict}-")


def _describe(profile: Profile, quirk: Quirk) -> str:
    return f"{profile.title}, quirk {quirk.id} ({quirk.title}; source {quirk.source})"


@clause("rfc7644-3.5.2-must-14", "rfc7644-3.3-must-3", keyword="MUST")
def test_quirk_works_with_idp(
    idp_quirk: tuple[Profile, Quirk],
    simulator: Any,
    run_prefix: str,
    record_property: RecordProperty,
    capabilities: Capabilities,
) -> None:
    """RFC 7644 3.5.2: an IdP quirk sent as the IdP sends it gets the answer and effect it needs."""
    quirk, result = _run_quirk(
        "idp", idp_quirk, simulator, run_prefix, record_property, capabilities
    )
    what = _describe(idp_quirk[0], quirk)
    if result.answer is not None:
        message, expected, actual = result.answer
        raise IdpFailure(
            f"{what}: {message}",
            clause=f"IdP profile {idp_quirk[0].name}",
            expected=expected,
            actual=actual,
            exchanges=result.exchanges,
        )
    if not result.effect_ok:
        raise StateNotApplied(
            f"{what}: the answer was accepted but the effect does not show",
            clause=f"IdP profile {idp_quirk[0].name}",
            expected=dict(quirk.effect),
            actual="; ".join(result.problems),
            exchanges=result.exchanges,
        )


@clause("rfc7644-3.12-must-1", "rfc7644-3.5.2-must-13", "rfc7644-3.5.2-must-12")
def test_quirk_rfc_strict(
    idp_quirk: tuple[Profile, Quirk],
    simulator: Any,
    run_prefix: str,
    record_property: RecordProperty,
    capabilities: Capabilities,
) -> None:
    """RFC 7644 3.12: an IdP quirk gets an answer the RFC allows: the RFC's effect where the
    RFC defines the request, else that effect or a SCIM Error 400; never a silent no-op."""
    quirk, result = _run_quirk(
        "rfc", idp_quirk, simulator, run_prefix, record_property, capabilities
    )
    what = _describe(idp_quirk[0], quirk)
    success = (201,) if quirk.request.method == "POST" else (200, 204)
    applied = result.status in success and (result.effect_ok or result.rfc_effect_ok)
    if applied:
        return
    if quirk.rfc != "required" and result.proper_error:
        return
    if result.status in success:
        raise StateNotApplied(
            f"{what}: accepted ({result.status}) but neither the IdP's nor the RFC's effect shows",
            clause="RFC7644 3.5.2",
            expected=dict(quirk.effect),
            actual="; ".join(result.problems),
            exchanges=result.exchanges,
        )
    allowed = " or ".join(map(str, success))
    if quirk.rfc != "required":
        allowed += " (applied), or 400 with a SCIM Error body"
    raise StatusMismatch(
        f"{what}: the RFC ({quirk.rfc}) allows {allowed}; the server answered {result.status}",
        clause="RFC7644 3.12",
        expected=allowed,
        actual=str(result.status),
        exchanges=result.exchanges,
    )
