"""The filter grammar (RFC 7644 section 3.4.2.2, Figure 1) and PATCH paths (section 3.5.2)."""

from __future__ import annotations

import pytest

from reference_server.scim.errors import InvalidFilter, InvalidPath
from reference_server.scim.filter import (
    And,
    AttrPath,
    Compare,
    Filter,
    Not,
    Or,
    PatchPath,
    Present,
    ValuePath,
    fast_filter,
    matches,
    parse_filter,
    parse_path,
)
from reference_server.scim.schemas import CORE_USER, ENTERPRISE_USER, load_registry

REG = load_registry()


def eq(path: str, value: object) -> Compare:
    return Compare(AttrPath(path), "eq", value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ('userName eq "bjensen"', eq("userName", "bjensen")),
        ('Username EQ "john"', eq("Username", "john")),
        (
            'name.familyName co "O\'Malley"',
            Compare(AttrPath("name.familyName"), "co", "O'Malley"),
        ),
        (
            f'{CORE_USER}:userName sw "J"',
            Compare(AttrPath(f"{CORE_USER}:userName"), "sw", "J"),
        ),
        ("title pr", Present(AttrPath("title"))),
        ("title PR", Present(AttrPath("title"))),
        (
            'meta.lastModified gt "2011-05-13T04:42:34Z"',
            Compare(AttrPath("meta.lastModified"), "gt", "2011-05-13T04:42:34Z"),
        ),
        (
            'title pr and userType eq "Employee"',
            And(Present(AttrPath("title")), eq("userType", "Employee")),
        ),
        # "and" binds tighter than "or"
        (
            "a pr or b pr and c pr",
            Or(Present(AttrPath("a")), And(Present(AttrPath("b")), Present(AttrPath("c")))),
        ),
        (
            "a pr and b pr or c pr",
            Or(And(Present(AttrPath("a")), Present(AttrPath("b"))), Present(AttrPath("c"))),
        ),
        (
            "(a pr or b pr) and c pr",
            And(Or(Present(AttrPath("a")), Present(AttrPath("b"))), Present(AttrPath("c"))),
        ),
        ("not (a pr)", Not(Present(AttrPath("a")))),
        ("NOT(a pr) AND b pr", And(Not(Present(AttrPath("a"))), Present(AttrPath("b")))),
        (
            'emails[type eq "work" and value co "@example.com"]',
            ValuePath(
                AttrPath("emails"),
                And(eq("type", "work"), Compare(AttrPath("value"), "co", "@example.com")),
            ),
        ),
        (
            'emails[not (type eq "work")]',
            ValuePath(AttrPath("emails"), Not(eq("type", "work"))),
        ),
        ("a eq true", eq("a", True)),
        ("a eq False", eq("a", False)),
        ("a eq null", eq("a", None)),
        ("a gt 10", Compare(AttrPath("a"), "gt", 10)),
        ("a ge -1.5e2", Compare(AttrPath("a"), "ge", -150.0)),
        (r'a eq "tab\there \"q\" \u00e9 \\"', eq("a", 'tab\there "q" é \\')),
        ("notes pr", Present(AttrPath("notes"))),
        ("members[$ref pr]", ValuePath(AttrPath("members"), Present(AttrPath("$ref")))),
        (
            f'{ENTERPRISE_USER}:manager.value eq "x"',
            eq(f"{ENTERPRISE_USER}:manager.value", "x"),
        ),
    ],
)
def test_parse(text: str, tree: Filter) -> None:
    assert parse_filter(text) == tree


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('userName regex "x"', "operator 'regex'"),
        ("userName eq", "end of input at position 11"),
        ("(a pr", "end of input"),
        ('a eq "x" and', "end of input"),
        ("a eq [bob] and c pr", "position 5"),
        ("a eq bob and c pr x", "position 5"),
        ('a eq "x', "position 5"),
        ("]", "position 0"),
        ('emails[type eq "w"].value eq "x"', "position 19"),
        ("", "empty"),
        ("a" * 5000, "longer than"),
        (r'a eq "\x"', "position 5"),
    ],
)
def test_invalid_filters_point_at_the_position(text: str, fragment: str) -> None:
    with pytest.raises(InvalidFilter) as info:
        parse_filter(text)
    assert fragment in info.value.detail
    assert info.value.scim_type == "invalidFilter"


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        (
            "name.FamilyName eq Employee and "
            "(emails.Value co example.com or emails.Value co example.org)",
            And(
                eq("name.FamilyName", "Employee"),
                Or(
                    Compare(AttrPath("emails.Value"), "co", "example.com"),
                    Compare(AttrPath("emails.Value"), "co", "example.org"),
                ),
            ),
        ),
        ("userName sw O", Compare(AttrPath("userName"), "sw", "O")),
        (
            "meta.Created gt 2015-10-10T14:38:21.8617979-07:00",
            Compare(AttrPath("meta.Created"), "gt", "2015-10-10T14:38:21.8617979-07:00"),
        ),
        ('title eq "a eq b" and x eq 12', And(eq("title", "a eq b"), eq("x", 12))),
        ("active eq true and x eq y", And(eq("active", True), eq("x", "y"))),
        (
            'emails[type eq work and value ew "@x.org"]',
            ValuePath(
                AttrPath("emails"),
                And(eq("type", "work"), Compare(AttrPath("value"), "ew", "@x.org")),
            ),
        ),
    ],
)
def test_unquoted_values_in_longer_filters(text: str, tree: Filter) -> None:
    """Microsoft's Postman collection sends unquoted values inside compound filters: each
    is read as the string it spells (literals and numbers keep their JSON meaning)."""
    assert parse_filter(text) == tree


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('userName eq "bjensen"', ("userName", "bjensen", True)),
        ('  externalId   EQ   "a\\"b"  ', ("externalId", 'a"b', True)),
        ('emails.value eq "x@y"', ("emails.value", "x@y", True)),
        (
            f'{ENTERPRISE_USER}:employeeNumber eq "7"',
            (f"{ENTERPRISE_USER}:employeeNumber", "7", True),
        ),
        ("externalId eq jyoung", ("externalId", "jyoung", False)),
        ("externalId eq 0a21f0f2-8d2a", ("externalId", "0a21f0f2-8d2a", False)),
        ("active eq true", None),
        ("x eq 12", None),
        ("a eq b and c pr", None),
        ('userName ne "x"', None),
        ('userName eq "x" and title pr', None),
        ("userName eq 1", None),
    ],
)
def test_fast_filter(text: str, expected: tuple[str, str, bool] | None) -> None:
    assert fast_filter(text) == expected


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("name.givenName", PatchPath(AttrPath("name.givenName"))),
        ("members", PatchPath(AttrPath("members"))),
        (
            'members[value eq "2819c223"]',
            PatchPath(AttrPath("members"), eq("value", "2819c223")),
        ),
        (
            'emails[type eq "work"].value',
            PatchPath(AttrPath("emails"), eq("type", "work"), "value"),
        ),
        (
            f"{ENTERPRISE_USER}:manager",
            PatchPath(AttrPath(f"{ENTERPRISE_USER}:manager")),
        ),
        (ENTERPRISE_USER, PatchPath(AttrPath(ENTERPRISE_USER))),
    ],
)
def test_parse_path(text: str, path: PatchPath) -> None:
    assert parse_path(text) == path


