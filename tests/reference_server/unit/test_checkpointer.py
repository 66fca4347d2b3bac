"""The WAL is copied into the database by a background thread, never inside a commit.

A checkpoint fsyncs; run by `wal_autocheckpoint` inside the commit that crossed the
threshold it held the event loop for 15-20 ms every few dozen writes (issue 2, p99).
"""

from __future__ import annotations

import time
from pathlib import Path

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
