"""Resource bodies: validation and coercion, PUT semantics, projection, index rows.

Every rule reads the attribute characteristics the server publishes (RFC 7643 section 2.2)
through the schema registry. Decisions where the RFCs leave room, and why:

- Unknown attributes and unknown schema URNs are refused (400 invalidValue naming the
  attribute). RFC 7644 section 3.3 lets a server "alter and/or ignore POSTed content", but a
  silent drop hides an IdP mapping mistake and loses data the client meant to store; the
  IdPs we model send only attributes they were configured to map.
- A single value sent for a multi-valued attribute is accepted as a one-element list
  (robustness: some IdPs send `"emails": {...}`); a list for a singular attribute is
  refused.
- `canonicalValues` are advisory (RFC 7643 section 2.3.1: providers "MAY restrict"), since
  IdPs send "mobile", "other" and custom `type` labels; they are enforced, with the
  canonical spelling restored case-insensitively, where the server interprets the value:
  Group `members.type` ("User"/"Group").
- `schemas` must name the core schema (400 invalidValue otherwise). Other URNs that are
  not schemas of the resource type are dropped from the stored `schemas` (RFC 7643
  section 3 allows only the type's schemas; Entra sends a Microsoft ADSCIM Group URN and
  a misspelt enterprise URN, OneLogin templates add their own): the stored form is valid
  and nothing is lost, because a body key under an unknown URN is still refused. An
  extension the body carries is added to `schemas` when the client forgot it.
- IdP-compat tolerance (OneLogin): in `schemas` of a POST or PUT, the legacy URNs
  `urn:scim:schemas:core:2.0` and `urn:scim:schemas:extension:enterprise:2.0` (sent by
  OneLogin's templates, see shared/reference/idp-request-shapes.md section 3) are aliases
  of the core schema URN of the resource type being written and of the enterprise User
  extension URN; the canonical URNs are stored. Only `schemas` values are aliased: a body
  key under a legacy URN is still refused like any unknown URN.
- Explicit nulls, empty lists and empty objects mean "absent" (RFC 7643 section 2.5,
  RFC 7644 section 3.5.1); readOnly attributes sent by the client are ignored
  (RFC 7644 section 3.3).
- IdP dialects: "True"/"False" strings (any case) for booleans; a plain string for a
  complex attribute with a `value` sub-attribute (Entra's enterprise `manager`) means
  `{"value": s}`. The SCIM 1.0 core URN `urn:scim:schemas:core:1.0` (OneLogin's core
  template names nothing else; Google adds it beside the 2.0 URN) is a third alias of
  the core schema URN. An explicit null under a name no schema defines is skipped, like
  any null, rather than refused (Entra's older create sends `"manager": null` unqualified):
  it carries no data, so nothing is lost.
- The User `password` (writeOnly, returned never) is stored only as a salted scrypt hash
  (`hash_password`; RFC 7643 section 4.1.1 lets the provider keep the hashed value and
  says the cleartext SHALL NOT be returned; RFC 7644 section 7.5.2 asks providers not to
  keep passwords in a retrievable form). A PATCH that leaves the stored hash alone keeps
  it (`seal_password`).
- The enterprise `manager.$ref` is derived, at projection time, from `manager.value` and
  the location of the resource being returned (the base URL is the part of
  `meta.location` before `/Users/{id}`): the URI of the User the value names
  (RFC 7643 section 4.3), also after a PATCH that changes only the value.

Stored form: the resource as the client may assert it, with canonical attribute names,
extension attributes under their canonical URN, `schemas` first, without `id`/`meta`
(and, for Groups, without `members`: see `split_members`). Direct columns: `id`,
`userName`, `externalId`, `displayName` and `meta.*` live in `resources` columns (see
`resource_columns`), so `index_rows` leaves them out of `attr_index`.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import os
import re
import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import orjson

from reference_server.scim.errors import InvalidSyntax, InvalidValue, Mutability
from reference_server.scim.schemas import ENTERPRISE_USER, AttributeDef, SchemaRegistry

__all__ = [
    "DIRECT_PATHS",
    "INDEX_COLUMNS",
    "SEEK_PATHS",
    "IndexValue",
    "check_primary",
    "coerce_element",
    "coerce_value",
    "dedupe",
    "format_timestamp",
    "hash_password",
    "index_rows",
    "index_values",
    "normalize_datetime",
    "pair_key",
    "prepare_create",
    "prepare_replace",
    "project",
    "resource_columns",
    "seal_password",
    "search_document",
    "split_members",
    "utc_now",
    "verify_password",
]

# The paths whose values get attr_index rows, keyed by value: besides the direct columns
# (userName, externalId, displayName, id) and group_members, the attribute IdPs look
# users up by (issue 2, point 9). Every other value is found through the resource's
# search document (`search_document`), scanned in SQL: an index entry per value cost
# three B-tree inserts per value and most of a create's time (see storage/tables.py).
SEEK_PATHS = frozenset({"emails.value"})

# attr_index paths answered by columns of `resources` instead (never indexed).
DIRECT_PATHS = frozenset(
    {
        "id",
        "externalid",
        "username",
        "displayname",
        "meta",
        "meta.created",
        "meta.lastmodified",
        "meta.resourcetype",
        "meta.location",
        "meta.version",
    }
)
# Canonical values the server enforces (index paths): values it interprets itself.
_STRICT_CANONICAL = frozenset({"members.type"})

_MISSING: Any = object()

_DATETIME = re.compile(
    r"(-?\d{4,})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})?",
    re.IGNORECASE,
)


def format_timestamp(moment: datetime) -> str:
    """UTC "YYYY-MM-DDTHH:MM:SS.ffffffZ": text order is time order (attr_index.v_time).

    The storage should write `resources.created`/`last_modified` in this form, so that
    `meta.lastModified gt "..."` filters compare like for like.
    """
    # isoformat is several times cheaper than strftime (two timestamps per write).
    text = moment.astimezone(UTC).isoformat(timespec="microseconds")
    return f"{text[:-6]}Z"  # "+00:00" -> "Z"


_second: tuple[int, str] = (-1, "")  # (Unix second, its "YYYY-MM-DDTHH:MM:SS" text)


def utc_now() -> str:
    """The current time in `format_timestamp` form (every write stamps one or two): the
    date and time to the second are formatted once per second."""
    global _second
    micros = time.time_ns() // 1000
    second, fraction = divmod(micros, 1_000_000)
    cached = _second
    if cached[0] != second:
        text = datetime.fromtimestamp(second, UTC).isoformat()[:19]
        cached = _second = (second, text)
    return f"{cached[1]}.{fraction:06d}Z"


def normalize_datetime(text: str) -> str | None:
    """An xsd:dateTime (RFC 7643 section 2.3.5) in `format_timestamp` form, or None.

    A value without a time zone is taken as UTC.
    """
    match = _DATETIME.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, frac, zone = match.groups()
    try:
        micro = int((frac[1:] + "000000")[:6]) if frac else 0
        tz: timezone = UTC
        if zone and zone.upper() != "Z":
            sign = -1 if zone[0] == "-" else 1
            offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
            tz = timezone(sign * offset)
        moment = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tz
        )
    except (ValueError, OverflowError):
        return None
    return format_timestamp(moment)


# --- passwords -----------------------------------------------------------------------

# scrypt cost (RFC 7914): n=2**12, r=8, p=1 (4 MiB, about 23 ms of CPU here). Okta sends a
# password with every create and PUT, and the hash runs on the request path, so the
# interactive-login setting (2**14, about 80 ms) would make each Okta create cost 80 times
# a plain one. Stored hashes carry their parameters, so raising the cost later is safe.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**12, 8, 1
_SCRYPT_PREFIX = "$scrypt$"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def hash_password(plain: str) -> str:
    """`$scrypt$n=..,r=..,p=..$<salt>$<hash>`: a fresh 16-byte salt per value."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(
        plain.encode("utf-8"), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32
    )
    params = f"n={_SCRYPT_N},r={_SCRYPT_R},p={_SCRYPT_P}"
    return f"{_SCRYPT_PREFIX}{params}${_b64(salt)}${_b64(digest)}"


