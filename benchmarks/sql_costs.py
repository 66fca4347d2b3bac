"""Measure the SQL side of the reference server in-process (the README's numbers).

    python benchmarks/sql_costs.py plans --users 100000 [--analyze]
    python benchmarks/sql_costs.py groups --users 100000 [--sizes 2500,10000,...]
    python benchmarks/sql_costs.py statements

`plans` builds a synthetic database (the server's own schema and bootstrap organization,
then N users written straight into SQLite, since seeding 100,000 users over HTTP takes
half an hour on a small machine), calls the server's operations in-process (group add of
50 members, single remove, a page near the end, `emails.value` and `userName` filters, a
GET) and prints each operation's CPU time and every slow statement with SQLite's query
plan. `--analyze` runs ANALYZE first, to show what statistics change.

`groups` grows one group on such a database the way `bench_server.py`'s group-patch phase
does (adds of the next 50 users, a single remove after each) and prints the CPU time of
an add and of a remove around each group size: the cost must not follow the group's size.

`statements` compares, for one user read (the resource and its groups), SQLAlchemy Core
statements built per call (what the repository did until 2026-11-23), the same
statements prebuilt with `bindparam`, and raw SQL on the sqlite3 cursor.

For measurement only: it imports the server's internals and is not part of it.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa

__all__ = ["main"]

PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"


def _search_document(n: int) -> str:
    """The search document of an Okta-shaped user, written by the server's own
    `index_values`/`search_document`: what filters on attributes without attr_index rows
    scan."""
    from reference_server.scim.resources import index_values, search_document
    from reference_server.scim.schemas import load_registry  # cached: read once

    ext = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    stored = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ext],
        "name": {"givenName": "Bench", "familyName": f"U{n}"},
        "emails": [{"value": f"u{n}@m", "type": "work", "primary": True}],
        "active": True,
        ext: {"department": "Benchmarks"},
    }
    return search_document(index_values(load_registry(), "User", stored))


class _Synthetic:
    """A server state on a fresh SQLite file: the bootstrap organization, then N users
    written straight into SQLite (seeding 100,000 users over HTTP takes a minute or more),
    with time-ordered ids in creation order, as the server makes them."""

    def __init__(self, users: int) -> None:
        from reference_server.app import create_state
        from reference_server.endpoints.common import Ctx
        from reference_server.settings import ServerSettings
        from reference_server.storage.repository import new_resource_id

        self.workdir = Path(tempfile.mkdtemp(prefix="scim-sql-"))
        self.db = self.workdir / "s.db"
        url = f"sqlite:///{self.db}"
        self.state = create_state(ServerSettings(database_url=url, bootstrap_token="T"))
        tenant = self.state.bootstrap_tenant
        assert tenant is not None
        self.ctx = Ctx(self.state, tenant, "http://127.0.0.1/scim/v2")
        self.raw = sqlite3.connect(self.db)
        self.ids = [new_resource_id() for _ in range(users)]
        self.raw.executemany(
            "INSERT INTO resources (tenant_id, id, resource_type, user_name_lower, "
            "external_id, display_name_lower, display, data, search, version, created, "
            "last_modified) VALUES (?, ?, 'User', ?, ?, ?, ?, ?, ?, 1, ?, ?)",
            [
                (
                    tenant,
                    rid,
                    f"u{n}@b",
                    f"ext-{n}",
                    f"bench u{n}",
                    f"Bench u{n}",
                    json.dumps({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]}),
                    _search_document(n),
                    f"2026-01-01T00:00:00.{n:09d}Z",
                    "2026-01-01T00:00:00Z",
                )
                for n, rid in enumerate(self.ids)
            ],
        )
        self.raw.executemany(
            "INSERT INTO attr_index (tenant_id, resource_id, resource_type, path, elem, v_text, "
            "v_lower) VALUES (?, ?, 'User', 'emails.value', 0, ?, ?)",
            [(tenant, rid, f"u{n}@m", f"u{n}@m") for n, rid in enumerate(self.ids)],
        )
        self.raw.execute(  # the counter the server keeps in every insert's transaction
            "INSERT INTO resource_counts (tenant_id, resource_type, total, generation) "
            "VALUES (?, 'User', ?, 1) ON CONFLICT (tenant_id, resource_type) DO UPDATE SET "
            "total = total + excluded.total, generation = generation + 1",
            (tenant, users),
        )
        self.raw.commit()

    def group(self, name: str) -> str:
        from reference_server.endpoints import operations as ops

        body = {"schemas": [GROUP_SCHEMA], "displayName": name}
        created = ops.create(self.ctx, "Group", body, None, None).body
        assert created is not None
        return str(created["id"])

    def add_members(self, gid: str, batch: Sequence[str]) -> None:
        self.patch_group(
            gid, {"op": "add", "path": "members", "value": [{"value": i} for i in batch]}
        )

    def remove_member(self, gid: str, member: str) -> None:
        self.patch_group(gid, {"op": "remove", "path": f'members[value eq "{member}"]'})

    def patch_group(self, gid: str, op: dict[str, Any]) -> None:
        from reference_server.endpoints import operations as ops

        ops.patch(self.ctx, "Group", gid, {"schemas": [PATCH_SCHEMA], "Operations": [op]})

    def close(self) -> None:
        self.state.repo.close()
        self.state.engine.dispose()
        self.raw.close()
        for path in self.workdir.iterdir():
            path.unlink()
        self.workdir.rmdir()


def _capture_statements() -> list[tuple[float, str, Any]]:
    """Every statement the repository runs from now on: (wall ms, SQL, parameters).

    The repository talks to the DB-API driver through `storage.database.Tx`, not through
    SQLAlchemy's Connection (whose events would see nothing), so Tx's methods are wrapped.
    """
    from reference_server.storage.database import Tx

    seen: list[tuple[float, str, Any]] = []

    def timed(method: Callable[..., Any]) -> Callable[..., Any]:
        def call(self: Tx, sql: str, params: Any = ()) -> Any:
            started = time.perf_counter()
            try:
                return method(self, sql, params)
            finally:
                seen.append(((time.perf_counter() - started) * 1e3, sql, params))

        return call

    for name in ("all", "first", "run", "run_many"):
        setattr(Tx, name, timed(getattr(Tx, name)))
    return seen


def _plans(users: int, analyze: bool, slow_ms: float) -> int:
    from reference_server.endpoints import operations as ops

    data = _Synthetic(users)
    ctx, ids, raw = data.ctx, data.ids, data.raw
    if analyze:
        raw.execute("ANALYZE")
        raw.commit()
    gid = data.group("grow")
    seen = _capture_statements()

    def run(label: str, fn: Callable[[], object]) -> None:
        seen.clear()
        t0 = time.process_time()
        fn()
        cpu = (time.process_time() - t0) * 1e3
        print(f"== {label}: {cpu:.1f} ms CPU, {len(seen)} statements")
        for ms, sql, params in seen:
            if ms < slow_ms:
                continue
            first = params[0] if isinstance(params, list) and params else params
            plan: list[str] = []
            if sql.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE")):
                plan = [row[3] for row in raw.execute("EXPLAIN QUERY PLAN " + sql, first)]
            print(f"   {ms:8.2f} ms (wall)  {' '.join(sql.split())[:140]}")
            print(f"                plan: {plan}")

    def add(batch: Sequence[str]) -> None:
        data.patch_group(
            gid, {"op": "add", "path": "members", "value": [{"value": i} for i in batch]}
        )

    def remove(member: str) -> None:
        data.patch_group(gid, {"op": "remove", "path": f'members[value eq "{member}"]'})

    print(f"{users:,} users, SQLite {sqlite3.sqlite_version}, ANALYZE: {analyze}")
    run("warm-up: add 50 (builds the PATCH path grammar)", lambda: add(ids[:50]))
    run("group add 50", lambda: add(ids[50:100]))
    run("group add 50", lambda: add(ids[100:150]))
    run("group remove 1", lambda: remove(ids[3]))
    start = max(1, users - 100)
    run(f"page startIndex={start}", lambda: ops.search(ctx, ["User"], ops.Query(start_index=start)))
    half = users // 2
    flt = f'emails.value eq "u{half}@m"'
    run(f"filter {flt}", lambda: ops.search(ctx, ["User"], ops.Query(filter=flt)))
    run(f"filter {flt} (again)", lambda: ops.search(ctx, ["User"], ops.Query(filter=flt)))
    flt2 = f'userName eq "u{half}@b"'
    run(f"filter {flt2}", lambda: ops.search(ctx, ["User"], ops.Query(filter=flt2)))
    flt3 = f'name.familyName eq "u{half}"'
    run(
        f"filter {flt3} (search documents)",
        lambda: ops.search(ctx, ["User"], ops.Query(filter=flt3)),
    )
    flt4 = 'emails[type eq "work" and value ew "7@m"]'
    query4 = ops.Query(filter=flt4, count=100)
    run(f"filter {flt4} (search documents)", lambda: ops.search(ctx, ["User"], query4))
    run("get", lambda: ops.read(ctx, "User", ids[half], None, None, None))
    data.close()
    return 0


def _groups(users: int, marks: Sequence[int], pairs: int) -> int:
    """Does a membership PATCH cost the same whatever the group's size (issue 2, point 9)?

    The bench_server phase cannot show it at 1,000 users: its group holds at most 1,000
    members, so after about 20 pairs its adds of 50 mostly re-add members (about one new
    row each). Here a group grows as in that phase (the next 50 users per add, a random
    member removed after each) and the CPU time of adds that insert 50 new members and of
    single removes is printed around each size in `marks`.
    """
    data = _Synthetic(users)
    gid = data.group("grow")
    rnd = random.Random(3)
    members: list[str] = []
    cost: dict[int, list[tuple[float, float]]] = {m: [] for m in marks}
    wanted = [m for m in marks if m + 50 <= users]
    print(f"{users:,} users, SQLite {sqlite3.sqlite_version}; CPU per request around each size")
    for start in range(0, users - 49, 50):
        size = len(members)
        near = [m for m in wanted if m - pairs * 49 <= size < m]
        if not near and size > max(wanted, default=0):
            break
        t0 = time.process_time()
        batch = data.ids[start : start + 50]
        data.patch_group(
            gid, {"op": "add", "path": "members", "value": [{"value": i} for i in batch]}
        )
        added = time.process_time() - t0
        members.extend(batch)
        victim = members.pop(rnd.randrange(len(members)))
        t0 = time.process_time()
        data.remove_member(gid, victim)
        removed = time.process_time() - t0
        for m in near:
            cost[m].append((added, removed))
    for mark in wanted:
        runs = cost[mark]
        if runs:
            add_us = sum(a for a, _ in runs) / len(runs) * 1e6
            remove_us = sum(r for _, r in runs) / len(runs) * 1e6
            print(
                f"  ~{mark:>7,} members: add 50 {add_us:6.0f} us, remove 1 {remove_us:5.0f} us "
                f"({len(runs)} pairs)"
            )
    data.close()
    return 0


def _statements(calls: int) -> int:
    from reference_server.storage.engine import create_engine, upgrade
    from reference_server.storage.tables import group_members, resources

    workdir = Path(tempfile.mkdtemp(prefix="scim-sql-"))
    db = workdir / "m.db"
    engine = create_engine(f"sqlite:///{db}")
    upgrade(engine)
    ids = [str(uuid.uuid4()) for _ in range(2000)]
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO tenants (id, name, created) VALUES ('t', 't', 'x')"))
        conn.execute(
            resources.insert(),
            [
                {
                    "tenant_id": "t",
                    "id": rid,
                    "resource_type": "User",
                    "user_name_lower": f"u{n}",
                    "data": "{}",
                    "version": 1,
                    "created": f"{n:08d}",
                    "last_modified": "x",
                }
                for n, rid in enumerate(ids)
            ],
        )
    cols = (
        resources.c.id,
        resources.c.resource_type,
        resources.c.data,
        resources.c.version,
        resources.c.created,
        resources.c.last_modified,
    )
    joined = sa.and_(
        resources.c.tenant_id == group_members.c.tenant_id,
        resources.c.id == group_members.c.group_id,
    )

    def built_per_call(rid: str) -> None:  # what Repository.get + groups_of do today
        with engine.connect() as conn:
            conn.execute(
                sa.select(*cols).where(
                    resources.c.tenant_id == "t",
                    resources.c.id == rid,
                    resources.c.resource_type == "User",
                )
            ).first()
            conn.execute(
                sa.select(group_members.c.member_id, group_members.c.group_id, resources.c.display)
                .join(resources, joined)
                .where(group_members.c.tenant_id == "t", group_members.c.member_id.in_([rid]))
                .order_by(group_members.c.member_id, group_members.c.group_id)
            ).all()

    get_stmt = sa.select(*cols).where(
        resources.c.tenant_id == sa.bindparam("t"),
        resources.c.id == sa.bindparam("i"),
        resources.c.resource_type == sa.bindparam("rt"),
    )
    groups_stmt = (
        sa.select(group_members.c.group_id, resources.c.display)
        .join(resources, joined)
        .where(
            group_members.c.tenant_id == sa.bindparam("t"),
            group_members.c.member_id == sa.bindparam("i"),
        )
    )

    def prebuilt(rid: str) -> None:
        with engine.connect() as conn:
            conn.execute(get_stmt, {"t": "t", "i": rid, "rt": "User"}).first()
            conn.execute(groups_stmt, {"t": "t", "i": rid}).all()

    raw = sqlite3.connect(db, isolation_level=None)
    q_get = (
        "SELECT id, resource_type, data, version, created, last_modified FROM resources "
        "WHERE tenant_id=? AND id=? AND resource_type=?"
    )
    q_groups = (
        "SELECT gm.group_id, r.display FROM group_members gm JOIN resources r "
        "ON r.tenant_id=gm.tenant_id AND r.id=gm.group_id WHERE gm.tenant_id=? AND gm.member_id=?"
    )
    q_one = (
        "SELECT r.id, r.data, r.version, r.created, r.last_modified, (SELECT "
        "json_group_array(json_array(gm.group_id, g.display)) FROM group_members gm JOIN "
        "resources g ON g.tenant_id=gm.tenant_id AND g.id=gm.group_id WHERE "
        "gm.tenant_id=r.tenant_id AND gm.member_id=r.id) FROM resources r "
        "WHERE r.tenant_id=? AND r.id=? AND r.resource_type=?"
    )

    def raw_two(rid: str) -> None:
        raw.execute(q_get, ("t", rid, "User")).fetchone()
        raw.execute(q_groups, ("t", rid)).fetchall()

    def raw_one(rid: str) -> None:
        raw.execute(q_one, ("t", rid, "User")).fetchone()

    cases: list[tuple[str, Callable[[str], None]]] = [
        ("SQLAlchemy Core, statements built per call (the repository before)", built_per_call),
        ("SQLAlchemy Core, prebuilt statements + bindparam", prebuilt),
        ("raw sqlite3, the same 2 queries", raw_two),
        ("raw sqlite3, 1 query (groups as a json subquery)", raw_one),
    ]
    for label, fn in cases:
        t0 = time.process_time()
        for k in range(calls):
            fn(ids[k % len(ids)])
        print(f"{label:55s} {(time.process_time() - t0) / calls * 1e6:8.0f} µs CPU per read")
    engine.dispose()
    raw.close()
    for path in workdir.iterdir():
        path.unlink()
    workdir.rmdir()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    plans = sub.add_parser("plans", help="operation costs and query plans at N users")
    plans.add_argument("--users", type=int, default=100_000)
    plans.add_argument("--analyze", action="store_true", help="run ANALYZE first")
    plans.add_argument("--slow-ms", type=float, default=1.0, help="show statements slower")
    groups = sub.add_parser("groups", help="group add/remove cost as the group grows")
    groups.add_argument("--users", type=int, default=100_000)
    groups.add_argument(
        "--sizes", default="2500,10000,30000,60000,90000", help="group sizes to report"
    )
    groups.add_argument("--pairs", type=int, default=50, help="add/remove pairs per size")
    stmts = sub.add_parser("statements", help="SQLAlchemy Core vs raw SQL for one user read")
    stmts.add_argument("--calls", type=int, default=3000)
    args = parser.parse_args(argv)
    if args.command == "plans":
        return _plans(args.users, args.analyze, args.slow_ms)
    if args.command == "groups":
        sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
        return _groups(args.users, sizes, args.pairs)
    return _statements(args.calls)


if __name__ == "__main__":
    sys.exit(main())
