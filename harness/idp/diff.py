"""`scim-idp diff --profile P --a URL --b URL`: one IdP profile against two servers.

Every scenario of the simulator runs on both servers with the same run prefix; the two
clients' exchanges are paired step by step (aligned on method, path shape and query, so a
flow that diverges shows as steps only one side sent) and each disagreement is reported:
status, the set of returned attribute names, and the order where the RFC fixes it (sortBy
results, a ListResponse's startIndex/itemsPerPage). Ids and timestamps never count.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import sys
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx

from harness.client import Recorder, ScimClient
from harness.exchange import Exchange, Masker
from harness.validation.responses import RESPONSE_CHECKS
from harness.verdicts import Blocked, HarnessError, ScimViolation, Unsupported

__all__ = [
    "Disagreement",
    "Side",
    "compare_exchanges",
    "configure_parser",
    "returned_names",
    "run",
    "run_diff",
    "step_key",
]

LIST_URN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
KEEP = 5000
"""Exchanges kept per scenario and side (a scenario sends a few dozen)."""


@dataclass(frozen=True, slots=True)
class Disagreement:
    """One point where the two servers answered differently."""

    scenario: str
    step: str  # "3: GET /Users/{id}" or "" for the scenario as a whole
    kind: str  # status | attributes | ordering | paging | flow | outcome | idp
    a: Any
    b: Any

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "step": self.step,
            "kind": self.kind,
            "a": self.a,
            "b": self.b,
        }


@dataclass(slots=True)
class Side:
    """What one server did in one scenario: its exchanges, outcome and IdP failures."""

    exchanges: list[Exchange] = field(default_factory=list)
    outcome: str = "completed"  # completed | not sent | blocked | error
    reason: str = ""
    failures: list[str] = field(default_factory=list)
    base_path: str = ""
    prefix: str = ""


# -- pairing -------------------------------------------------------------------------------


def _json(text: str) -> Any:
    try:
        return json.loads(text) if text else None
    except (ValueError, RecursionError):
        return None


def _last_segment(location: str | None) -> str | None:
    if not location:
        return None
    return location.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or None


def known_ids(exchanges: Iterable[Exchange]) -> set[str]:
    """Every id a server handed out in these exchanges (bodies, list entries, Location)."""
    found: set[str] = set()
    for exchange in exchanges:
        body = _json(exchange.response_body)
        if isinstance(body, dict):
            if isinstance(body.get("id"), str):
                found.add(body["id"])
            for entry in body.get("Resources") or []:
                if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                    found.add(entry["id"])
        segment = _last_segment(exchange.response_header("location"))
        if segment:
            found.add(segment)
    return {i for i in found if i}


def _id_pattern(ids: set[str]) -> re.Pattern[str] | None:
    if not ids:
        return None
    alternatives = "|".join(re.escape(i) for i in sorted(ids, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])")


def step_key(exchange: Exchange, base_path: str, ids: re.Pattern[str] | None) -> str:
    """`GET /Users/{id}?filter=...`: the request without anything server-specific."""
    url = httpx.URL(exchange.url)
    path = url.path
    if base_path and path.startswith(base_path):
        path = path[len(base_path) :]
    parts = [p for p in path.split("/") if p]
    shape = (
        [parts[0], *("{id}" if not p.startswith(".") else p for p in parts[1:])] if parts else []
    )
    query = sorted(parse_qsl(url.query.decode("ascii", "replace"), keep_blank_values=True))
    text = "&".join(f"{k}={v}" for k, v in query)
    if ids is not None:
        text = ids.sub("{id}", text)
    return f"{exchange.method} /{'/'.join(shape)}" + (f"?{text}" if text else "")


# -- comparison ----------------------------------------------------------------------------


def returned_names(body: Any) -> set[str]:
    """Attribute names in a body, lower-cased, as dotted paths (`name.givenname`); a list's
    entries appear under `resources[].`."""
    names: set[str] = set()

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if value is None or value == [] or value == {}:
                    continue  # RFC 7643 2.5: unassigned
                name = f"{prefix}{key.lower()}"
                names.add(name)
                walk(value, f"{name}.")
        elif isinstance(node, list):
            for item in node:
                walk(item, prefix.rstrip(".") + "[]." if prefix else "[].")

    walk(body, "")
    return names


def _get_path(node: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(node, list):
            node = next((n for n in node if isinstance(n, dict) and n.get("primary")), None) or (
                node[0] if node else None
            )
        if not isinstance(node, dict):
            return None
        lowered = part.lower()
        node = next((v for k, v in node.items() if k.lower() == lowered), None)
    return node


def _sort_by(exchange: Exchange) -> str | None:
    params = dict(httpx.URL(exchange.url).params.multi_items())
    sort_by = params.get("sortBy")
    if sort_by is None:
        body = _json(exchange.request_body)
        if isinstance(body, dict) and isinstance(body.get("sortBy"), str):
            sort_by = body["sortBy"]
    return sort_by


def _is_list(body: Any) -> bool:
    return isinstance(body, dict) and LIST_URN in (body.get("schemas") or [])


def _own(body: Any, prefix: str) -> Any:
    """A ListResponse with only the run's own entries (other data on a tenant never counts)."""
    if not prefix or not _is_list(body):
        return body
    needle = prefix.lower()
    entries = body.get("Resources") or []
    own = [r for r in entries if needle in json.dumps(r, ensure_ascii=False).lower()]
    return {**body, "Resources": own}