def verify_password(stored: str, plain: str) -> bool:
    """Whether `plain` is the password `stored` (a `hash_password` result) was made from."""
    if not stored.startswith(_SCRYPT_PREFIX):
        return False
    try:
        params, salt, digest = stored.removeprefix(_SCRYPT_PREFIX).split("$")
        cost = dict(item.split("=") for item in params.split(","))
        expected = _unb64(digest)
        actual = hashlib.scrypt(
            plain.encode("utf-8"),
            salt=_unb64(salt),
            n=int(cost["n"]),
            r=int(cost["r"]),
            p=int(cost["p"]),
            dklen=len(expected),
        )
    except (ValueError, KeyError, binascii.Error):
        return False
    return hmac.compare_digest(actual, expected)


def seal_password(resource: dict[str, Any], previous: dict[str, Any] | None = None) -> None:
    """Replace a cleartext `password` in a stored form by its hash, in place.

    `previous` is the stored form before a PATCH: a value equal to its (hashed) password
    was not sent by the client and stays as it is.
    """
    value = resource.get("password")
    if not isinstance(value, str):
        return
    if previous is not None and previous.get("password") == value:
        return
    resource["password"] = hash_password(value)


# --- coercion ------------------------------------------------------------------------


def _coerce_simple(attr: AttributeDef, value: Any, where: str, index_path: str) -> Any:
    kind = attr.type
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise InvalidValue(f"Attribute '{where}' must be a boolean (true or false), got {value!r}.")
    if kind == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise InvalidValue(f"Attribute '{where}' must be an integer, got {value!r}.")
    if kind == "decimal":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
        raise InvalidValue(f"Attribute '{where}' must be a number, got {value!r}.")
    if not isinstance(value, str):
        raise InvalidValue(f"Attribute '{where}' must be a string ({kind}), got {value!r}.")
    if kind == "dateTime" and normalize_datetime(value) is None:
        raise InvalidValue(
            f"Attribute '{where}' must be an xsd:dateTime such as 2015-01-23T04:56:22Z, "
            f"got {value!r}."
        )
    if kind == "binary" and not _is_base64(value):
        raise InvalidValue(f"Attribute '{where}' must be base64 encoded binary data.")
    if attr.canonical_values and index_path in _STRICT_CANONICAL:
        for canonical in attr.canonical_values:
            if canonical.lower() == value.lower():
                return canonical
        allowed = ", ".join(repr(c) for c in attr.canonical_values)
        raise InvalidValue(f"Attribute '{where}' must be one of {allowed}, got {value!r}.")
    return value


