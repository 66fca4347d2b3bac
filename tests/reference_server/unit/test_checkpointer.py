"""The WAL is copied into the database by a background thread, never inside a commit.

A checkpoint fsyncs; run by `wal_autocheckpoint` inside the commit that crossed the
threshold it held the event loop for 15-20 ms every few dozen writes (issue 2, p99).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from reference_server.storage import database
from reference_server.storage.database import Database
from reference_server.storage.engine import create_engine, upgrade


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


def test_the_log_restarts_once_the_checkpointer_caught_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past RESTART_FRAMES the WAL starts over (a long WAL makes every page read walk its
    index); without restarts it would hold every frame written since the start."""
    monkeypatch.setattr(database, "RESTART_FRAMES", 40)
    engine = create_engine(f"sqlite:///{tmp_path / 'scim.db'}")
    upgrade(engine)
    db = Database(engine)
    try:
        for i in range(300):
            with db.write() as tx:
                tx.run(
                    "INSERT INTO tenants (id, name, created) VALUES (?, ?, ?)",
                    (f"t{i}", "x" * 3000, "2026-01-01T00:00:00.000000Z"),
                )
            if i % 50 == 0:
                time.sleep(0.3)  # a pause: the passes catch up and the log restarts
        time.sleep(0.5)
        with db.write() as tx:
            tx.run("UPDATE tenants SET name = ? WHERE id = ?", ("y", "t0"))
        with db.read() as tx:
            _busy, frames, _copied = tx.first("PRAGMA wal_checkpoint(PASSIVE)")
        assert frames < 40, f"the WAL holds {frames} frames: it never restarted"
    finally:
        db.close()
        engine.dispose()
