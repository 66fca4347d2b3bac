"""Regenerate ``catalogue.json`` from the RFC 7643/7644 plain texts and ``annotations.json``.

The RFC texts are frozen, so the extracted sentences and their ids are stable; the
hand-written judgement (actor, testable, reason, notes) lives in ``annotations.json``
keyed by id and is merged in, so regenerating never loses it. Run::

    python -m harness.requirements._extract docs/rfc

Ids missing from ``annotations.json`` get a heuristic first guess written there (marked
``"reviewed": false``) so a person can go through them.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "KEYWORD_RE",
    "Sentence",
    "build_catalogue",
    "clean_lines",
    "extract",
    "main",
    "normalise_keyword",
]

RFCS = (7643, 7644)
HERE = Path(__file__).resolve().parent
CATALOGUE = HERE / "catalogue.json"
ANNOTATIONS = HERE / "annotations.json"

# RFC 2119 keywords, uppercase only. A keyword written in quotes ('"MUST"') is the keyword
# being defined (section 1.1 boilerplate), not a requirement, so it is skipped.
KEYWORD_RE = re.compile(
    r'(?<!")\b(MUST NOT|MUST|SHALL NOT|SHALL|SHOULD NOT|SHOULD|NOT RECOMMENDED|'
    r'RECOMMENDED|REQUIRED|MAY|OPTIONAL)\b(?!")'
)
_NORMAL = {
    "MUST": "MUST",
    "MUST NOT": "MUST",
    "REQUIRED": "MUST",
    "SHALL": "MUST",
    "SHALL NOT": "MUST",
    "SHOULD": "SHOULD",
    "SHOULD NOT": "SHOULD",
    "RECOMMENDED": "SHOULD",
    "NOT RECOMMENDED": "SHOULD",
    "MAY": "MAY",
    "OPTIONAL": "MAY",
}
_STRENGTH = {"MUST": 0, "SHOULD": 1, "MAY": 2}

_FOOTER_RE = re.compile(r"^\S.*\[Page \d+\]\s*$")
_HEADER_RE = re.compile(r"^RFC 764\d\s{2,}.*\s{2,}September 2015\s*$")
_HEADING_RE = re.compile(r"^(\d+(?:\.\d+)*)\.\s+(\S.*?)\s*$")
_BULLET_RE = re.compile(r"^(\s*)(?:o|\*|-|\d+\.|[a-z]\.)\s{1,3}(?=\S)")
_TERM_INLINE_RE = re.compile(r"^\s+([A-Za-z$][\w$-]*(?:, [A-Za-z$][\w$-]*)*)  +(?=\S)")
_TERM_ALONE_RE = re.compile(r'^\s+("?[A-Za-z$][\w$:.-]*"?(?: "?[A-Za-z/][\w/-]*"?){0,4})\s*$')
_HTTP_RE = re.compile(
    r"^\s*(?:(?:GET|POST|PUT|PATCH|DELETE|HEAD)\s+/\S*(?:\s+HTTP/1\.1)?|HTTP/1\.1\s+\d{3}.*"
    r"|(?:Host|Accept|Content-Type|Authorization|Location|ETag|If-Match|If-None-Match"
    r"|Content-Length):\s.*)\s*$"
)
_ABBREVIATION_RE = re.compile(r"(?:^|[\s(])(?:e\.g|i\.e|Ms|Mr|Dr|al|vs|Inc|cf)\.$")


def normalise_keyword(keyword: str) -> str:
    """Map an RFC 2119 keyword to the three grades the harness uses."""
    return _NORMAL[keyword]


def clean_lines(text: str) -> list[str]:
    """Drop form feeds and page headers/footers; rejoin a paragraph a page break split.

    A page break is replaced by nothing when the text before it stops mid-sentence and by
    one blank line otherwise, so paragraphs stay apart and wrapped ones stay whole.
    """
    raw = text.replace("\r", "").split("\n")
    out: list[str] = []
    i = 0
    while i < len(raw):
        line = raw[i]
        if _FOOTER_RE.match(line):
            while out and not out[-1].strip():
                out.pop()
            j = i + 1
            while j < len(raw) and (not raw[j].strip() or raw[j].strip() == "\f"):
                j += 1
            if j < len(raw) and _HEADER_RE.match(raw[j].lstrip("\f")):
                j += 1
            while j < len(raw) and not raw[j].strip():
                j += 1
            last = out[-1].rstrip() if out else ""
            nxt = raw[j] if j < len(raw) else ""
            mid_sentence = (
                bool(last)
                and not last.endswith((".", ":", "}", "]"))
                and bool(re.match(r"^\s+[a-z(\"]", nxt))
            )
            in_table = last.lstrip().startswith("|") and nxt.lstrip().startswith("|")
            if not (mid_sentence or in_table):
                out.append("")
            i = j
            continue
        out.append(line.replace("\f", ""))
        i += 1
    return out


@dataclass(frozen=True, slots=True)
class Sentence:
    """One RFC sentence that carries at least one RFC 2119 keyword."""

    rfc: int
    section: str
    section_title: str
    text: str
    keywords: tuple[str, ...]
    context: str | None
    line: int

    @property
    def keyword(self) -> str:
        return min((normalise_keyword(k) for k in self.keywords), key=_STRENGTH.__getitem__)


def _paragraphs(lines: Sequence[str]) -> Iterator[tuple[int, list[str]]]:
    block: list[str] = []
    start = 0
    for n, line in enumerate(lines):
        if line.strip():
            if not block:
                start = n
            block.append(line)
        elif block:
            yield start, block
            block = []
    if block:
        yield start, block


def _is_figure(block: Sequence[str]) -> bool:
    """JSON, HTTP messages, ABNF and tables: examples, never sentences (column-0 lines
    outside headings only occur in the RFC's figures)."""
    for line in block:
        stripped = line.strip()
        if not line.startswith(" "):
            return True
        if stripped[:1] in "{}]|" or stripped.startswith("+-"):
            return True
        if re.match(r'^\[(\s*$|[{"\]])', stripped):  # a JSON array, not "[RFC7159]"
            return True
        if re.match(r'^"[^"]*"\s*:', stripped):  # a JSON member on its own line
            return True
        if _HTTP_RE.match(line):
            return True
        if re.match(r"^\s*[\w-]+\s+=/?\s", line):  # ABNF rule
            return True
    return False


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


class _Terms:
    """The nesting of definition-list terms ("patch" > "supported"), by indentation."""

    def __init__(self) -> None:
        self.stack: list[tuple[int, str]] = []

    def enter(self, indent: int, term: str | None) -> str | None:
        while self.stack and self.stack[-1][0] >= indent:
            self.stack.pop()
        if term is not None:
            self.stack.append((indent, term.replace('"', "")))
        return ".".join(t for _, t in self.stack) or None

    def reset(self) -> None:
        self.stack.clear()


def _definition(block: Sequence[str]) -> tuple[str | None, list[str]]:
    """A paragraph whose first line is a term alone and whose body is indented deeper."""
    if len(block) > 1 and _indent(block[1]) > _indent(block[0]):
        alone = _TERM_ALONE_RE.match(block[0])
        if alone:
            return alone.group(1), list(block[1:])
    return None, list(block)


def _split_items(block: Sequence[str], terms: _Terms) -> Iterator[tuple[str | None, list[str]]]:
    """Split a paragraph into bullet items / definition entries, each with its term path."""
    items: list[tuple[str | None, list[str]]] = []
    alone, body = _definition(block)
    term = terms.enter(_indent(block[0]), alone)
    for line in body:
        bullet = _BULLET_RE.match(line)
        if bullet or not items:
            items.append((term, [line[bullet.end() :] if bullet else line]))
        else:
            items[-1][1].append(line)
    for item_term, item_lines in items:
        first = item_lines[0]
        inline = _TERM_INLINE_RE.match(first) if first.startswith(" ") else None
        if inline and alone is None and _indent(first) >= 3:
            path = terms.enter(_indent(first), inline.group(1))
            yield path, [first[inline.end() :], *item_lines[1:]]
        else:
            yield item_term, item_lines


def _is_table(block: Sequence[str]) -> bool:
    return all(line.lstrip().startswith(("|", "+-")) for line in block)


def _table_cells(block: Sequence[str]) -> Iterator[tuple[str | None, list[str]]]:
    """Each cell of an ASCII table as its own wrapped text, with the row's first cell as
    context: a row ends at a '+---' rule or at a line whose cells are all blank."""
    row: list[list[str]] = []

    def flush() -> Iterator[tuple[str | None, list[str]]]:
        if row:
            first = " ".join(" ".join(row[0]).split()) or None
            for column in row[1:]:
                if any(part.strip() for part in column):
                    yield first, column
            row.clear()

    for line in block:
        stripped = line.strip()
        cells = [c.strip() for c in stripped.strip("|").split("|")]
        if stripped.startswith("+-") or not any(cells):
            yield from flush()
            continue
        while len(row) < len(cells):
            row.append([])
        for column, cell in zip(row, cells, strict=False):
            if cell:
                column.append("   " + cell)
    yield from flush()


def _join(lines: Sequence[str]) -> str:
    """Rejoin wrapped lines; a line break is marked by a newline so the splitter sees it."""
    parts = [ln.strip() for ln in lines]
    text = ""
    for part in parts:
        if not text:
            text = part
        elif re.search(r"[A-Za-z]-$", text) and re.match(r"[a-z]", part):
            text += part  # a word the RFC wrapped at its hyphen ("sub-\nattribute")
        else:
            text += "\n" + part
    return text


def _sentences(text: str) -> list[str]:
    """Split at '.', '?' or '!' followed by two spaces or a line break and a new sentence."""
    pieces: list[str] = []
    start = 0
    for m in re.finditer(r'[.?!]["\')]?(?:  +|\n)(?=["(]?[A-Z0-9]|"[a-z])', text):
        before = text[start : m.start() + 1]
        if _ABBREVIATION_RE.search(before):
            continue
        pieces.append(text[start : m.end()])
        start = m.end()
    pieces.append(text[start:])
    return [" ".join(p.split()) for p in pieces if p.strip()]


def extract(rfc: int, text: str) -> list[Sentence]:
    """Every keyword-bearing sentence of one RFC, in document order."""
    lines = clean_lines(text)
    section, title = "0", "Front matter"
    found: list[Sentence] = []
    in_body = False
    terms = _Terms()
    for start, block in _paragraphs(lines):
        head = _HEADING_RE.match(block[0])
        if head and not block[0].startswith(" "):
            if head.group(1) == "1":
                in_body = True
            terms.reset()
            if in_body:
                section = head.group(1)
                title = " ".join([head.group(2), *(ln.strip() for ln in block[1:])])
            continue
        if block[0].startswith(("Acknowledgements", "Authors' Addresses", "Appendix")):
            section, title = block[0].strip(), block[0].strip()
            continue
        if not in_body or _is_table(block) or _is_figure(block):
            if in_body and _is_table(block) and any(KEYWORD_RE.search(b) for b in block):
                items: Iterator[tuple[str | None, list[str]]] = _table_cells(block)
            else:
                continue
        else:
            items = _split_items(block, terms)
        for term, item in items:
            for sentence in _sentences(_join(item)):
                keywords = tuple(m.group(1) for m in KEYWORD_RE.finditer(sentence))
                if keywords:
                    found.append(Sentence(rfc, section, title, sentence, keywords, term, start))
    return found


def _guess(sentence: Sentence) -> dict[str, Any]:
    """A first guess at actor/testability; annotations.json holds the reviewed answer."""
    low = sentence.text.lower()
    client = re.search(r"\b(clients?|the requester|scim clients?)\b", low)
    provider = re.search(r"\b(service providers?|the server|servers?)\b", low)
    if client and provider:
        actor = "both"
    elif client:
        actor = "client"
    else:
        actor = "service provider"
    testable = actor != "client"
    guess: dict[str, Any] = {"actor": actor, "testable": testable, "reviewed": False}
    if not testable:
        guess["reason"] = "binds the client, not the service provider"
    return guess


def build_catalogue(
    texts: dict[int, str], annotations: dict[str, dict[str, Any]]
) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """Entries in document order, plus the annotations completed with first guesses."""
    entries: list[dict[str, Any]] = []
    merged = dict(annotations)
    for rfc in sorted(texts):
        counters: dict[tuple[str, str], int] = {}
        for s in extract(rfc, texts[rfc]):
            key = (s.section, s.keyword)
            counters[key] = counters.get(key, 0) + 1
            rid = f"rfc{rfc}-{s.section}-{s.keyword.lower()}-{counters[key]}"
            note = merged.setdefault(rid, _guess(s))
            entry: dict[str, Any] = {
                "id": rid,
                "rfc": rfc,
                "section": s.section,
                "section_title": s.section_title,
                "keyword": s.keyword,
                "keywords_in_sentence": list(dict.fromkeys(s.keywords)),
                "text": s.text,
                "context": s.context,
                "actor": note["actor"],
                "testable": note["testable"],
                "reason": note.get("reason"),
                "notes": note.get("notes"),
            }
            entries.append(entry)
    return entries, merged


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("rfc_dir", type=Path, help="folder holding rfc7643.txt and rfc7644.txt")
    parser.add_argument("--check", action="store_true", help="fail if catalogue.json is stale")
    args = parser.parse_args(argv)
    texts = {n: (args.rfc_dir / f"rfc{n}.txt").read_text(encoding="utf-8") for n in RFCS}
    annotations: dict[str, dict[str, Any]] = (
        json.loads(ANNOTATIONS.read_text(encoding="utf-8")) if ANNOTATIONS.exists() else {}
    )
    entries, merged = build_catalogue(texts, annotations)
    document = {
        "$comment": "Generated by harness/requirements/_extract.py from the RFC texts and "
        "annotations.json; edit annotations.json, then regenerate.",
        "version": 1,
        "requirements": entries,
    }
    rendered = json.dumps(document, indent=1, ensure_ascii=False) + "\n"
    if args.check:
        stale = CATALOGUE.read_text(encoding="utf-8") != rendered
        print("catalogue.json is stale" if stale else "catalogue.json is current")
        return 1 if stale else 0
    ids = {e["id"] for e in entries}
    orphans = sorted(set(merged) - ids)
    if orphans:
        print(f"annotations without a sentence: {', '.join(orphans)}", file=sys.stderr)
    ANNOTATIONS.write_text(
        json.dumps(dict(sorted(merged.items())), indent=1, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    CATALOGUE.write_text(rendered, encoding="utf-8")
    print(f"{len(entries)} requirements written to {CATALOGUE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