def _is_base64(text: str) -> bool:
    compact = "".join(text.split())
    padded = compact + "=" * (-len(compact) % 4)
    try:
        if "-" in compact or "_" in compact:
            base64.urlsafe_b64decode(padded)
        else:
            base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _coerce_single(attr: AttributeDef, value: Any, where: str, index_path: str) -> Any:
    if value is None:
        return _MISSING
    if attr.type != "complex":
        return _coerce_simple(attr, value, where, index_path)
    if isinstance(value, str) and attr.sub("value") is not None:
        if not value:
            return _MISSING  # Entra clears the manager with ""
        value = {"value": value}  # Entra's enterprise manager as a plain string
    if not isinstance(value, dict):
        raise InvalidValue(f"Attribute '{where}' is complex and must be a JSON object.")
    out: dict[str, Any] = {}
    for key, sub_value in value.items():
        sub = attr.sub(key)
        if sub is None:
            raise InvalidValue(
                f"Attribute '{where}' has no sub-attribute '{key}' in the published schema."
            )
        if sub.mutability == "readOnly":
            continue
        coerced = _coerce_attr(sub, sub_value, f"{where}.{sub.name}", f"{index_path}.{key.lower()}")
        if coerced is not _MISSING:
            out[sub.name] = coerced
    if not out or (not attr.multi_valued and out == {"value": ""}):
        return _MISSING  # {"value": ""} clears a singular complex (Entra's manager removal)
    for sub in attr.sub_attributes:
        if sub.required and sub.name not in out and sub.mutability != "readOnly":
            raise InvalidValue(f"Attribute '{where}.{sub.name}' is required.")
    return out


# Types whose single value needs nothing but its JSON type checked (no canonical values).
_PLAIN_TYPES = {"string": str, "reference": str, "boolean": bool}


def _is_plain(attr: AttributeDef, value: Any) -> bool:
    """A singular string, reference or boolean of the right JSON type, no canonical values:
    coercion keeps it as it is."""
    return (
        type(value) is _PLAIN_TYPES.get(attr.type)
        and not attr.multi_valued
        and not attr.canonical_values
    )


def _coerce_attr(attr: AttributeDef, value: Any, where: str, index_path: str) -> Any:
    """Coerce one attribute value; `_MISSING` when it amounts to "unassigned"."""
    if value is None:
        return _MISSING
    if _is_plain(attr, value):
        return value  # what _coerce_simple returns for it, without three calls
    if not attr.multi_valued:
        if isinstance(value, list):
            raise InvalidValue(f"Attribute '{where}' is single-valued; a list was sent.")
        return _coerce_single(attr, value, where, index_path)
    items = value if isinstance(value, list) else [value]
    out = []
    for i, item in enumerate(items):
        coerced = _coerce_single(attr, item, f"{where}[{i}]", index_path)
        if coerced is not _MISSING:
            out.append(coerced)
    if not out:
        return _MISSING
    if attr.type == "complex":
        out = dedupe(attr, out)
        check_primary(out, where)
    return out


def pair_key(attr: AttributeDef, element: Any) -> tuple[str, str] | None:
    """The (type, value) identity of a multi-valued element, compared as the schema says
    (case-insensitively unless caseExact); None when the element has no `value`."""
    if not isinstance(element, dict):
        return None
    value = element.get("value")
    if not isinstance(value, str):
        return None
    value_def = attr.sub("value")
    if value_def is None or not value_def.case_exact:
        value = value.lower()
    kind = element.get("type")
    return (kind.lower() if isinstance(kind, str) else "", value)