def _filtered(exchange: Exchange) -> bool:
    if "filter" in httpx.URL(exchange.url).params:
        return True
    body = _json(exchange.request_body)
    return isinstance(body, dict) and "filter" in body


def _page_size(body: dict[str, Any], filtered: bool) -> Any:
    """itemsPerPage as compared: its value for a filtered (run-scoped) query; else whether
    it counts the Resources of the page, as RFC 7644 3.4.2.4 fixes (tenants' data differ)."""
    size = body.get("itemsPerPage")
    if filtered:
        return f"itemsPerPage={size}"
    count = len(body.get("Resources") or [])
    return (
        "itemsPerPage counts the page"
        if size == count
        else f"itemsPerPage={size}, {count} resources"
    )


def compare_exchanges(a: Exchange, b: Exchange, prefix: str = "") -> list[tuple[str, Any, Any]]:
    """(kind, a, b) for each way two answers to the same request disagree; list entries
    count only if they carry the run `prefix` (when given)."""
    found: list[tuple[str, Any, Any]] = []
    if a.status != b.status:
        found.append(("status", a.status, b.status))
    full_a, full_b = _json(a.response_body), _json(b.response_body)
    body_a, body_b = _own(full_a, prefix), _own(full_b, prefix)
    names_a, names_b = returned_names(body_a), returned_names(body_b)
    bodiless = full_a is None or full_b is None
    if names_a != names_b and not (bodiless and a.status != b.status):  # 204 vs 200: status
        only_a, only_b = sorted(names_a - names_b), sorted(names_b - names_a)
        found.append(
            (
                "attributes",
                f"only A returns {', '.join(only_a)}" if only_a else "-",
                f"only B returns {', '.join(only_b)}" if only_b else "-",
            )
        )
    if not (_is_list(full_a) and _is_list(full_b)):
        return found
    if full_a.get("startIndex") != full_b.get("startIndex"):
        found.append(
            (
                "paging",
                f"startIndex={full_a.get('startIndex')}",
                f"startIndex={full_b.get('startIndex')}",
            )
        )
    filtered = _filtered(a)
    size_a, size_b = _page_size(full_a, filtered), _page_size(full_b, filtered)
    if size_a != size_b:
        found.append(("paging", size_a, size_b))
    sort_by = _sort_by(a)
    if sort_by:
        order_a = [_get_path(r, sort_by) for r in body_a.get("Resources") or []]
        order_b = [_get_path(r, sort_by) for r in body_b.get("Resources") or []]
        if order_a != order_b:
            found.append(("ordering", f"sortBy={sort_by}: {order_a}", order_b))
    return found


def pair_steps(scenario: str, a: Side, b: Side) -> list[Disagreement]:
    """Align the two exchange sequences and compare each aligned pair."""
    pattern_a, pattern_b = _id_pattern(known_ids(a.exchanges)), _id_pattern(known_ids(b.exchanges))
    keys_a = [step_key(e, a.base_path, pattern_a) for e in a.exchanges]
    keys_b = [step_key(e, b.base_path, pattern_b) for e in b.exchanges]
    found: list[Disagreement] = []
    matcher = difflib.SequenceMatcher(None, keys_a, keys_b, autojunk=False)
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        if tag == "equal":
            for i, j in zip(range(a0, a1), range(b0, b1), strict=True):
                for kind, x, y in compare_exchanges(a.exchanges[i], b.exchanges[j], a.prefix):
                    found.append(Disagreement(scenario, f"{i + 1}: {keys_a[i]}", kind, x, y))
            continue
        only_a = [f"{i + 1}: {keys_a[i]}" for i in range(a0, a1)]
        only_b = [f"{j + 1}: {keys_b[j]}" for j in range(b0, b1)]
        step = (only_a or only_b)[0]
        found.append(Disagreement(scenario, step, "flow", only_a or "-", only_b or "-"))
    return found


