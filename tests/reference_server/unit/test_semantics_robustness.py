"""No input, however broken, makes the semantics layer fail with anything but a ScimError
(issue 2, point 8: never a 500). Hypothesis feeds JSON-shaped garbage near real shapes."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from reference_server.scim.errors import ScimError
from reference_server.scim.filter import AttrPath, ValuePath, matches, parse_filter, parse_path
from reference_server.scim.patch import PATCH_OP, apply_patch
from reference_server.scim.resources import (
    index_rows,
    prepare_create,
    prepare_replace,
    project,
    split_members,
)
from reference_server.scim.schemas import CORE_GROUP, CORE_USER, ENTERPRISE_USER, load_registry

REG = load_registry()

NAMES = st.sampled_from(
    [
        "userName",
        "USERNAME",
        "name",
        "name.givenName",
        "emails",
        "emails.value",
        'emails[type eq "work"]',
        'emails[type eq "work"].value',
        "active",
        "members",
        'members[value eq "u1"]',
        "id",
        "meta",
        "groups",
        "password",
        "x509Certificates",
        ENTERPRISE_USER,
        f"{ENTERPRISE_USER}:manager",
        f"{ENTERPRISE_USER}:manager.value",
        "manager",
        "displayName",
        "schemas",
        "nope",
        "",
        "[",
        "a..b",
    ]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["", "x", "True", "false", "2020-01-01T00:00:00Z", "QUJD", "User", "u1"]),
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.one_of(NAMES, st.sampled_from(["value", "type", "primary"])), inner, max_size=3
        ),
    ),
    max_leaves=8,
)
OPERATION = st.fixed_dictionaries(
    {},
    optional={
        "op": st.sampled_from(["add", "Replace", "remove", "move", 3]),
        "path": st.one_of(NAMES, SCALARS),
        "value": JSON,
    },
)
BODY = st.one_of(
    JSON,
    st.fixed_dictionaries(
        {"schemas": st.just([PATCH_OP]), "Operations": st.lists(OPERATION, max_size=4)}
    ),
)
RESOURCE = st.dictionaries(NAMES, JSON, max_size=6).map(
    lambda d: {"schemas": [CORE_USER], "userName": "u", **d}
)
USER = prepare_create(
    REG,
    "User",
    {
        "schemas": [CORE_USER],
        "userName": "u",
        "emails": [{"value": "a@x", "type": "work"}],
        ENTERPRISE_USER: {"manager": "m"},
    },
)
GROUP = {"schemas": [CORE_GROUP], "displayName": "g"}


def _only_scim_errors(call: Any, *args: Any) -> Any:
    """The call's result, or None after a client error (4xx ScimError); anything else fails."""
    error: ScimError | None = None
    try:
        return call(*args)
    except ScimError as exc:
        error = exc
    assert 400 <= error.status < 500, error
    assert error.detail
    return None


@settings(max_examples=120, deadline=None)
@given(body=BODY)
def test_patch_never_crashes(body: Any) -> None:
    for resource_type, current in (("User", USER), ("Group", GROUP)):
        outcome = _only_scim_errors(apply_patch, REG, resource_type, current, body)
        if outcome is not None:
            assert outcome.resource["schemas"][0] == current["schemas"][0]
            assert (outcome.members is None) == (resource_type == "User")
            # the result is a valid stored form: validating it again changes nothing
            assert prepare_create(REG, resource_type, outcome.resource) == outcome.resource


@settings(max_examples=120, deadline=None)
@given(body=st.one_of(JSON, RESOURCE))
def test_create_replace_never_crash(body: Any) -> None:
    for stored in (
        _only_scim_errors(prepare_create, REG, "User", body),
        _only_scim_errors(prepare_replace, REG, "User", USER, body),
    ):
        if stored is not None:
            assert stored["schemas"][0] == CORE_USER
            assert stored["userName"]
    group = _only_scim_errors(prepare_create, REG, "Group", body)
    if group is not None:
        rest, _members = split_members(group)
        assert "members" not in rest


@settings(max_examples=100, deadline=None)
@given(resource=RESOURCE, names=st.lists(NAMES, max_size=3))
def test_project_and_index_never_crash(resource: dict[str, Any], names: list[str]) -> None:
    # the caller passes stored (validated) data; garbage here still must not crash
    assert "password" not in project(REG, "User", resource, names, None)
    assert "password" not in project(REG, "User", resource, None, names)
    rows = _only_scim_errors(index_rows, REG, "User", resource)
    assert rows is None or all(r["path"] == r["path"].lower() for r in rows)


@settings(max_examples=120, deadline=None)
@given(text=st.text(alphabet='ab eqnotrp()[]."\\ 0-:urnUSERusername', max_size=30))
def test_parsers_never_crash(text: str) -> None:
    f = _only_scim_errors(parse_filter, text)
    if f is not None:
        assert _only_scim_errors(matches, REG, "User", f, USER) in (True, False, None)
    path = _only_scim_errors(parse_path, text)
    assert path is None or path.path.text