def dedupe(attr: AttributeDef, values: list[Any]) -> list[Any]:
    """RFC 7643 2.4: the same (type, value) SHOULD NOT appear twice: keep the first, which
    becomes primary if a dropped twin was."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    out = []
    for element in values:
        key = pair_key(attr, element)
        if key is None:
            out.append(element)
            continue
        kept = seen.get(key)
        if kept is None:
            seen[key] = element
            out.append(element)
        elif element.get("primary") is True:
            kept["primary"] = True
    return out


def check_primary(values: list[Any], where: str) -> None:
    """RFC 7643 section 2.4: "The primary attribute value 'true' MUST appear no more than once"."""
    count = 0
    for item in values:
        if isinstance(item, dict) and item.get("primary") is True:
            count += 1
    if count > 1:
        raise InvalidValue(
            f"Attribute '{where}' has {count} values with primary=true; at most one is allowed."
        )


def coerce_value(attr: AttributeDef, value: Any, where: str, index_path: str) -> Any:
    """Public form of the coercion for PATCH: returns None for an unassigned value."""
    coerced = _coerce_attr(attr, value, where, index_path)
    return None if coerced is _MISSING else coerced


def coerce_element(attr: AttributeDef, value: Any, where: str, index_path: str) -> Any:
    """Coerce one element of a multi-valued attribute (or a singular value); None if empty."""
    coerced = _coerce_single(attr, value, where, index_path)
    return None if coerced is _MISSING else coerced


# --- create / replace ----------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _type_plan(
    reg: SchemaRegistry, resource_type: str
) -> tuple[dict[str, str], tuple[AttributeDef, ...]]:
    """(schema URNs allowed in `schemas` by lower-case, required core attributes): once."""
    allowed = {urn.lower(): urn for urn in reg.resource_type(resource_type).schema_urns}
    required = tuple(
        a
        for a in reg.core_attributes(resource_type).values()
        if a.required and a.mutability != "readOnly"
    )
    return allowed, required


# IdP-compat aliases in `schemas` (OneLogin's legacy URNs, see the module docstring).
_LEGACY_CORE = "urn:scim:schemas:core:2.0"
_SCIM_1_CORE = "urn:scim:schemas:core:1.0"
_LEGACY_ENTERPRISE = "urn:scim:schemas:extension:enterprise:2.0"


def _canonical_urn(allowed: dict[str, str], core: str, urn: str) -> str | None:
    """The canonical URN a `schemas` value names for this resource type (None: not one)."""
    low = urn.lower()
    if low in (_LEGACY_CORE, _SCIM_1_CORE):
        low = core.lower()
    elif low == _LEGACY_ENTERPRISE:
        low = ENTERPRISE_USER.lower()
    return allowed.get(low)


def _declared_schemas(reg: SchemaRegistry, resource_type: str, body: dict[str, Any]) -> list[str]:
    allowed = _type_plan(reg, resource_type)[0]
    raw = body.get("schemas", _MISSING)
    if raw is _MISSING:
        for key, value in body.items():
            if key.lower() == "schemas":
                raw = value
    core = reg.resource_type(resource_type).schema
    if raw is _MISSING or raw is None:
        raise InvalidValue(f"Attribute 'schemas' is required and must contain '{core}'.")
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(u, str) for u in raw):
        raise InvalidValue("Attribute 'schemas' must be a list of schema URNs.")
    out: list[str] = []
    for urn in raw:
        canonical = _canonical_urn(allowed, core, urn)
        if canonical is None:
            continue  # tolerance: Entra's ADSCIM Group URN, misspelt URNs (no data under them)
        if canonical not in out:
            out.append(canonical)
    if core not in out:
        raise InvalidValue(f"Attribute 'schemas' must contain '{core}'.")
    return out


def _put(out: dict[str, Any], attr: AttributeDef, value: Any, where: str, prefix: str) -> None:
    if attr.mutability == "readOnly":
        return  # RFC 7644 section 3.3: readOnly attributes SHALL be ignored
    coerced = _coerce_attr(attr, value, where, prefix + attr.name.lower())
    if coerced is _MISSING:
        out.pop(attr.name, None)
    else:
        out[attr.name] = coerced


def _prepare(reg: SchemaRegistry, resource_type: str, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidSyntax("The request body must be a JSON object (a SCIM resource).")
    definition = reg.resource_type(resource_type)
    schemas = _declared_schemas(reg, resource_type, body)
    core = reg.core_attributes(resource_type)
    out: dict[str, Any] = {"schemas": schemas}
    extensions: dict[str, dict[str, Any]] = {}

    def put_core(key: str, value: Any) -> None:
        attr = core.get(key.lower())
        if attr is None:
            if value is None:
                return  # an explicit null carries nothing (Entra: "manager": null)
            raise InvalidValue(
                f"Attribute '{key}' is not defined in schema {definition.schema} "
                f"(resource type {definition.name})."
            )
        _put(out, attr, value, attr.name, "")

    def put_extension(urn: str, key: str, value: Any) -> None:
        found = reg.extension(resource_type, urn)
        assert found is not None
        attrs = found[1]
        attr = attrs.get(key.lower())
        if attr is None:
            if value is None:
                return
            raise InvalidValue(f"Attribute '{key}' is not defined in schema {urn}.")
        _put(extensions.setdefault(urn, {}), attr, value, f"{urn}:{attr.name}", urn.lower() + ":")

    for key, value in body.items():
        low = key.lower()
        if low == "schemas":
            continue
        if low.startswith("urn:"):
            urn, rest = reg.split_urn(resource_type, key)
            if urn is None:
                raise InvalidValue(
                    f"'{key}' is neither an attribute nor a schema of resource type "
                    f"{definition.name}."
                )
            is_core = urn == definition.schema
            if rest:
                if "." in rest:
                    raise InvalidValue(f"'{key}': sub-attributes must be sent inside their parent.")
                if is_core:
                    put_core(rest, value)
                else:
                    put_extension(urn, rest, value)
                continue
            if value is None:
                continue
            if not isinstance(value, dict):
                raise InvalidValue(f"Schema extension '{urn}' must be a JSON object.")
            for sub_key, sub_value in value.items():
                if is_core:
                    put_core(sub_key, sub_value)
                else:
                    put_extension(urn, sub_key, sub_value)
            continue
        put_core(key, value)

    for attr in _type_plan(reg, resource_type)[1]:
        _require(out, attr, attr.name)
    for urn, required in definition.extensions:
        data = extensions.get(urn)
        if data:
            out[urn] = data
            if urn not in schemas:
                schemas.append(urn)  # tolerance: the body carries the extension
        elif required:
            raise InvalidValue(f"Schema extension '{urn}' is required for {definition.name}.")
        found = reg.extension(resource_type, urn)
        if data and found:
            for attr in found[1].values():
                if attr.required and attr.mutability != "readOnly":
                    _require(data, attr, f"{urn}:{attr.name}")
    seal_password(out)
    return out


def _require(obj: dict[str, Any], attr: AttributeDef, where: str) -> None:
    value = obj.get(attr.name)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InvalidValue(f"Attribute '{where}' is required and must not be empty.")


def prepare_create(reg: SchemaRegistry, resource_type: str, body: Any) -> dict[str, Any]:
    """Validate and coerce a POST body into the stored form (RFC 7644 section 3.3); a
    body that is not a JSON object is refused (400), whatever the caller passed."""
    return _prepare(reg, resource_type, body)


def prepare_replace(
    reg: SchemaRegistry, resource_type: str, current: dict[str, Any], body: Any
) -> dict[str, Any]:
    """PUT (RFC 7644 section 3.5.1): the body replaces every client-assertable attribute.

    readWrite and writeOnly attributes absent from the body are cleared; readOnly ones are
    ignored; an immutable attribute that already has a value must be sent unchanged or
    left out (then it is kept), else 400 mutability.
    """
    new = _prepare(reg, resource_type, body)
    definition = reg.resource_type(resource_type)
    _keep_immutable(reg.core_attributes(resource_type), current, new, "")
    for urn, _required in definition.extensions:
        found = reg.extension(resource_type, urn)
        if found is None:
            continue
        cur_ext = current.get(urn)
        if not isinstance(cur_ext, dict):
            continue
        new_ext = new.setdefault(urn, {})
        _keep_immutable(found[1], cur_ext, new_ext, urn + ":")
        if not new_ext:
            del new[urn]
        elif urn not in new["schemas"]:
            new["schemas"].append(urn)
    return new


def _keep_immutable(
    attrs: dict[str, AttributeDef], current: dict[str, Any], new: dict[str, Any], prefix: str
) -> None:
    for attr in attrs.values():
        if attr.name == "members":
            continue  # membership is rows; its replacement is the storage's job
        old = current.get(attr.name)
        if old is None:
            continue
        if attr.mutability == "immutable":
            if attr.name not in new:
                new[attr.name] = old
            elif new[attr.name] != old:
                raise Mutability(
                    f"Attribute '{prefix}{attr.name}' is immutable: it is already set to "
                    f"{old!r} and cannot change."
                )
        elif attr.type == "complex" and not attr.multi_valued and isinstance(old, dict):
            for sub in attr.sub_attributes:
                if sub.mutability != "immutable" or sub.name not in old:
                    continue
                target = new.setdefault(attr.name, {})
                if sub.name not in target:
                    target[sub.name] = old[sub.name]
                elif target[sub.name] != old[sub.name]:
                    raise Mutability(
                        f"Attribute '{prefix}{attr.name}.{sub.name}' is immutable and cannot "
                        "change."
                    )


def split_members(body: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """For Groups: (resource without "members", [{"value": id, "type": "User"|"Group"|None}]).

    Membership is stored as rows, never as a list in the document (issue 2, point 9).
    Duplicate ids are sent once; a member without `value` is refused (400 invalidValue).
    """
    rest = {k: v for k, v in body.items() if k != "members"}
    members: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, item in enumerate(body.get("members") or ()):
        value = item.get("value") if isinstance(item, dict) else None
        if not isinstance(value, str) or not value:
            raise InvalidValue(f"Attribute 'members[{i}].value' is required (the member's id).")
        if value in seen:
            continue
        seen.add(value)
        members.append({"value": value, "type": item.get("type")})
    return rest, members


def resource_columns(
    reg: SchemaRegistry, resource_type: str, resource: dict[str, Any]
) -> dict[str, str | None]:
    """The direct `resources` columns filters use: user_name_lower, external_id, display_name_lower.

    userName uniqueness is case-insensitive (caseExact false): the storage's unique
    constraint on `user_name_lower` enforces it (RFC 7643 section 2.2 "uniqueness").
    """
    user_name = resource.get("userName")
    display = resource.get("displayName")
    external = resource.get("externalId")
    return {
        "user_name_lower": user_name.lower() if isinstance(user_name, str) else None,
        "external_id": external if isinstance(external, str) else None,
        "display_name_lower": display.lower() if isinstance(display, str) else None,
    }


# --- projection ----------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _default_plan(reg: SchemaRegistry, resource_type: str) -> tuple[frozenset[str], bool]:
    """(top-level keys never in a default representation, whether any sub-attribute or
    extension attribute needs a closer look): computed once per resource type."""
    drop = {
        a.name
        for a in reg.core_attributes(resource_type).values()
        if a.returned in ("never", "request")
    }
    deep = any(
        s.returned in ("never", "request")
        for a in reg.core_attributes(resource_type).values()
        for s in a.sub_attributes
    )
    for urn in reg.extension_urns(resource_type):
        found = reg.extension(resource_type, urn)
        for a in found[1].values() if found else ():
            if a.returned in ("never", "request") or any(
                s.returned in ("never", "request") for s in a.sub_attributes
            ):
                deep = True
    return frozenset(drop), deep


def _split_requested(
    reg: SchemaRegistry, resource_type: str, names: list[str]
) -> tuple[dict[str, set[str] | None], set[str]]:
    """{top-level key -> set of sub names, or None for the whole attribute}, whole extensions."""
    out: dict[str, set[str] | None] = {}
    whole: set[str] = set()
    definition = reg.resource_type(resource_type)
    for name in names:
        name = name.strip()
        if not name:
            continue
        resolved = reg.resolve(resource_type, name)
        if resolved is None:
            urn, rest = reg.split_urn(resource_type, name)
            if urn is not None and not rest and urn != definition.schema:
                whole.add(urn)
            continue  # unknown names select nothing
        key = (
            resolved.attribute.name
            if resolved.schema_urn == definition.schema
            else f"{resolved.schema_urn}\x00{resolved.attribute.name}"
        )
        if resolved.sub_attribute is None:
            out[key] = None
        else:
            subs = out.get(key, set())
            if subs is not None:
                subs.add(resolved.sub_attribute.name)
                out[key] = subs
    return out, whole


def _project_attr(
    attr: AttributeDef, value: Any, selected: set[str] | None, excluded: set[str] | None
) -> Any:
    """Apply sub-attribute `returned` and selection to one attribute's value."""
    if attr.type != "complex" or not attr.sub_attributes:
        return value

    def one(obj: Any) -> Any:
        if not isinstance(obj, dict):
            return obj
        result = {}
        for key, sub_value in obj.items():
            sub = attr.sub(key)
            if sub is None:
                result[key] = sub_value
                continue
            if sub.returned == "never":
                continue
            if sub.returned != "always":
                if selected is not None and sub.name not in selected:
                    continue
                if selected is None and sub.returned == "request":
                    continue
                if excluded is not None and sub.name in excluded:
                    continue
            result[key] = sub_value
        return result

    if isinstance(value, list):
        return [v for v in (one(v) for v in value) if v != {}]
    return one(value)


