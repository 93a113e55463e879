"""Which database an admin command uses, said out loud, and none created by accident.

`interviewer users create` run from another folder used to create a fresh `./data/interviewer.db`
there, report success, and leave the server's database without the account. So the admin
commands (`users`, `invites`, `bank import`) print the database they use — on stderr, so that
stdout stays their output (an invite code, for scripts) — and refuse, with one line naming the
path and the settings, when it does not exist yet, unless `--create-db` is given (the finding and
the refusing: `services/setup.py`). `interviewer serve` creates its database at start-up as
before; `interviewer interview` reads HR's track settings from it when it exists and never
creates it.
"""

from __future__ import annotations

import typer
from rich.console import Console

from interviewer.config import Settings
from interviewer.errors import NotFound, StorageUnavailable
from interviewer.services import setup
from interviewer.services.setup import Database

CREATE_DB_HELP = "create the database if it does not exist yet (`interviewer serve` creates it at start-up)"


def open_database(
    settings: Settings, *, create: bool, err: Console, missing_ok: bool = False
) -> Database | None:
    """The configured database, migrated, after saying which it is. When it does not exist yet:
    created with `create`, None with `missing_ok`, else a one-line refusal and exit status 1."""
    try:
        opened = setup.open_database(settings, create=create, missing_ok=missing_ok)
    except (NotFound, StorageUnavailable) as exc:
        err.print(str(exc), markup=False, highlight=False)
        raise typer.Exit(1) from exc
    if opened is None:
        return None
    created = " (created)" if opened.created else ""
    err.print(f"database: {opened.shown}{created}", markup=False, highlight=False)
    return opened.db


def require_database(settings: Settings, *, create: bool, err: Console) -> Database:
    db = open_database(settings, create=create, err=err)
    assert db is not None  # without missing_ok it exits instead
    return db
