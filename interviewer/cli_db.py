"""Which database an admin command uses, said out loud, and none created by accident.

The embedded SQLite file lives in `INTERVIEWER_DATA_DIR` (default `./data`, relative to the folder
a command runs in). `interviewer users create` run from another folder used to create a fresh
`./data/interviewer.db` there, report success, and leave the server's database without the
account. So the admin commands (`users`, `invites`, `bank import`) print the database they use —
on stderr, so that stdout stays their output (an invite code, for scripts) — and refuse, with one
line naming the path and the settings, when it does not exist yet, unless `--create-db` is
given. `interviewer serve` creates its database at start-up as before; `interviewer interview`
reads HR's track settings from it when it exists and never creates it.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from sqlalchemy import inspect, make_url
from sqlalchemy.exc import SQLAlchemyError

from interviewer.config import Settings
from interviewer.store.db import Database, database_url

CREATE_DB_HELP = "create the database if it does not exist yet (`interviewer serve` creates it at start-up)"


def sqlite_file(url: str) -> Path | None:
    """The file of an SQLite URL (None for another database, or SQLite in memory)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).resolve()


def describe(url: str) -> str:
    """The SQLite file's path, or the URL with its password hidden."""
    path = sqlite_file(url)
    return str(path) if path is not None else make_url(url).render_as_string(hide_password=True)


def _refuse(err: Console, message: str) -> typer.Exit:
    err.print(message, markup=False, highlight=False)
    return typer.Exit(1)


def open_database(
    settings: Settings, *, create: bool, err: Console, missing_ok: bool = False
) -> Database | None:
    """The configured database, migrated, after saying which it is. When it does not exist yet:
    created with `create`, None with `missing_ok`, else a one-line refusal and exit status 1."""
    url = database_url(settings, create_dir=False)
    shown = describe(url)
    path = sqlite_file(url)
    missing = path is not None and not path.is_file()
    if missing and not create:
        if missing_ok:
            return None
        raise _refuse(
            err,
            f"no database at {shown}: the server's is in its INTERVIEWER_DATA_DIR (default ./data in the "
            f"folder it runs from) or DATABASE_URL; run this command there, set INTERVIEWER_DATA_DIR or "
            f"DATABASE_URL to it, or pass --create-db to create this one",
        )
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    db = Database(url, fsync_answers=settings.sqlite_fsync_answers)
    if not missing and not create:
        try:
            ready = inspect(db.engine).has_table("schema_migrations")
        except SQLAlchemyError as exc:
            db.dispose()
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise _refuse(err, f"cannot open the database {shown}: {reason}") from exc
        if not ready:
            db.dispose()
            if missing_ok:
                return None
            raise _refuse(
                err,
                f"the database {shown} has no interviewer tables yet: start `interviewer serve` on it once, "
                f"check DATABASE_URL / INTERVIEWER_DATA_DIR, or pass --create-db to create them",
            )
    db.migrate()
    err.print(f"database: {shown}" + (" (created)" if missing else ""), markup=False, highlight=False)
    return db


def require_database(settings: Settings, *, create: bool, err: Console) -> Database:
    db = open_database(settings, create=create, err=err)
    assert db is not None  # without missing_ok it exits instead
    return db