def _include(attr: AttributeDef, mode: str, selected: bool, excluded: bool) -> bool:
    if attr.returned == "never":
        return False
    if attr.returned == "always":
        return True
    if mode == "attributes":
        return selected
    if excluded:
        return False
    return attr.returned == "default"


def project(
    reg: SchemaRegistry,
    resource_type: str,
    resource: dict[str, Any],
    attributes: list[str] | None,
    excluded: list[str] | None,
    *,
    owned: bool = False,
) -> dict[str, Any]:
    """The representation to return: `returned` plus attributes/excludedAttributes.

    RFC 7644 sections 3.4.2.5 and 3.9: "always" attributes are always returned, "never"
    ones never, "request" ones only when named in `attributes`; `attributes` overrides
    the default set, `excludedAttributes` removes from it. `schemas` is always returned.
    Unknown names select nothing (no error). The enterprise manager gets its `$ref`.
    `owned`: the caller built `resource` for this answer, so it may be changed in place
    (a page of 100 users then copies no dict twice).
    """
    resource = _with_manager_ref(reg, resource_type, resource)
    if not attributes and not excluded:
        drop, deep = _default_plan(reg, resource_type)
        if not deep:  # the hot path: plain dict work
            if owned:  # a dict built for this answer: drop in place, no copy
                for key in drop:
                    resource.pop(key, None)
                return resource
            return {k: v for k, v in resource.items() if k not in drop}
    core = reg.core_attributes(resource_type)
    mode = "attributes" if attributes else "excluded" if excluded else "default"
    chosen, whole = _split_requested(
        reg, resource_type, (attributes or []) if mode == "attributes" else (excluded or [])
    )
    out: dict[str, Any] = {}
    for key, value in resource.items():
        if key == "schemas":
            out[key] = value
            continue
        attr = core.get(key.lower())
        if attr is not None:
            _project_one(out, key, attr, value, mode, chosen.get(key, _MISSING), attr.name)
            continue
        ext = reg.extension(resource_type, key)
        if ext is None or not isinstance(value, dict):
            out[key] = value  # not described by a schema: the caller's business
            continue
        urn, attrs = ext
        ext_out: dict[str, Any] = {}
        for sub_key, sub_value in value.items():
            ext_attr = attrs.get(sub_key.lower())
            if ext_attr is None:
                ext_out[sub_key] = sub_value
                continue
            sel = chosen.get(f"{urn}\x00{ext_attr.name}", _MISSING)
            if urn in whole:
                if mode == "excluded":
                    continue
                sel = None
            _project_one(ext_out, sub_key, ext_attr, sub_value, mode, sel, ext_attr.name)
        if ext_out:
            out[key] = ext_out
    return out