def compare_sides(scenario: str, a: Side, b: Side) -> list[Disagreement]:
    found: list[Disagreement] = []
    if a.outcome != b.outcome:
        found.append(
            Disagreement(
                scenario,
                "",
                "outcome",
                f"{a.outcome} {a.reason}".strip(),
                f"{b.outcome} {b.reason}".strip(),
            )
        )
    if bool(a.failures) != bool(b.failures):
        found.append(Disagreement(scenario, "", "idp", a.failures or "-", b.failures or "-"))
    return found + pair_steps(scenario, a, b)


# -- running -------------------------------------------------------------------------------


def _groups_first(item: tuple[str, str]) -> tuple[bool, str]:
    return ("group" not in item[0].lower(), item[1])


LIST_ORDER = "list-order"
"""A scenario of diff's own: the RFC fixes a sorted page's order and paging fields, and no
IdP profile sends sortBy, so this one lists the run's users sorted and paged."""
USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
SEARCH_URN = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


def list_order(client: ScimClient, tag: str, created: Callable[[str, str], None]) -> None:
    """Three users, then sorted listings: descending, one page further, and /.search."""
    for n in (2, 3, 1):
        user_name = f"{tag}{n}@example.com"
        body = {"schemas": [USER_URN], "userName": user_name,
                "name": {"givenName": f"Given{n}", "familyName": f"Family{n}"}}  # fmt: skip
        response = client.post("/Users", json=body)
        ok, answer = response.parsed()
        if response.status != 201 or not ok or not isinstance(answer, dict):
            raise Blocked(f"POST /Users for {user_name} answered {response.status}")
        created("/Users", str(answer.get("id")))
    where = f'userName sw "{tag}"'
    client.get("/Users", params={"filter": where, "sortBy": "userName", "sortOrder": "descending"})
    client.get(
        "/Users", params={"filter": where, "sortBy": "userName", "startIndex": 2, "count": 1}
    )
    search = {"schemas": [SEARCH_URN], "filter": where, "sortBy": "name.givenName",
              "startIndex": 1, "count": 2}  # fmt: skip
    client.post("/Users/.search", json=search)


def run_side(
    client: ScimClient, profile: Any, scenario: str, prefix: str, *, sleep: Callable[[float], None]
) -> Side:
    """Run one scenario on one server (non-strict), then delete what it created."""
    from harness.idp.simulator import Simulator, run_scenario

    recorder = Recorder(f"diff {scenario}", disabled=frozenset(RESPONSE_CHECKS), keep=KEEP)
    bound = client.bound(recorder)
    created: list[tuple[str, str]] = []
    sim = Simulator(
        bound, profile, strict=False, on_create=lambda e, i: created.append((e, i)), sleep=sleep
    )
    side = Side(base_path=httpx.URL(client.base_url).path.rstrip("/"), prefix=prefix)
    try:
        if scenario == LIST_ORDER:
            list_order(bound, f"{prefix}{LIST_ORDER}-", lambda e, i: created.append((e, i)))
        else:
            run_scenario(sim, scenario, prefix)
    except Unsupported as exc:
        side.outcome, side.reason = "not sent", str(exc.reason)
    except Blocked as exc:
        side.outcome, side.reason = "blocked", exc.reason
    except ScimViolation as exc:
        side.outcome, side.reason = "error", exc.message
    side.failures = [f.message for f in sim.failures]
    side.exchanges = list(recorder.exchanges)
    cleaner = client.bound(Recorder("diff cleanup", disabled=frozenset(RESPONSE_CHECKS)))
    for endpoint, rid in sorted(dict.fromkeys(created), key=_groups_first):
        try:
            cleaner.delete(f"{endpoint.rstrip('/')}/{rid}")
        except ScimViolation as exc:
            side.failures.append(f"cleanup of {endpoint}/{rid} failed: {exc.message}")
    return side


def run_diff(
    client_a: ScimClient,
    client_b: ScimClient,
    profile: Any,
    scenarios: Sequence[str],
    *,
    prefix: str | None = None,
    sleep: Callable[[float], None] | None = None,
) -> tuple[list[Disagreement], dict[str, tuple[Side, Side]]]:
    """Each scenario on A then B with the same run prefix; every disagreement, in order."""
    import time

    prefix = prefix or f"scimdiff-{uuid.uuid4().hex[:8]}-"
    pause = sleep or time.sleep
    found: list[Disagreement] = []
    sides: dict[str, tuple[Side, Side]] = {}
    for scenario in scenarios:
        a = run_side(client_a, profile, scenario, prefix, sleep=pause)
        b = run_side(client_b, profile, scenario, prefix, sleep=pause)
        sides[scenario] = (a, b)
        found += compare_sides(scenario, a, b)
    return found, sides


