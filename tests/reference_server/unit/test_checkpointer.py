"""The WAL is copied into the database by a background thread, never inside a commit.

A checkpoint fsyncs; run by `wal_autocheckpoint` inside the commit that crossed the
threshold it held the event loop for 15-20 ms every few dozen writes (issue 2, p99).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
import time
from pathlib import Path

import httpx
import pytest

from reference_server.app import create_app
from reference_server.settings import ServerSettings
from reference_server.storage import database
from reference_server.storage.database import Checkpointer, Database
from reference_server.storage.engine import create_engine, upgrade

USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def test_commits_do_not_checkpoint_and_the_background_thread_does(tmp_path: Path) -> None:
    path = tmp_path / "scim.db"
    engine = create_engine(f"sqlite:///{path}")
    upgrade(engine)
    db = Database(engine)
    try:
        with db.read() as tx:
            assert tx.first("PRAGMA wal_autocheckpoint") == (0,)
        size = path.stat().st_size
        for i in range(50):
            with db.write() as tx:
                tx.run(
                    "INSERT INTO tenants (id, name, created) VALUES (?, ?, ?)",
                    (f"t{i}", "x" * 3000, "2026-01-01T00:00:00.000000Z"),
                )
        deadline = time.monotonic() + 5
        while path.stat().st_size <= size and time.monotonic() < deadline:
            time.sleep(0.05)
        assert path.stat().st_size > size, "the WAL was never copied into the database"
    finally:
        db.close()
        engine.dispose()


def test_the_log_restarts_under_creates_that_never_pause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past RESTART_FRAMES the WAL starts over even while SCIM creates never pause (SQLite
    restarts a copied log by itself only when a writer finds it idle: 2.3 GB of WAL after
    20,000 creates without this); a long WAL makes every page read walk its index."""
    monkeypatch.setattr(database, "RESTART_FRAMES", 1000)
    db_path = tmp_path / "scim.db"
    settings = ServerSettings.from_env(
        database_url=f"sqlite:///{db_path}", bootstrap_token="checkpointer-token-1"
    )
    app = create_app(settings)

    async def create_for(seconds: float) -> int:
        created = 0
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            headers = {"Authorization": "Bearer checkpointer-token-1"}
            async with httpx.AsyncClient(
                transport=transport, base_url="http://t/scim/v2", headers=headers
            ) as client:
                deadline = time.monotonic() + seconds
                while time.monotonic() < deadline:
                    body = {"schemas": [USER], "userName": f"u{created}@example.com"}
                    response = await client.post("/Users", json=body)
                    assert response.status_code == 201, response.text
                    created += 1
                with sqlite3.connect(db_path) as conn:
                    _busy, frames, _copied = conn.execute(
                        "PRAGMA wal_checkpoint(PASSIVE)"
                    ).fetchone()
        assert created > 200, "too few creates to tell"
        return int(frames)

    frames = asyncio.run(create_for(3.0))
    assert frames < 4000, f"the WAL holds {frames} frames: it never restarted"


class _RecordingGate:
    """A write gate that notes each time the checkpointer takes it (a log restart)."""

    def __init__(self, events: list[tuple[str, str]]) -> None:
        self.lock = threading.Lock()
        self.events = events

    def __enter__(self) -> None:
        self.lock.acquire()
        self.events.append(("gate", ""))

    def __exit__(self, *_exc: object) -> None:
        self.lock.release()


def _write_until_a_restart(path: Path, events: list[tuple[str, str]]) -> None:
    """Run a checkpointer on a fresh database at `path`, write about 400 pages through
    another connection, and wait (at most 10 s) until the log restarts."""
    engine = create_engine(f"sqlite:///{path}")
    upgrade(engine)
    gate = _RecordingGate(events)
    checkpointer = Checkpointer(engine, gate, interval=0.02)  # type: ignore[arg-type]
    try:
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA wal_autocheckpoint=0")
            for i in range(400):
                conn.execute(
                    "INSERT INTO tenants (id, name, created) VALUES (?, ?, ?)",
                    (f"t{i}", "x" * 3000, "2026-01-01T00:00:00.000000Z"),
                )
                conn.commit()
        deadline = time.monotonic() + 10
        while ("gate", "") not in events and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        checkpointer.stop()
        engine.dispose()


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="names descriptors via /proc")
def test_a_restart_syncs_both_files_before_it_holds_the_writers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite syncs the database file only after a pass that copied the whole log, so
    under steady writes a restart (writers held) flushed every page the passes had copied:
    12-20 ms per restart, the p99 of writes. The checkpointer syncs the database and its
    WAL itself first, with writers running, so the restart syncs only what came since."""
    monkeypatch.setattr(database, "RESTART_FRAMES", 100)
    events: list[tuple[str, str]] = []
    real_sync = getattr(os, "fdatasync", os.fsync)

    def recording_sync(fd: int) -> None:
        events.append(("sync", os.readlink(f"/proc/self/fd/{fd}")))
        real_sync(fd)

    monkeypatch.setattr(os, "fdatasync", recording_sync)
    path = tmp_path / "scim.db"
    _write_until_a_restart(path, events)
    assert ("gate", "") in events, "the log never restarted"
    before = {name for kind, name in events[: events.index(("gate", ""))] if kind == "sync"}
    assert {str(path), f"{path}-wal"} <= before, events


def test_a_failing_pre_restart_sync_still_restarts_the_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checkpointer's own sync is a head start only: where it fails (Windows will not
    sync a read-only descriptor) the restart still comes, and syncs by itself."""
    monkeypatch.setattr(database, "RESTART_FRAMES", 100)

    def refusing_sync(_fd: int) -> None:
        raise OSError(9, "Bad file descriptor")

    monkeypatch.setattr(os, "fdatasync", refusing_sync)
    monkeypatch.setattr(os, "fsync", refusing_sync)
    events: list[tuple[str, str]] = []
    _write_until_a_restart(tmp_path / "scim.db", events)
    assert ("gate", "") in events, "a failing sync stopped the log restarts"