def _with_manager_ref(
    reg: SchemaRegistry, resource_type: str, resource: dict[str, Any]
) -> dict[str, Any]:
    """The resource with `manager.$ref` set to the location of the User `manager.value` names.

    The base URL comes from the resource's own `meta.location` (`{base}{endpoint}/{id}`);
    without one (a stored form, not a representation) the resource is returned unchanged.
    """
    ext = resource.get(ENTERPRISE_USER)
    if not isinstance(ext, dict):
        return resource
    manager = ext.get("manager")
    if not isinstance(manager, dict):
        return resource
    value = manager.get("value")
    meta = resource.get("meta")
    location = meta.get("location") if isinstance(meta, dict) else None
    rid = resource.get("id")
    if not (
        isinstance(value, str) and value and isinstance(location, str) and isinstance(rid, str)
    ):
        return resource
    suffix = f"{reg.resource_type(resource_type).endpoint}/{rid}"
    if not location.endswith(suffix):
        return resource
    base = location[: -len(suffix)]
    ref = f"{base}{reg.resource_type('User').endpoint}/{quote(value, safe='')}"
    if manager.get("$ref") == ref:
        return resource
    return {**resource, ENTERPRISE_USER: {**ext, "manager": {**manager, "$ref": ref}}}


def _project_one(
    out: dict[str, Any],
    key: str,
    attr: AttributeDef,
    value: Any,
    mode: str,
    sel: Any,
    name: str,
) -> None:
    named = sel is not _MISSING
    whole = named and sel is None
    if mode == "attributes":
        if not _include(attr, mode, named, False):
            return
        subs = None if (whole or (attr.returned == "always" and not named)) else sel
        projected = _project_attr(attr, value, subs, None)
    elif mode == "excluded":
        if not _include(attr, mode, False, whole):
            return
        projected = _project_attr(attr, value, None, sel if named and not whole else None)
    else:
        if not _include(attr, mode, False, False):
            return
        projected = _project_attr(attr, value, None, None)
    if projected not in ({}, []):
        out[key] = projected