@pytest.mark.parametrize("text", ["", "emails[", "emails[type eq]", "a b", "emails]", "a..b"])
def test_invalid_paths(text: str) -> None:
    with pytest.raises(InvalidPath):
        parse_path(text)


USER = {
    "schemas": [CORE_USER],
    "id": "1",
    "userName": "bjensen",
    "active": True,
    "emails": [{"value": "b@example.com", "type": "work"}],
}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('nope eq "x"', "Unknown attribute 'nope'"),
        ('password eq "x"', "never returned"),
        ("active gt true", "boolean or binary"),
        ('active co "t"', "string attributes only"),
        ('meta.created eq "yesterday"', "xsd:dateTime"),
        ("userName eq 3", "JSON string"),
        ('name eq "x"', "complex"),
        ("userName gt null", "null"),
        ('emails[type eq "w"] and emails[value[x pr]]', "cannot be nested"),
        ('userName[type eq "w"]', "complex attribute"),
        ('meta.version eq "W/1"', "cannot be used"),
    ],
)
def test_semantic_errors_are_invalid_filter(text: str, fragment: str) -> None:
    with pytest.raises(InvalidFilter) as info:
        matches(REG, "User", parse_filter(text), USER)
    assert fragment in info.value.detail


@pytest.mark.parametrize(
    "text", [r'userName eq "\ud800"', r'userName eq "\udc00x" and active eq true']
)
def test_lone_surrogate_escapes_are_invalid_filter(text: str) -> None:
    """A string literal JSON refuses is the client's error (400 invalidFilter), never a 500."""
    with pytest.raises(InvalidFilter, match="not a valid JSON string"):
        parse_filter(text)


def test_lone_surrogate_escape_in_a_path_is_invalid_path() -> None:
    with pytest.raises(InvalidPath, match="not a valid JSON string"):
        parse_path(r'emails[value eq "\ud800"].type')
