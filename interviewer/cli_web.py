"""`interviewer users create|list`, `interviewer invites create`.

The admin commands print the database they use and refuse to create one unless `--create-db`
is given (`interviewer/cli_db.py`); `interviewer serve` (in `cli.py`, which wires the web app)
creates it at start-up. The account and invite commands are the staff service's use cases
(`services/staff.py`, the same the web app runs)."""

from __future__ import annotations

import asyncio
import getpass
import sys
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console

from interviewer.cli_db import CREATE_DB_HELP, require_database
from interviewer.config import Settings

if TYPE_CHECKING:
    from interviewer.config import Settings
    from interviewer.services.staff import StaffService

T = TypeVar("T")

users_app = typer.Typer(help="HR and evaluator accounts.", no_args_is_help=True)
invites_app = typer.Typer(help="Invite codes for candidates.", no_args_is_help=True)


def register(app: typer.Typer, settings_factory: Callable[[], Settings], out: Console, err: Console) -> None:
    app.add_typer(users_app, name="users")
    app.add_typer(invites_app, name="invites")

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
