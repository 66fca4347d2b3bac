"""`scim-idp replay FILE --url URL --token T`: replay recorded traffic against any server.

Each recorded request is sent again, in `seq` order, with the new token (never the recorded
one) and with the ids learned on the way rewritten in paths, queries, headers and bodies.
Each answer is compared with the recorded one: status (exact), schema (the RFC message
schemas of `harness.validation.messages`), content (a JSON diff that ignores the volatile
fields: mapped ids, meta.created/lastModified/version/location, ETags, an Error's detail).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote_plus, urlencode

from harness.client import Recorder, Response, ScimClient
from harness.exchange import Exchange, Masker
from harness.idp.traffic import Message, TrafficError, TrafficLine, load_traffic
from harness.validation.messages import message_errors
from harness.validation.responses import RESPONSE_CHECKS
from harness.verdicts import HarnessError, ScimViolation

__all__ = [
    "Difference",
    "IdMap",
    "Replayer",
    "StepResult",
    "configure_parser",
    "diff_json",
    "message_schema",
    "run",
]

URN = "urn:ietf:params:scim:"
SCHEMA_BY_URN = {
    f"{URN}api:messages:2.0:ListResponse": "ListResponse",
    f"{URN}api:messages:2.0:Error": "Error",
    f"{URN}api:messages:2.0:BulkResponse": "BulkResponse",
    f"{URN}api:messages:2.0:PatchOp": "PatchOp",
    f"{URN}api:messages:2.0:SearchRequest": "SearchRequest",
    f"{URN}schemas:core:2.0:User": "User",
    f"{URN}schemas:core:2.0:Group": "Group",
    f"{URN}schemas:core:2.0:ServiceProviderConfig": "ServiceProviderConfig",
    f"{URN}schemas:core:2.0:ResourceType": "ResourceType",
    f"{URN}schemas:core:2.0:Schema": "Schema",
}
ERROR_URN = f"{URN}api:messages:2.0:Error"
VOLATILE_META = frozenset({"created", "lastmodified", "version", "location"})
ORDERED_ARRAYS = frozenset({"resources", "operations"})
"""Arrays whose order is the server's answer (ListResponse pages, Bulk results); the order
of any other multi-valued attribute carries no meaning (RFC 7643 2.4)."""
URL_KEYS = frozenset({"$ref", "location"})
NOT_REPLAYED = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "host",
        "content-length",
        "connection",
        "keep-alive",
        "transfer-encoding",
        "te",
        "upgrade",
        "accept-encoding",
    }
)
MISSING = "(absent)"


@dataclass(frozen=True, slots=True)
class Difference:
    """One way the new answer departs from the recorded one."""

    kind: str  # status | schema | content | header | transport
    where: str
    expected: Any
    actual: Any

    def text(self, width: int = 120) -> str:
        where = f" {self.where}" if self.where else ""
        exp, act = _short(self.expected, width // 2), _short(self.actual, width // 2)
        return f"{self.kind}{where}: expected {exp}, got {act}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "where": self.where,
            "expected": self.expected,
            "actual": self.actual,
        }


def _short(value: Any, width: int) -> str:
    text = value if isinstance(value, str) and value == MISSING else json.dumps(value)
    return text if len(text) <= width else text[: width - 3] + "..."


@dataclass(slots=True)
class StepResult:
    """What replaying one recorded exchange gave."""

    line: TrafficLine
    method: str = ""
    target: str = ""  # the rewritten path and query that was sent
    exchange: Exchange | None = None
    status: int | None = None
    differences: list[Difference] = field(default_factory=list)
    blocked: str | None = None
    skipped: str | None = None

    @property
    def outcome(self) -> str:
        if self.skipped:
            return "skipped"
        if self.blocked:
            return "blocked"
        return "differs" if self.differences else "ok"

    @property
    def failed_to_produce(self) -> bool:
        """Whether dependants must be blocked: the exchange itself went another way."""
        if self.outcome in ("blocked", "skipped"):
            return True
        return any(d.kind in ("status", "transport") for d in self.differences)

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.line.seq,
            "request": self.line.label,
            "sent": f"{self.method} {self.target}" if self.method else None,
            "recorded_status": self.line.response.status,
            "status": self.status,
            "outcome": self.outcome,
            "blocked": self.blocked,
            "skipped": self.skipped,
            "differences": [d.to_dict() for d in self.differences],
            "exchange": self.exchange.to_dict() if self.exchange else None,
        }


# -- ids -----------------------------------------------------------------------------------


class IdMap:
    """Recorded id -> id on the replay target (and recorded ETag -> new ETag)."""

    def __init__(self) -> None:
        self.ids: dict[str, str] = {}
        self.etags: dict[str, str] = {}
        self._pattern: re.Pattern[str] | None = None

    def learn(self, old: Any, new: Any) -> None:
        if isinstance(old, str) and isinstance(new, str) and old and new and old not in self.ids:
            self.ids[old] = new
            self._pattern = None

    def learn_etag(self, old: str | None, new: str | None) -> None:
        if old and new:
            self.etags[old] = new

    def pattern(self) -> re.Pattern[str] | None:
        if self._pattern is None and self.ids:
            self._pattern = id_pattern(self.ids)
        return self._pattern

    def text(self, value: str) -> str:
        pattern = self.pattern()
        if pattern is None:
            return value
        return pattern.sub(lambda m: self.ids[m.group(0)], value)

    def json(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.json(v) for v in value]
        if isinstance(value, dict):
            return {k: self.json(v) for k, v in value.items()}
        return value

    def header(self, value: str) -> str:
        return self.etags.get(value, self.text(value))

    def query(self, query: str) -> str:
        """Ids inside query values (percent-encoded, e.g. `%22<id>%22`) are rewritten too;
        a query without a learned id is sent exactly as recorded."""
        if not query or self.pattern() is None:
            return query
        pairs = parse_qsl(query, keep_blank_values=True)
        rewritten = [(self.text(k), self.text(v)) for k, v in pairs]
        return query if rewritten == pairs else urlencode(rewritten, quote_via=quote)


def id_pattern(ids: Iterable[str]) -> re.Pattern[str]:
    """Matches any of `ids` as a whole token (not inside a longer id or word)."""
    alternatives = "|".join(re.escape(i) for i in sorted(ids, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])")


def _last_segment(location: str | None) -> str | None:
    if not location:
        return None
    path = location.split("?", 1)[0].rstrip("/")
    return path.rsplit("/", 1)[-1] or None


def produced_ids(line: TrafficLine) -> list[str]:
    """The ids a recorded answer hands out (a created resource, a Location, list entries)."""
    found: list[str] = []
    body = line.response.body
    if isinstance(body, dict):
        if isinstance(body.get("id"), str):
            found.append(body["id"])
        for entry in _items(body, "Resources"):
            if isinstance(entry.get("id"), str):
                found.append(entry["id"])
        for entry in _items(body, "Operations"):
            segment = _last_segment(entry.get("location"))
            if segment:
                found.append(segment)
    segment = _last_segment(line.response.header("location"))
    if segment:
        found.append(segment)
    return found


def _items(body: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = _get(body, key)
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _get(body: dict[str, Any], key: str) -> Any:
    lowered = key.lower()
    return next((v for k, v in body.items() if k.lower() == lowered), None)


_MATCH_KEYS = ("userName", "displayName", "externalId")


def _same_entry(a: dict[str, Any], b: dict[str, Any]) -> bool:
    for key in _MATCH_KEYS:
        x, y = _get(a, key), _get(b, key)
        if isinstance(x, str) and isinstance(y, str):
            return x.lower() == y.lower()
    return False


def learn_ids(ids: IdMap, recorded: Message, new: Response, new_body: Any) -> None:
    """Pair the recorded answer's ids with the new answer's (before comparing them)."""
    old_body = recorded.body
    if isinstance(old_body, dict) and isinstance(new_body, dict):
        ids.learn(old_body.get("id"), new_body.get("id"))
        old_list, new_list = _items(old_body, "Resources"), _items(new_body, "Resources")
        if len(old_list) == len(new_list):
            for old, fresh in zip(old_list, new_list, strict=True):
                if len(old_list) == 1 or _same_entry(old, fresh):
                    ids.learn(old.get("id"), fresh.get("id"))
        new_ops = {
            op.get("bulkId"): op for op in _items(new_body, "Operations") if op.get("bulkId")
        }
        for op in _items(old_body, "Operations"):
            match = new_ops.get(op.get("bulkId"))
            if match is not None:
                ids.learn(_last_segment(op.get("location")), _last_segment(match.get("location")))
    ids.learn(_last_segment(recorded.header("location")), _last_segment(new.location))
    new_etag = new.headers.get("etag")
    ids.learn_etag(recorded.header("etag"), None if new_etag is None else str(new_etag))


# -- comparison ----------------------------------------------------------------------------


def message_schema(body: Any) -> str | None:
    """The RFC message schema a body claims (its `schemas`), None when unknown."""
    if not isinstance(body, dict):
        return None
    schemas = body.get("schemas")
    if not isinstance(schemas, list):
        return None
    for urn in schemas:
        if isinstance(urn, str) and urn in SCHEMA_BY_URN:
            return SCHEMA_BY_URN[urn]
    return None


def _empty(value: Any) -> bool:
    """RFC 7643 2.5: null, an empty array and an absent attribute are all 'unassigned'."""
    return value is None or value == [] or value == {}


def _url_tail(value: Any) -> Any:
    if not isinstance(value, str) or "/" not in value:
        return value
    return "/".join(value.split("?", 1)[0].rstrip("/").split("/")[-2:])


def _normalized(value: Any, path: str) -> Any:
    """`value` without volatile fields, with arrays canonically ordered: for set equality."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            lowered = key.lower()
            if _volatile(path, lowered) or _empty(item):
                continue
            out[lowered] = (
                _url_tail(item) if lowered in URL_KEYS else _normalized(item, f"{path}/{lowered}")
            )
        return out
    if isinstance(value, list):
        items = [_normalized(v, path) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    return value


def _volatile(path: str, key: str) -> bool:
    return path.lower().endswith("/meta") and key in VOLATILE_META


@dataclass(frozen=True, slots=True)
class _Mode:
    error_body: bool  # an Error's `detail` is prose: never compared
    sorted_list: bool  # the request had sortBy: a page's order is part of the answer


def diff_json(
    expected: Any,
    actual: Any,
    path: str = "",
    *,
    error_body: bool = False,
    sorted_list: bool = False,
) -> list[Difference]:
    """Where `actual` departs from `expected` (names case-insensitive, volatile fields out).

    A ListResponse page is compared entry by entry, paired by id unless `sorted_list` (the
    order of a page is fixed only by sortBy, RFC 7644 3.4.2.3)."""
    out: list[Difference] = []
    _diff(expected, actual, path, "", out, _Mode(error_body, sorted_list))
    return out


def _diff(exp: Any, act: Any, path: str, key: str, out: list[Difference], mode: _Mode) -> None:
    if isinstance(exp, dict) and isinstance(act, dict):
        _diff_object(exp, act, path, out, mode)
    elif isinstance(exp, list) and isinstance(act, list):
        if key == "resources" and not mode.sorted_list and _pair_by_id(exp, act, path, out, mode):
            return
        if key in ORDERED_ARRAYS:
            for index, (a, b) in enumerate(zip(exp, act, strict=False)):
                _diff(a, b, f"{path}/{index}", "", out, mode)
            if len(exp) != len(act):
                out.append(Difference("content", f"{path} (length)", len(exp), len(act)))
        elif _normalized(exp, path) != _normalized(act, path):
            out.append(Difference("content", path, exp, act))
    elif key in URL_KEYS and _url_tail(exp) == _url_tail(act):
        return
    elif exp != act or type(exp) is not type(act):
        out.append(Difference("content", path or "(body)", exp, act))


def _diff_object(
    exp: dict[str, Any], act: dict[str, Any], path: str, out: list[Difference], mode: _Mode
) -> None:
    actual_keys = {k.lower(): k for k in act}
    expected_keys = {k.lower() for k in exp}
    for name, value in exp.items():
        lowered = name.lower()
        if _volatile(path, lowered) or (mode.error_body and not path and lowered == "detail"):
            continue
        other = act.get(actual_keys[lowered]) if lowered in actual_keys else None
        if _empty(value) and _empty(other):
            continue
        if lowered not in actual_keys or _empty(other):
            out.append(Difference("content", f"{path}/{name}", value, MISSING))
            continue
        _diff(value, other, f"{path}/{name}", lowered, out, mode)
    for name, value in act.items():
        lowered = name.lower()
        if lowered in expected_keys or _volatile(path, lowered) or _empty(value):
            continue
        if mode.error_body and not path and lowered == "detail":
            continue
        out.append(Difference("content", f"{path}/{name}", MISSING, value))


def _pair_by_id(
    exp: list[Any], act: list[Any], path: str, out: list[Difference], mode: _Mode
) -> bool:
    """Compare list entries paired by id; False when entries lack ids (compare in order)."""

    def ident(entry: Any) -> Any:
        return entry.get("id") if isinstance(entry, dict) else None

    if not all(isinstance(ident(e), str) for e in [*exp, *act]):
        return False
    by_id = {ident(e): (index, e) for index, e in enumerate(act)}
    for index, entry in enumerate(exp):
        match = by_id.pop(ident(entry), None)
        if match is None:
            out.append(Difference("content", f"{path}/{index}", entry, MISSING))
        else:
            _diff(entry, match[1], f"{path}/{index}", "", out, mode)
    for index, entry in sorted(by_id.values(), key=lambda item: item[0]):
        out.append(Difference("content", f"{path}/{index}", MISSING, entry))
    return True


def recorded_request_keys(request: Message) -> set[str]:
    """Lower-cased query parameter names and top-level body keys of a request."""
    keys = {k.lower() for k, _ in parse_qsl(request.query, keep_blank_values=True)}
    if isinstance(request.body, dict):
        keys |= {k.lower() for k in request.body}
    return keys


def compare(
    recorded: Message, response: Response, ids: IdMap, request: Message | None = None
) -> list[Difference]:
    """Status, schema and content differences of a new answer from the recorded one."""
    found: list[Difference] = []
    if recorded.status != response.status:
        found.append(Difference("status", "", recorded.status, response.status))
    is_json, new_body = response.parsed()
    old_json = recorded.text is None and recorded.body is not None
    if old_json and not is_json:
        found.append(Difference("content", "(body)", "a JSON body", response.text[:200] or None))
        return found
    if recorded.text is None and recorded.body is None and is_json and response.content:
        found.append(Difference("content", "(body)", None, new_body))
        return found
    if is_json:
        name = message_schema(new_body)
        if name is not None:
            before = set(message_errors(name, recorded.body)) if old_json else set()
            for error in message_errors(name, new_body):
                if error not in before:
                    where, _, message = error.partition(": ")
                    found.append(Difference("schema", where, f"a valid {name}", message))
    if old_json and is_json:
        expected = ids.json(recorded.body)
        error_body = isinstance(new_body, dict) and ERROR_URN in (new_body.get("schemas") or [])
        sorted_list = "sortby" in recorded_request_keys(request) if request else False
        found += diff_json(expected, new_body, error_body=error_body, sorted_list=sorted_list)
    if recorded.header("location") and not response.location:
        found.append(Difference("header", "Location", "a Location header", MISSING))
    return found


# -- replay --------------------------------------------------------------------------------


class Replayer:
    """Replays recorded lines in order through a ScimClient, learning ids on the way.

    `result(seq)` runs every pending step up to `seq` first, so a pytest check per step
    can ask for its own step in any order (`-k`) and still see its predecessors' ids.
    """

    def __init__(self, client: ScimClient, lines: Sequence[TrafficLine]) -> None:
        quiet = Recorder("replay", disabled=frozenset(RESPONSE_CHECKS), keep=5)
        self.client = client.bound(quiet)
        self.lines = list(lines)
        self.ids = IdMap()
        self.results: dict[int, StepResult] = {}
        self._producer: dict[str, int] = {}
        self._producer_pattern: re.Pattern[str] | None = None
        self._index = {line.seq: i for i, line in enumerate(self.lines)}
        self._next = 0

    def result(self, seq: int) -> StepResult:
        if seq not in self._index:
            raise HarnessError(f"no recorded exchange with seq {seq}")
        while seq not in self.results:
            self.step(self.lines[self._next])
        return self.results[seq]

    def run(self) -> list[StepResult]:
        while self._next < len(self.lines):
            self.step(self.lines[self._next])
        return [self.results[line.seq] for line in self.lines]

    def _blocker(self, line: TrafficLine) -> str | None:
        if not self._producer:
            return None
        if self._producer_pattern is None:
            self._producer_pattern = id_pattern(self._producer)
        pattern = self._producer_pattern
        text = " ".join(
            [line.request.path, unquote_plus(line.request.query), line.request.content]
            + [v for k, v in line.request.headers if k in ("if-match", "if-none-match")]
        )
        for old in dict.fromkeys(pattern.findall(text)):
            seq = self._producer[old]
            producer = self.results[seq]
            source = f"needs the id {old} from step {seq} ({producer.line.label})"
            if producer.failed_to_produce:
                why = (
                    producer.blocked
                    or producer.skipped
                    or "; ".join(d.text(80) for d in producer.differences[:2])
                )
                return f"{source}, which failed: {why}"
            if old not in self.ids.ids:
                return f"{source}, whose answer on this server has no matching id"
        return None

    def step(self, line: TrafficLine) -> StepResult:
        """Replay one line (the next one in order) and keep its result."""
        self._next = self._index[line.seq] + 1
        result = StepResult(line)
        self.results[line.seq] = result
        if line.error:
            result.skipped = f"recorded without an upstream answer: {line.error}"
        elif line.response.status is None:
            result.skipped = "recorded without a response"
        elif line.request.cut:
            result.skipped = (
                f"the request body was recorded cut ({line.request.cut} characters dropped)"
            )
        else:
            result.blocked = self._blocker(line)
            if result.blocked is None:
                self._send(line, result)
        for old in produced_ids(line):
            if old not in self._producer:
                self._producer[old] = line.seq
                self._producer_pattern = None
        return result

    def _send(self, line: TrafficLine, result: StepResult) -> None:
        request = line.request
        path = self.ids.text(request.path)
        query = self.ids.query(request.query)
        result.method, result.target = request.method, path + (f"?{query}" if query else "")
        headers = {
            name: self.ids.header(value)
            for name, value in request.headers
            if name not in NOT_REPLAYED
        }
        content: bytes | None = None
        if request.text is not None:
            content = self.ids.text(request.text).encode()
        elif request.body is not None:
            content = json.dumps(self.ids.json(request.body), ensure_ascii=False).encode()
        with_token = request.header("authorization") is not None
        try:
            url = str(self.client.url_for(path)) + (f"?{query}" if query else "")
            response = self.client.request(
                request.method, url, content=content, headers=headers, auth=with_token
            )
        except ScimViolation as exc:
            result.exchange = exc.exchanges[-1] if exc.exchanges else None
            result.differences.append(
                Difference("transport", "", f"an answer ({line.response.status})", exc.message)
            )
            return
        except HarnessError as exc:
            result.differences.append(Difference("transport", "", "a request", str(exc)))
            return
        result.exchange, result.status = response.exchange, response.status
        _, body = response.parsed()
        learn_ids(self.ids, line.response, response, body)
        result.differences += compare(line.response, response, self.ids, line.request)


# -- report --------------------------------------------------------------------------------


def summary(results: Sequence[StepResult]) -> dict[str, int]:
    counts = {"total": len(results), "ok": 0, "differs": 0, "blocked": 0, "skipped": 0}
    for result in results:
        counts[result.outcome] += 1
    return counts


def print_report(results: Sequence[StepResult], masker: Masker, *, title: str) -> None:
    """A rich table: one row per exchange, its differences below the request."""
    from rich.console import Console
    from rich.table import Table

    styles = {"ok": "green", "differs": "red", "blocked": "yellow", "skipped": "dim"}
    table = Table(title=masker.text(title), show_lines=False)
    table.add_column("#", justify="right")
    table.add_column("request")
    table.add_column("status", justify="center")
    table.add_column("outcome")
    table.add_column("differences")
    for result in results:
        recorded = result.line.response.status
        status = f"{recorded} -> {result.status}" if result.status is not None else f"{recorded}"
        notes = [d.text() for d in result.differences[:8]]
        if len(result.differences) > 8:
            notes.append(f"... and {len(result.differences) - 8} more")
        notes += [n for n in (result.blocked, result.skipped) if n]
        table.add_row(
            str(result.line.seq),
            masker.text(result.line.label)[:80],
            status,
            f"[{styles[result.outcome]}]{result.outcome}[/]",
            masker.text("\n".join(notes)),
        )
    console = Console(highlight=False, soft_wrap=False)
    console.print(table)
    counts = summary(results)
    console.print(
        f"{counts['total']} exchanges: {counts['ok']} ok, {counts['differs']} differ, "
        f"{counts['blocked']} blocked, {counts['skipped']} skipped"
    )


def write_json(data: dict[str, Any], target: str, masker: Masker) -> None:
    text = masker.text(json.dumps(data, indent=2, ensure_ascii=False, default=str))
    if target == "-":
        sys.stdout.write(text + "\n")
    else:
        Path(target).write_text(text + "\n", encoding="utf-8")


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Options of `scim-idp replay`."""
    parser.description = (
        "Replay a file recorded by `scim-idp record` against a SCIM server, rewriting the ids "
        "it learns, and report where the answers differ in status, schema or content."
    )
    parser.add_argument("file", type=Path, metavar="FILE", help="JSON Lines traffic file")
    parser.add_argument("--url", required=True, help="SCIM base URL of the server to replay on")
    parser.add_argument(
        "--token",
        default=None,
        help="bearer token for --url (default: env SCIM_TOKEN); the recorded one is never sent",
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request (10)")
    parser.add_argument(
        "--json",
        dest="json_out",
        default=None,
        metavar="PATH",
        help="also write the results as JSON to PATH ('-' for standard output)",
    )


def token_from(value: str | None, env: str) -> str | None:
    return value or os.environ.get(env) or None


def run(args: argparse.Namespace) -> int:
    """0: every answer matches; 1: differences; 2: unusable file, options or server."""
    token = token_from(args.token, "SCIM_TOKEN")
    if not str(args.url).startswith(("http://", "https://")):
        print(f"error: --url must be an http(s) URL, got {args.url!r}", file=sys.stderr)
        return 2
    try:
        lines = load_traffic(args.file)
    except TrafficError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    masker = Masker([token])
    if token is None and any(line.request.header("authorization") for line in lines):
        print("warning: no token (--token or SCIM_TOKEN): requests go without one", file=sys.stderr)
    with ScimClient(args.url, token, timeout=args.timeout) as client:
        replayer = Replayer(client, lines)
        results = replayer.run()
    sent = [r for r in results if r.method]
    if sent and all(any(d.kind == "transport" for d in r.differences) for r in sent):
        first = next(d for d in sent[0].differences if d.kind == "transport")
        print(masker.text(f"error: no answer from {args.url}: {first.actual}"), file=sys.stderr)
        return 2
    if args.json_out != "-":
        print_report(results, masker, title=f"replay of {args.file} against {args.url}")
    if args.json_out:
        data = {
            "format": 1,
            "file": str(args.file),
            "url": args.url,
            "summary": summary(results),
            "steps": [r.to_dict() for r in results],
        }
        write_json(data, args.json_out, masker)
    return 1 if any(r.outcome in ("differs", "blocked") for r in results) else 0
