"""filter_to_sql and matches() agree: the same filter selects the same resources.

index_rows/filter_to_sql run against a real database (SQLite in memory; PostgreSQL too
when SCIM_TEST_POSTGRES_URL is set, in a schema of its own), and Hypothesis generates
resources and filters (RFC 7644 section 3.4.2.2) to compare with in-memory evaluation.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reference_server.scim.errors import InvalidFilter
from reference_server.scim.filter import (
    And,
    AttrPath,
    Compare,
    Filter,
    Not,
    Or,
    Present,
    ValuePath,
    filter_to_sql,
    matches,
    parse_filter,
    sort_clauses,
)
from reference_server.scim.resources import (
    SEEK_PATHS,
    index_rows,
    index_values,
    normalize_datetime,
    prepare_create,
    resource_columns,
    search_document,
    split_members,
)
from reference_server.scim.schemas import CORE_GROUP, CORE_USER, ENTERPRISE_USER, load_registry
from reference_server.storage import tables

REG = load_registry()
TENANT = "tenant-a"
OTHER = "tenant-b"
POSTGRES_URL = os.environ.get("SCIM_TEST_POSTGRES_URL")


def _sqlite() -> Iterator[sa.Engine]:
    engine = sa.create_engine("sqlite://")
    tables.metadata.create_all(engine)
    yield engine
    engine.dispose()


def _postgres() -> Iterator[sa.Engine]:
    if not POSTGRES_URL:
        pytest.skip("SCIM_TEST_POSTGRES_URL is not set: PostgreSQL filter tests skipped")
    schema = f"scim_unit_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine = sa.create_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        tables.metadata.create_all(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> Iterator[sa.Engine]:
    yield from (_sqlite() if request.param == "sqlite" else _postgres())


def load(engine: sa.Engine, resource_type: str, bodies: list[dict[str, Any]]) -> dict[str, Any]:
    """Store bodies for TENANT (and scrambled copies with the same ids for OTHER)."""
    docs: dict[str, Any] = {}
    with engine.begin() as conn:
        for table in (tables.attr_index, tables.group_members, tables.resources):
            conn.execute(table.delete())
        for tenant in (TENANT, OTHER):
            for i, body in enumerate(bodies if tenant == TENANT else bodies[::-1]):
                rid = f"r{i}"
                stored = prepare_create(REG, resource_type, body)
                stored, members = (
                    split_members(stored) if resource_type == "Group" else (stored, [])
                )
                created = ["2020-01-01T00:00:00Z", "2021-06-01T12:00:00+02:00"][i % 2]
                rows = index_rows(REG, resource_type, stored)
                conn.execute(
                    tables.resources.insert().values(
                        tenant_id=tenant,
                        id=rid,
                        resource_type=resource_type,
                        data=orjson.dumps(stored).decode(),
                        search=search_document(index_values(REG, resource_type, stored)),
                        version=1,
                        created=normalize_datetime(created),
                        last_modified=normalize_datetime(created),
                        **resource_columns(REG, resource_type, stored),
                    )
                )
                # As the repository stores them: attr_index rows for SEEK_PATHS only.
                seek = {
                    (row["path"], row["v_lower"], row["elem"]): {
                        "tenant_id": tenant,
                        "resource_type": resource_type,
                        "resource_id": rid,
                        "path": row["path"],
                        "v_lower": row["v_lower"],
                        "elem": row["elem"],
                        "v_text": row["v_text"],
                    }
                    for row in rows
                    if row["path"] in SEEK_PATHS
                }
                if seek:
                    conn.execute(tables.attr_index.insert(), list(seek.values()))
                for member in members:
                    conn.execute(
                        tables.group_members.insert().values(
                            tenant_id=tenant,
                            group_id=rid,
                            member_id=member["value"],
                            member_type=member["type"] or "User",
                        )
                    )
                if resource_type == "Group" and i == 0:  # labels for members.display
                    for mid, label in MEMBER_LABELS.items():
                        conn.execute(
                            tables.resources.insert().values(
                                tenant_id=tenant,
                                id=mid,
                                resource_type="User",
                                data="{}",
                                version=1,
                                created="x",
                                last_modified="x",
                                user_name_lower=mid,
                                display=label if tenant == TENANT else "other",
                            )
                        )
                if tenant == TENANT:
                    full = dict(
                        stored,
                        id=rid,
                        meta={
                            "resourceType": resource_type,
                            "created": created,
                            "lastModified": created,
                        },
                    )
                    if resource_type == "Group":
                        full["members"] = [
                            {"value": m["value"], "type": m["type"] or "User"}
                            | (
                                {"display": MEMBER_LABELS[m["value"]]}
                                if m["value"] in MEMBER_LABELS
                                else {}
                            )
                            for m in members
                        ]
                    docs[rid] = full
    return docs


MEMBER_LABELS = {"u1": "Alice", "U1": "ALICE Bee", "u2": "bob"}


def sql_ids(engine: sa.Engine, resource_type: str, f: Filter) -> list[str] | str:
    try:
        where = filter_to_sql(REG, resource_type, TENANT, f)
    except InvalidFilter:
        return "invalidFilter"
    query = sa.select(tables.resources.c.id).where(
        tables.resources.c.tenant_id == TENANT,
        tables.resources.c.resource_type == resource_type,
        where,
    )
    with engine.connect() as conn:
        return sorted(row[0] for row in conn.execute(query))


def memory_ids(resource_type: str, f: Filter, docs: dict[str, Any]) -> list[str] | str:
    try:
        return sorted(rid for rid, doc in docs.items() if matches(REG, resource_type, f, doc))
    except InvalidFilter:
        return "invalidFilter"


# --- strategies ----------------------------------------------------------------------

TEXT = st.sampled_from(["a", "A", "ab", "Ab%", "b_c", "x\\y", 'q"t', "é", "É", "", "zz", "a.b"])
LOOKUP_TEXT = st.one_of(TEXT, st.sampled_from(["%", "_", "\\", "b", "B", "c"]))
DATES = st.sampled_from(
    ["2020-01-01T00:00:00Z", "2021-06-01T10:00:00Z", "2021-06-01T12:00:00+02:00", "2019-12-31"]
)
EMAIL = st.fixed_dictionaries(
    {"value": TEXT},
    optional={"type": st.sampled_from(["work", "home", "Work"]), "display": TEXT},
)


@st.composite
def users(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(1, 5))
    names = draw(
        st.lists(
            st.sampled_from(["al", "Bo", "cy", "de", "Ed", "fi"]),
            min_size=count,
            max_size=count,
            unique_by=str.lower,
        )
    )
    out = []
    for name in names:
        body: dict[str, Any] = {"schemas": [CORE_USER], "userName": name}
        optional = {
            "displayName": TEXT,
            "title": TEXT,
            "externalId": TEXT,
            "active": st.booleans(),
            "name": st.fixed_dictionaries({}, optional={"givenName": TEXT, "familyName": TEXT}),
            "emails": st.lists(EMAIL, max_size=3),
            "x509Certificates": st.lists(
                st.fixed_dictionaries({"value": st.sampled_from(["QUJD", "YWJj"])}), max_size=1
            ),
            ENTERPRISE_USER: st.fixed_dictionaries(
                {},
                optional={
                    "department": TEXT,
                    "manager": st.sampled_from(["m1", "M1", "m2"]),
                },
            ),
        }
        for key, strategy in optional.items():
            if draw(st.booleans()):
                body[key] = draw(strategy)
        emails = body.get("emails")
        if emails and draw(st.booleans()):
            emails[draw(st.integers(0, len(emails) - 1))]["primary"] = True
        out.append(body)
    return out


USER_PATHS: dict[str, tuple[str, Any]] = {
    "userName": ("text", st.sampled_from(["al", "AL", "bo", "B", "e", "%"])),
    "displayName": ("text", LOOKUP_TEXT),
    "title": ("text", LOOKUP_TEXT),
    "externalId": ("text", LOOKUP_TEXT),
    "id": ("text", st.sampled_from(["r0", "r1", "R1", "r"])),
    "name.givenName": ("text", LOOKUP_TEXT),
    "emails": ("text", LOOKUP_TEXT),
    "emails.value": ("text", LOOKUP_TEXT),
    "emails.type": ("text", st.sampled_from(["work", "WORK", "home", "w"])),
    "emails.primary": ("bool", st.booleans()),
    "active": ("bool", st.one_of(st.booleans(), st.sampled_from(["True", "false"]))),
    "x509Certificates.value": ("binary", st.sampled_from(["QUJD", "qujd", "Q"])),
    "meta.created": ("time", DATES),
    "meta.lastModified": ("time", DATES),
    "meta.resourceType": ("text", st.sampled_from(["User", "user"])),
    "schemas": ("text", st.sampled_from([ENTERPRISE_USER, ENTERPRISE_USER.upper(), CORE_USER])),
    f"{ENTERPRISE_USER}:department": ("text", LOOKUP_TEXT),
    f"{ENTERPRISE_USER}:manager.value": ("text", st.sampled_from(["m1", "M1", "m"])),
    "urn:ietf:params:scim:schemas:core:2.0:User:title": ("text", LOOKUP_TEXT),
}
EMAIL_SUBS: dict[str, tuple[str, Any]] = {
    "value": ("text", LOOKUP_TEXT),
    "type": ("text", st.sampled_from(["work", "Work", "home"])),
    "primary": ("bool", st.booleans()),
    "display": ("text", LOOKUP_TEXT),
}
OPS = {
    "text": ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"],
    "bool": ["eq", "ne"],
    "binary": ["eq", "ne", "co", "sw", "ew"],
    "time": ["eq", "ne", "gt", "ge", "lt", "le"],
}


def leaves(paths: dict[str, tuple[str, Any]]) -> st.SearchStrategy[Filter]:
    @st.composite
    def leaf(draw: st.DrawFn) -> Filter:
        path = draw(st.sampled_from(sorted(paths)))
        kind, values = paths[path]
        if draw(st.integers(0, 5)) == 0:
            return Present(AttrPath(path))
        if draw(st.integers(0, 9)) == 0:
            return Compare(AttrPath(path), draw(st.sampled_from(["eq", "ne"])), None)
        return Compare(AttrPath(path), draw(st.sampled_from(OPS[kind])), draw(values))

    return leaf()


def combine(base: st.SearchStrategy[Filter]) -> st.SearchStrategy[Filter]:
    return st.recursive(
        base,
        lambda inner: st.one_of(
            st.builds(And, inner, inner), st.builds(Or, inner, inner), st.builds(Not, inner)
        ),
        max_leaves=5,
    )


USER_FILTERS = combine(
    st.one_of(
        leaves(USER_PATHS),
        st.builds(ValuePath, st.just(AttrPath("emails")), combine(leaves(EMAIL_SUBS))),
    )
)

HYPOTHESIS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@HYPOTHESIS
@given(bodies=users(), filters=st.lists(USER_FILTERS, min_size=1, max_size=4))
def test_user_filters_sql_equals_memory(
    engine: sa.Engine, bodies: list[dict[str, Any]], filters: list[Filter]
) -> None:
    docs = load(engine, "User", bodies)
    for f in filters:
        assert sql_ids(engine, "User", f) == memory_ids("User", f, docs), f


@st.composite
def groups(draw: st.DrawFn) -> list[dict[str, Any]]:
    out = []
    for i in range(draw(st.integers(1, 4))):
        body: dict[str, Any] = {"schemas": [CORE_GROUP], "displayName": draw(TEXT) or f"g{i}"}
        members = draw(st.lists(st.sampled_from(["u1", "u2", "U1", "g9"]), max_size=3, unique=True))
        if members:
            body["members"] = [
                {"value": m, "type": "Group" if m.startswith("g") else "User"} for m in members
            ]
        if draw(st.booleans()):
            body["externalId"] = draw(TEXT)
        out.append(body)
    return out


GROUP_PATHS: dict[str, tuple[str, Any]] = {
    "displayName": ("text", LOOKUP_TEXT),
    "externalId": ("text", LOOKUP_TEXT),
    "members": ("text", st.sampled_from(["u1", "U1", "u", "g9"])),
    "members.value": ("text", st.sampled_from(["u1", "U1", "u", "g9"])),
    "members.type": ("text", st.sampled_from(["User", "group"])),
    "members.display": ("text", st.sampled_from(["alice", "Bob", "b", "E"])),
}
MEMBER_SUBS: dict[str, tuple[str, Any]] = {
    "value": ("text", st.sampled_from(["u1", "U1", "u2", "1"])),
    "type": ("text", st.sampled_from(["User", "GROUP"])),
    "display": ("text", st.sampled_from(["alice", "Bob", "b", "E"])),
}
GROUP_FILTERS = combine(
    st.one_of(
        leaves(GROUP_PATHS),
        st.builds(ValuePath, st.just(AttrPath("members")), combine(leaves(MEMBER_SUBS))),
    )
)


@HYPOTHESIS
@given(bodies=groups(), filters=st.lists(GROUP_FILTERS, min_size=1, max_size=4))
def test_group_filters_sql_equals_memory(
    engine: sa.Engine, bodies: list[dict[str, Any]], filters: list[Filter]
) -> None:
    docs = load(engine, "Group", bodies)
    for f in filters:
        assert sql_ids(engine, "Group", f) == memory_ids("Group", f, docs), f


# --- fixed cases: each rule with its expected answer ----------------------------------

FIXED_USERS: list[dict[str, Any]] = [
    {
        "schemas": [CORE_USER],
        "userName": "Bjensen",
        "title": "Tour Guide",
        "userType": "Employee",
        "active": True,
        "emails": [
            {"value": "bjensen@example.com", "type": "work"},
            {"value": "babs@jensen.org", "type": "home", "primary": True},
        ],
        "x509Certificates": [{"value": "QUJD"}],
    },
    {
        "schemas": [CORE_USER, ENTERPRISE_USER],
        "userName": "jsmith",
        "userType": "Intern",
        "active": "False",
        "emails": [{"value": "JSmith@Example.com", "type": "home"}],
        ENTERPRISE_USER: {"department": "100%_Sales", "manager": "boss-1"},
    },
    {"schemas": [CORE_USER], "userName": "nobody", "name": {"givenName": "No"}},
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('userName eq "BJENSEN"', ["r0"]),
        ('username Eq "jsmith"', ["r1"]),
        ('emails co "example.com"', ["r0", "r1"]),
        ('emails.value co "EXAMPLE"', ["r0", "r1"]),
        ('emails[type eq "work" and value co "@example.com"]', ["r0"]),
        ('emails[type eq "home" and value co "jensen"]', ["r0"]),
        ('emails[type eq "work" and value co "jensen.org"]', []),
        ("title pr", ["r0"]),
        ('title pr and userType eq "Employee"', ["r0"]),
        ('title pr or userType eq "Intern"', ["r0", "r1"]),
        ('userType ne "Employee"', ["r1", "r2"]),
        ('not (userType eq "Employee")', ["r1", "r2"]),
        ("userType eq null", ["r2"]),
        ("active eq false", ["r1"]),
        ('active eq "True"', ["r0"]),
        ("not (active eq true) and not (active eq false)", ["r2"]),
        (f'{ENTERPRISE_USER}:department sw "100%_"', ["r1"]),
        (f'{ENTERPRISE_USER}:department co "0%_s"', ["r1"]),
        (f'{ENTERPRISE_USER}:department co "0%xs"', []),
        (f'{ENTERPRISE_USER}:manager.value eq "boss-1"', ["r1"]),
        (f'schemas eq "{ENTERPRISE_USER}"', ["r1"]),
        # The core URN has no attr_index row: the compiler compares it without the database.
        ('schemas eq "urn:ietf:params:scim:schemas:core:2.0:User"', ["r0", "r1", "r2"]),
        ('schemas eq "URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER"', ["r0", "r1", "r2"]),
        ('schemas ne "urn:ietf:params:scim:schemas:core:2.0:User"', []),
        ('schemas eq "urn:ietf:params:scim:schemas:core:2.0:Group"', []),
        ('schemas sw "urn:ietf:params:scim:schemas:core"', ["r0", "r1", "r2"]),
        ('schemas co "enterprise"', ["r1"]),
        ('schemas ew "2.0:user" and userType eq "Employee"', ["r0"]),
        ('not (schemas co "core") or active eq false', ["r1"]),
        ("schemas pr", ["r0", "r1", "r2"]),
        ("not (schemas pr)", []),
        ('x509Certificates.value eq "qujd"', []),
        ('x509Certificates.value eq "QUJD"', ["r0"]),
        ('meta.created gt "2020-06-01T00:00:00Z"', ["r1"]),
        ('meta.lastModified le "2020-01-01T00:00:00Z"', ["r0", "r2"]),
        ('meta.resourceType eq "User"', ["r0", "r1", "r2"]),
        ("name pr", ["r2"]),
        ('urn:ietf:params:scim:schemas:core:2.0:User:userName sw "j"', ["r1"]),
        ('userName gt "c" and userName lt "k"', ["r1"]),
        ('emails[primary eq true and value ew ".org"]', ["r0"]),
        ('id eq "r1"', ["r1"]),
    ],
)
def test_fixed_user_filters(engine: sa.Engine, text: str, expected: list[str]) -> None:
    docs = load(engine, "User", FIXED_USERS)
    f = parse_filter(text)
    assert sql_ids(engine, "User", f) == expected
    assert memory_ids("User", f, docs) == expected


FIXED_GROUPS: list[dict[str, Any]] = [
    {
        "schemas": [CORE_GROUP],
        "displayName": "Engineering",
        "members": [{"value": "u1", "type": "User"}, {"value": "g2", "type": "Group"}],
    },
    {"schemas": [CORE_GROUP], "displayName": "Empty"},
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('members[value eq "u1"]', ["r0"]),
        ('members.value eq "U1"', []),
        ('members[type eq "group"]', ["r0"]),
        ("members pr", ["r0"]),
        ("not (members pr)", ["r1"]),
        ('displayName eq "engineering"', ["r0"]),
        ('members.value ne "u1"', ["r1"]),
        ('members[display eq "alice"]', ["r0"]),
        ('members.display sw "AL"', ["r0"]),
        ("members.display pr", ["r0"]),
    ],
)
def test_fixed_group_filters(engine: sa.Engine, text: str, expected: list[str]) -> None:
    docs = load(engine, "Group", FIXED_GROUPS)
    f = parse_filter(text)
    assert sql_ids(engine, "Group", f) == expected
    assert memory_ids("Group", f, docs) == expected


@pytest.mark.parametrize(
    ("sort_by", "descending", "expected"),
    [
        ("userName", False, ["r0", "r1", "r2"]),
        ("userName", True, ["r2", "r1", "r0"]),
        ("title", False, ["r0", "r1", "r2"]),  # missing values last when ascending
        ("title", True, ["r1", "r2", "r0"]),  # and first when descending
        ("emails.value", False, ["r0", "r1", "r2"]),  # r0 by its primary: babs@...
        ("emails.type", False, ["r0", "r1", "r2"]),
        ("meta.created", True, ["r1", "r0", "r2"]),
    ],
)
def test_sort(engine: sa.Engine, sort_by: str, descending: bool, expected: list[str]) -> None:
    load(engine, "User", FIXED_USERS)
    query = (
        sa.select(tables.resources.c.id)
        .where(tables.resources.c.tenant_id == TENANT)
        .order_by(*sort_clauses(REG, "User", TENANT, sort_by, descending))
    )
    with engine.connect() as conn:
        assert [row[0] for row in conn.execute(query)] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('groups[value eq "gX"]', ["r0"]),
        ('groups.value eq "gx"', []),
        ('groups.display eq "admins"', ["r0"]),
        ("groups pr", ["r0"]),
        ("not (groups pr)", ["r1", "r2"]),
    ],
)
def test_user_groups_filters(engine: sa.Engine, text: str, expected: list[str]) -> None:
    docs = load(engine, "User", FIXED_USERS)
    with engine.begin() as conn:
        conn.execute(
            tables.resources.insert().values(
                tenant_id=TENANT,
                id="gX",
                resource_type="Group",
                data="{}",
                version=1,
                created="x",
                last_modified="x",
                display="Admins",
            )
        )
        conn.execute(
            tables.group_members.insert().values(
                tenant_id=TENANT, group_id="gX", member_id="r0", member_type="User"
            )
        )
    docs["r0"]["groups"] = [{"value": "gX", "display": "Admins", "type": "direct"}]
    f = parse_filter(text)
    assert sql_ids(engine, "User", f) == expected
    assert memory_ids("User", f, docs) == expected


def test_string_order_is_code_point_order_on_postgresql() -> None:
    """Whatever the database's collation, gt/lt and sortBy compare like Python and SQLite."""
    pg = sa.create_engine("postgresql+psycopg://")  # never connects: dialects only
    lite = sa.create_engine("sqlite://")
    where = filter_to_sql(REG, "User", TENANT, parse_filter('title gt "a" and userName lt "b"'))
    order = sort_clauses(REG, "User", TENANT, "userName", False)[0]
    for clause in (where, order):
        assert 'COLLATE "C"' in str(clause.compile(dialect=pg.dialect))
        assert "COLLATE" not in str(clause.compile(dialect=lite.dialect))
    pg.dispose()
    lite.dispose()


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('title eq "Tour"', '"tour"'),  # not caseExact: the lower-cased JSON string
        ('externalId eq "X"', None),  # a direct column: no document scan
        ('emails.value eq "a@b"', None),  # an attr_index seek
        ('emails[value co "Ab"]', "ab"),
        ('name.familyName sw "q\\"t"', None),  # JSON-escaped inside: no plain text known
    ],
)
def test_document_scans_look_for_the_text_first(text: str, needle: str | None) -> None:
    """A scan of search documents first tests the raw text for what a match must contain
    (cheap) before parsing the JSON; the result is the same (the suites above)."""
    where = filter_to_sql(REG, "User", TENANT, parse_filter(text))
    compiled = where.compile(dialect=sa.create_engine("sqlite://").dialect)
    # `search LIKE '%' || :search_1 || '%'` (contains, autoescaped) binds the bare text.
    found = [v for k, v in compiled.params.items() if k.startswith("search_")]
    assert found == ([] if needle is None else [needle]), compiled.params
    assert ("resources.search LIKE" in str(compiled)) == (needle is not None)
