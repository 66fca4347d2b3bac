"""The policy file loader, the promise registry and the embedded server's admin lines."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from harness.checks import shipped_checks
from harness.endpoint import EmbeddedServer
from harness.policy.loader import (
    PolicyFileError,
    load_policy,
    policy_defaults,
    preset_names,
    resolve_policy_path,
)
from harness.policy.promises import PROMISES

ENV = {"ADMIN_TOKEN": "admin-secret-0123456789"}
ADMIN = '[admin]\nurl = "http://127.0.0.1:8000/admin/v1"\ntoken_env = "ADMIN_TOKEN"\n'


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_full_file_loads_with_its_admin_section(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[policy]\naccounts = "jit"\nseat_cap = 3\nregistered_domains = ["example.com"]\n'
        + ADMIN
        + 'organization = "org-1"\n',
    )
    loaded = load_policy(path, environ=ENV)
    assert loaded.get("accounts") == "jit"
    assert loaded.get("seat_cap") == 3
    assert loaded.admin is not None
    assert (loaded.admin.url, loaded.admin.organization) == (
        "http://127.0.0.1:8000/admin/v1",
        "org-1",
    )
    assert loaded.admin.token == ENV["ADMIN_TOKEN"]
    assert ENV["ADMIN_TOKEN"] not in repr(loaded.admin)


def test_absent_keys_take_the_schema_default(tmp_path: Path) -> None:
    loaded = load_policy(write(tmp_path, "[policy]\n"), environ=ENV)
    defaults = policy_defaults()
    assert loaded.get("accounts") == defaults["accounts"]
    assert loaded.declares("seat_cap") is (defaults.get("seat_cap") is not None)
    assert loaded.admin is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[policy]\naccounts = "lazy"\n', "[policy].accounts: 'lazy' is not one of"),
        ("[policy]\nseat_cap = -1\n", "[policy].seat_cap"),
        ("[policy]\nfavourite_colour = 1\n", "favourite_colour"),
        ('[admin]\nurl = "http://x"\n', "no [policy] table"),
        ("[policy]\n[other]\n", "unknown table(s) or key(s) other"),
        ("[policy\n", "not valid TOML"),
        ("[policy]\n" + ADMIN, "[admin] needs organization"),
        ("[policy]\n" + ADMIN + 'organization = "o"\nextra = 1\n', "unknown key(s) extra"),
        (
            '[policy]\n[admin]\nurl = "ftp://h/a"\ntoken_env = "ADMIN_TOKEN"\norganization = "o"\n',
            "must be an http(s) URL",
        ),
        (
            '[policy]\n[admin]\nurl = "http://h/a"\ntoken_env = "abc-def 1"\norganization = "o"\n',
            "must name an environment variable",
        ),
        (
            '[policy]\n[admin]\nurl = "http://h/a"\ntoken_env = "UNSET_VAR"\norganization = "o"\n',
            "names UNSET_VAR, which is not set",
        ),
    ],
)
def test_a_bad_file_says_where(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(PolicyFileError) as caught:
        load_policy(path, environ=ENV)
    assert str(path) in str(caught.value)
    assert message in str(caught.value)


def test_a_token_in_token_env_is_not_echoed(tmp_path: Path) -> None:
    secret = "s3cr3t-token-value-do-not-print"
    text = f'[policy]\n[admin]\nurl = "http://h/a"\ntoken_env = "{secret}"\norganization = "o"\n'
    with pytest.raises(PolicyFileError) as caught:
        load_policy(write(tmp_path, text), environ=ENV)
    assert secret not in str(caught.value)


def test_the_embedded_server_ignores_a_files_admin_section(tmp_path: Path) -> None:
    text = '[policy]\n[admin]\nurl = "http://h/a"\ntoken_env = "UNSET"\norganization = "o"\n'
    assert load_policy(write(tmp_path, text), environ={}, read_admin=False).admin is None


def test_missing_file_and_unknown_preset(tmp_path: Path) -> None:
    with pytest.raises(PolicyFileError, match="no such file"):
        load_policy(tmp_path / "absent.toml")
    with pytest.raises(PolicyFileError, match="not a preset name"):
        resolve_policy_path("no-such-preset", tmp_path)
    assert resolve_policy_path("x.toml", tmp_path) == tmp_path / "x.toml"


def test_presets_resolve_by_name_and_load() -> None:
    for name in preset_names():
        path = resolve_policy_path(name, Path("/nonexistent"))
        assert path.name == f"{name}.toml"
        assert load_policy(path, environ={}).admin is None


def test_embedded_server_reads_admin_lines(tmp_path: Path) -> None:
    script = (
        "import sys, time; print('argv', ' '.join(sys.argv[1:])); "
        "print('ADMIN URL: http://127.0.0.1:9/admin/v1'); print('ORGANIZATION: org-7'); "
        "print('READY http://127.0.0.1:9/scim/v2', flush=True); time.sleep(60)"
    )
    policy = write(tmp_path, "[policy]\n")
    server = EmbeddedServer(f'{{python}} -c "{script}"', policy=policy)
    try:
        target = server.start()
    finally:
        server.stop()
    assert (target.admin_url, target.organization) == ("http://127.0.0.1:9/admin/v1", "org-7")
    assert target.admin_token
    assert target.admin_token == server.admin_token
    assert target.admin_token not in repr(target)
    assert any(f"--policy {policy}" in line for line in server.output)


def test_embedded_server_without_admin_lines_is_a_harness_error(tmp_path: Path) -> None:
    from harness.verdicts import HarnessError

    script = "print('READY http://127.0.0.1:9/scim/v2', flush=True)"
    server = EmbeddedServer(f'{{python}} -c "{script}"', policy=write(tmp_path, "[policy]\n"))
    with pytest.raises(HarnessError, match="printed no 'ADMIN URL:'") as caught:
        server.start()
    assert str(server.admin_token) not in str(caught.value)
    assert sys.executable in str(caught.value)


def test_promises_are_the_contracts_table_one_check_each() -> None:
    """docs/ARCHITECTURE.md "Promises" lists the ids; test_policy.py has one check per id."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "ARCHITECTURE.md").read_text("utf-8")
    table = doc.split("### Promises", 1)[1].split("\n\n", 2)[1]
    assert tuple(re.findall(r"^\| `(\w+)` \|", table, re.MULTILINE)) == PROMISES
    checks = [i for i in shipped_checks() if i.area == "policy"]
    assert sorted(i.section.removeprefix("policy ") for i in checks) == sorted(PROMISES)
    for info in checks:
        promise_id = info.section.removeprefix("policy ")
        assert info.name.endswith(f"::test_policy_{promise_id}")
        assert info.doc.startswith('SPEC: "'), info.name
