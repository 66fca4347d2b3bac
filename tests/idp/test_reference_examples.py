"""The vendored IdP wire-format examples (reference_examples.json) are well-formed.

They come from the research notes on what each IdP's SCIM client sends; every example names
its source tags, resolved in reference_sources.json beside it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
KEYS = {"id", "idp", "source", "section", "method", "path", "body", "notes"}
METHODS = {"GET", "POST", "PATCH", "PUT", "DELETE"}
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def load(name: str) -> Any:
    return json.loads((HERE / name).read_text(encoding="utf-8"))


EXAMPLES: list[dict[str, Any]] = load("reference_examples.json")
SOURCES: dict[str, dict[str, str]] = load("reference_sources.json")


def test_ids_are_unique_kebab_case() -> None:
    """Ids are stable kebab-case names, each used once."""
    ids = [example["id"] for example in EXAMPLES]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", i) for i in ids), ids


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e["id"])
def test_example_shape(example: dict[str, Any]) -> None:
    """Every example has exactly the documented keys with sensible values."""
    assert set(example) == KEYS
    assert example["method"] in METHODS
    assert re.fullmatch(r"/(Users|Groups)(/.*|\?.*)?", example["path"]), example["path"]
    assert re.fullmatch(r"\d+(\.\d+)?", example["section"])
    assert example["idp"]
    assert isinstance(example["idp"], str)
    assert example["notes"].strip()
    assert "\n" not in example["notes"]
    if example["method"] in {"GET", "DELETE"}:
        assert example["body"] is None
    else:
        assert isinstance(example["body"], dict)
    if example["method"] == "PATCH":
        assert example["body"]["schemas"] == [PATCH_OP]
        assert isinstance(example["body"]["Operations"], list)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e["id"])
def test_sources_resolve(example: dict[str, Any]) -> None:
    """Each example's source tags appear in the vendored source key."""
    assert isinstance(example["source"], list)
    assert example["source"]
    missing = [tag for tag in example["source"] if tag not in SOURCES]
    assert not missing


def test_source_key_entries() -> None:
    """The source key says for each tag whether it is vendor documentation or observation."""
    assert len(SOURCES) >= 100
    for tag, entry in SOURCES.items():
        assert re.fullmatch(r"[A-Z0-9]+(-[A-Z0-9]+)*", tag)
        assert entry["kind"] in {"Doc", "Obs"}
        assert entry["reference"].strip()


def test_requested_shapes_are_present() -> None:
    """The shapes the harness relies on are all vendored."""
    ids = {example["id"] for example in EXAMPLES}
    required = {
        "entra-post-user",
        "entra-patch-deactivate-default-dialect",
        "entra-patch-deactivate-flag-dialect",
        "entra-patch-update-default-dialect",
        "entra-patch-update-flag-dialect-pathless-dotted-keys",
        "entra-post-group-microsoft-schema-urn",
        "entra-patch-group-add-members",
        "entra-patch-group-remove-members-value-list",
        "entra-patch-group-remove-member-filter-path",
        "entra-patch-roles-json-string-value",
        "entra-patch-multi-op-replace-and-add",
        "okta-post-user",
        "okta-patch-deactivate-pathless",
        "okta-post-group",
        "okta-patch-group-rename-with-id",
        "okta-patch-group-membership-remove-and-add",
        "okta-patch-group-replace-members",
        "onelogin-post-user-v2-enterprise-template",
    }
    assert required <= ids
    idps = {example["idp"] for example in EXAMPLES}
    assert {"entra", "okta", "onelogin", "jumpcloud", "google"} <= idps
