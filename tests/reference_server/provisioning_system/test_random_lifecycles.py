"""Random SCIM and admin traffic under every preset: never a 500, and the seat counters
always equal the rows (a state-machine walk with a fixed seed, so a failure replays)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from provisioning_helpers import Env, MakeEnv
from test_scim_policies import _counted

from reference_server.provisioning.policy import SCHEMA_PATH, load_policy_file

PRESETS = sorted(SCHEMA_PATH.parent.glob("*.toml"))
STEPS = 120


def _step(env: Env, rng: random.Random, users: list[dict[str, Any]], groups: list[str]) -> int:
    """One random action; returns its HTTP status."""
    action = rng.choice(
        [
            "create",
            "create",
            "create",
            "active",
            "delete",
            "group",
            "group_delete",
            "login",
            "fault",
            "role",
            "password",
        ]
    )
    if action == "create" or not users:
        domain = rng.choice(["example.com", "example.com", "example.org"])
        response = env.post_user(env.email(domain=domain))
        if (
            response.status_code == 201
            and env.scim.get(f"/Users/{response.json()['id']}").status_code == 200
        ):
            users.append(response.json())
        return response.status_code
    user = rng.choice(users)
    if action == "active":
        return env.set_active(user["id"], rng.random() < 0.5).status_code
    if action == "delete":
        users.remove(user)
        return env.scim.delete(f"/Users/{user['id']}").status_code
    if action == "group":
        members = rng.sample(users, min(len(users), 2))
        response = env.group(f"g{rng.random()}", [u["id"] for u in members])
        if response.status_code == 201:
            groups.append(response.json()["id"])
        return response.status_code
    if action == "group_delete" and groups:
        return env.scim.delete(f"/Groups/{groups.pop()}").status_code
    if action == "fault":
        return env.admin("POST", env.org_path("/faults"), {"transient_failures": 1}).status_code
    if action == "role":
        member = env.member(user["userName"])
        if member is None:
            return 200
        role = rng.choice(["member", "it_admin", "org_admin"])
        path = env.org_path(f"/members/{member['account_id']}")
        return env.admin("PATCH", path, {"role": role}).status_code
    method = "password" if action == "password" else "sso"
    return env.login(user["userName"], method).status_code


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.stem)
def test_random_walk_never_500_and_counters_hold(make_env: MakeEnv, preset: Path) -> None:
    env = make_env(load_policy_file(preset))
    rng = random.Random(preset.stem)
    users: list[dict[str, Any]] = []
    groups: list[str] = []
    for _ in range(STEPS):
        status = _step(env, rng, users, groups)
        assert status < 500 or status == 503, status
        seats = env.seats()
        assert (seats["used"], seats["pending"]) == _counted(env, env.org)
        if seats["cap"] is not None:
            assert seats["used"] + seats["pending"] <= seats["cap"]