# -- command line --------------------------------------------------------------------------


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Options of `scim-idp diff`."""
    parser.description = (
        "Run one IdP profile's scenarios against two SCIM servers and report each point "
        "where they disagree (status, returned attributes, RFC-fixed ordering)."
    )
    parser.add_argument("--profile", required=True, help="IdP profile name or file (e.g. okta)")
    parser.add_argument("--a", required=True, metavar="URL", help="SCIM base URL of server A")
    parser.add_argument("--b", required=True, metavar="URL", help="SCIM base URL of server B")
    parser.add_argument("--token-a", default=None, help="token for A (default: env SCIM_TOKEN_A)")
    parser.add_argument("--token-b", default=None, help="token for B (default: env SCIM_TOKEN_B)")
    parser.add_argument(
        "--scenario",
        action="append",
        default=None,
        metavar="NAME",
        help=f"scenario to run (repeatable; default: all the simulator's and {LIST_ORDER!r})",
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request (10)")
    parser.add_argument(
        "--json",
        dest="json_out",
        default=None,
        metavar="PATH",
        help="also write the disagreements as JSON to PATH ('-' for standard output)",
    )


def _probe(client: ScimClient, name: str) -> str | None:
    """None if the server answers at all, else why not (a connection error, exit 2)."""
    probe = client.bound(Recorder("diff probe", disabled=frozenset(RESPONSE_CHECKS)))
    try:
        probe.get("/ServiceProviderConfig")
    except ScimViolation as exc:
        return f"server {name} ({client.base_url}) does not answer: {exc.message}"
    return None


def _print(
    found: Sequence[Disagreement], sides: dict[str, tuple[Side, Side]], masker: Masker, title: str
) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False, soft_wrap=False)
    table = Table(title=masker.text(title))
    for column in ("scenario", "step", "kind", "A", "B"):
        table.add_column(column)
    for d in found:
        table.add_row(
            d.scenario,
            masker.text(d.step)[:70],
            d.kind,
            masker.text(_cell(d.a)),
            masker.text(_cell(d.b)),
        )
    if found:
        console.print(table)
    steps = sum(len(a.exchanges) for a, _ in sides.values())
    console.print(
        f"{len(sides)} scenarios, {steps} exchanges on A: "
        + (f"{len(found)} disagreements" if found else "no disagreement")
    )


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 200 else text[:197] + "..."


def run(args: argparse.Namespace) -> int:
    """0: the servers agree; 1: disagreements; 2: unusable options, profile or server."""
    from harness.idp.profiles import ProfileError, load_profile
    from harness.idp.simulator import SCENARIOS

    for url in (args.a, args.b):
        if not str(url).startswith(("http://", "https://")):
            print(f"error: --a/--b must be http(s) URLs, got {url!r}", file=sys.stderr)
            return 2
    token_a = args.token_a or os.environ.get("SCIM_TOKEN_A") or None
    token_b = args.token_b or os.environ.get("SCIM_TOKEN_B") or None
    masker = Masker([token_a, token_b])
    if args.a.rstrip("/") == args.b.rstrip("/") and token_a == token_b:
        print("error: --a and --b are the same endpoint and tenant", file=sys.stderr)
        return 2
    known = (*SCENARIOS, LIST_ORDER)
    scenarios = args.scenario or list(known)
    unknown = [s for s in scenarios if s not in known]
    if unknown:
        print(f"error: unknown scenario {unknown}; known: {', '.join(known)}", file=sys.stderr)
        return 2
    try:
        profile = load_profile(args.profile)
    except (ProfileError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    with (
        ScimClient(args.a, token_a, timeout=args.timeout) as client_a,
        ScimClient(args.b, token_b, timeout=args.timeout) as client_b,
    ):
        for client, name in ((client_a, "A"), (client_b, "B")):
            problem = _probe(client, name)
            if problem:
                print(masker.text(f"error: {problem}"), file=sys.stderr)
                return 2
        try:
            found, sides = run_diff(client_a, client_b, profile, scenarios)
        except HarnessError as exc:
            print(masker.text(f"error: {exc}"), file=sys.stderr)
            return 2
    if args.json_out != "-":
        _print(found, sides, masker, f"{args.profile}: A {args.a} vs B {args.b}")
    if args.json_out:
        data = {
            "format": 1,
            "profile": args.profile,
            "a": args.a,
            "b": args.b,
            "scenarios": {
                name: {
                    "a": a.outcome,
                    "b": b.outcome,
                    "exchanges": [len(a.exchanges), len(b.exchanges)],
                }
                for name, (a, b) in sides.items()
            },
            "disagreements": [d.to_dict() for d in found],
        }
        text = masker.text(json.dumps(data, indent=2, ensure_ascii=False, default=str))
        if args.json_out == "-":
            sys.stdout.write(text + "\n")
        else:
            with open(args.json_out, "w", encoding="utf-8") as handle:
                handle.write(text + "\n")
    return 1 if found else 0
