"""Parse filters and PATCH paths with a lark LALR grammar (RFC 7644 Figure 1 and 3.5.2).

A regex fast path answers the one form IdPs send on every lookup, `attr eq "value"`,
without touching the grammar (issue 2, point 9: a lean request path).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any, NamedTuple

import orjson
from lark import Lark, Token, Transformer, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput
from lark.exceptions import UnexpectedToken, VisitError

from reference_server.scim.errors import InvalidFilter, InvalidPath, ScimError
from reference_server.scim.filter.ast import (
    And,
    AttrPath,
    Compare,
    CompValue,
    Filter,
    Not,
    Or,
    PatchPath,
    Present,
    ValuePath,
)

__all__ = ["FastEq", "fast_filter", "parse_filter", "parse_path", "warm_up"]

MAX_FILTER_LENGTH = 4096

_FAST = re.compile(
    r"\s*((?:urn:[a-z0-9:._\-]+:)?[a-z][a-z0-9_\-]*(?:\.[a-z$][a-z0-9_$\-]*)?)"
    # The value as an unrolled loop (runs of plain characters between escapes): half the
    # time of an alternation per character, and as linear (a run cannot split two ways).
    r'\s+eq\s+"([^"\\\x00-\x1f]*(?:\\["\\/bfnrtu][^"\\\x00-\x1f]*)*)"\s*',
    re.IGNORECASE,
)


# Entra's documented `externalId eq jyoung`: an unquoted word, read as that string when
# it is the whole filter (it is not a JSON literal or a number, so nothing else is meant).
_BARE = re.compile(
    r"\s*((?:urn:[a-z0-9:._\-]+:)?[a-z][a-z0-9_\-]*(?:\.[a-z$][a-z0-9_$\-]*)?)"
    r"\s+eq\s+([^\s\"()\[\]]+)\s*",
    re.IGNORECASE,
)
_NOT_BARE = re.compile(r"true|false|null|-?[0-9][0-9.eE+\-]*", re.IGNORECASE)
# The same leniency inside a longer filter (Microsoft's Postman collection sends
# `name.FamilyName eq Employee and (emails.Value co example.com or ...)`): after a
# comparison operator, an unquoted word that is not a JSON literal or number is quoted.
# Strings are matched first so that nothing inside one is touched.
_BARE_SCAN = re.compile(
    r'"(?:[^"\\]|\\.)*"'
    r"|(?<=\s)((?:eq|ne|co|sw|ew|gt|lt|ge|le)\s+)([^\s\"()\[\]]+)",
    re.IGNORECASE,
)


class FastEq(NamedTuple):
    """A filter that is exactly one `attr eq value` comparison with a string value."""

    path: str
    value: str
    # False for Entra's unquoted `attr eq word` form.
    quoted: bool


def fast_filter(text: str) -> FastEq | None:
    """The comparison when `text` is exactly `attr eq "value"`, else None.

    Also answers Entra's unquoted `attr eq word` (RFC 7644 Figure 1 wants a JSON string;
    a lenient reading that can only mean one thing), with `quoted` False.
    """
    match = _FAST.fullmatch(text)
    if match is None:
        bare = _BARE.fullmatch(text)
        if bare is None or _NOT_BARE.fullmatch(bare.group(2)):
            return None
        return FastEq(bare.group(1), bare.group(2), quoted=False)
    value = match.group(2)
    if "\\" in value:
        try:
            decoded = orjson.loads(f'"{value}"')
        except orjson.JSONDecodeError:
            return None
        if not isinstance(decoded, str):
            return None
        value = decoded
    return FastEq(match.group(1), value, quoted=True)


class _Build(Transformer[Token, Any]):
    """Parse tree -> frozen AST nodes."""

    def or_(self, items: list[Any]) -> Filter:
        return Or(items[0], items[1])

    def and_(self, items: list[Any]) -> Filter:
        return And(items[0], items[1])

    def not_(self, items: list[Any]) -> Filter:
        return Not(items[0])

    def present(self, items: list[Any]) -> Filter:
        return Present(AttrPath(str(items[0])))

    def compare(self, items: list[Any]) -> Filter:
        return Compare(AttrPath(str(items[0])), str(items[1]).lower(), items[2])

    def value_path(self, items: list[Any]) -> Filter:
        return ValuePath(AttrPath(str(items[0])), items[1])

    def string(self, items: list[Any]) -> CompValue:
        value: str = orjson.loads(str(items[0]))
        return value

    def number(self, items: list[Any]) -> CompValue:
        text = str(items[0])
        if any(c in text for c in ".eE"):
            return float(text)
        return int(text)

    def true(self, items: list[Any]) -> CompValue:
        return True

    def false(self, items: list[Any]) -> CompValue:
        return False

    def null(self, items: list[Any]) -> CompValue:
        return None

    def plain_path(self, items: list[Any]) -> PatchPath:
        return PatchPath(AttrPath(str(items[0])))

    def filtered_path(self, items: list[Any]) -> PatchPath:
        sub = str(items[2])[1:] if len(items) > 2 and items[2] is not None else None
        return PatchPath(AttrPath(str(items[0])), items[1], sub)


@functools.cache
def _parser() -> Lark:
    grammar = (Path(__file__).resolve().parent / "grammar.lark").read_text(encoding="utf-8")
    return Lark(
        grammar,
        parser="lalr",
        lexer="contextual",
        start=["filter", "path"],
        transformer=_Build(),
        maybe_placeholders=False,
    )


def _describe(text: str, exc: UnexpectedInput) -> str:
    pos = getattr(exc, "pos_in_stream", None)
    if pos is None:
        pos = len(text)
    at_end = isinstance(exc, UnexpectedToken) and exc.token.type == "$END"
    if at_end:
        pos = len(text)
    caret = f"{text}\n{' ' * pos}^"
    if at_end or isinstance(exc, UnexpectedEOF) or pos >= len(text):
        return f"unexpected end of input at position {pos}: the expression is incomplete.\n{caret}"
    if isinstance(exc, UnexpectedToken):
        found = str(exc.token)
    else:
        found = text[pos:].split(None, 1)[0] if text[pos:].strip() else text[pos]
    expected: set[str] = set()
    if isinstance(exc, UnexpectedCharacters):
        expected = set(exc.allowed or ())
    elif isinstance(exc, UnexpectedToken):
        expected = set(exc.expected or ())
    if "COMPARE_OP" in expected and re.match(r"[a-z]+", found, re.IGNORECASE):
        word = re.match(r"[a-z]+", found, re.IGNORECASE)
        assert word is not None
        return (
            f"the operator '{word.group(0)}' at position {pos} is not supported; use one of "
            f"eq ne co sw ew gt lt ge le pr.\n{caret}"
        )
    hint = ""
    if "STRING" in expected:
        hint = " A value must be a JSON string in double quotes, a number, true, false or null."
    return f"unexpected {found!r} at position {pos}.{hint}\n{caret}"


def _run(text: str, start: str, error: type[ScimError], what: str) -> Any:
    if len(text) > MAX_FILTER_LENGTH:
        raise error(f"The {what} is longer than {MAX_FILTER_LENGTH} characters.")
    if not text.strip():
        raise error(f"The {what} is empty.")
    try:
        return _parser().parse(text, start=start)
    except UnexpectedInput as exc:
        raise error(f"Invalid {what}: {_describe(text, exc)}") from None
    except VisitError as exc:  # a string literal that JSON refuses
        raise error(f"Invalid {what}: {exc.orig_exc}") from None
    except orjson.JSONDecodeError as exc:  # inline transformer: e.g. a lone surrogate escape
        raise error(f"Invalid {what}: a string value is not a valid JSON string ({exc}).") from None


def warm_up() -> None:
    """Build the LALR parser now (about half a second of CPU) rather than inside the first
    request that needs it (issue 2, point 9)."""
    _parser()


def _quote_bare_words(text: str) -> str:
    """`text` with each unquoted comparison value (not a literal or number) quoted."""

    def quote(match: re.Match[str]) -> str:
        word = match.group(2)
        if word is None or _NOT_BARE.fullmatch(word):
            return match.group(0)
        return match.group(1) + orjson.dumps(word).decode()

    return _BARE_SCAN.sub(quote, text)


def parse_filter(text: str) -> Filter:
    """Parse a filter expression; InvalidFilter with the position on error.

    A filter the grammar refuses is tried once more with its unquoted comparison values
    quoted (see `_BARE_SCAN`); if that fails too, the first error (with its position in
    the text as sent) is raised.
    """
    fast = fast_filter(text)
    if fast is not None:
        return Compare(AttrPath(fast.path), "eq", fast.value)
    try:
        result: Filter = _run(text, "filter", InvalidFilter, "filter")
    except InvalidFilter:
        lenient = _quote_bare_words(text)
        if lenient == text:
            raise
        try:
            result = _run(lenient, "filter", InvalidFilter, "filter")
        except InvalidFilter:
            pass
        else:
            return result
        raise
    return result


@functools.lru_cache(maxsize=2048)
def parse_path(text: str) -> PatchPath:
    """Parse a PATCH path (`attrPath` or `valuePath [subAttr]`); InvalidPath on error.

    Memoized (the result is immutable): IdPs send the same few paths over and over, and
    the LALR parse of `emails[type eq "work"].value` costs more than the rest of a PATCH.
    """
    result: PatchPath = _run(text, "path", InvalidPath, "path")
    return result
