"""The staff use cases, one implementation for the web and the CLI: logging in and out, the staff
user behind a token (with its role checked), the HR and evaluator accounts, and the candidates'
invites. The doors keep only what is theirs: HTTP's content type, origin, cookies and CSRF on
the web; options, prompts and exit codes on the command line.

Logging in, cheapest checks first: the login bounds (`login_guard`: the account's back-off, the
per-address and global login rates, a free place for the password check; `TooMany` beyond any),
then the argon2id check on the guard's own threads. A failed login is `Unauthorized` and is
audited (`staff.login_failed`) with the e-mail hashed (sha256 of the normalised address, the same
account key the back-off uses), the client address and the count of failures in a row; never the
password or the e-mail itself.

Every method is a coroutine whose database work runs on worker threads, never on the event loop.
Claiming an invite belongs to starting an interview (the interview service, with
`store.staff.claim_invite`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, cast

from interviewer import candidate_label
from interviewer.bank.loader import load_bank
from interviewer.config import Settings
from interviewer.domain import Plan
from interviewer.errors import Conflict, Forbidden, Invalid, Unauthorized
from interviewer.services.bank_edits import BankEdits
from interviewer.services.credentials import hash_password, new_token
from interviewer.services.login_guard import LoginGuard
from interviewer.store import staff as store
from interviewer.store.db import Database
from interviewer.store.repo import audit, sha256
from interviewer.store.tables import Invite, User

Role = Literal["hr", "evaluator"]
ROLES: tuple[Role, ...] = ("hr", "evaluator")
Mode = Literal["practice", "assessment"]
MODES: tuple[Mode, ...] = ("practice", "assessment")
InviteStatus = Literal["active", "used", "expired"]
CLI_ACTOR = "cli"
"""The audit trail's name for the operator at the command line (no staff login)."""


@dataclass(frozen=True)
class StaffUser:
    id: int
    email: str
    role: Role
    created_at: datetime
    disabled: bool


@dataclass(frozen=True)
class StaffLogin:
    token: str
    """The bearer token, shown once (only its hash is stored)."""
    role: Role
    expires_in: int
    """Seconds the login is valid for."""


@dataclass(frozen=True)
class NewInvite:
    id: int
    code: str
    """The one-time code, shown once (only its hash is stored)."""
    plan: str
    mode: Mode
    show_report: bool
    expires_at: datetime
    candidate_label: str | None


@dataclass(frozen=True)
class InviteInfo:
    """An invite as HR sees it in the list: its status, never its code."""

    id: int
    status: InviteStatus
    plan: str
    plan_title: str | None
    """None when the plan is no longer in the bank."""
    mode: str
    show_report: bool
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    candidate_label: str | None


@dataclass(frozen=True)
class InvitePage:
    invites: list[InviteInfo]
    total: int
    """Invites in all pages."""
    next_before: int | None
    """Pass as `before` for the next page; None after the last."""


class NoSuchPlan(Invalid):
    """An invite for a plan the bank does not have; `known` lists the plans it has."""

    def __init__(self, plan: str, known: Collection[str]) -> None:
        super().__init__(f"no interview plan {plan!r}")
        self.plan = plan
        self.known = tuple(sorted(known))


def _user(row: User) -> StaffUser:
    return StaffUser(row.id, row.email, cast(Role, row.role), row.created_at, row.disabled)