# --- index rows ----------------------------------------------------------------------


# An index value: (path, elem, v_text, v_lower, v_num, v_bool, v_time), the attr_index
# columns after the resource's keys (see storage/tables.py).
IndexValue = tuple[str, int, str | None, str | None, float | None, bool | None, str | None]
INDEX_COLUMNS = ("path", "elem", "v_text", "v_lower", "v_num", "v_bool", "v_time")


def _value(path: str, elem: int, kind: str, value: Any) -> IndexValue | None:
    if kind not in _TYPED_KINDS:  # string, reference, binary (the common case first)
        return (
            (path, elem, value, value.lower(), None, None, None) if isinstance(value, str) else None
        )
    if kind == "boolean":
        return (path, elem, None, None, None, value, None) if isinstance(value, bool) else None
    if kind in ("integer", "decimal"):
        if not isinstance(value, int | float) or isinstance(value, bool):
            return None
        return (path, elem, None, None, float(value), None, None)
    moment = normalize_datetime(value) if isinstance(value, str) else None  # dateTime
    return None if moment is None else (path, elem, None, None, None, None, moment)


# Types indexed by their typed value; every other type is indexed as text as it is.
_TYPED_KINDS = frozenset({"boolean", "integer", "decimal", "dateTime"})


def _index_attr(out: list[IndexValue], path: str, attr: AttributeDef, value: Any) -> None:
    values = value if isinstance(value, list) else (value,)
    multi = attr.multi_valued
    if attr.type != "complex":
        kind = attr.type
        for i, item in enumerate(values):
            found = _value(path, i if multi else -1, kind, item)
            if found is not None:
                out.append(found)
        return
    for i, item in enumerate(values):
        if not isinstance(item, dict):
            continue
        elem = i if multi else -1
        for key, sub_value in item.items():
            sub = attr.sub(key)
            if sub is None or sub_value is None:
                continue
            sub_path = f"{path}.{sub.name.lower()}"
            kind = sub.type
            for sv in sub_value if isinstance(sub_value, list) else (sub_value,):
                found = _value(sub_path, elem, kind, sv)
                if found is not None:
                    out.append(found)


