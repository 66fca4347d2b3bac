"""Profiles are data: every file passes the meta-schema and the lint below, and a new IdP is
a new file (nothing else). Each fact cites a source that the research notes' key resolves.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from harness.idp.profiles import (
    BUNDLED,
    OPERATIONS,
    ProfileError,
    load_profile,
    profile_names,
    profiles_dir,
)

HERE = Path(__file__).parent
SCHEMA = json.loads((BUNDLED / "profile.schema.json").read_text("utf-8"))
NOTE_SOURCES = json.loads((HERE / "reference_sources.json").read_text("utf-8"))
NAMES = profile_names()
# Keys a profile may cite beyond the research notes' source key: the RFCs themselves, the
# notes' own "not documented" section, and Okta's rate-limit article (found for the retry).
EXTRA_SOURCES = {"RFC6585", "RFC7643", "RFC7644", "RFC9110", "NOTES", "OKTA-KB-RATELIMIT"}


def raw(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((BUNDLED / f"{name}.json").read_text("utf-8"))
    return data


def test_the_five_profiles_ship() -> None:
    assert set(NAMES) >= {"okta", "entra", "onelogin", "jumpcloud", "generic"}


def test_meta_schema_is_valid() -> None:
    Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("name", NAMES)
def test_profile_passes_schema(name: str) -> None:
    errors = [e.message for e in Draft202012Validator(SCHEMA).iter_errors(raw(name))]
    assert errors == []


@pytest.mark.parametrize("name", NAMES)
def test_profile_loads(name: str) -> None:
    profile = load_profile(name)
    assert profile.name == name
    assert profile.has("lookup_user")
    assert profile.has("create_user")
    assert set(profile.operations) <= set(OPERATIONS)


@pytest.mark.parametrize("name", NAMES)
def test_every_cited_source_is_known(name: str) -> None:
    """Each source key is one of the research notes' tags (or an RFC / the notes' gaps)."""
    keys = set(raw(name)["sources"])
    unknown = keys - set(NOTE_SOURCES) - EXTRA_SOURCES
    assert unknown == set()


@pytest.mark.parametrize("name", NAMES)
def test_every_source_listed_is_cited(name: str) -> None:
    """No dead entries in /sources: each key is cited by some fact."""
    data = raw(name)
    text = json.dumps({k: v for k, v in data.items() if k != "sources"})
    unused = [key for key in data["sources"] if f'"{key}"' not in text]
    assert unused == []


def _texts(data: Any) -> list[str]:
    found: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            if key in ("title", "note", "why", "description") and isinstance(value, str):
                found.append(value)
            elif key != "body":
                found += _texts(value)
    elif isinstance(data, list):
        for value in data:
            found += _texts(value)
    return found


@pytest.mark.parametrize("name", NAMES)
def test_descriptions_are_short_and_never_say_should(name: str) -> None:
    """Like the JSON-Schema-Test-Suite's linter: short, factual, no "should"."""
    texts = _texts(raw(name))
    assert texts
    assert [t for t in texts if re.search(r"\bshould\b", t, re.IGNORECASE)] == []
    assert [t for t in texts if len(t) > 300] == []


@pytest.mark.parametrize("name", NAMES)
def test_quirk_titles_are_unique(name: str) -> None:
    titles = [q["title"] for q in raw(name)["quirks"]]
    assert len(titles) == len(set(titles))


def test_quirk_ids_are_unique_across_titles_per_profile() -> None:
    for name in NAMES:
        ids = [q.id for q in load_profile(name).quirks]
        assert len(ids) == len(set(ids)), name


@pytest.mark.parametrize("name", NAMES)
def test_unassign_action_matches_its_requests(name: str) -> None:
    """`unassign.action` says what `unassign_user` sends: DELETE or a deactivation."""
    profile = load_profile(name)
    methods = [t.method for t in profile.operations.get("unassign_user", ())]
    if profile.unassign == "delete":
        assert methods == ["DELETE"]
    else:
        assert methods
        assert "DELETE" not in methods


@pytest.mark.parametrize("name", NAMES)
def test_writes_expect_success_and_creates_read_the_id(name: str) -> None:
    profile = load_profile(name)
    for operation, templates in profile.operations.items():
        for template in templates:
            assert all(200 <= s < 300 for s in template.expect.status), (operation, template)
            if template.method == "POST":
                assert template.expect.status == (201,)
                assert "id" in template.expect.fields


def test_okta_never_deletes_users() -> None:
    """Okta never sends DELETE /Users (OKTA-REF, OKTA-FAQ)."""
    okta = load_profile("okta")
    assert not okta.has("delete_user")
    assert all(t.method != "DELETE" for t in okta.operations["unassign_user"])


