"""Sessions and turns: the SQL of an interview (the other aggregates have their own modules:
`staff.py`, `review.py`, `bank_edits.py`; only `store/` writes SQL). Keyword-only arguments
throughout. The functions flush or commit as their docstrings say; the use case that calls them
(`services/`) decides the transaction — an answer is committed on its own first, then a turn's
outcome is written in one transaction (`complete_turn`)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from interviewer.domain import Assessment, CallRecord, Exercise, Question, Report, Turn
from interviewer.store.tables import (
    AssessmentRow,
    AuditLog,
    ExerciseRunRow,
    ExerciseVersion,
    InterviewSession,
    Invite,
    ModelCall,
    QuestionVersion,
    ReportRow,
    TrackVersion,
    TurnRow,
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


def keep_question_versions(db: Session, questions: Sequence[Question]) -> list[str]:
    """Store each question's revision once (content-addressed; commits on its own). Returns the
    revisions now stored."""
    return _keep_versions(db, QuestionVersion, [(q, {"question_id": q.id}) for q in questions])


def keep_exercise_versions(db: Session, exercises: Sequence[Exercise]) -> list[str]:
    """Store each exercise's revision once, as `keep_question_versions` does for questions."""
    return _keep_versions(db, ExerciseVersion, [(e, {"exercise_id": e.id}) for e in exercises])


def _keep_versions(
    db: Session,
    table: type[QuestionVersion] | type[ExerciseVersion],
    items: Sequence[tuple[Question | Exercise, dict[str, str]]],
) -> list[str]:
    kept = []
    for item, key in items:
        revision = item.revision
        if db.scalar(select(table.id).where(table.revision == revision)) is None:
            db.add(table(**key, revision=revision, document=item.model_dump(mode="json")))
            try:
                db.commit()
            except IntegrityError:  # another process stored the same revision concurrently
                db.rollback()
        kept.append(revision)
    return kept


def question_versions(db: Session, revisions: Sequence[str]) -> dict[str, Question]:
    """The stored questions of these revisions, by revision (missing ones are left out)."""
    if not revisions:
        return {}
    rows = db.scalars(select(QuestionVersion).where(QuestionVersion.revision.in_(list(revisions))))
    return {row.revision: Question.model_validate(row.document) for row in rows}


def exercise_versions(db: Session, revisions: Sequence[str]) -> dict[str, Exercise]:
    """The stored exercises of these revisions, by revision (missing ones are left out)."""
    if not revisions:
        return {}
    rows = db.scalars(select(ExerciseVersion).where(ExerciseVersion.revision.in_(list(revisions))))
    return {row.revision: Exercise.model_validate(row.document) for row in rows}


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
    """The session and its opening turns; one started from an invite carries the invite's label."""
    invite = db.get(Invite, invite_id) if invite_id is not None else None
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
            candidate_label=invite.candidate_label if invite is not None else None,
        )
    )
    db.flush()
    db.add_all(_turn_row(session_id, n, t) for n, t in enumerate(turns, start=1))


def get_session(db: Session, *, session_id: str) -> InterviewSession | None:
    if "\x00" in session_id:  # no stored id has one, and PostgreSQL refuses NUL in a query (500)
        return None
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


def lock_session(db: Session, *, session_id: str, durable: bool = False) -> None:
    """Hold a write lock covering the session until this transaction ends: its row
    (`SELECT ... FOR UPDATE`) on PostgreSQL, the database's write lock (`BEGIN IMMEDIATE`) on
    SQLite. What is read afterwards includes everything committed before the lock was granted.
    `durable`: on SQLite this transaction's commit is fsynced (`synchronous=FULL`; see db.py)."""
    conn = db.connection()
    if conn.dialect.name == "sqlite":
        dbapi = conn.connection.dbapi_connection
        if not dbapi.in_transaction:  # type: ignore[union-attr]
            info = conn.connection.info
            if durable and info.get("fsync_answers", True):
                conn.exec_driver_sql("PRAGMA synchronous=FULL")
                info["durable"] = True  # db.py's checkin hook sets NORMAL again
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        return
    db.execute(select(InterviewSession.id).where(InterviewSession.id == session_id).with_for_update())


Outcome = Literal["accepted", "duplicate", "conflict", "busy"]
"""What became of a request that must be taken once per `client_msg_id` (an answer, a code run)."""
Taken = TypeVar("Taken", TurnRow, ExerciseRunRow)


def repeated(row: Taken, body_hash: str) -> Outcome:
    """A `client_msg_id` seen before: the same request again, or another body under its id."""
    return "duplicate" if row.body_hash == body_hash else "conflict"


