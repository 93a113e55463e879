"""`interviewer serve`, `interviewer users create|list`, `interviewer invites create`.

The admin commands print the database they use and refuse to create one unless `--create-db`
is given (`interviewer/cli_db.py`); `serve` creates it at start-up. The account and invite commands
are the staff service's use cases (`services/staff.py`, the same the web app runs)."""

from __future__ import annotations

import asyncio
import getpass
import sys
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Annotated, Any, Optional, TypeVar

import typer

from interviewer.cli_db import CREATE_DB_HELP, require_database

if TYPE_CHECKING:
    from interviewer.config import Settings
    from interviewer.services.staff import StaffService

T = TypeVar("T")

users_app = typer.Typer(help="HR and evaluator accounts.", no_args_is_help=True)
invites_app = typer.Typer(help="Invite codes for candidates.", no_args_is_help=True)


def check_storage(settings: Any) -> None:
    """Before the server starts: the data folder is writable and has room, and the database
    opens and migrates. Raises `StorageUnavailable` with the reason (`main` prints it)."""
    from sqlalchemy.exc import DBAPIError

    from interviewer.errors import StorageUnavailable
    from interviewer.store.db import Database
    from interviewer.store.faults import check_data_dir, describe

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


def register(app: typer.Typer, settings_factory: Any, out: Any, err: Any) -> None:
    app.add_typer(users_app, name="users")
    app.add_typer(invites_app, name="invites")

    @app.command()
    def serve(
        host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
        port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
        workers: Annotated[int, typer.Option(min=1, max=64, help="uvicorn worker processes")] = 1,
        log_level: Annotated[str, typer.Option()] = "info",
        log_format: Annotated[
            Optional[str],  # noqa: UP045  # typer reads the annotation
            typer.Option(
                help="text | json | auto; default INTERVIEWER_LOG_FORMAT (auto: text on a terminal)"
            ),
        ] = None,
        prepare: Annotated[
            bool, typer.Option(help="validate the bank and ingest what changed first (`make run`)")
        ] = False,
    ) -> None:
        """Start the web app (API v1 and the candidate pages); logs go to stderr. Prints
        `ready: URL` once /readyz says ok (the warm-up is done)."""
        import uvicorn

        from interviewer.cli_startup import announce_when_ready
        from interviewer.cli_startup import prepare as prepare_bank
        from interviewer.web.observability import configure_logging, resolve_log_format
        from interviewer.web.server import uvicorn_options

        settings = settings_factory()  # fail early, with a clear message, on a bad configuration
        check_storage(settings)  # and on storage it cannot use: one line, not a traceback
        try:
            fmt = resolve_log_format(log_format or settings.log_format)
        except ValueError as exc:
            err.print(str(exc))
            raise typer.Exit(2) from exc
        if prepare and not prepare_bank(settings, out=out, err=err):
            raise typer.Exit(1)
        out.print(
            f"interviewer on http://{host}:{port}/  (API docs: http://{host}:{port}/docs)", highlight=False
        )
        announce_when_ready(host, port, out)
        uvicorn.run(
            "interviewer.web.app:app_factory",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
            log_config=configure_logging(level=log_level, fmt=fmt),
            proxy_headers=False,  # the app reads X-Forwarded-For itself, from trusted proxies only
            timeout_graceful_shutdown=10,
            # header and body timeouts, connections per address (slowloris): web/server.py
            **uvicorn_options(settings, workers=workers),
        )

    @users_app.command("create")
    def users_create(
        email: Annotated[str, typer.Option(help="login e-mail")],
        role: Annotated[str, typer.Option(help="hr | evaluator")],
        password_stdin: Annotated[bool, typer.Option(help="read the password from stdin")] = False,
        create_db: Annotated[bool, typer.Option(help=CREATE_DB_HELP)] = False,
    ) -> None:
        """Create an HR or evaluator account (password hashed with argon2id)."""
        from interviewer.errors import Conflict, Invalid
        from interviewer.services.staff import ROLES

        if role not in ROLES:
            err.print("role must be 'hr' or 'evaluator'")
            raise typer.Exit(2)
        settings = settings_factory()
        db = require_database(settings, create=create_db, err=err)
        password = sys.stdin.readline().rstrip("\n") if password_stdin else getpass.getpass("password: ")
        try:
            _staff_call(
                settings, db, lambda staff: staff.create_user(email=email, role=role, password=password)
            )
        except Invalid as exc:
            err.print(str(exc))
            raise typer.Exit(2) from exc
        except Conflict as exc:
            err.print(str(exc))
            raise typer.Exit(1) from exc
        out.print(f"created {role} account {email}", highlight=False)

    @users_app.command("list")
    def users_list() -> None:
        """List the HR and evaluator accounts (e-mail, role, created, disabled)."""
        settings = settings_factory()
        db = require_database(settings, create=False, err=err)
        rows = _staff_call(settings, db, lambda staff: staff.users())
        for user in rows:
            state = "  disabled" if user.disabled else ""
            out.print(
                f"{user.email}  {user.role}  {user.created_at:%Y-%m-%d}{state}", markup=False, highlight=False
            )
        if not rows:
            err.print("no accounts yet: interviewer users create --email E --role hr|evaluator")

    @invites_app.command("create")
    def invites_create(
        plan: Annotated[str, typer.Option(help="interview plan id")] = "full",
        mode: Annotated[str, typer.Option(help="practice | assessment")] = "assessment",
        hours: Annotated[int, typer.Option(min=1, max=24 * 90, help="valid for")] = 72,
        hide_report: Annotated[bool, typer.Option(help="the candidate does not see the report")] = False,
        create_db: Annotated[bool, typer.Option(help=CREATE_DB_HELP)] = False,
        label: Annotated[
            str | None, typer.Option(help="who it is for, e.g. 'Jane Doe <jane@example.com>' (staff see it)")
        ] = None,
    ) -> None:
        """Create a one-time invite code bound to a plan."""
        from interviewer import candidate_label
        from interviewer.services.staff import MODES, NoSuchPlan

        settings = settings_factory()
        if mode not in MODES:
            err.print(f"unknown mode {mode!r}; use practice or assessment")
            raise typer.Exit(2)
        try:
            label = candidate_label.clean(label)
        except ValueError as exc:
            err.print(f"--label {exc}", highlight=False, markup=False)
            raise typer.Exit(2) from exc
        db = require_database(settings, create=create_db, err=err)
        try:
            # the shipped plans and the ones HR saved in the database (the `/hr` pages)
            invite = _staff_call(
                settings,
                db,
                lambda staff: staff.create_invite(
                    by=None, plan=plan, mode=mode, show_report=not hide_report, ttl_hours=hours, label=label
                ),
            )
        except NoSuchPlan as exc:
            err.print(f"unknown plan {plan!r}; known: {', '.join(exc.known)}")
            raise typer.Exit(2) from exc
        out.print(invite.code)


def _staff_call(settings: Settings, db: Any, call: Callable[[StaffService], Coroutine[Any, Any, T]]) -> T:
    """Run one use case of the staff service on `db`, then stop the service's threads."""
    from interviewer.services.staff import StaffService

    staff = StaffService(settings=settings, db=db)
    try:
        return asyncio.run(call(staff))
    finally:
        staff.close()
