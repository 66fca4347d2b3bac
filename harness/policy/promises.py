"""The promises of docs/ARCHITECTURE.md "Provisioning system" (its Promises table): one
policy check each, named `test_policy_<promise>`, also the reference server's `--break` names.

`@promise("seat_cap")` makes a test a policy check: area `policy`, the `policy(<id>)`
marker (so `-m policy` selects them all), and a registry entry like `@clause`, so the
check counts in the proof catalogue (tests/checks) and its id reaches the report.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from harness.checks import REGISTRY, ClauseInfo
from harness.policy.loader import promise_ids
from harness.verdicts import HarnessError, Keyword

__all__ = ["PROMISES", "SPEC_SECTION", "promise", "promise_of"]

F = TypeVar("F", bound=Callable[..., Any])

SPEC_SECTION = "The provisioning system"

# The schema's `break` enum is the one list of promises, shared with the reference server.
PROMISES: tuple[str, ...] = tuple(promise_ids())


def promise(promise_id: str) -> Callable[[F], F]:
    """Mark a test as the check of one promise (a MUST of the declared policy)."""
    if promise_id not in PROMISES:
        raise HarnessError(f"unknown promise {promise_id!r}; known: {', '.join(PROMISES)}")

    def decorate(fn: F) -> F:
        if promise_id not in fn.__name__:
            raise HarnessError(f"{fn.__name__}: a policy check's name contains its promise id")
        code = fn.__code__
        info = ClauseInfo(
            name=f"{fn.__module__}::{fn.__qualname__}",
            requirement_ids=(),
            rfc="SPEC",
            section=f"policy {promise_id}",
            keyword=Keyword.MUST,
            area="policy",
            doc=(fn.__doc__ or "").strip(),
            location=(code.co_filename, code.co_firstlineno),
        )
        REGISTRY.add(info)
        fn.__scim_clause__ = info  # type: ignore[attr-defined]
        fn.__scim_promise__ = promise_id  # type: ignore[attr-defined]
        marked: F = pytest.mark.must(pytest.mark.policy(promise_id)(fn))
        return marked

    return decorate


def promise_of(obj: Any) -> str | None:
    """The promise id of a policy check (function or pytest item), if any."""
    fn = getattr(obj, "function", obj)
    found = getattr(fn, "__scim_promise__", None)
    return found if isinstance(found, str) else None
