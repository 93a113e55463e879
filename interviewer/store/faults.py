"""Storage faults, named: a full disk, a corrupt database file, a read-only data folder, an I/O
error, an unreachable database. Below this module they are driver errors and `OSError`s with
library wording; above it, a short reason an operator can act on, so that `/readyz` says what is
wrong, clients get a 503 with that reason (never a traceback, never the statement's parameters,
which may hold candidate text), and `interviewer serve` refuses to start with one line.

`FaultWatch` listens on a database engine (SQLAlchemy events, at the driver's edge): the last
storage fault any statement met stands until a later write commits, so a worker whose disk is
full reports itself unready even between probes — or, for a worker that gets no writes (a load
balancer stopped sending it any), until `Database.problem` finds the storage usable again.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import DBAPIError

from interviewer.errors import StorageUnavailable

MIN_FREE_BYTES = 16 * 1024 * 1024
"""Below this much free space on the data folder's disk, the worker reports itself unready."""
FAULT_HOLD_S = 30.0
"""A storage fault keeps the worker unready at least this long (unless a write commits), then
the readiness probe checks the storage again (the `Retry-After` clients are given)."""

_READ_ONLY = "is read-only (or not writable by this process)"
_SQLITE_WORDS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("database or disk is full", "disk is full"), "the disk is full"),
    (
        ("file is not a database", "malformed", "file is encrypted", "corrupt"),
        "the database file is corrupt: restore it from a backup",
    ),
    (("readonly database", "read-only"), f"the database {_READ_ONLY}"),
    (
        ("unable to open database file",),
        "the database file cannot be opened: its folder is missing or not writable",
    ),
    (("disk i/o error",), "disk I/O error on the database file"),
)
_OS_ERRORS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exhausted",
    errno.EROFS: _READ_ONLY,
    errno.EACCES: _READ_ONLY,
    errno.EPERM: _READ_ONLY,
    errno.EIO: "disk I/O error",
}


def describe(exc: BaseException) -> str | None:
    """A short reason when `exc` is a storage fault; None for anything else (a constraint
    violation, a lock timeout, a bug), which is not for operators to fix on the disk."""
    if isinstance(exc, StorageUnavailable):
        return str(exc)
    if isinstance(exc, DBAPIError):
        original = exc.orig
        if isinstance(original, sqlite3.Error):
            return _sqlite_reason(str(original))
        if exc.connection_invalidated or _is_connection_error(original):
            return "the database server cannot be reached"
        return None
    if isinstance(exc, sqlite3.Error):
        return _sqlite_reason(str(exc))
    if isinstance(exc, OSError) and exc.errno in _OS_ERRORS:
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{_OS_ERRORS[exc.errno]}"
    return None


def _sqlite_reason(message: str) -> str | None:
    lowered = message.lower()
    for words, reason in _SQLITE_WORDS:
        if any(w in lowered for w in words):
            return reason
    return None


def _is_connection_error(original: Any) -> bool:
    name = type(original).__name__
    return name in ("OperationalError", "InterfaceError") and "connect" in str(original).lower()


def check_data_dir(path: Path) -> None:
    """The data folder exists (created if need be), is writable and has room: a small file is
    written, synced and removed. Raises `StorageUnavailable` naming the folder otherwise."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-probe-{uuid.uuid4().hex}"
        try:
            with probe.open("wb") as f:
                f.write(b"\0" * 4096)
                f.flush()
                os.fsync(f.fileno())
        finally:
            probe.unlink(missing_ok=True)
    except OSError as exc:
        reason = _OS_ERRORS.get(exc.errno or 0) or f"cannot be used ({exc.strerror or exc})"
        raise StorageUnavailable(_folder(path, reason)) from exc
    if shutil.disk_usage(path).free < MIN_FREE_BYTES:
        raise StorageUnavailable(_folder(path, "the disk is full"))


def _folder(path: Path, reason: str) -> str:
    if reason == _READ_ONLY:
        return f"the data folder {path} {reason}: set INTERVIEWER_DATA_DIR to a writable folder"
    return f"the data folder {path}: {reason}"


def data_dir_problem(path: Path) -> str | None:
    """What `check_data_dir` would raise, without writing: for the readiness probe."""
    if not path.is_dir():
        return f"the data folder {path} is missing"
    if not os.access(path, os.W_OK):
        return _folder(path, _READ_ONLY)
    if shutil.disk_usage(path).free < MIN_FREE_BYTES:
        return _folder(path, "the disk is full")
    return None


class FaultWatch:
    """The last storage fault an engine met (None when the last write after it committed)."""

    _WRITES = ("INSERT", "UPDATE", "DELETE", "CREATE", "ALTER", "DROP", "REPLACE")

    def __init__(self, engine: Engine) -> None:
        self._lock = threading.Lock()
        self._fault: tuple[str, float] | None = None
        event.listen(engine, "handle_error", self._on_error)
        event.listen(engine, "after_cursor_execute", self._on_statement)
        event.listen(engine, "commit", self._on_commit)

    @property
    def fault(self) -> str | None:
        """The last fault, with its age, while it stands."""
        current = self.current()
        return None if current is None else f"{current[0]} ({current[1]:.0f} s ago)"

    def current(self) -> tuple[str, float] | None:
        """(reason, seconds since) of the fault that stands, if any."""
        with self._lock:
            if self._fault is None:
                return None
            reason, at = self._fault
        return reason, time.time() - at

    def record(self, reason: str, *, at: float | None = None) -> None:
        """Note a fault (`at`: when, as `time.time()`; default now)."""
        with self._lock:
            self._fault = (reason, time.time() if at is None else at)

    def clear(self) -> None:
        with self._lock:
            self._fault = None

    def _on_error(self, context: Any) -> None:
        reason = describe(context.sqlalchemy_exception or context.original_exception)
        if reason is not None:
            self.record(reason)

    def _on_statement(self, conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip()[:7].upper().startswith(self._WRITES):
            conn.info["wrote"] = True

    def _on_commit(self, conn: Any) -> None:
        if conn.info.pop("wrote", False):
            with self._lock:
                self._fault = None
