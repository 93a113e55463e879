"""`interviewer users create|list`, `interviewer invites create`.

The admin commands print the database they use and refuse to create one unless `--create-db`
is given (`interviewer/cli_db.py`); `interviewer serve` (in `cli.py`, which wires the web app)
creates it at start-up."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated

import typer
from rich.console import Console

from interviewer.cli_db import CREATE_DB_HELP, require_database
from interviewer.config import Settings

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
        from interviewer.store import repo
        from interviewer.web.security import hash_password

        if role not in ("hr", "evaluator"):
            err.print("role must be 'hr' or 'evaluator'")
            raise typer.Exit(2)
        db = require_database(settings_factory(), create=create_db, err=err)
        password = sys.stdin.readline().rstrip("\n") if password_stdin else getpass.getpass("password: ")
        try:
            hashed = hash_password(password)
        except ValueError as exc:
            err.print(str(exc))
            raise typer.Exit(2) from exc
        with db.session() as session:
            if repo.user_by_email(session, email=email) is not None:
                err.print(f"a user {email!r} exists already")
                raise typer.Exit(1)
            user = repo.create_user(session, email=email, role=role, password_hash=hashed)
            repo.audit(session, actor="cli", action="user.create", subject=str(user.id), data={"role": role})
            session.commit()
        out.print(f"created {role} account {email}", highlight=False)

    @users_app.command("list")
    def users_list() -> None:
        """List the HR and evaluator accounts (e-mail, role, created, disabled)."""
        from interviewer.store import repo

        db = require_database(settings_factory(), create=False, err=err)
        with db.session() as session:
            rows = repo.users(session)
            for user in rows:
                state = "  disabled" if user.disabled else ""
                out.print(
                    f"{user.email}  {user.role}  {user.created_at:%Y-%m-%d}{state}",
                    markup=False,
                    highlight=False,
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
        from interviewer.bank import load_bank
        from interviewer.store import repo
        from interviewer.web.security import new_token

        settings = settings_factory()
        if mode not in ("practice", "assessment"):
            err.print(f"unknown mode {mode!r}; use practice or assessment")
            raise typer.Exit(2)
        try:
            label = candidate_label.clean(label)
        except ValueError as exc:
            err.print(f"--label {exc}", highlight=False, markup=False)
            raise typer.Exit(2) from exc
        db = require_database(settings, create=create_db, err=err)
        code = new_token()[:16]
        with db.session() as session:
            # the shipped plans and the ones HR saved in the database (the `/hr` pages)
            known = set(load_bank(settings.knowledge_dir).plans) | {
                row.item_id for row in repo.latest_hr_configs(session) if row.kind == "plan"
            }
            if plan not in known:
                err.print(f"unknown plan {plan!r}; known: {', '.join(sorted(known))}")
                raise typer.Exit(2)
            repo.create_invite(
                session,
                code_hash=repo.sha256(code),
                plan_id=plan,
                mode=mode,
                show_report=not hide_report,
                ttl=timedelta(hours=hours),
                created_by=None,
                candidate_label=label,
            )
            session.commit()
        out.print(code)
