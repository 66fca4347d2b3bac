"""`--policy`, `--break`, `--allow-break` and the printed lines; the presets in
profiles/policies and their schema."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import httpx
import jsonschema
import pytest

from reference_server.provisioning.policy import BREAK_NAMES, SCHEMA_PATH, parse_policy

SERVER_DIR = Path(__file__).resolve().parents[3] / "reference_server"

PRESETS = sorted((SCHEMA_PATH.parent).glob("*.toml"))
ADMIN_SECRET = "cli-admin-secret"


def _cli(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "reference_server", "--host", "127.0.0.1", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ},
    )


def test_policy_flag_prints_admin_url_and_organization(tmp_path: Path) -> None:
    preset = SCHEMA_PATH.parent / "no-deactivation-admin-managed-teams.toml"
    proc = _cli(
        "--database-url",
        f"sqlite:///{tmp_path}/cli.db",
        "--admin-token",
        ADMIN_SECRET,
        "--policy",
        str(preset),
    )
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("READY "):
                break
        assert lines[-1].startswith("READY "), lines
        admin_url = next(x for x in lines if x.startswith("ADMIN URL: ")).split(": ", 1)[1]
        org = next(x for x in lines if x.startswith("ORGANIZATION: ")).split(": ", 1)[1]
        assert admin_url.startswith("http://127.0.0.1:")
        assert admin_url.endswith("/admin/v1")
        headers = {"Authorization": f"Bearer {ADMIN_SECRET}"}
        info = httpx.get(f"{admin_url}/organizations/{org}", headers=headers).json()
        assert info["policy"]["deactivation"] == "refused"
        assert info["domains"] == ["example.com"]
        assert info["directory"] == {"status": "active", "domains": ["example.com"]}
        assert info["sso"]["configured"] is True
        assert info["scim_enabled"] is True
        assert all(info["admin"].values())
        teams = httpx.get(f"{admin_url}/organizations/{org}/teams", headers=headers).json()
        assert [t["display_name"] for t in teams["items"]] == ["Everyone"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--break", "seat_cap"], "--break is test-only: add --allow-break"),
        (["--break", "no_such_promise", "--allow-break"], "invalid choice"),
    ],
)
def test_break_needs_allow_break_and_a_known_promise(args: list[str], message: str) -> None:
    proc = _cli(*args)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert message in err


def test_bad_policy_file_is_refused_at_start(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[policy]\naccounts = "lazy"\n', encoding="utf-8")
    proc = _cli("--policy", str(bad))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert "policy accounts" in err


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.stem)
def test_presets_are_valid_and_say_why(preset: Path) -> None:
    """Each preset: a `# why` line naming its seed, only [policy], valid against the
    schema, a small seat cap and example.com (the harness's test users)."""
    text = preset.read_text(encoding="utf-8")
    assert text.startswith("# why: seeds/")
    doc = tomllib.loads(text)
    assert set(doc) == {"policy"}
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.validate(doc["policy"], schema)
    policy = parse_policy(doc["policy"], allow_break=False)
    assert policy.registered_domains == ("example.com",)
    assert policy.seat_cap is not None
    assert policy.seat_cap <= 10


def test_presets_cover_the_contract_behaviours() -> None:
    names = {p.stem for p in PRESETS}
    assert {
        "jit-seats-at-first-login",
        "eager-keep-account-strict-domains",
        "erase-on-delete-lenient-domains",
        "no-deactivation-admin-managed-teams",
        "group-delete-removes-members",
    } <= names


def test_schema_defaults_are_the_servers_defaults() -> None:
    """Both sides read absent keys the same way: the schema's `default`s."""
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    defaults = {k: v["default"] for k, v in schema["properties"].items() if "default" in v}
    assert parse_policy({}, allow_break=False).to_json() == defaults


def test_every_promise_can_be_broken_and_the_server_consults_each_break() -> None:
    """Each `--break` name the schema lists is accepted and is checked somewhere in the
    server (`org.breaks("<promise>")`): no promise the proofs rely on is a dead name."""
    sources = "\n".join(p.read_text("utf-8") for p in SERVER_DIR.rglob("*.py"))
    consulted = set(re.findall(r'breaks\(\s*"([\w:]+)"', sources))
    for promise in BREAK_NAMES:
        assert parse_policy({"break": promise}, allow_break=True).broken == promise
    assert set(BREAK_NAMES) == consulted
