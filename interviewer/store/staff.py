"""Staff accounts, their logins and the candidates' invites: the SQL behind `services/staff.py`
(and the invite claim of the interview service). Keyword-only arguments throughout; the caller
owns the transaction (nothing here commits)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from interviewer.store.tables import Invite, StaffSession, User, utcnow

# --- users ------------------------------------------------------------------------------------


def create_user(db: Session, *, email: str, role: str, password_hash: str) -> User:
    user = User(email=email.strip().lower(), role=role, password_hash=password_hash)
    db.add(user)
    db.flush()
    return user


def user_by_email(db: Session, *, email: str) -> User | None:
    return db.scalar(select(User).where(User.email == email.strip().lower()))


def users(db: Session) -> list[User]:
    return list(db.scalars(select(User).order_by(User.role, User.email)))


# --- staff logins -----------------------------------------------------------------------------


def create_staff_session(db: Session, *, user_id: int, token_hash: str, ttl: timedelta) -> None:
    db.add(StaffSession(user_id=user_id, token_hash=token_hash, expires_at=utcnow() + ttl))


def staff_user(db: Session, *, token_hash: str) -> User | None:
    """The enabled user of a live (unrevoked, unexpired) staff login; None otherwise."""
    row = db.scalar(select(StaffSession).where(StaffSession.token_hash == token_hash))
    if row is None or row.revoked or row.expires_at < utcnow():
        return None
    user = db.get(User, row.user_id)
    return None if user is None or user.disabled else user


def revoke_staff_session(db: Session, *, token_hash: str) -> None:
    """Log out: the login of this token no longer works (nothing happens for an unknown one)."""
    db.execute(update(StaffSession).where(StaffSession.token_hash == token_hash).values(revoked=True))


# --- invites ----------------------------------------------------------------------------------


def create_invite(
    db: Session,
    *,
    code_hash: str,
    plan_id: str,
    mode: str,
    show_report: bool,
    ttl: timedelta,
    created_by: int | None,
    candidate_label: str | None = None,
) -> Invite:
    invite = Invite(
        code_hash=code_hash,
        plan_id=plan_id,
        mode=mode,
        show_report=show_report,
        expires_at=utcnow() + ttl,
        created_by=created_by,
        candidate_label=candidate_label,
    )
    db.add(invite)
    db.flush()
    return invite


def claim_invite(db: Session, *, code_hash: str) -> Invite | None:
    """Mark a valid, unused, unexpired invite used (atomically); None if it is not claimable."""
    invite = db.scalar(select(Invite).where(Invite.code_hash == code_hash))
    if invite is None or invite.expires_at < utcnow():
        return None
    claimed = db.execute(
        update(Invite).where(Invite.id == invite.id, Invite.used_at.is_(None)).values(used_at=utcnow())
    )
    return invite if claimed.rowcount == 1 else None  # type: ignore[attr-defined]


def list_invites(db: Session, *, limit: int = 200, before_id: int | None = None) -> list[Invite]:
    """Newest first; `before_id` is the keyset cursor (the id of the previous page's last row)."""
    query = select(Invite).order_by(Invite.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(Invite.id < before_id)
    return list(db.scalars(query))


def count_invites(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(Invite)) or 0)