# writeOnly values must not be searchable; readOnly ones (`groups`) are rows elsewhere.
_NOT_INDEXED = frozenset({"writeOnly", "readOnly"})

_SCHEMAS_ATTR = AttributeDef(
    "schemas", "reference", True, True, False, "readOnly", "always", "none", (), ("uri",), ()
)


def index_values(
    reg: SchemaRegistry, resource_type: str, resource: dict[str, Any]
) -> list[IndexValue]:
    """Every filterable simple value of the stored form, as `IndexValue` tuples: the rows
    of attr_index (for SEEK_PATHS) and the entries of the search document.

    path: lower-cased, extension paths URN-prefixed; elem: the element's position in a
    multi-valued attribute, -1 for singular; then the typed value columns. Attributes
    answered by direct `resources` columns (DIRECT_PATHS) and Group members (rows of
    `group_members`) are left out; `schemas` is indexed (extension URNs; the core URN is
    in every resource) so `schemas eq "urn:..."` filters work (RFC 7644 section 3.4.2.2,
    Figure 2).
    """
    rows: list[IndexValue] = []
    core = reg.core_attributes(resource_type)
    core_urn = reg.resource_type(resource_type).schema
    for key, value in resource.items():
        if value is None:
            continue
        if key == "schemas":
            # Extension URNs only: the core one is in every resource (see filter/sql.py).
            listed = value if isinstance(value, list) else [value]
            extensions = [urn for urn in listed if urn != core_urn]
            _index_attr(rows, "schemas", _SCHEMAS_ATTR, extensions)
            continue
        low = key.lower()
        attr = core.get(low)
        if attr is not None:
            if low in DIRECT_PATHS or low == "members" or attr.mutability in _NOT_INDEXED:
                continue
            _index_attr(rows, low, attr, value)
            continue
        ext = reg.extension(resource_type, key)
        if ext is None or not isinstance(value, dict):
            continue
        urn, attrs = ext
        for sub_key, sub_value in value.items():
            ext_attr = attrs.get(sub_key.lower())
            if ext_attr is None or sub_value is None or ext_attr.mutability == "writeOnly":
                continue
            _index_attr(rows, f"{urn.lower()}:{ext_attr.name.lower()}", ext_attr, sub_value)
    return rows


def index_rows(
    reg: SchemaRegistry, resource_type: str, resource: dict[str, Any]
) -> list[dict[str, Any]]:
    """`index_values` as dicts keyed by attr_index column (INDEX_COLUMNS)."""
    return [
        dict(zip(INDEX_COLUMNS, v, strict=True)) for v in index_values(reg, resource_type, resource)
    ]


def search_document(values: list[IndexValue]) -> str:
    """The `resources.search` JSON of a resource's index values: path -> its entries.

    An entry is `[elem, text, lower]` for strings (references, binary) and
    `[elem, value]` for booleans, numbers (as floats) and dateTimes (normalised UTC text),
    the values `index_values` computed: SQL compares them exactly as it compares
    attr_index rows, so both evaluators keep one meaning (see filter/sql.py). A
    multi-valued complex attribute's own path lists its elements (`"emails": [[0], [1]]`):
    a value path (`emails[type eq "work" and ...]`) walks them once.
    """
    doc: dict[str, list[list[Any]]] = {}
    elements: dict[str, set[int]] = {}
    for path, elem, text, lower, num, flag, moment in values:
        if elem >= 0:
            parent = _parent_path(path)
            if parent is not None:
                elements.setdefault(parent, set()).add(elem)
        entry: list[Any]
        if lower is not None:
            entry = [elem, text, lower]
        elif flag is not None:
            entry = [elem, flag]
        elif num is not None:
            entry = [elem, num]
        else:
            entry = [elem, moment]
        found = doc.get(path)
        if found is None:
            doc[path] = [entry]
        else:
            found.append(entry)
    for parent, elems in elements.items():
        doc[parent] = [[elem] for elem in sorted(elems)]
    return orjson.dumps(doc).decode()


def _parent_path(path: str) -> str | None:
    """ "emails" for "emails.value", "urn:...:user:x" for "urn:...:user:x.y"; None for a
    path that is not a sub-attribute (URNs hold dots too: only the name after the last
    colon is split)."""
    head, colon, name = path.rpartition(":")
    parent, dot, _sub = name.partition(".")
    if not dot:
        return None
    return f"{head}{colon}{parent}"
