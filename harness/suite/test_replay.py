"""`--scim-replay FILE`: one check per exchange of a recorded traffic file, in order.

Each check replays its exchange (ids learned from earlier answers rewritten) and fails when
the answer differs from the recorded one in status, schema or content; a step that needs an
id its producing step failed to give is blocked. Without --scim-replay the module is not
collected at all (`harness.run.ScimRun.pytest_ignore_collect`).
The steps share one replay (learned ids), so they run in one process: under xdist workers
they error at once, sending nothing (xdist's loadgroup is ignored under pytest 9.2).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from harness.client import ScimClient
from harness.idp.replay import Difference, Replayer
from harness.idp.traffic import TrafficError, TrafficLine, load_traffic
from harness.run import RunState
from harness.settings import SETTINGS_KEY
from harness.verdicts import (
    Blocked,
    HarnessError,
    Keyword,
    SchemaViolation,
    ScimViolation,
    StatusMismatch,
    TransportFailure,
    ValueMismatch,
)

VIOLATION = {
    "status": StatusMismatch,
    "schema": SchemaViolation,
    "transport": TransportFailure,
}


@cache
def _traffic(path: Path) -> tuple[TrafficLine, ...]:
    try:
        return tuple(load_traffic(path))
    except TrafficError as exc:
        raise pytest.UsageError(f"--scim-replay: {exc}") from None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "recorded" not in metafunc.fixturenames:
        return
    path = metafunc.config.stash[SETTINGS_KEY].replay
    if path is None:  # not collected without --scim-replay (harness.run.ScimRun)
        return
    lines = _traffic(path)
    ids = [f"{line.seq}-{line.request.method}-{line.request.path}"[:100] for line in lines]
    metafunc.parametrize("recorded", lines, ids=ids)


@pytest.fixture(scope="session")
def replayer(scim_base: ScimClient, scim_state: RunState, pytestconfig: pytest.Config) -> Replayer:
    """The replay of the whole file, shared by its checks (steps run once, in order)."""
    if hasattr(pytestconfig, "workerinput"):
        raise HarnessError(
            "--scim-replay runs its steps in one process (they share the ids learned on the "
            "way): run it without -n"
        )
    path = scim_state.settings.replay
    assert path is not None
    return Replayer(scim_base, _traffic(path))


def _violation(differences: list[Difference]) -> type[ScimViolation]:
    kinds = [d.kind for d in differences]
    for kind in ("transport", "status", "schema"):
        if kind in kinds:
            return VIOLATION[kind]
    return ValueMismatch


def test_recorded_exchange(recorded: TrafficLine | None, replayer: Replayer) -> None:
    """Replay: the server answers a recorded exchange as it was answered when recorded."""
    assert recorded is not None
    result = replayer.result(recorded.seq)
    exchanges = [result.exchange] if result.exchange is not None else []
    if result.skipped:
        pytest.skip(result.skipped)
    if result.blocked:
        raise Blocked(result.blocked, exchanges=exchanges)
    if result.differences:
        diffs = result.differences
        first = diffs[0]
        raise _violation(diffs)(
            f"{recorded.label}: {len(diffs)} difference(s) from the recording: "
            + "; ".join(d.text() for d in diffs[:10]),
            keyword=Keyword.MUST,
            expected=first.expected,
            actual=first.actual,
            exchanges=exchanges,
        )
