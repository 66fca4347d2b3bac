"""The recorded-traffic file (JSON Lines) written by `scim-idp record`, read by replay.

Format 1, one JSON object per line, one line per exchange, in the order answers came:

    {"format": 1, "seq": 3, "time": "2026-11-23T19:30:01.250Z", "elapsed": 0.012,
     "request": {"method": "PATCH", "path": "/Users/2819c223", "query": "",
                 "headers": [["authorization", "Bearer ***"], ...], "body": {...}},
     "response": {"status": 200, "headers": [["etag", "W/\\"2\\""], ...], "body": {...}},
     "error": null}

- `seq`: arrival order (1, 2, ...); replay sorts by it. `time`: UTC, when the request came.
- `path`: relative to the SCIM base URL (`/Users/...`); `query`: the raw query string.
- `headers`: `[name, value]` pairs, names lower-cased; Authorization (and cookies) masked.
- `body`: the JSON value when the body is JSON, null when empty; a body that is not JSON
  is kept as a string in `text` instead. `cut`: characters dropped beyond the size bound.
- `error`: set when no upstream answer came (the proxy answered 502 itself); replay skips
  such lines. Tokens never appear: the whole line passes `harness.exchange.Masker`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.exchange import BODY_KEEP, Masker

__all__ = [
    "FORMAT",
    "Message",
    "TrafficError",
    "TrafficLine",
    "body_fields",
    "dump_line",
    "load_traffic",
    "parse_line",
    "utc_now",
]

FORMAT = 1


class TrafficError(ValueError):
    """A traffic file that cannot be read: names the file and the line."""


@dataclass(frozen=True, slots=True)
class Message:
    """One side of an exchange as recorded (request: method/path/query; response: status)."""

    headers: tuple[tuple[str, str], ...] = ()
    body: Any = None
    text: str | None = None
    cut: int = 0
    method: str = ""
    path: str = ""
    query: str = ""
    status: int | None = None

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers if k == lowered), None)

    @property
    def content(self) -> str:
        """The body as it travelled (JSON re-serialized compactly)."""
        if self.text is not None:
            return self.text
        return "" if self.body is None else json.dumps(self.body, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class TrafficLine:
    """One recorded exchange."""

    seq: int
    time: str
    request: Message
    response: Message
    elapsed: float = 0.0
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        query = f"?{self.request.query}" if self.request.query else ""
        return f"{self.request.method} {self.request.path}{query}"


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def body_fields(raw: bytes | str, masker: Masker) -> dict[str, Any]:
    """`body`/`text`/`cut` for a raw body: masked, bounded, JSON kept as JSON."""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    text = masker.text(text)
    if not text:
        return {"body": None}
    if len(text) <= BODY_KEEP:
        try:
            return {"body": json.loads(text)}
        except (ValueError, RecursionError):
            pass
    fields: dict[str, Any] = {"body": None, "text": text[:BODY_KEEP]}
    if len(text) > BODY_KEEP:
        fields["cut"] = len(text) - BODY_KEEP
    return fields


def dump_line(
    *,
    seq: int,
    time: str,
    elapsed: float,
    method: str,
    path: str,
    query: str,
    request_headers: Iterable[tuple[str, str]],
    request_body: bytes | str,
    status: int | None,
    response_headers: Iterable[tuple[str, str]],
    response_body: bytes | str,
    masker: Masker,
    error: str | None = None,
) -> str:
    """One masked JSONL line (without the newline)."""
    record = {
        "format": FORMAT,
        "seq": seq,
        "time": time,
        "elapsed": round(elapsed, 4),
        "request": {
            "method": method.upper(),
            "path": masker.text(path),
            "query": masker.text(query),
            "headers": [[k.lower(), v] for k, v in masker.headers(request_headers)],
            **body_fields(request_body, masker),
        },
        "response": {
            "status": status,
            "headers": [[k.lower(), v] for k, v in masker.headers(response_headers)],
            **body_fields(response_body, masker),
        },
        "error": masker.text(error) if error else None,
    }
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def _headers(value: Any, where: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, list) or not all(
        isinstance(h, list) and len(h) == 2 and all(isinstance(p, str) for p in h) for h in value
    ):
        raise TrafficError(f"{where}: headers must be a list of [name, value] strings")
    return tuple((k.lower(), v) for k, v in value)


def _message(value: Any, where: str, *, request: bool) -> Message:
    if not isinstance(value, dict):
        raise TrafficError(f"{where}: expected an object")
    text = value.get("text")
    common: dict[str, Any] = {
        "headers": _headers(value.get("headers", []), where),
        "body": value.get("body"),
        "text": text if isinstance(text, str) else None,
        "cut": int(value.get("cut") or 0),
    }
    if request:
        method, path = value.get("method"), value.get("path")
        if not isinstance(method, str) or not method or not isinstance(path, str):
            raise TrafficError(f"{where}: a request needs a method and a path")
        if not path.startswith("/") or path.startswith("//"):
            # Relative to the base URL, never a URL of its own: a replay sends the token
            # only to the server it was given.
            raise TrafficError(f"{where}: path must be relative to the base URL, got {path!r}")
        query = value.get("query") or ""
        if not isinstance(query, str):
            raise TrafficError(f"{where}: query must be a string")
        return Message(method=method.upper(), path=path, query=query, **common)
    status = value.get("status")
    if status is not None and (not isinstance(status, int) or isinstance(status, bool)):
        raise TrafficError(f"{where}: status must be an integer or null")
    return Message(status=status, **common)


def parse_line(text: str, where: str) -> TrafficLine:
    """One line of a traffic file; TrafficError naming `where` if it is not format 1."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise TrafficError(f"{where}: not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise TrafficError(f"{where}: expected a JSON object")
    if data.get("format") != FORMAT:
        raise TrafficError(f"{where}: unsupported format {data.get('format')!r} (expected 1)")
    seq = data.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool):
        raise TrafficError(f"{where}: seq must be an integer")
    known = {"format", "seq", "time", "elapsed", "request", "response", "error"}
    error = data.get("error")
    return TrafficLine(
        seq=seq,
        time=str(data.get("time") or ""),
        request=_message(data.get("request"), f"{where} request", request=True),
        response=_message(data.get("response") or {}, f"{where} response", request=False),
        elapsed=float(data.get("elapsed") or 0.0),
        error=str(error) if error else None,
        extra={k: v for k, v in data.items() if k not in known},
    )


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    try:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if line.strip():
                    yield number, line
    except OSError as exc:
        raise TrafficError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise TrafficError(f"{path}: not UTF-8 text ({exc.reason})") from None


def load_traffic(path: Path | str) -> list[TrafficLine]:
    """Every exchange of a traffic file, in `seq` order; TrafficError on a bad file."""
    source = Path(path)
    lines = [parse_line(text, f"{source}:{number}") for number, text in _lines(source)]
    seen: set[int] = set()
    for line in lines:
        if line.seq in seen:
            raise TrafficError(f"{source}: seq {line.seq} appears twice")
        seen.add(line.seq)
    return sorted(lines, key=lambda line: line.seq)
