"""Request transactions on the DB-API connection: fixed SQL on the hot path, Core elsewhere.

Going through SQLAlchemy's `Connection` costs more CPU per request than SQLite takes to
answer (events, pool reset, statement caching: about 40% of a GET; `benchmarks/README.md`),
so each request talks to the driver directly. Fixed statements are written once with `?`
placeholders (turned into `%s` for psycopg); generated ones (filters, sorting) are Core
expressions compiled per call. SQLAlchemy still owns the engine, the pool, the pragmas
(`storage/engine.py`) and the migrations.

SQLite: one connection per thread, held for the process (requests run on the event loop
thread), `BEGIN IMMEDIATE` for writes so two writers never deadlock on a lock upgrade.
PostgreSQL: a pooled connection per request (requests run in the thread pool).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ClauseElement

__all__ = ["Checkpointer", "Database", "Tx"]

log = logging.getLogger("reference_server")


class Tx:
    """One request's transaction: run SQL, get plain tuples back."""

    __slots__ = ("_cur", "_db")

    def __init__(self, db: Database, cursor: Any) -> None:
        self._db = db
        self._cur = cursor

    @property
    def sqlite(self) -> bool:
        return self._db.sqlite

    @property
    def integrity_error(self) -> type[Exception]:
        """The driver's IntegrityError (a unique or key constraint refused a write)."""
        return self._db.integrity_error

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cur = self._cur
        cur.execute(self._db.native(sql), params)
        rows: list[tuple[Any, ...]] = cur.fetchall()
        return rows

    def first(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        cur = self._cur
        cur.execute(self._db.native(sql), params)
        row: tuple[Any, ...] | None = cur.fetchone()
        return row

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Execute a write; the number of rows it touched."""
        cur = self._cur
        cur.execute(self._db.native(sql), params)
        return max(int(cur.rowcount), 0)

    def run_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._cur.executemany(self._db.native(sql), rows)

    def select(self, stmt: ClauseElement) -> list[tuple[Any, ...]]:
        """A Core statement (generated filters, sorting), compiled for this database."""
        sql, params = self._db.compile(stmt)
        cur = self._cur
        cur.execute(sql, params)
        rows: list[tuple[Any, ...]] = cur.fetchall()
        return rows

    def execute(self, stmt: ClauseElement) -> int:
        sql, params = self._db.compile(stmt)
        cur = self._cur
        cur.execute(sql, params)
        return max(int(cur.rowcount), 0)


# WAL sizes (frames of one page) at which the checkpointer restarts the log.
RESTART_FRAMES = 1_000
LIMIT_FRAMES = 16_000
# Frames a restart may still have to copy while this process's writers wait, and how many
# catch-up passes get it there.
SMALL_BACKLOG = 64
CATCH_UP_PASSES = 8


class Checkpointer:
    """Copies the SQLite WAL into the database from a thread of its own.

    A checkpoint copies WAL frames into the database and fsyncs both files (the fsyncs are
    most of its cost here); run by `wal_autocheckpoint` inside whichever commit crossed the
    threshold, it held the event loop for 15-20 ms every few dozen writes. Here PASSIVE
    checkpoints run every `interval` seconds on their own connection (writers go on
    meanwhile), and the log is restarted so the WAL stays short. A restart copies whatever
    the last pass has not and blocks writers while it does, so it waits until the passes
    have caught up to a small backlog, and it takes the write gate: this process's writers
    then wait on a lock for exactly the restart instead of meeting SQLITE_BUSY and sleeping
    in the busy handler's steps (1, 2, 5, 10, ... ms). Measured with
    benchmarks/bench_latency.py at 100,000 users (wrk, 8 connections): p99 of PATCH 44 -> 38
    ms and of POST 67 -> 48 ms against restarting after any pass that had copied all it saw;
    restarting every 8,000 frames instead of 1,000 made the rarer stalls long enough to
    double those p99s. Before a restart the thread also syncs both files itself, writers
    running: the restart then holds them 4 ms (p50) instead of 13 (`_round`).
    """

    def __init__(self, engine: Engine, gate: threading.Lock, interval: float = 0.1) -> None:
        self._engine = engine
        self._gate = gate
        self._interval = interval
        self._path = str(engine.url.database)
        self._stop = threading.Event()
        self._worker = threading.Thread(target=self._run, name="sqlite-checkpointer", daemon=True)
        self._worker.start()

    def _run(self) -> None:
        fairy = self._engine.raw_connection()
        try:
            conn = fairy.driver_connection
            assert conn is not None
            while not self._stop.wait(self._interval):
                try:
                    self._round(conn)
                except Exception:  # a busy or closing database: try again next round
                    log.debug("WAL checkpoint skipped", exc_info=True)
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        finally:
            fairy.close()

    def _round(self, conn: Any) -> None:
        """One PASSIVE pass; past RESTART_FRAMES, catch-up passes and a gated restart.

        A long WAL makes every page read walk its index (1.6 GB after a 15,000-user seed
        without restarts), so past LIMIT_FRAMES the log restarts whatever the backlog.
        """
        _busy, frames, _copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if frames < RESTART_FRAMES:
            return
        for _ in range(CATCH_UP_PASSES):
            if frames >= LIMIT_FRAMES or self._stop.is_set():
                break
            _busy, now, _copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            arrived, frames = now - frames, now
            if arrived <= SMALL_BACKLOG:
                break
        else:
            return  # writes outpace the copy: keep copying next round (LIMIT_FRAMES bounds it)
        # SQLite syncs the database file only after a pass that copied the whole log, which
        # never happens while writes go on: the restart, with writers held, then had to
        # flush every page the passes had copied (12-20 ms: fdatasync costs about 40 µs per
        # dirty page here). Flushing both files first, and copying what came meanwhile,
        # leaves the restart a few ms of work (benchmarks/README.md).
        self._flush_files()
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        self._flush_files()
        with self._gate:
            conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchall()

    def _flush_files(self) -> None:
        """fdatasync the database and its WAL (on a descriptor of our own: a sync is per
        file, whoever wrote the pages), so what a restart syncs is only what came since."""
        sync = getattr(os, "fdatasync", os.fsync)
        for path in (self._path, f"{self._path}-wal"):
            # Only a head start for the restart, which syncs anyway: a file that cannot be
            # opened or synced this way (gone, or Windows refusing a read-only sync) is
            # left to it.
            try:
                fd = os.open(path, os.O_RDONLY)
            except OSError:
                continue
            try:
                sync(fd)
            except OSError:
                log.debug("pre-restart sync of %s skipped", path, exc_info=True)
            finally:
                os.close(fd)

    def stop(self) -> None:
        self._stop.set()
        self._worker.join(timeout=30)


class _Held(threading.local):
    """The SQLite connection of this thread and its transaction depth."""

    fairy: Any = None
    conn: Any = None
    depth: int = 0
    # The open block is a read without BEGIN (`read(snapshot=False)`).
    bare: bool = False


class _SqliteTransaction:
    """SQLite: the thread's held connection, `BEGIN IMMEDIATE` (writes, under the write
    gate) or `BEGIN`, then COMMIT, or ROLLBACK on any exception; nested in an open
    transaction of the same thread, it shares that one. A read without a snapshot
    (`snapshot=False`) issues neither BEGIN nor COMMIT: each statement is its own
    implicit read transaction; a write cannot nest in it.

    A plain context manager: two generator-based ones (`contextlib`) cost about 5 µs more
    per request, a tenth of an in-process lookup's Python time.
    """

    __slots__ = ("_bare", "_conn", "_cur", "_db", "_outer", "_write")

    def __init__(self, db: Database, *, write: bool, snapshot: bool = True) -> None:
        self._db = db
        self._write = write
        self._bare = not write and not snapshot
        self._outer = False

    def __enter__(self) -> Tx:
        db = self._db
        conn = self._conn = db._sqlite_conn()
        cur = self._cur = conn.cursor()
        held = db._held
        if held.depth:  # nested in this thread's open transaction: share it
            if held.bare and self._write:
                raise RuntimeError("a write cannot nest in a read without a snapshot")
            held.depth += 1
            return Tx(db, cur)
        if self._bare:
            held.depth = 1
            held.bare = True
            self._outer = True
            return Tx(db, cur)
        gate = db._write_gate if self._write else None
        if gate is not None:
            gate.acquire()
        try:
            cur.execute("BEGIN IMMEDIATE" if gate is not None else "BEGIN")
        except BaseException:
            if gate is not None:
                gate.release()
            raise
        held.depth = 1
        self._outer = True
        return Tx(db, cur)

    def __exit__(self, exc_type: type[BaseException] | None, *_exc: object) -> None:
        held = self._db._held
        if not self._outer:
            held.depth -= 1
            return
        if self._bare:
            held.depth = 0
            held.bare = False
            self._cur.close()  # ends a statement not stepped to its end, and its snapshot
            return
        try:
            if exc_type is None:
                try:
                    self._cur.execute("COMMIT")
                except BaseException:
                    if self._conn.in_transaction:
                        self._cur.execute("ROLLBACK")
                    raise
            elif self._conn.in_transaction:
                self._cur.execute("ROLLBACK")
        finally:
            held.depth = 0
            if self._write:
                self._db._write_gate.release()


class Database:
    """Hands out `Tx` objects; the engine's pool and connect-time pragmas stay in charge."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect
        self.sqlite = engine.dialect.name == "sqlite"
        dbapi = engine.dialect.loaded_dbapi
        self.integrity_error: type[Exception] = dbapi.IntegrityError
        self._native: dict[str, str] = {}
        self._held = _Held()
        self._all_held: list[Any] = []
        self._lock = threading.Lock()
        database = engine.url.database
        on_disk = self.sqlite and database not in (None, "", ":memory:")
        # Held by every write transaction of this process and by the checkpointer's log
        # restarts, so the two take turns on a lock rather than through SQLITE_BUSY.
        self._write_gate = threading.Lock()
        self._checkpointer = Checkpointer(engine, self._write_gate) if on_disk else None

    def native(self, sql: str) -> str:
        """`?` placeholders as the driver wants them (psycopg: `%s`)."""
        if self.sqlite:
            return sql
        out = self._native.get(sql)
        if out is None:
            out = self._native[sql] = sql.replace("%", "%%").replace("?", "%s")
        return out

    def compile(self, stmt: ClauseElement) -> tuple[str, Any]:
        compiled = stmt.compile(dialect=self.dialect, compile_kwargs={"render_postcompile": True})
        params = compiled.params
        order: list[str] | None = getattr(compiled, "positiontup", None)
        if order is not None:  # qmark (SQLite)
            return str(compiled), [params[name] for name in order]
        return str(compiled), params

    def _sqlite_conn(self) -> Any:
        held = self._held
        if held.conn is None:
            fairy = self.engine.raw_connection()
            held.fairy = fairy
            held.conn = fairy.driver_connection
            with self._lock:
                self._all_held.append(fairy)
        return held.conn

    def read(self, *, snapshot: bool = True) -> AbstractContextManager[Tx]:
        """A read transaction: its statements see one snapshot.

        `snapshot=False` (SQLite) saves the BEGIN and COMMIT, two of a lookup's three
        statements: each statement then reads in a transaction of its own. For the
        request reads, whose statements need nothing more: every SQLite statement of this
        process runs on the event loop thread (`ServerState.inline`), so no write of this
        process falls between them (SQLite serves one process; several share PostgreSQL,
        where the flag changes nothing).
        """
        if self.sqlite:
            return _SqliteTransaction(self, write=False, snapshot=snapshot)
        return self._pooled()

    def write(self) -> AbstractContextManager[Tx]:
        """One transaction: committed when the block ends, rolled back on any exception."""
        if self.sqlite:
            return _SqliteTransaction(self, write=True)
        return self._pooled()

    @contextmanager
    def _pooled(self) -> Iterator[Tx]:
        """PostgreSQL: a pooled connection for the block, committed at its end."""
        fairy = self.engine.raw_connection()
        try:
            conn: Any = fairy.driver_connection
            cur = conn.cursor()
            try:
                yield Tx(self, cur)
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
        finally:
            fairy.close()

    def close(self) -> None:
        """Give the held SQLite connections back (before `engine.dispose()`)."""
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        with self._lock:
            held, self._all_held = self._all_held, []
        for fairy in held:
            fairy.close()
        self._held = _Held()
