"""Opening the results database: WAL mode and a busy timeout (several processes may index at once), and the
migrations applied in one transaction when the file is opened."""
from __future__ import annotations

import os
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator


from wsnas.analysis.store.schema import MIGRATIONS, SCHEMA_VERSION
from wsnas.core.errors import WsnasError


DB_ENV = "WSNAS_DB"
BUSY_TIMEOUT_S = 60.0


class StoreError(WsnasError):
    """A results database that cannot be opened, migrated, written or queried as asked."""


def default_db_path() -> Path:
    """$WSNAS_DB, else runs/wsnas.sqlite relative to the current directory."""
    return Path(os.environ.get(DB_ENV) or Path("runs") / "wsnas.sqlite")



def connect(db_path: str | os.PathLike) -> sqlite3.Connection:
    """Open (creating and migrating if needed) the database for reading and writing, in autocommit mode."""
    path = Path(db_path)
    if path.is_dir():
        raise StoreError(f"results database {path} is a directory; pass a file path with --db or ${DB_ENV}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"results database {path} cannot be opened ({exc}); check that its folder is "
                         f"writable, or pass another --db") from None
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
        _retry_while_busy(lambda: _prepare(conn))
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise StoreError(f"results database {path} cannot be opened ({exc}); it may not be a wsnas results "
                         f"database: pass another --db, or move the file away and re-index the runs") from None
    except BaseException:
        conn.close()
        raise
    return conn


def _prepare(conn: sqlite3.Connection) -> None:
    """Switch to WAL (once per database file) and migrate."""
    if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        conn.execute("PRAGMA journal_mode = WAL")
    migrate(conn)


def _retry_while_busy(step: Callable[[], None]) -> None:
    """Run step, retrying for up to BUSY_TIMEOUT_S while SQLite reports the database busy or locked.

    SQLite does not call its busy handler for every lock: switching a new database to WAL, and reading a WAL
    database while another process is creating its index, fail at once with "database is locked" when two
    processes open a fresh database together.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    delay = 0.005
    while True:
        try:
            step()
            return
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc) or time.monotonic() > deadline:
                raise
        time.sleep(delay)
        delay = min(2 * delay, 0.25)


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    message = str(exc).lower()
    return "locked" in message or "busy" in message


def connect_readonly(db_path: str | os.PathLike) -> sqlite3.Connection:
    """A read-only connection (SQLite URI mode=ro) to an existing database, migrated first if it is older."""
    path = _existing(db_path)
    if _user_version(path) < SCHEMA_VERSION:
        connect(path).close()
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
    conn.execute("PRAGMA query_only = ON")
    return conn


def _existing(db_path: str | os.PathLike) -> Path:
    path = Path(db_path)
    if not path.is_file():
        raise StoreError(f"no results database at {path}; fill one with `wsnas index RUN --db {path}` (or "
                         f"`wsnas analyze`, which indexes into ${DB_ENV} or runs/wsnas.sqlite), or pass --db")
    return path


def _user_version(path: Path) -> int:
    try:
        with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S) as conn:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"results database {path} cannot be read ({exc}); pass another --db") from None


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE (take the write lock now, waiting up to the busy timeout) ... COMMIT, or ROLLBACK."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def migrate(conn: sqlite3.Connection, upto: int = SCHEMA_VERSION) -> int:
    """Apply the migrations after the database's user_version, up to version `upto`; the new version."""
    if int(conn.execute("PRAGMA user_version").fetchone()[0]) >= upto:
        return _check_version(conn)
    with transaction(conn):
        version = _check_version(conn)  # another process may have migrated while we waited for the lock
        for statements in MIGRATIONS[version:upto]:
            for statement in statements:
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {max(version, upto)}")
    return max(version, upto)


def _check_version(conn: sqlite3.Connection) -> int:
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise StoreError(f"the results database has schema version {version}, newer than this wsnas knows "
                         f"({SCHEMA_VERSION}); upgrade wsnas, or use another --db")
    return version
