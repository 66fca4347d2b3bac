"""Request templates of the IdP profiles: `{{expr}}` placeholders over a small context.

- A string that is exactly `{{expr}}` becomes the value itself (any JSON type); inside a
  longer string the value is interpolated. `expr` is a dotted name: `user.given_name`
  (camelCase `user.givenName` is accepted), `members.0`, `last_response`, `id`, `item`,
  optionally followed by `|upper` or `|lower`.
- A value that resolves to nothing is left out, the way IdPs skip empty attributes; a JSON
  `null` written in the template itself is sent as `null`.
- `{"$each": "members", "do": T}` renders T once per element (`item`, `index`), spliced
  into the surrounding list; `{"$if": "user.title", "do": T}` in a list renders T only when
  the value is set (Entra sends no operation for an empty attribute); `{"$merge": [A, B]}`
  deep-merges B over A (Okta's GET-then-PUT).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from typing import Any

__all__ = ["MISSING", "TemplateError", "deep_merge", "render", "resolve"]

_WHOLE = re.compile(r"^\{\{\s*([A-Za-z0-9_.$|-]+)\s*\}\}$")
_PART = re.compile(r"\{\{\s*([A-Za-z0-9_.$|-]+)\s*\}\}")
_FILTERS = {"upper": str.upper, "lower": str.lower}
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


class TemplateError(ValueError):
    """A template names something the context does not have a shape for."""


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def _step(value: Any, name: str) -> Any:
    if value is None or value is MISSING:
        return MISSING
    if isinstance(value, Mapping):
        return value.get(name, MISSING)
    if isinstance(value, list | tuple):
        return value[int(name)] if name.isdigit() and int(name) < len(value) else MISSING
    if is_dataclass(value):
        names = {f.name for f in fields(value)}
        snake = _CAMEL.sub("_", name).lower()
        for candidate in (name, snake):
            if candidate in names:
                return getattr(value, candidate)
        raise TemplateError(f"{type(value).__name__} has no field {name!r}")
    return MISSING


def resolve(expr: str, context: Mapping[str, Any]) -> Any:
    """The value `expr` names in `context`, or MISSING; `|upper`, `|lower` change its case."""
    name, *filters = expr.split("|")
    value: Any = context
    for part in name.split("."):
        value = _step(value, part)
    for word in filters:
        if word not in _FILTERS:
            raise TemplateError(f"unknown filter {word!r} in {{{{{expr}}}}}")
        if isinstance(value, str):
            value = _FILTERS[word](value)
    return value


def _text(value: Any) -> str:
    if value is None or value is MISSING:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def deep_merge(base: Any, over: Any) -> Any:
    """`over` merged into a copy of `base`: objects merge key by key, anything else replaces."""
    if isinstance(base, Mapping) and isinstance(over, Mapping):
        merged = {k: copy.deepcopy(v) for k, v in base.items()}
        for key, value in over.items():
            merged[key] = deep_merge(merged[key], value) if key in merged else value
        return merged
    return copy.deepcopy(over)


def render(template: Any, context: Mapping[str, Any]) -> Any:
    """The JSON value `template` stands for in `context` (MISSING when it resolves to nothing)."""
    if isinstance(template, str):
        whole = _WHOLE.match(template)
        if whole:
            value = resolve(whole.group(1), context)
            if value is None:
                return MISSING
            return copy.deepcopy(value) if isinstance(value, dict | list) else value
        if "{{" not in template:
            return template
        return _PART.sub(lambda m: _text(resolve(m.group(1), context)), template)
    if isinstance(template, Mapping):
        if "$each" in template:
            return _each(template, context)
        if "$merge" in template:
            parts = [render(p, context) for p in template["$merge"]]
            merged: Any = {}
            for part in parts:
                if part is not MISSING:
                    merged = deep_merge(merged, part)
            return merged
        out: dict[str, Any] = {}
        for key, value in template.items():
            rendered = render(value, context)
            if rendered is not MISSING:
                out[str(render(key, context))] = rendered
        return MISSING if template and not out else out
    if isinstance(template, list):
        items: list[Any] = []
        for element in template:
            if isinstance(element, Mapping) and "$each" in element:
                items.extend(_each(element, context))
                continue
            if isinstance(element, Mapping) and "$if" in element:
                if resolve(str(element["$if"]), context) in (MISSING, None, "", [], ()):
                    continue
                element = element.get("do")
            rendered = render(element, context)
            if rendered is not MISSING:
                items.append(rendered)
        return items
    return template


def _each(template: Mapping[str, Any], context: Mapping[str, Any]) -> list[Any]:
    source = resolve(str(template["$each"]), context)
    if source is MISSING or source is None:
        return []
    if not isinstance(source, list | tuple):
        raise TemplateError(f"$each over {template['$each']!r}: not a list")
    out = []
    for index, item in enumerate(source):
        rendered = render(template.get("do"), {**context, "item": item, "index": index})
        if rendered is not MISSING:
            out.append(rendered)
    return out
