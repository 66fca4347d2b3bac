"""The PATCH engine (RFC 7644 section 3.5.2): add, replace, remove, and the IdP dialects.

Pure: `apply_patch` takes the stored form and returns the new stored form; Group
membership comes back as row operations (`MemberChanges`), never a rewritten list, so a
membership PATCH costs the same whatever the group's size (issue 2, point 9).

Decisions, with the RFC text they read:

- Operation names are case-insensitive ("Add", "Replace", "Remove" from Entra); any
  other op is 400 invalidSyntax (SCIM has no JSON Patch "move", section 3.5.2).
- Path-less add/replace take an object whose keys may be attribute names, dotted
  sub-attribute paths ("name.givenName", Entra), URN-qualified attribute paths or
  extension URNs with an object (section 3.5.2.1). readOnly keys in such an object are
  ignored, as on POST (section 3.3): Okta repeats the Group `id` in every rename. When
  the caller passes the resource's id, an `id` key with a different value is 400
  mutability: "a client MUST NOT modify an attribute that has mutability readOnly"
  and an incompatible operation "SHALL return" an error (section 3.5.2); the same id is
  no modification. An explicit path to a readOnly attribute is 400 mutability.
- A complex singular attribute (`name`, `manager`, an extension object) is merged: "Sub-
  attributes that are not specified in the value parameter are left unchanged"
  (3.5.2.3). A multi-valued attribute: add appends values not already present (3.5.2.1),
  replace without filter replaces the whole list (3.5.2.3).
- A value filter that matches nothing: replace is 400 noTarget (3.5.2.3); remove is a
  no-op; add creates the value from the filter's `eq` conditions plus the sent value,
  because Entra sends `add emails[type eq "work"].value` for a first work address and
  "if the target location does not exist, the attribute and value are added" (3.5.2.1).
  A filter that is not a conjunction of `eq` comparisons cannot seed a value: noTarget.
- `remove` with a `value` removes only those values (Entra's members removal), never
  all; without a value and without a filter it removes the whole attribute (3.5.2.2).
  Removing a required, readOnly or immutable attribute is 400 mutability; remove
  without a path is 400 noTarget (3.5.2.2).
- `replace` with a null value clears, like `remove`; `add` with null changes nothing
  (RFC 7643 section 2.5: null is "unassigned").
- Setting primary=true on one value sets primary=false on the others (section 3.5.2);
  an added value with the (type, value) of an existing one updates it (RFC 7643 2.4).
- An unqualified name that only an extension defines (`manager`) resolves to it: Entra's
  legacy `add manager [{...}]` and `remove manager[value eq "..."]`; a one-element list
  for a singular attribute is read as its element.
- `PatchOutcome.changed` is False when the document is unchanged and no membership
  operation was asked for (an add of a value already present, RFC 7644 3.5.2.1).
- The new extension URN is added to `schemas` when a PATCH stores extension data and
  removed when it removes all of it (section 3.5.2, implicit schema change).
- A password the PATCH sets is stored hashed, like on POST and PUT (`seal_password`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import orjson

from reference_server.scim.errors import (
    InvalidFilter,
    InvalidPath,
    InvalidSyntax,
    InvalidValue,
    Mutability,
    NoTarget,
)
from reference_server.scim.filter import (
    And,
    AttrPath,
    Compare,
    Filter,
    Or,
    PatchPath,
    match_element,
    parse_path,
)
from reference_server.scim.filter.semantics import check_tree
from reference_server.scim.resources import (
    coerce_element,
    coerce_value,
    dedupe,
    pair_key,
    seal_password,
)
from reference_server.scim.schemas import CORE_GROUP, AttributeDef, ResolvedPath, SchemaRegistry

__all__ = ["PATCH_OP", "MemberChanges", "PatchOutcome", "apply_patch"]

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
MAX_OPERATIONS = 1000


@dataclass
class MemberChanges:
    """Group membership as row operations, never a list rewrite.

    The repository applies them in this order: if `replace` is not None, delete every
    member and insert `replace` (the other fields are then empty); otherwise delete all
    members when `remove_all`, delete `remove_ids`, delete the members `remove_filter`
    matches (a filter on `members` sub-attributes), then insert `add`, ignoring members
    already present. The bookkeeping below keeps that order equal to the operations'.
    """

    add: list[dict[str, Any]] = field(default_factory=list)
    remove_ids: set[str] = field(default_factory=set)
    remove_filter: Filter | None = None
    remove_all: bool = False
    replace: list[dict[str, Any]] | None = None

    def is_empty(self) -> bool:
        """True when the PATCH asked for no membership change at all."""
        return (
            not self.add
            and not self.remove_ids
            and self.remove_filter is None
            and not self.remove_all
            and self.replace is None
        )


@dataclass
class PatchOutcome:
    """The new stored form (Group without members), membership changes, and whether the
    resource changed (so an add of a value already present keeps meta, RFC 3.5.2.1)."""

    resource: dict[str, Any]
    members: MemberChanges | None
    changed: bool


def _clone(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clone(v) for v in value]
    return value


def _get(obj: dict[str, Any], name: str) -> tuple[bool, Any]:
    """Case-insensitive key lookup in a request object: (present, value)."""
    if name in obj:
        return True, obj[name]
    low = name.lower()
    for key, value in obj.items():
        if key.lower() == low:
            return True, value
    return False, None


def _operations(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, dict):
        raise InvalidSyntax("The PATCH body must be a JSON object (a PatchOp message).")
    _, schemas = _get(body, "schemas")
    if isinstance(schemas, str):
        schemas = [schemas]
    if not isinstance(schemas, list) or PATCH_OP.lower() not in {
        s.lower() for s in schemas if isinstance(s, str)
    }:
        raise InvalidSyntax(f"The PATCH body's 'schemas' must contain '{PATCH_OP}'.")
    _, operations = _get(body, "Operations")
    if not isinstance(operations, list) or not operations:
        raise InvalidSyntax("The PATCH body needs 'Operations': a non-empty list.")
    if len(operations) > MAX_OPERATIONS:
        raise InvalidSyntax(f"At most {MAX_OPERATIONS} operations per PATCH request.")
    for i, operation in enumerate(operations):
        if not isinstance(operation, dict):
            raise InvalidSyntax(f"Operations[{i}] must be a JSON object.")
    return operations


def apply_patch(
    reg: SchemaRegistry,
    resource_type: str,
    current: dict[str, Any],
    body: Any,
    resource_id: str | None = None,
) -> PatchOutcome:
    """Apply a PatchOp message to the stored form `current` (left untouched): atomic, as
    every error is raised before the caller writes anything (RFC 7644 section 3.5.2). A
    `body` that is not a PatchOp object is refused (400), whatever the caller passed.

    `resource_id` (the stored form has none) lets a path-less value's `id` be checked
    against it; without it such an `id` is ignored whatever its value.
    """
    operations = _operations(body)
    engine = _Engine(reg, resource_type, current, resource_id)
    for i, operation in enumerate(operations):
        engine.apply(i, operation)
    return engine.outcome()


@functools.lru_cache(maxsize=64)
def _outcome_plan(
    reg: SchemaRegistry, resource_type: str
) -> tuple[tuple[AttributeDef, ...], tuple[AttributeDef, ...]]:
    """(multi-valued core attributes, required writable ones but `members`): once per type."""
    attrs = reg.core_attributes(resource_type).values()
    multi = tuple(a for a in attrs if a.multi_valued)
    required = tuple(
        a for a in attrs if a.required and a.mutability != "readOnly" and a.name != "members"
    )
    return multi, required


class _Engine:
    def __init__(
        self,
        reg: SchemaRegistry,
        resource_type: str,
        current: dict[str, Any],
        resource_id: str | None = None,
    ) -> None:
        self.reg = reg
        self.resource_id = resource_id
        self.resource_type = resource_type
        self.definition = reg.resource_type(resource_type)
        self.current = current
        # The stored form is plain JSON: orjson copies it several times faster than Python.
        self.doc: dict[str, Any] = orjson.loads(orjson.dumps(current))
        self.group = self.definition.schema == CORE_GROUP
        self.members = MemberChanges() if self.group else None
        self.where = ""

    # --- entry ---------------------------------------------------------------------------

    def apply(self, i: int, operation: dict[str, Any]) -> None:
        _, name = _get(operation, "op")
        if not isinstance(name, str) or name.lower() not in ("add", "replace", "remove"):
            raise InvalidSyntax(
                f"Operations[{i}].op is {name!r}: it must be 'add', 'replace' or 'remove' "
                "(RFC 7644 3.5.2)."
            )
        op = name.lower()
        self.where = f"Operations[{i}]"
        _, path = _get(operation, "path")
        has_value, value = _get(operation, "value")
        if path is not None and not isinstance(path, str):
            raise InvalidPath(f"{self.where}.path must be a string.")
        if path is None or not path.strip():
            if op == "remove":
                raise NoTarget(f"{self.where}: 'remove' needs a 'path' (RFC 7644 3.5.2.2).")
            if not isinstance(value, dict):
                raise InvalidValue(
                    f"{self.where}: '{op}' without a path needs a 'value' object of "
                    "attributes (RFC 7644 3.5.2.1)."
                )
            for key, item in value.items():
                self.pathless(op, key, item)
            return
        if op != "remove" and not has_value:
            raise InvalidSyntax(f"{self.where}: '{op}' needs a 'value'.")
        self.at(op, parse_path(path), value, has_value)

    def outcome(self) -> PatchOutcome:
        doc = self.doc
        schemas = doc.get("schemas")
        if not isinstance(schemas, list):
            schemas = [self.definition.schema]
        schemas = list(schemas)
        for urn, _required in self.definition.extensions:
            data = doc.get(urn)
            if isinstance(data, dict) and not data:
                del doc[urn]
                data = None
            if data and urn not in schemas:
                schemas.append(urn)
            elif not data and self.current.get(urn) and urn in schemas:
                schemas.remove(urn)
        if schemas != doc.get("schemas"):
            doc["schemas"] = schemas
        multi_valued, required = _outcome_plan(self.reg, self.resource_type)
        for attr in multi_valued:
            values = doc.get(attr.name)
            if isinstance(values, list) and values != self.current.get(attr.name):
                # RFC 7643 2.4: each (type, value) once, at most one primary
                kept = dedupe(attr, values)
                _one_primary(kept, [])
                doc[attr.name] = kept
        for attr in required:
            value = doc.get(attr.name)
            if value is None or (isinstance(value, str) and not value.strip()):
                raise InvalidValue(f"Attribute '{attr.name}' is required and cannot be empty.")
        seal_password(doc, self.current)
        members = self.members
        changed = doc != self.current or (members is not None and not members.is_empty())
        return PatchOutcome(doc, members, changed)

    # --- path-less values ----------------------------------------------------------------

    def pathless(self, op: str, key: str, value: Any) -> None:
        if key.lower() == "schemas":
            return  # the server keeps `schemas` in step with the data (see outcome)
        urn, rest = self.reg.split_urn(self.resource_type, key)
        if urn is not None and not rest:
            self.whole_schema(op, urn, value)
            return
        resolved = self._resolve(key)
        if resolved is None:
            raise InvalidValue(
                f"{self.where}: '{key}' is not an attribute of {self.definition.name}."
            )
        if resolved.leaf.mutability == "readOnly" or resolved.attribute.mutability == "readOnly":
            rid = self.resource_id
            if resolved.attribute.name == "id" and rid is not None and value != rid:
                raise Mutability(
                    f"{self.where}: 'id' is readOnly; the value {value!r} is not this "
                    f"resource's id {rid!r} (RFC 7644 3.5.2)."
                )
            return  # ignored as on POST (Okta repeats "id" in a Group rename)
        self.at(op, PatchPath(AttrPath(key)), value, True)

    def _resolve(self, text: str) -> ResolvedPath | None:
        """Resolve a path; an unqualified name that only an extension defines resolves to
        it (Entra's legacy `manager` path and `manager[value eq "..."]` removal)."""
        resolved = self.reg.resolve(self.resource_type, text)
        if resolved is not None or text[:4].lower() == "urn:":
            return resolved
        found = [
            r
            for urn in self.reg.extension_urns(self.resource_type)
            if (r := self.reg.resolve(self.resource_type, f"{urn}:{text}")) is not None
        ]
        return found[0] if len(found) == 1 else None

    def whole_schema(self, op: str, urn: str, value: Any) -> None:
        """A value (or path) naming a whole schema: the core one or an extension object."""
        if op == "remove":
            if urn == self.definition.schema:
                raise Mutability(f"{self.where}: the core schema cannot be removed.")
            self.doc.pop(urn, None)
            return
        if value is None:
            if urn != self.definition.schema and op == "replace":
                self.doc.pop(urn, None)
            return
        if not isinstance(value, dict):
            raise InvalidValue(f"{self.where}: the value for '{urn}' must be an object.")
        for key, item in value.items():
            self.pathless(op, f"{urn}:{key}", item)

    # --- operations with a path ----------------------------------------------------------

    def at(self, op: str, path: PatchPath, value: Any, has_value: bool) -> None:
        text = path.path.text
        urn, rest = self.reg.split_urn(self.resource_type, text)
        if urn is not None and not rest:
            if path.filter is not None:
                raise InvalidPath(f"{self.where}: '{text}' names a schema, not an attribute.")
            self.whole_schema(op, urn, value)
            return
        resolved = self._resolve(text)
        if resolved is None:
            raise InvalidPath(
                f"{self.where}: '{text}' is not an attribute of {self.definition.name}."
            )
        attr = resolved.attribute
        if path.filter is not None and resolved.sub_attribute is not None:
            raise InvalidPath(f"{self.where}: a value filter must follow '{attr.name}'.")
        if path.filter is not None and attr.type != "complex":
            raise InvalidPath(f"{self.where}: '{attr.name}' is not complex: no value filter.")
        sub = resolved.sub_attribute
        if path.sub is not None:
            sub = attr.sub(path.sub)
            if sub is None:
                raise InvalidPath(f"{self.where}: '{attr.name}' has no sub-attribute '{path.sub}'.")
        if self.group and attr.name == "members" and resolved.schema_urn == CORE_GROUP:
            self.member_op(op, path, sub, value, has_value)
            return
        leaf = sub if sub is not None else attr
        if attr.mutability == "readOnly" or leaf.mutability == "readOnly":
            raise Mutability(f"{self.where}: '{text}' is readOnly and cannot be modified.")
        container = self.container(resolved, create=op != "remove")
        if container is None:
            return  # remove under an absent extension: nothing to do
        if path.filter is not None:
            self.filtered(op, resolved, container, path.filter, sub, value)
        elif sub is not None:
            self.sub_op(op, resolved, container, sub, value)
        else:
            self.whole(op, resolved, container, value, has_value)

    def container(self, resolved: ResolvedPath, create: bool) -> dict[str, Any] | None:
        if resolved.schema_urn == self.definition.schema:
            return self.doc
        ext = self.doc.get(resolved.schema_urn)
        if not isinstance(ext, dict):
            if not create:
                return None
            ext = {}
            self.doc[resolved.schema_urn] = ext
        return ext

    def _where(self, resolved: ResolvedPath, sub: AttributeDef | None = None) -> tuple[str, str]:
        """(name for error messages, index path for coercion) of an attribute."""
        attr = resolved.attribute
        prefix = "" if resolved.schema_urn == self.definition.schema else resolved.schema_urn + ":"
        index = ("" if not prefix else prefix.lower()) + attr.name.lower()
        name = prefix + attr.name
        if sub is not None:
            return f"{name}.{sub.name}", f"{index}.{sub.name.lower()}"
        return name, index

    def _check_immutable(self, attr: AttributeDef, old: Any, new: Any, name: str) -> None:
        if attr.mutability == "immutable" and old is not None and old != new:
            raise Mutability(f"{self.where}: '{name}' is immutable and already has a value.")

    def whole(
        self,
        op: str,
        resolved: ResolvedPath,
        container: dict[str, Any],
        value: Any,
        has_value: bool,
    ) -> None:
        attr = resolved.attribute
        name, index = self._where(resolved)
        old = container.get(attr.name)
        if op == "remove" and has_value and value is not None and attr.multi_valued:
            self.remove_values(attr, container, value, name, index)
            return
        if not attr.multi_valued and isinstance(value, list) and len(value) == 1:
            value = value[0]  # Entra's legacy `add manager [{"value": ...}]`
        new = None if op == "remove" else coerce_value(attr, value, name, index)
        if new is None:
            if attr.required:
                raise Mutability(f"{self.where}: '{name}' is required and cannot be removed.")
            if attr.mutability == "immutable" and old is not None:
                raise Mutability(f"{self.where}: '{name}' is immutable and cannot be removed.")
            if op != "add":  # add with null changes nothing
                container.pop(attr.name, None)
            return
        if attr.multi_valued:
            if op == "replace" or not isinstance(old, list):
                self._check_immutable(attr, old, new, name)
                container[attr.name] = new
                return
            touched = []
            for element in new:
                if element in old:
                    continue  # already there: no change (RFC 7644 3.5.2.1)
                key = pair_key(attr, element)
                twin = next((e for e in old if key is not None and pair_key(attr, e) == key), None)
                if twin is not None:  # same (type, value): update it (RFC 7643 2.4)
                    twin.update(element)
                    touched.append(twin)
                else:
                    old.append(element)
                    touched.append(element)
            _one_primary(old, touched)
            return
        if attr.type == "complex" and isinstance(old, dict):
            merged = {**old, **new}
            for sub in attr.sub_attributes:
                if sub.name in old:
                    self._check_immutable(
                        sub, old[sub.name], merged[sub.name], f"{name}.{sub.name}"
                    )
            container[attr.name] = merged
            return
        self._check_immutable(attr, old, new, name)
        container[attr.name] = new

    def remove_values(
        self, attr: AttributeDef, container: dict[str, Any], value: Any, name: str, index: str
    ) -> None:
        """remove with a value: only the values sent go (Entra), never the whole list."""
        old = container.get(attr.name)
        if not isinstance(old, list):
            return
        items = value if isinstance(value, list) else [value]
        gone = []
        for item in items:
            element = coerce_element(attr, item, name, index)
            if element is None:
                continue
            gone.append(element)
        keep = [e for e in old if not any(_same_value(e, g) for g in gone)]
        if keep:
            container[attr.name] = keep
        else:
            if attr.required:
                raise Mutability(f"{self.where}: '{name}' is required and cannot be emptied.")
            container.pop(attr.name, None)

    def sub_op(
        self,
        op: str,
        resolved: ResolvedPath,
        container: dict[str, Any],
        sub: AttributeDef,
        value: Any,
    ) -> None:
        """`name.givenName`, or `emails.type` on every element of a multi-valued attribute."""
        attr = resolved.attribute
        name, index = self._where(resolved, sub)
        new = None if op == "remove" else coerce_value(sub, value, name, index)
        if new is None and sub.required:
            raise Mutability(f"{self.where}: '{name}' is required and cannot be removed.")
        old = container.get(attr.name)
        if attr.multi_valued:
            elements = old if isinstance(old, list) else []
            if not elements and new is not None:
                container[attr.name] = [{sub.name: new}]
                return
            for element in elements:
                self._set_sub(element, sub, new, name)
            self._tidy(attr, container)
            if sub.name == "primary" and new is True:
                _one_primary(elements, elements[-1:])
            return
        if not isinstance(old, dict):
            if new is None:
                return
            old = {}
            container[attr.name] = old
        self._set_sub(old, sub, new, name)
        self._tidy(attr, container)

    def _set_sub(self, element: dict[str, Any], sub: AttributeDef, new: Any, name: str) -> None:
        if sub.name in element:
            self._check_immutable(sub, element[sub.name], new, name)
        if new is None:
            element.pop(sub.name, None)
        else:
            element[sub.name] = new

    @staticmethod
    def _tidy(attr: AttributeDef, container: dict[str, Any]) -> None:
        """Drop emptied elements and an emptied attribute (RFC 7643 section 2.5)."""
        value = container.get(attr.name)
        if isinstance(value, list):
            value[:] = [e for e in value if e not in ({}, None)]
            if not value:
                del container[attr.name]
        elif value == {}:
            del container[attr.name]

    def filtered(
        self,
        op: str,
        resolved: ResolvedPath,
        container: dict[str, Any],
        f: Filter,
        sub: AttributeDef | None,
        value: Any,
    ) -> None:
        """`emails[type eq "work"]` or `emails[type eq "work"].value`."""
        attr = resolved.attribute
        name, index = self._where(resolved, sub)
        parent_text = self._where(resolved)[0]
        try:
            check_tree(self.reg, self.resource_type, f, parent_text)
        except InvalidFilter as exc:
            raise InvalidPath(f"{self.where}: {exc.detail}") from None
        old = container.get(attr.name)
        elements: list[dict[str, Any]]
        if attr.multi_valued:
            elements = [e for e in old if isinstance(e, dict)] if isinstance(old, list) else []
        else:
            elements = [old] if isinstance(old, dict) else []
        hits = [
            e for e in elements if match_element(self.reg, self.resource_type, parent_text, f, e)
        ]
        if op == "remove":
            if sub is not None:
                if sub.required:
                    raise Mutability(f"{self.where}: '{name}' is required and cannot be removed.")
                for element in hits:
                    self._set_sub(element, sub, None, name)
            elif attr.multi_valued:
                container[attr.name] = [e for e in elements if not any(e is h for h in hits)]
            elif hits:
                container.pop(attr.name, None)
            self._tidy(attr, container)
            return
        if sub is not None:
            new = coerce_value(sub, value, name, index)
            if new is None and sub.required:
                raise Mutability(f"{self.where}: '{name}' is required and cannot be removed.")
        else:
            item = value[0] if isinstance(value, list) and len(value) == 1 else value
            new = coerce_element(attr, item, name, index)
        if not hits:
            if op == "replace":
                raise NoTarget(
                    f"{self.where}: the filter in '{name}' matches no value (RFC 7644 3.5.2.3)."
                )
            if new is None:
                return
            seed = _seed(f)
            if seed is None:
                raise NoTarget(
                    f"{self.where}: the filter in '{name}' matches no value, and a value can "
                    "only be created from a filter of 'eq' comparisons joined by 'and'."
                )
            if sub is not None:
                seed[sub.name] = new
            else:
                seed.update(new)
            element = coerce_element(attr, seed, name, self._where(resolved)[1])
            if element is None:
                return
            if attr.multi_valued:
                container[attr.name] = [*elements, element]
                _one_primary(container[attr.name], [element])
            else:
                container[attr.name] = element
            return
        for element in hits:
            if sub is not None:
                self._set_sub(element, sub, new, name)
            elif new is None:
                element.clear()
            elif op == "replace":
                element.clear()
                element.update(_clone(new))
            else:
                element.update(_clone(new))
        self._tidy(attr, container)
        if attr.multi_valued and isinstance(container.get(attr.name), list):
            _one_primary(container[attr.name], hits)

    # --- Group members -------------------------------------------------------------------

    def member_op(
        self, op: str, path: PatchPath, sub: AttributeDef | None, value: Any, has_value: bool
    ) -> None:
        changes = self.members
        assert changes is not None
        if sub is not None or (path.filter is not None and op != "remove"):
            raise Mutability(
                f"{self.where}: the sub-attributes of 'members' are immutable (RFC 7643 4.2); "
                "add or remove members instead."
            )
        if op == "remove":
            if path.filter is not None:
                ids = _member_ids(path.filter)
                if ids is not None:
                    self.members_remove_ids(ids)
                else:
                    try:
                        check_tree(self.reg, self.resource_type, path.filter, "members")
                    except InvalidFilter as exc:
                        raise InvalidPath(f"{self.where}: {exc.detail}") from None
                    self.members_remove_filter(path.filter)
                return
            if has_value and value is not None:
                items = value if isinstance(value, list) else [value]
                ids = set()
                for i, item in enumerate(items):
                    member = item.get("value") if isinstance(item, dict) else item
                    if not isinstance(member, str) or not member:
                        raise InvalidValue(
                            f"{self.where}.value[{i}]: a member to remove needs its 'value' (id)."
                        )
                    ids.add(member)
                self.members_remove_ids(ids)
                return
            if changes.replace is not None:
                changes.replace = []
            else:
                changes.add.clear()
                changes.remove_ids.clear()
                changes.remove_filter = None
                changes.remove_all = True
            return
        entries = self._member_entries(value)
        if op == "replace":
            changes.replace = entries
            changes.add = []
            changes.remove_ids = set()
            changes.remove_filter = None
            changes.remove_all = False
            return
        target = changes.replace if changes.replace is not None else changes.add
        known = {m["value"] for m in target}
        for entry in entries:
            if entry["value"] not in known:
                target.append(entry)
                known.add(entry["value"])

    def _member_entries(self, value: Any) -> list[dict[str, Any]]:
        members = self.reg.core_attributes(self.resource_type)["members"]
        items = [] if value is None else value if isinstance(value, list) else [value]
        out: list[dict[str, Any]] = []
        seen: set[str] = set()
        for i, item in enumerate(items):
            if isinstance(item, str):
                item = {"value": item}  # a plain id (seen from IdPs and Postman collections)
            element = coerce_element(members, item, f"members[{i}]", "members")
            member = element.get("value") if isinstance(element, dict) else None
            if not isinstance(member, str) or not member:
                raise InvalidValue(
                    f"{self.where}: members[{i}].value (the member's id) is required."
                )
            if member not in seen:
                seen.add(member)
                out.append({"value": member, "type": element.get("type")})
        return out

    def members_remove_ids(self, ids: set[str]) -> None:
        changes = self.members
        assert changes is not None
        if changes.replace is not None:
            changes.replace = [m for m in changes.replace if m["value"] not in ids]
            return
        changes.add = [m for m in changes.add if m["value"] not in ids]
        changes.remove_ids |= ids

    def members_remove_filter(self, f: Filter) -> None:
        changes = self.members
        assert changes is not None

        def hit(member: dict[str, Any]) -> bool:
            return match_element(self.reg, self.resource_type, "members", f, member)

        if changes.replace is not None:
            changes.replace = [m for m in changes.replace if not hit(m)]
            return
        changes.add = [m for m in changes.add if not hit(m)]
        changes.remove_filter = f if changes.remove_filter is None else Or(changes.remove_filter, f)


def _same_value(element: Any, gone: Any) -> bool:
    """Whether `element` is one of the values a remove-with-value names."""
    if isinstance(element, dict) and isinstance(gone, dict):
        if "value" in gone:
            return bool(element.get("value") == gone["value"])
        return all(element.get(k) == v for k, v in gone.items())
    return bool(element == gone)


def _one_primary(values: list[Any], touched: list[Any]) -> None:
    """At most one primary=true (RFC 7643 2.4): the value just set wins (RFC 7644 3.5.2)."""
    primaries = [v for v in values if isinstance(v, dict) and v.get("primary") is True]
    if len(primaries) < 2:
        return
    winners = [v for v in touched if isinstance(v, dict) and v.get("primary") is True]
    winner = winners[-1] if winners else primaries[-1]
    for value in primaries:
        if value is not winner:
            value["primary"] = False


def _seed(f: Filter) -> dict[str, Any] | None:
    """The element a conjunction of `eq` comparisons describes, or None."""
    if isinstance(f, Compare) and f.op == "eq" and f.value is not None and "." not in f.path.text:
        return {f.path.text: f.value}
    if isinstance(f, And):
        left, right = _seed(f.left), _seed(f.right)
        if left is None or right is None:
            return None
        return {**left, **right}
    return None


def _member_ids(f: Filter) -> set[str] | None:
    """`value eq "id"` (or several joined by `or`) as a set of ids; None for other filters."""
    if isinstance(f, Compare) and f.op == "eq" and f.path.text.lower() == "value":
        return {f.value} if isinstance(f.value, str) else None
    if isinstance(f, Or):
        left, right = _member_ids(f.left), _member_ids(f.right)
        if left is None or right is None:
            return None
        return left | right
    return None