class StaffService:
    """`bank_edits`: the app's bank with HR's edits, caught up before an invite names a plan;
    without it (the CLI) the shipped files and HR's edits in the database are read on the first need. `logins`: the login bounds
    (by default built from `settings`); `close()` stops their threads."""

    def __init__(
        self,
        *,
        settings: Settings,
        db: Database,
        bank_edits: BankEdits | None = None,
        logins: LoginGuard | None = None,
    ) -> None:
        self._settings = settings
        self._db = db
        self._bank_edits = bank_edits
        self._logins = logins or LoginGuard.from_settings(settings)
        self._session_ttl = timedelta(hours=settings.staff_session_hours)

    def close(self) -> None:
        self._logins.close()

    # --- logging in and out -----------------------------------------------------------------

    async def log_in(self, *, email: str, password: str, address: str) -> StaffLogin:
        """A new staff login; `TooMany` past the login bounds, `Unauthorized` for a wrong e-mail
        or password or a disabled account (the same answer for each)."""
        account_key = sha256(email.strip().lower())
        self._logins.admit(account=account_key, address=address)
        account = await asyncio.to_thread(self._account, email)
        ok = await self._logins.verify(account.password_hash if account else None, password)
        if not ok or account is None or account.disabled:
            failures = self._logins.failed(account_key)
            await asyncio.to_thread(self._audit_failure, account_key, address, failures)
            raise Unauthorized("wrong email or password")
        self._logins.succeeded(account_key)
        return await asyncio.to_thread(self._open_session, account)

    async def log_out(self, token: str) -> None:
        """Revoke the staff login of `token` (nothing happens for a token that is none)."""
        await asyncio.to_thread(self._revoke, token)

    async def user(self, token: str, *, roles: Collection[str]) -> StaffUser:
        """The staff user logged in with `token`: `Unauthorized` without a live login (a candidate's
        session token is not one), `Forbidden` when the user's role is not among `roles`."""
        user = await asyncio.to_thread(self._staff_user, token)
        if user is None:
            raise Unauthorized("not logged in, or the login expired")
        if user.role not in roles:
            raise Forbidden("your role may not do this")
        return user

    def _account(self, email: str) -> User | None:
        with self._db.session() as db:
            return store.user_by_email(db, email=email)

    def _audit_failure(self, account_key: str, address: str, failures: int) -> None:
        with self._db.session() as db:
            audit(
                db,
                actor="anonymous",
                action="staff.login_failed",
                subject=account_key,
                data={"address": address, "failures": failures},
            )
            db.commit()

    def _open_session(self, account: User) -> StaffLogin:
        token = new_token()
        with self._db.session() as db:
            store.create_staff_session(
                db, user_id=account.id, token_hash=sha256(token), ttl=self._session_ttl
            )
            audit(db, actor=account.email, action="staff.login", subject=str(account.id))
            db.commit()
        return StaffLogin(token, cast(Role, account.role), int(self._session_ttl.total_seconds()))

    def _revoke(self, token: str) -> None:
        with self._db.session() as db:
            store.revoke_staff_session(db, token_hash=sha256(token))
            db.commit()

    def _staff_user(self, token: str) -> StaffUser | None:
        with self._db.session() as db:
            row = store.staff_user(db, token_hash=sha256(token))
            return _user(row) if row is not None else None

    # --- accounts ---------------------------------------------------------------------------

    async def create_user(
        self, *, email: str, role: str, password: str, by: StaffUser | None = None
    ) -> StaffUser:
        """A new account, its password hashed with argon2id: `Invalid` for an unknown role or a
        short password, `Conflict` when the e-mail has an account already."""
        if role not in ROLES:
            raise Invalid(f"role must be {' or '.join(repr(r) for r in ROLES)}")
        try:
            hashed = await asyncio.to_thread(hash_password, password)
        except ValueError as exc:
            raise Invalid(str(exc)) from exc
        return await asyncio.to_thread(self._create_user, email, role, hashed, by)

    async def users(self) -> list[StaffUser]:
        """Every account, by role then e-mail."""
        return await asyncio.to_thread(self._users)

    def _create_user(self, email: str, role: str, hashed: str, by: StaffUser | None) -> StaffUser:
        with self._db.session() as db:
            if store.user_by_email(db, email=email) is not None:
                raise Conflict(f"a user {email!r} exists already")
            row = store.create_user(db, email=email, role=role, password_hash=hashed)
            audit(db, actor=_actor(by), action="user.create", subject=str(row.id), data={"role": role})
            db.commit()
            return _user(row)

    def _users(self) -> list[StaffUser]:
        with self._db.session() as db:
            return [_user(row) for row in store.users(db)]

    # --- invites ----------------------------------------------------------------------------

    async def create_invite(
        self,
        *,
        by: StaffUser | None,
        plan: str,
        mode: str = "assessment",
        show_report: bool = True,
        ttl_hours: int = 72,
        label: str | None = None,
    ) -> NewInvite:
        """A one-time invite code for `plan` (`NoSuchPlan` unless the bank has it, HR's saved
        plans included), audited under `by` (None: the command line)."""
        if mode not in MODES:
            raise Invalid(f"unknown mode {mode!r}; use {' or '.join(MODES)}")
        try:
            label = candidate_label.clean(label)
        except ValueError as exc:
            raise Invalid(f"candidate_label {exc}") from exc
        plans = await self._plans()
        if plan not in plans:
            raise NoSuchPlan(plan, plans)
        return await asyncio.to_thread(self._create_invite, by, plan, mode, show_report, ttl_hours, label)

    async def invites(self, *, limit: int = 100, before: int | None = None) -> InvitePage:
        """The invites newest first with their status, `limit` a page; `before`: the previous
        page's `next_before`."""
        plans = await self._plans()
        return await asyncio.to_thread(self._invites, plans, limit, before)

    async def _plans(self) -> Mapping[str, Plan]:
        if self._bank_edits is None:
            self._bank_edits = await asyncio.to_thread(self._load_bank)
        else:
            await self._bank_edits.catch_up()  # a plan HR just saved on another worker
        return self._bank_edits.bank.plans

    def _load_bank(self) -> BankEdits:
        edits = BankEdits(bank=load_bank(self._settings.knowledge_dir), db=self._db, index=None)
        edits.refresh()  # HR's edits (no index: the servers re-index when they notice)
        return edits

    def _create_invite(
        self,
        by: StaffUser | None,
        plan: str,
        mode: Mode,
        show_report: bool,
        ttl_hours: int,
        label: str | None,
    ) -> NewInvite:
        code = new_token()[:16]
        with self._db.session() as db:
            invite = store.create_invite(
                db,
                code_hash=sha256(code),
                plan_id=plan,
                mode=mode,
                show_report=show_report,
                ttl=timedelta(hours=ttl_hours),
                created_by=by.id if by is not None else None,
                candidate_label=label,
            )
            audit(
                db,
                actor=_actor(by),
                action="invite.create",
                subject=str(invite.id),
                data={"plan": plan, "mode": mode},
            )
            db.commit()
            return NewInvite(
                invite.id, code, plan, mode, show_report, invite.expires_at, invite.candidate_label
            )

    def _invites(self, plans: Mapping[str, Plan], limit: int, before: int | None) -> InvitePage:
        now = datetime.now(UTC)
        with self._db.session() as db:
            rows = store.list_invites(db, limit=limit + 1, before_id=before)  # one more: a next page?
            total = store.count_invites(db)
        more = len(rows) > limit
        return InvitePage(
            invites=[_invite_info(row, plans, now) for row in rows[:limit]],
            total=total,
            next_before=rows[limit - 1].id if more else None,
        )


def _invite_info(row: Invite, plans: Mapping[str, Plan], now: datetime) -> InviteInfo:
    expires = row.expires_at
    status: InviteStatus = "used" if row.used_at is not None else "expired" if expires < now else "active"
    return InviteInfo(
        id=row.id,
        status=status,
        plan=row.plan_id,
        plan_title=plans[row.plan_id].title if row.plan_id in plans else None,
        mode=row.mode,
        show_report=row.show_report,
        created_at=row.created_at,
        expires_at=expires,
        used_at=row.used_at,
        candidate_label=row.candidate_label,
    )


def _actor(by: StaffUser | None) -> str:
    return by.email if by is not None else CLI_ACTOR