EMAIL_VALUE = st.fixed_dictionaries(
    {"value": st.sampled_from(["a@x", "A@X", "b@x"])},
    optional={
        "type": st.sampled_from(["work", "home", "Work"]),
        "primary": st.sampled_from([True, False, "True"]),
    },
)
REALISTIC: dict[str, Any] = {
    "title": st.sampled_from(["T", "", None]),
    "name.givenName": st.sampled_from(["G", None]),
    "name": st.fixed_dictionaries(
        {}, optional={"givenName": st.just("G"), "familyName": st.just("F")}
    ),
    "emails": st.one_of(EMAIL_VALUE, st.lists(EMAIL_VALUE, max_size=3)),
    "emails.type": st.sampled_from(["work", "home"]),
    "emails.primary": st.sampled_from([True, False]),
    'emails[type eq "work"].value': st.sampled_from(["a@x", "b@x"]),
    'emails[type eq "home"].type': st.sampled_from(["work", "home"]),
    'emails[value eq "a@x"].primary': st.sampled_from([True, "False"]),
    'emails[type eq "work"]': EMAIL_VALUE,
    "active": st.sampled_from([True, "False"]),
    f"{ENTERPRISE_USER}:manager": st.sampled_from(["m1", "", {"value": "m2"}]),
    f"{ENTERPRISE_USER}:department": st.sampled_from(["D", None]),
    ENTERPRISE_USER: st.fixed_dictionaries({}, optional={"department": st.just("E")}),
}


@st.composite
def realistic_operations(draw: st.DrawFn) -> dict[str, Any]:
    path = draw(st.sampled_from(sorted(REALISTIC)))
    name = draw(st.sampled_from(["add", "replace", "remove"]))
    operation: dict[str, Any] = {"op": name, "path": path}
    if name != "remove" or draw(st.booleans()):
        operation["value"] = draw(REALISTIC[path])
    if draw(st.integers(0, 5)) == 0 and name != "remove":
        del operation["path"]
        operation["value"] = {path: draw(REALISTIC[path])}
    return operation


@settings(max_examples=150, deadline=None)
@given(operations=st.lists(realistic_operations(), min_size=1, max_size=5))
def test_realistic_patches_keep_a_valid_stored_form(operations: list[dict[str, Any]]) -> None:
    body = {"schemas": [PATCH_OP], "Operations": operations}
    outcome = _only_scim_errors(apply_patch, REG, "User", USER, body)
    if outcome is not None:
        assert prepare_create(REG, "User", outcome.resource) == outcome.resource
        primaries = [e for e in outcome.resource.get("emails", []) if e.get("primary") is True]
        assert len(primaries) <= 1


MEMBER_IDS = st.sampled_from(["u1", "u2", "g1"])


def _member(mid: str) -> dict[str, Any]:
    return {"value": mid, "type": "Group" if mid.startswith("g") else "User"}


MEMBER_OPS = st.one_of(
    st.builds(lambda ids: ("add", ids), st.lists(MEMBER_IDS, max_size=2)),
    st.builds(lambda ids: ("remove_values", ids), st.lists(MEMBER_IDS, min_size=1, max_size=2)),
    st.builds(lambda mid: ("remove_eq", mid), MEMBER_IDS),
    st.builds(lambda kind: ("remove_type", kind), st.sampled_from(["User", "Group"])),
    st.just(("remove_all", None)),
    st.builds(lambda ids: ("replace", ids), st.lists(MEMBER_IDS, max_size=2)),
)


def _as_operation(kind: str, arg: Any) -> dict[str, Any]:
    if kind == "add":
        return {"op": "add", "path": "members", "value": [_member(m) for m in arg]}
    if kind == "remove_values":
        return {"op": "Remove", "path": "members", "value": [{"value": m} for m in arg]}
    if kind == "remove_eq":
        return {"op": "remove", "path": f'members[value eq "{arg}"]'}
    if kind == "remove_type":
        return {"op": "remove", "path": f'members[type eq "{arg}"]'}
    if kind == "remove_all":
        return {"op": "remove", "path": "members"}
    return {"op": "replace", "path": "members", "value": [_member(m) for m in arg]}


def _sequential(start: set[str], steps: list[tuple[str, Any]]) -> set[str]:
    """The RFC's reading: each operation applied to the result of the previous one."""
    members = set(start)
    for kind, arg in steps:
        if kind == "add":
            members |= set(arg)
        elif kind == "remove_values":
            members -= set(arg)
        elif kind == "remove_eq":
            members.discard(arg)
        elif kind == "remove_type":
            members = {m for m in members if _member(m)["type"] != arg}
        elif kind == "remove_all":
            members = set()
        else:
            members = set(arg)
    return members


def _rows(start: set[str], changes: Any) -> set[str]:
    """MemberChanges applied in the order its docstring gives the repository."""
    if changes.replace is not None:
        return {m["value"] for m in changes.replace}
    members = set() if changes.remove_all else set(start)
    members -= changes.remove_ids
    if changes.remove_filter is not None:
        members = {
            m
            for m in members
            if not matches(REG, "Group", ValuePath(AttrPath("members"), changes.remove_filter),
                           {"members": [_member(m)]})
        }  # fmt: skip
    return members | {m["value"] for m in changes.add}


@settings(max_examples=150, deadline=None)
@given(
    start=st.sets(MEMBER_IDS),
    steps=st.lists(MEMBER_OPS, min_size=1, max_size=5),
)
def test_member_changes_equal_sequential_operations(
    start: set[str], steps: list[tuple[str, Any]]
) -> None:
    body = {"schemas": [PATCH_OP], "Operations": [_as_operation(k, a) for k, a in steps]}
    outcome = apply_patch(REG, "Group", GROUP, body)
    assert outcome.resource == GROUP
    assert _rows(start, outcome.members) == _sequential(start, steps)
