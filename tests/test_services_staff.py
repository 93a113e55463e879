"""The staff use cases without HTTP (`services/staff.py`), on a real SQLite file: logging in and
out, the role check, the accounts, the invites (create, list with paging and status, claim).
The web and CLI doors over them are tested in test_api, test_roles, test_security_limits,
test_cli_admin and test_hr_api."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import select, update

from interviewer.bank import Bank
from interviewer.errors import Conflict, Forbidden, Invalid, TooMany, Unauthorized
from interviewer.services.bank_edits import BankEdits
from interviewer.services.credentials import hash_password
from interviewer.services.staff import NoSuchPlan, StaffService, StaffUser
from interviewer.store import staff as store
from interviewer.store.db import Database
from interviewer.store.repo import sha256
from interviewer.store.tables import AuditLog, Invite, StaffSession, User, utcnow
from tests.conftest import make_settings

PASSWORD = "correct horse battery"
T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@pytest.fixture(scope="module")
def password_hash() -> str:
    return hash_password(PASSWORD)  # one argon2 hash for the module's accounts


@dataclass
class World:
    db: Database
    staff: StaffService
    password_hash: str

    def add_user(self, email: str, role: str = "hr", *, disabled: bool = False) -> None:
        with self.db.session() as s:
            user = store.create_user(s, email=email, role=role, password_hash=self.password_hash)
            user.disabled = disabled
            s.commit()

    def login(self, email: str, password: str = PASSWORD, *, address: str = "10.0.0.1") -> str:
        return run(self.staff.log_in(email=email, password=password, address=address)).token

    def audit(self, action: str) -> list[AuditLog]:
        with self.db.session() as s:
            return list(s.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))


def _world(tmp_path: Path, password_hash: str, bank: Bank | None, **settings: Any) -> Iterator[World]:
    db = Database(f"sqlite:///{tmp_path / 'staff.db'}")
    db.migrate()
    edits = BankEdits(bank=bank, db=db, index=None) if bank is not None else None
    staff = StaffService(settings=make_settings(tmp_path, **settings), db=db, bank_edits=edits)
    try:
        yield World(db, staff, password_hash)
    finally:
        staff.close()
        db.dispose()


@pytest.fixture
def world(tmp_path: Path, password_hash: str, bank: Bank) -> Iterator[World]:
    yield from _world(tmp_path, password_hash, bank, login_failures_before_backoff=3)


# --- logging in and out -------------------------------------------------------------------------


def test_log_in_opens_a_staff_session(world: World) -> None:
    world.add_user("hr@example.com")
    login = run(world.staff.log_in(email=" HR@Example.com ", password=PASSWORD, address="10.0.0.1"))
    assert login.role == "hr" and login.expires_in == 12 * 3600 and len(login.token) > 30
    user = run(world.staff.user(login.token, roles=("hr", "evaluator")))
    assert (user.email, user.role) == ("hr@example.com", "hr")
    with world.db.session() as s:
        row = s.scalar(select(StaffSession).where(StaffSession.token_hash == sha256(login.token)))
        assert row is not None and row.user_id == user.id  # the token itself is not stored
    assert [(a.actor, a.subject) for a in world.audit("staff.login")] == [("hr@example.com", str(user.id))]


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("hr@example.com", "not the password"),  # a wrong password
        ("ghost@example.com", PASSWORD),  # no such account
        ("off@example.com", PASSWORD),  # a disabled account, right password
    ],
    ids=["wrong-password", "unknown-account", "disabled-account"],
)
def test_a_failed_login_is_one_refusal_audited_without_the_email(
    world: World, email: str, password: str
) -> None:
    world.add_user("hr@example.com")
    world.add_user("off@example.com", disabled=True)
    with pytest.raises(Unauthorized, match="^wrong email or password$"):
        world.login(email, password, address="192.0.2.7")
    (row,) = world.audit("staff.login_failed")
    assert row.actor == "anonymous" and row.subject == sha256(email)
    assert row.data == {"address": "192.0.2.7", "failures": 1}
    assert email not in json.dumps([row.actor, row.subject, row.data]) and password not in str(row.data)
    assert world.audit("staff.login") == []


def test_repeated_failures_back_off(world: World) -> None:
    world.add_user("hr@example.com")
    for _ in range(3):  # login_failures_before_backoff
        with pytest.raises(Unauthorized):
            world.login("hr@example.com", "wrong")
    with pytest.raises(TooMany, match="too many failed logins for this account") as refused:
        world.login("hr@example.com")  # even with the right password: the account waits
    assert refused.value.retry_after >= 1
    assert [a.data["failures"] for a in world.audit("staff.login_failed")] == [1, 2, 3]
    with pytest.raises(Unauthorized):  # another account is not held back
        world.login("other@example.com", "wrong")


def test_log_out_revokes_the_token(world: World) -> None:
    world.add_user("hr@example.com")
    token = world.login("hr@example.com")
    assert run(world.staff.user(token, roles=("hr",))).email == "hr@example.com"
    run(world.staff.log_out(token))
    with pytest.raises(Unauthorized, match="^not logged in, or the login expired$"):
        run(world.staff.user(token, roles=("hr",)))
    run(world.staff.log_out(token))  # again, or with a token that is none: nothing happens
    run(world.staff.log_out("not a token"))


def test_the_role_check(world: World) -> None:
    world.add_user("ev@example.com", "evaluator")
    token = world.login("ev@example.com")
    assert run(world.staff.user(token, roles=("hr", "evaluator"))).role == "evaluator"
    with pytest.raises(Forbidden, match="^your role may not do this$"):
        run(world.staff.user(token, roles=("hr",)))
    with pytest.raises(Unauthorized):
        run(world.staff.user("a candidate's session token", roles=("hr", "evaluator")))


def test_an_expired_login_or_a_disabled_account_is_logged_out(world: World) -> None:
    world.add_user("hr@example.com")
    token = world.login("hr@example.com")
    with world.db.session() as s:
        s.execute(update(User).values(disabled=True))
        s.commit()
    with pytest.raises(Unauthorized):
        run(world.staff.user(token, roles=("hr",)))
    with world.db.session() as s:
        s.execute(update(User).values(disabled=False))
        s.execute(update(StaffSession).values(expires_at=utcnow() - timedelta(seconds=1)))
        s.commit()
    with pytest.raises(Unauthorized):
        run(world.staff.user(token, roles=("hr",)))


# --- accounts -----------------------------------------------------------------------------------


def test_create_and_list_users(world: World) -> None:
    created = run(world.staff.create_user(email="HR@example.com", role="hr", password=PASSWORD))
    assert (created.email, created.role, created.disabled) == ("hr@example.com", "hr", False)
    world.add_user("ev@example.com", "evaluator")
    assert [(u.email, u.role) for u in run(world.staff.users())] == [
        ("ev@example.com", "evaluator"),
        ("hr@example.com", "hr"),
    ]
    assert world.login("hr@example.com")  # the password was hashed with argon2id
    with pytest.raises(Conflict, match="exists already"):
        run(world.staff.create_user(email="hr@example.com", role="hr", password=PASSWORD))
    with pytest.raises(Invalid, match="at least 10 characters"):
        run(world.staff.create_user(email="new@example.com", role="hr", password="short"))
    with pytest.raises(Invalid, match="role"):
        run(world.staff.create_user(email="new@example.com", role="admin", password=PASSWORD))
    assert [(a.actor, a.data) for a in world.audit("user.create")] == [("cli", {"role": "hr"})]


# --- invites ------------------------------------------------------------------------------------


def _hr(world: World) -> StaffUser:
    world.add_user("hr@example.com")
    return run(world.staff.user(world.login("hr@example.com"), roles=("hr",)))


def test_create_invite(world: World) -> None:
    hr = _hr(world)
    invite = run(
        world.staff.create_invite(
            by=hr, plan="python", mode="practice", show_report=False, ttl_hours=2, label="  Jane Doe  "
        )
    )
    assert (invite.plan, invite.mode, invite.show_report, invite.candidate_label) == (
        "python",
        "practice",
        False,
        "Jane Doe",
    )
    assert len(invite.code) == 16 and invite.expires_at.tzinfo is not None
    assert timedelta(hours=1, minutes=59) < invite.expires_at - utcnow() <= timedelta(hours=2)
    with world.db.session() as s:
        row = s.get(Invite, invite.id)
        assert row is not None and row.code_hash == sha256(invite.code) and row.created_by == hr.id
    ((actor, data),) = [(a.actor, a.data) for a in world.audit("invite.create")]
    assert actor == "hr@example.com" and data == {"plan": "python", "mode": "practice"}


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"plan": "no-such-plan"}, "no interview plan 'no-such-plan'"),
        ({"mode": "exam"}, "unknown mode 'exam'"),
        ({"label": "two\nlines"}, "candidate_label must be one line"),
    ],
)
def test_create_invite_refuses(world: World, change: dict[str, Any], error: str) -> None:
    with pytest.raises(Invalid, match=error) as refused:
        run(world.staff.create_invite(**{"by": None, "plan": "python", **change}))
    if "plan" in change:
        assert isinstance(refused.value, NoSuchPlan) and "python" in refused.value.known
    with world.db.session() as s:
        assert s.scalars(select(Invite)).first() is None


def test_invites_are_listed_newest_first_in_pages_with_their_status(world: World, bank: Bank) -> None:
    hr = _hr(world)
    codes = [run(world.staff.create_invite(by=hr, plan="python")).code for _ in range(5)]
    with world.db.session() as s:  # the first is used (claimed by the interview service) ...
        assert store.claim_invite(s, code_hash=sha256(codes[0])) is not None
        s.commit()
        assert store.claim_invite(s, code_hash=sha256(codes[0])) is None  # ... once
        s.execute(  # ... and the second has expired
            update(Invite)
            .where(Invite.code_hash == sha256(codes[1]))
            .values(expires_at=utcnow() - timedelta(hours=1))
        )
        s.commit()
        assert store.claim_invite(s, code_hash=sha256(codes[1])) is None  # expired: not claimable

    pages, before = [], None
    while True:
        page = run(world.staff.invites(limit=2, before=before))
        assert page.total == 5 and len(page.invites) <= 2
        pages.append(page.invites)
        if page.next_before is None:
            break
        before = page.next_before
    assert [len(p) for p in pages] == [2, 2, 1]
    listed = [i for p in pages for i in p]
    assert [i.id for i in listed] == sorted((i.id for i in listed), reverse=True)
    assert [i.status for i in listed] == ["active", "active", "active", "expired", "used"]
    assert listed[-1].used_at is not None and listed[0].used_at is None
    assert {i.plan_title for i in listed} == {bank.plans["python"].title}
    assert all(i.expires_at.tzinfo is not None for i in listed)
    assert run(world.staff.invites(limit=200)).invites == listed


def test_without_a_bank_the_plans_come_from_the_files_and_the_database(
    tmp_path: Path, password_hash: str
) -> None:
    """The command line's service: no app bank; the shipped files and HR's edits are read once."""
    for world in _world(tmp_path, password_hash, None):
        invite = run(world.staff.create_invite(by=None, plan="python"))
        assert [(a.actor, a.subject) for a in world.audit("invite.create")] == [("cli", str(invite.id))]
        with pytest.raises(NoSuchPlan):
            run(world.staff.create_invite(by=None, plan="no-such-plan"))