def test_entra_lookup_miss_must_be_an_empty_list() -> None:
    """A 404 to Entra's filter query quarantines the job (MS-QUAR): no absent status."""
    entra = load_profile("entra")
    assert entra.operations["lookup_user"][0].expect.absent_status == ()
    assert load_profile("okta").operations["lookup_user"][0].expect.absent_status == (404,)


def test_a_new_idp_is_a_new_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Adding an IdP needs no code: a file in SCIM_PROFILES_DIR is listed and loads."""
    data = raw("generic")
    data.update(name="acme", title="Acme IdP (test double)")
    (tmp_path / "acme.json").write_text(json.dumps(data), "utf-8")
    monkeypatch.setenv("SCIM_PROFILES_DIR", str(tmp_path))
    assert profiles_dir() == tmp_path
    assert profile_names() == ("acme",)
    assert load_profile("acme").title == "Acme IdP (test double)"


def test_errors_name_the_file_and_pointer(tmp_path: Path) -> None:
    data = raw("okta")
    data["operations"]["create_user"][0]["method"] = "FETCH"
    path = tmp_path / "okta.json"
    path.write_text(json.dumps(data), "utf-8")
    with pytest.raises(ProfileError, match=r"okta\.json: /operations/create_user/0/method: "):
        load_profile(path)


def test_an_unknown_source_is_refused(tmp_path: Path) -> None:
    data = raw("okta")
    data["operations"]["create_user"][0]["source"] = "NOT-A-SOURCE"
    path = tmp_path / "okta.json"
    path.write_text(json.dumps(data), "utf-8")
    with pytest.raises(ProfileError, match=r"/operations/create_user/0/source: .*NOT-A-SOURCE"):
        load_profile(path)


def test_name_must_match_the_file(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text(json.dumps(raw("generic")), "utf-8")
    with pytest.raises(ProfileError, match="differs from the file name"):
        load_profile(path)


def test_unknown_profile_lists_the_known_ones() -> None:
    with pytest.raises(ProfileError, match=r"known profiles: .*entra"):
        load_profile("nope")


def test_duplicate_quirk_ids_are_refused(tmp_path: Path) -> None:
    data = raw("entra")
    data["quirks"].append(data["quirks"][0])
    path = tmp_path / "entra.json"
    path.write_text(json.dumps(data), "utf-8")
    with pytest.raises(ProfileError, match="duplicate quirk ids"):
        load_profile(path)


def test_a_server_without_patch_skips_the_checks_that_need_it() -> None:
    """A declared lack (RFC 7644 5: patch.supported false) skips with the reason."""
    from harness.discovery import Capabilities
    from harness.suite.test_idp import _require_for
    from harness.verdicts import Unsupported

    entra = load_profile("entra")
    plain = Capabilities({"patch": {"supported": False}, "filter": {"supported": True}}, (), ())
    with pytest.raises(
        Unsupported, match="declares no PATCH support, no Group resource type; Microsoft"
    ):
        _require_for(plain, entra, list(entra.operations["add_members"]), "to push groups")
    _require_for(plain, entra, list(entra.operations["lookup_user"]), "to look users up")


def test_the_plugin_registers_one_marker_per_profile() -> None:
    """`-m entra` works under --strict-markers: each profile file is a marker."""
    from harness.plugin import _add_profile_markers

    lines: list[str] = []

    class Config:
        def addinivalue_line(self, name: str, line: str) -> None:
            assert name == "markers"
            lines.append(line)

    _add_profile_markers(Config())  # type: ignore[arg-type]
    assert sorted(line.split(":")[0] for line in lines) == sorted(NAMES)


def test_titles_and_descriptions_are_unique_across_profiles() -> None:
    titles = [raw(name)["title"] for name in NAMES]
    descriptions = [raw(name)["description"] for name in NAMES]
    assert len(set(titles)) == len(titles)
    assert len(set(descriptions)) == len(descriptions)


def test_scim_profile_selects_profiles_and_rejects_unknown_ones() -> None:
    """--scim-profile (Settings.profiles): empty means all; an unknown name is a usage error."""
    from types import SimpleNamespace

    from harness.settings import SETTINGS_KEY
    from harness.suite.test_idp import _selected

    def config(*names: str) -> Any:
        return SimpleNamespace(stash={SETTINGS_KEY: SimpleNamespace(profiles=names)})

    assert [p.name for p in _selected(config("okta", "entra"))] == ["okta", "entra"]
    assert [p.name for p in _selected(config())] == list(NAMES)
    with pytest.raises(pytest.UsageError, match="unknown profile"):
        _selected(config("okta", "nope"))