def commit_once(
    db: Session, row: Taken, *, again: Callable[[], Taken | None]
) -> tuple[Outcome, Taken | None]:
    """Commit a new pending `row` (the caller checked under the session's lock that its
    `client_msg_id` is new and nothing is pending). A concurrent request that won the race
    (maybe in another process) makes it a repeat of that one, or `busy`."""
    db.add(row)
    try:
        db.commit()
    except IntegrityError:
        db.rollback()
        winner = again()
        return (repeated(winner, row.body_hash or ""), winner) if winner is not None else ("busy", None)
    return "accepted", row


@dataclass(frozen=True)
class Submitted:
    outcome: Outcome
    turn: TurnRow | None


def submit_answer(
    db: Session, *, session_id: str, client_msg_id: str, content: str, body_hash: str, kind: str = "answer"
) -> Submitted:
    """Commit the candidate's answer as a pending turn — before anything else happens to it.
    The same client_msg_id again is a duplicate (same body) or a conflict (another body); a second
    answer while one is pending is `busy`. The checks and the insert run under a lock on the
    session, so that two answers arriving at once (in two processes) cannot both be accepted."""
    lock_session(db, session_id=session_id, durable=True)  # the answer is acknowledged after this commit
    existing = find_turn(db, session_id=session_id, client_msg_id=client_msg_id)
    if existing is not None:
        return Submitted(repeated(existing, body_hash), existing)
    if pending_turn(db, session_id=session_id) is not None:
        return Submitted("busy", None)
    seq = (db.scalar(select(func.max(TurnRow.seq)).where(TurnRow.session_id == session_id)) or 0) + 1
    row = TurnRow(
        session_id=session_id,
        seq=seq,
        role="candidate",
        kind=kind,
        content=content,
        client_msg_id=client_msg_id,
        body_hash=body_hash,
        status="pending",
    )
    return Submitted(
        *commit_once(db, row, again=lambda: find_turn(db, session_id=session_id, client_msg_id=client_msg_id))
    )


def complete_turn(
    db: Session,
    *,
    session: InterviewSession,
    turn: TurnRow,
    expected_version: int,
    state: dict[str, Any],
    status: str,
    replies: Sequence[Turn],
    assessment: Assessment | None,
    report: Report | None,
    calls: Sequence[CallRecord],
) -> list[TurnRow] | None:
    """Write the outcome of a processed answer in one transaction and return the reply rows;
    None if another process completed it first (optimistic check on the session's version)."""
    updated = db.execute(
        update(InterviewSession)
        .where(InterviewSession.id == session.id, InterviewSession.version == expected_version)
        .values(state=state, status=status, version=expected_version + 1, updated_at=utcnow())
    )
    if updated.rowcount != 1:  # type: ignore[attr-defined]
        db.rollback()
        return None
    first = turn.seq + 1
    rows = [_turn_row(session.id, first + n, t) for n, t in enumerate(replies)]
    db.add_all(rows)
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
                question_id=assessment.question_id,
                track=assessment.track,
                score=assessment.score,
                scorer=assessment.scorer,
                flags=list(assessment.flags),
                data=assessment.model_dump(mode="json"),
            )
        )
    if report is not None:
        db.add(
            ReportRow(
                session_id=session.id,
                score=report.score,
                recommendation=report.recommendation,
                data=report.model_dump(mode="json"),
            )
        )
    record_calls(db, session_id=session.id, calls=calls)
    db.commit()
    return rows


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


def count_active_sessions(db: Session) -> int:
    return int(
        db.scalar(
            select(func.count()).select_from(InterviewSession).where(InterviewSession.status == "active")
        )
        or 0
    )


def pending_turns(db: Session) -> list[TurnRow]:
    return list(db.scalars(select(TurnRow).where(TurnRow.status == "pending").order_by(TurnRow.id)))


def get_report(db: Session, *, session_id: str) -> ReportRow | None:
    return db.scalar(select(ReportRow).where(ReportRow.session_id == session_id))


def audit(db: Session, *, actor: str, action: str, subject: str, data: dict[str, Any] | None = None) -> None:
    db.add(AuditLog(actor=actor, action=action, subject=subject, data=data or {}))


def set_offline_score(db: Session, *, session_id: str, turn_seq: int, score: float) -> bool:
    """Record the offline scorer's second opinion on an assessment written earlier (it is
    computed after the reply). False when there is no such assessment."""
    row = db.scalar(
        select(AssessmentRow).where(
            AssessmentRow.session_id == session_id, AssessmentRow.turn_seq == turn_seq
        )
    )
    if row is None:
        return False
    row.data = {**row.data, "offline_score": round(score, 2)}
    return True
