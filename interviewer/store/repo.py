"""Repository functions: the only code that writes SQL. Keyword-only arguments throughout."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from interviewer.engine.state import Turn
from interviewer.llm.base import CallRecord
from interviewer.store.tables import (
    AssessmentRow,
    AuditLog,
    InterviewSession,
    Invite,
    ModelCall,
    ReportRow,
    StaffSession,
    TrackVersion,
    TurnRow,
    User,
    utcnow,
)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def pin_track_version(db: Session, *, plan_id: str, config: dict[str, Any]) -> int:
    digest = sha256(json.dumps(config, sort_keys=True))
    existing = db.scalar(
        select(TrackVersion.id).where(TrackVersion.plan_id == plan_id, TrackVersion.content_hash == digest)
    )
    if existing is not None:
        return existing
    row = TrackVersion(plan_id=plan_id, content_hash=digest, config=config)
    db.add(row)
    try:
        db.flush()
    except IntegrityError:  # another process pinned the same version concurrently
        db.rollback()
        return pin_track_version(db, plan_id=plan_id, config=config)
    return row.id


def _turn_row(session_id: str, seq: int, turn: Turn) -> TurnRow:
    return TurnRow(
        session_id=session_id,
        seq=seq,
        role=turn.role,
        kind=turn.kind,
        content=turn.content,
        track=turn.track,
        question_id=turn.question_id,
        key_point=turn.key_point,
    )


def create_session(
    db: Session,
    *,
    session_id: str,
    token_hash: str,
    plan_id: str,
    track_version_id: int,
    mode: str,
    show_report: bool,
    state: dict[str, Any],
    turns: Sequence[Turn],
    client_address: str | None,
    invite_id: int | None = None,
) -> None:
    db.add(
        InterviewSession(
            id=session_id,
            token_hash=token_hash,
            plan_id=plan_id,
            track_version_id=track_version_id,
            mode=mode,
            show_report=show_report,
            state=state,
            client_address=client_address,
            invite_id=invite_id,
        )
    )
    db.flush()
    db.add_all(_turn_row(session_id, n, t) for n, t in enumerate(turns, start=1))


def get_session(db: Session, *, session_id: str) -> InterviewSession | None:
    return db.get(InterviewSession, session_id)


def list_turns(db: Session, *, session_id: str, after_seq: int = 0) -> list[TurnRow]:
    return list(
        db.scalars(
            select(TurnRow)
            .where(TurnRow.session_id == session_id, TurnRow.seq > after_seq)
            .order_by(TurnRow.seq)
        )
    )


def find_turn(db: Session, *, session_id: str, client_msg_id: str) -> TurnRow | None:
    return db.scalar(
        select(TurnRow).where(TurnRow.session_id == session_id, TurnRow.client_msg_id == client_msg_id)
    )


def pending_turn(db: Session, *, session_id: str) -> TurnRow | None:
    return db.scalar(select(TurnRow).where(TurnRow.session_id == session_id, TurnRow.status == "pending"))


@dataclass(frozen=True)
class Submitted:
    outcome: Literal["accepted", "duplicate", "conflict", "busy"]
    turn: TurnRow | None


def submit_answer(
    db: Session, *, session_id: str, client_msg_id: str, content: str, body_hash: str
) -> Submitted:
    """Commit the candidate's answer as a pending turn — before anything else happens to it.
    The same client_msg_id again is a duplicate (same body) or a conflict (another body); a second
    answer while one is pending is `busy`."""
    existing = find_turn(db, session_id=session_id, client_msg_id=client_msg_id)
    if existing is not None:
        return Submitted("duplicate" if existing.body_hash == body_hash else "conflict", existing)
    if pending_turn(db, session_id=session_id) is not None:
        return Submitted("busy", None)
    seq = (db.scalar(select(func.max(TurnRow.seq)).where(TurnRow.session_id == session_id)) or 0) + 1
    row = TurnRow(
        session_id=session_id,
        seq=seq,
        role="candidate",
        kind="answer",
        content=content,
        client_msg_id=client_msg_id,
        body_hash=body_hash,
        status="pending",
    )
    db.add(row)
    try:
        db.commit()
    except IntegrityError:  # a concurrent request (maybe in another process) won the race
        db.rollback()
        again = find_turn(db, session_id=session_id, client_msg_id=client_msg_id)
        if again is not None:
            return Submitted("duplicate" if again.body_hash == body_hash else "conflict", again)
        return Submitted("busy", None)
    return Submitted("accepted", row)


def complete_turn(
    db: Session,
    *,
    session: InterviewSession,
    turn: TurnRow,
    expected_version: int,
    state: dict[str, Any],
    status: str,
    replies: Sequence[Turn],
    assessment: dict[str, Any] | None,
    report: dict[str, Any] | None,
    calls: Sequence[CallRecord],
) -> bool:
    """Write the outcome of a processed answer in one transaction; False if another process
    completed it first (optimistic check on the session's version)."""
    updated = db.execute(
        update(InterviewSession)
        .where(InterviewSession.id == session.id, InterviewSession.version == expected_version)
        .values(state=state, status=status, version=expected_version + 1, updated_at=utcnow())
    )
    if updated.rowcount != 1:  # type: ignore[attr-defined]
        db.rollback()
        return False
    first = turn.seq + 1
    db.add_all(_turn_row(session.id, first + n, t) for n, t in enumerate(replies))
    db.execute(
        update(TurnRow)
        .where(TurnRow.id == turn.id)
        .values(status="done", reply_from=first, reply_to=first + len(replies) - 1)
    )
    if assessment is not None:
        db.add(
            AssessmentRow(
                session_id=session.id,
                turn_seq=turn.seq,
                question_id=assessment["question_id"],
                track=assessment["track"],
                score=assessment["score"],
                scorer=assessment["scorer"],
                flags=assessment["flags"],
                data=assessment,
            )
        )
    if report is not None:
        db.add(
            ReportRow(
                session_id=session.id,
                score=report["score"],
                recommendation=report["recommendation"],
                data=report,
            )
        )
    record_calls(db, session_id=session.id, calls=calls)
    db.commit()
    return True


def record_calls(db: Session, *, session_id: str | None, calls: Sequence[CallRecord]) -> None:
    db.add_all(
        ModelCall(
            session_id=session_id,
            model=c.model,
            prompt=c.prompt,
            prompt_version=c.prompt_version,
            prompt_tokens=c.usage.prompt_tokens,
            completion_tokens=c.usage.completion_tokens,
            latency_ms=c.latency_ms,
            attempts=c.attempts,
            ok=c.ok,
            error=c.error,
        )
        for c in calls
    )


def pending_turns(db: Session) -> list[TurnRow]:
    return list(db.scalars(select(TurnRow).where(TurnRow.status == "pending").order_by(TurnRow.id)))


def get_report(db: Session, *, session_id: str) -> ReportRow | None:
    return db.scalar(select(ReportRow).where(ReportRow.session_id == session_id))


def audit(db: Session, *, actor: str, action: str, subject: str, data: dict[str, Any] | None = None) -> None:
    db.add(AuditLog(actor=actor, action=action, subject=subject, data=data or {}))


# --- staff and invites ------------------------------------------------------------------------


def create_user(db: Session, *, email: str, role: str, password_hash: str) -> User:
    user = User(email=email.strip().lower(), role=role, password_hash=password_hash)
    db.add(user)
    db.flush()
    return user


def user_by_email(db: Session, *, email: str) -> User | None:
    return db.scalar(select(User).where(User.email == email.strip().lower()))


def create_staff_session(db: Session, *, user_id: int, token_hash: str, ttl: timedelta) -> None:
    db.add(StaffSession(user_id=user_id, token_hash=token_hash, expires_at=utcnow() + ttl))


def staff_user(db: Session, *, token_hash: str) -> User | None:
    row = db.scalar(select(StaffSession).where(StaffSession.token_hash == token_hash))
    if row is None or row.revoked:
        return None
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=utcnow().tzinfo)
    if expires < utcnow():
        return None
    user = db.get(User, row.user_id)
    return None if user is None or user.disabled else user


def create_invite(
    db: Session,
    *,
    code_hash: str,
    plan_id: str,
    mode: str,
    show_report: bool,
    ttl: timedelta,
    created_by: int | None,
) -> Invite:
    invite = Invite(
        code_hash=code_hash,
        plan_id=plan_id,
        mode=mode,
        show_report=show_report,
        expires_at=utcnow() + ttl,
        created_by=created_by,
    )
    db.add(invite)
    db.flush()
    return invite


def claim_invite(db: Session, *, code_hash: str) -> Invite | None:
    """Mark a valid, unused, unexpired invite used (atomically); None if it is not claimable."""
    invite = db.scalar(select(Invite).where(Invite.code_hash == code_hash))
    if invite is None:
        return None
    expires = (
        invite.expires_at if invite.expires_at.tzinfo else invite.expires_at.replace(tzinfo=utcnow().tzinfo)
    )
    if expires < utcnow():
        return None
    claimed = db.execute(
        update(Invite).where(Invite.id == invite.id, Invite.used_at.is_(None)).values(used_at=utcnow())
    )
    return invite if claimed.rowcount == 1 else None  # type: ignore[attr-defined]
