"""Getting ready to serve: the knowledge base checked and indexed, the storage checked, and the
database an admin command works on found without creating one by accident.

The embedded SQLite file lives in `INTERVIEWER_DATA_DIR` (default `./data`, relative to the folder
a command runs in). An admin command run from another folder used to create a fresh
`./data/interviewer.db` there, report success, and leave the server's database without the
change. So `open_database` says which database it opened and refuses — `NotFound`, or
`StorageUnavailable` when it cannot even be read — when it does not exist or has no tables yet,
unless the caller asks to create it. The server creates its database at start-up
(`check_storage`, then the app's own migration).

The doors name the records these use cases hand out through this module (`Bank`, `IngestReport`,
`Database`): they never import `bank/` or `store/` themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import inspect, make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from interviewer.bank import Bank, IngestReport, Problem, open_index, validate_bank
from interviewer.bank.index import Progress
from interviewer.config import Settings
from interviewer.errors import NotFound, StorageUnavailable
from interviewer.store.db import Database, database_url
from interviewer.store.faults import check_data_dir, describe

__all__ = [
    "Bank",
    "Database",
    "IngestReport",
    "KnowledgeCheck",
    "OpenedDatabase",
    "Progress",
    "check_knowledge",
    "check_storage",
    "ingest",
    "open_database",
    "shown_url",
    "sqlite_file",
]


# --- the knowledge base -----------------------------------------------------------------------


@dataclass(frozen=True)
class KnowledgeCheck:
    """A knowledge folder as loaded, with every problem found (none: it may be served)."""

    bank: Bank
    problems: list[Problem]


def check_knowledge(root: Path) -> KnowledgeCheck:
    bank, problems = validate_bank(root)
    return KnowledgeCheck(bank=bank, problems=problems)


def ingest(settings: Settings, bank: Bank, *, progress: Progress | None = None) -> IngestReport:
    """Embed what changed in `bank` into the configured vector index."""
    return open_index(settings).ingest(bank, progress=progress)


# --- storage ----------------------------------------------------------------------------------


def check_storage(settings: Settings) -> None:
    """Before the server starts: the data folder is writable and has room, and the database
    opens and migrates. Raises `StorageUnavailable` with the reason."""
    check_data_dir(settings.data_dir)
    db = Database.from_settings(settings)
    try:
        db.migrate()
    except DBAPIError as exc:
        reason = describe(exc)
        if reason is None:
            raise
        raise StorageUnavailable(f"the database cannot be used: {reason}") from exc
    finally:
        db.dispose()


def sqlite_file(url: str) -> Path | None:
    """The file of an SQLite URL (None for another database, or SQLite in memory)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).resolve()


def shown_url(url: str) -> str:
    """The SQLite file's path, or the URL with its password hidden."""
    path = sqlite_file(url)
    return str(path) if path is not None else make_url(url).render_as_string(hide_password=True)


@dataclass(frozen=True)
class OpenedDatabase:
    """A migrated database, where it is (`shown`: fit to print) and whether this call created it."""

    db: Database
    shown: str
    created: bool


def open_database(settings: Settings, *, create: bool, missing_ok: bool = False) -> OpenedDatabase | None:
    """The configured database, migrated. When it does not exist yet, or has no interviewer
    tables: created with `create`, None with `missing_ok`, else `NotFound` saying what to do;
    `StorageUnavailable` when it cannot be read."""
    url = database_url(settings, create_dir=False)
    shown = shown_url(url)
    path = sqlite_file(url)
    missing = path is not None and not path.is_file()
    if missing and not create:
        if missing_ok:
            return None
        raise NotFound(
            f"no database at {shown}: the server's is in its INTERVIEWER_DATA_DIR (default ./data in the "
            f"folder it runs from) or DATABASE_URL; run this command there, set INTERVIEWER_DATA_DIR or "
            f"DATABASE_URL to it, or pass --create-db to create this one"
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
            raise StorageUnavailable(f"cannot open the database {shown}: {reason}") from exc
        if not ready:
            db.dispose()
            if missing_ok:
                return None
            raise NotFound(
                f"the database {shown} has no interviewer tables yet: start `interviewer serve` on it once, "
                f"check DATABASE_URL / INTERVIEWER_DATA_DIR, or pass --create-db to create them"
            )
    db.migrate()
    return OpenedDatabase(db=db, shown=shown, created=missing)
