"""Repository functions: the only code that writes SQL. Keyword-only arguments throughout."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import String, and_, case, cast, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from interviewer.candidate_label import like_pattern
from interviewer.domain import CallRecord, Question, Turn, question_revision
from interviewer.store.tables import (
    AssessmentRow,
    AuditLog,
    HrConfig,
    HrQuestion,
    InterviewSession,
    Invite,
    ModelCall,
    Override,
    QuestionVersion,
    Recommendation,
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
    kept = []
    for question in questions:
        revision = question_revision(question)
        if db.scalar(select(QuestionVersion.id).where(QuestionVersion.revision == revision)) is None:
            db.add(
                QuestionVersion(
                    question_id=question.id, revision=revision, document=question.model_dump(mode="json")
                )
            )
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


@dataclass(frozen=True)
class Submitted:
    outcome: Literal["accepted", "duplicate", "conflict", "busy"]
    turn: TurnRow | None


def submit_answer(
    db: Session, *, session_id: str, client_msg_id: str, content: str, body_hash: str
) -> Submitted:
    """Commit the candidate's answer as a pending turn — before anything else happens to it.
    The same client_msg_id again is a duplicate (same body) or a conflict (another body); a second
    answer while one is pending is `busy`. The checks and the insert run under a lock on the
    session, so that two answers arriving at once (in two processes) cannot both be accepted."""
    lock_session(db, session_id=session_id, durable=True)  # the answer is acknowledged after this commit
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


# --- evaluator review -------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewListRow:
    session: InterviewSession
    score: float | None
    """The report's score, or the mean of the latest assessment per question so far."""
    flagged: bool
    answers: int
    needs_review: bool = False
    """An answer's score came with low confidence: an evaluator should read it."""


def list_review_sessions(
    db: Session,
    *,
    plan_id: str | None = None,
    status: str | None = None,
    min_score: float | None = None,
    max_score: float | None = None,
    flagged: bool | None = None,
    needs_review: bool | None = None,
    created_from: datetime | None = None,
    created_before: datetime | None = None,
    label_contains: str | None = None,
    after: tuple[datetime, str] | None = None,
    limit: int = 20,
    offset: int = 0,
) -> tuple[list[ReviewListRow], int]:
    """Sessions newest first with their score, injection flag and answer count, filtered in SQL;
    returns (page, total matching). `after` is a keyset cursor: (created_at, id) of the last row
    of the previous page."""
    latest = (
        select(func.max(AssessmentRow.id))
        .group_by(AssessmentRow.session_id, AssessmentRow.question_id)
        .scalar_subquery()
    )
    means = (
        select(AssessmentRow.session_id.label("sid"), func.avg(AssessmentRow.score).label("mean"))
        .where(AssessmentRow.id.in_(latest))
        .group_by(AssessmentRow.session_id)
        .subquery()
    )
    is_flagged = cast(AssessmentRow.flags, String).like('%"prompt_injection"%')
    is_unsure = cast(AssessmentRow.flags, String).like('%"needs_review"%')
    flags = (
        select(
            AssessmentRow.session_id.label("sid"),
            func.max(case((is_flagged, 1), else_=0)).label("flagged"),
            func.max(case((is_unsure, 1), else_=0)).label("unsure"),
        )
        .group_by(AssessmentRow.session_id)
        .subquery()
    )
    answers = (
        select(TurnRow.session_id.label("sid"), func.count(TurnRow.id).label("n"))
        .where(TurnRow.role == "candidate")
        .group_by(TurnRow.session_id)
        .subquery()
    )
    score = func.coalesce(ReportRow.score, means.c.mean)
    flag = func.coalesce(flags.c.flagged, 0)
    unsure = func.coalesce(flags.c.unsure, 0)
    query = (
        select(InterviewSession, score, flag, func.coalesce(answers.c.n, 0), unsure)
        .outerjoin(ReportRow, ReportRow.session_id == InterviewSession.id)
        .outerjoin(means, means.c.sid == InterviewSession.id)
        .outerjoin(flags, flags.c.sid == InterviewSession.id)
        .outerjoin(answers, answers.c.sid == InterviewSession.id)
    )
    conditions: list[Any] = []
    if plan_id is not None:
        conditions.append(InterviewSession.plan_id == plan_id)
    if status is not None:
        conditions.append(InterviewSession.status == status)
    if min_score is not None:
        conditions.append(score >= min_score)
    if max_score is not None:
        conditions.append(score <= max_score)
    if flagged is not None:
        conditions.append(flag == (1 if flagged else 0))
    if needs_review is not None:
        conditions.append(unsure == (1 if needs_review else 0))
    if created_from is not None:
        conditions.append(InterviewSession.created_at >= created_from)
    if created_before is not None:
        conditions.append(InterviewSession.created_at < created_before)
    if label_contains is not None:  # case-insensitive; the query's own % and _ are literal
        conditions.append(InterviewSession.candidate_label.ilike(like_pattern(label_contains), escape="\\"))
    query = query.where(*conditions)
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    if after is not None:
        at, sid = after
        query = query.where(
            or_(
                InterviewSession.created_at < at,
                and_(InterviewSession.created_at == at, InterviewSession.id < sid),
            )
        )
    else:
        query = query.offset(offset)
    rows = db.execute(
        query.order_by(InterviewSession.created_at.desc(), InterviewSession.id.desc()).limit(limit)
    ).all()
    page = [
        ReviewListRow(
            session=row[0], score=row[1], flagged=bool(row[2]), answers=int(row[3]), needs_review=bool(row[4])
        )
        for row in rows
    ]
    return page, int(total)


def list_assessments(db: Session, *, session_ids: Sequence[str]) -> list[AssessmentRow]:
    """Every assessment of these sessions, oldest first (the last one per question is current)."""
    if not session_ids:
        return []
    return list(
        db.scalars(
            select(AssessmentRow).where(AssessmentRow.session_id.in_(session_ids)).order_by(AssessmentRow.id)
        )
    )


def add_override(
    db: Session,
    *,
    session_id: str,
    question_id: str,
    track: str,
    criterion: str,
    machine_score: float,
    old_score: float,
    new_score: float,
    reason: str,
    user_id: int | None,
    actor: str,
) -> Override:
    row = Override(
        session_id=session_id,
        question_id=question_id,
        track=track,
        criterion=criterion,
        machine_score=machine_score,
        old_score=old_score,
        new_score=new_score,
        reason=reason,
        user_id=user_id,
        actor=actor,
    )
    db.add(row)
    db.flush()
    return row


def list_overrides(db: Session, *, session_ids: Sequence[str] | None = None) -> list[Override]:
    """Overrides oldest first; all of them when `session_ids` is None (calibration)."""
    query = select(Override).order_by(Override.id)
    if session_ids is not None:
        if not session_ids:
            return []
        query = query.where(Override.session_id.in_(session_ids))
    return list(db.scalars(query))


def add_recommendation(
    db: Session, *, session_id: str, recommendation: str, note: str | None, user_id: int | None, actor: str
) -> Recommendation:
    row = Recommendation(
        session_id=session_id, recommendation=recommendation, note=note, user_id=user_id, actor=actor
    )
    db.add(row)
    db.flush()
    return row


def list_recommendations(db: Session, *, session_id: str) -> list[Recommendation]:
    return list(
        db.scalars(
            select(Recommendation).where(Recommendation.session_id == session_id).order_by(Recommendation.id)
        )
    )


def audit_entries(db: Session, *, subject: str) -> list[AuditLog]:
    return list(db.scalars(select(AuditLog).where(AuditLog.subject == subject).order_by(AuditLog.id)))


# --- HR's bank edits (questions, track configs, plans) ----------------------------------------


def bank_revision(db: Session) -> tuple[int, int]:
    """A cheap marker of the HR edits in the database: it changes whenever any edit is saved
    (rows are only ever added, so the highest ids only grow)."""
    row = db.execute(
        select(
            select(func.max(HrQuestion.id)).scalar_subquery(),
            select(func.max(HrConfig.id)).scalar_subquery(),
        )
    ).one()
    return int(row[0] or 0), int(row[1] or 0)


def latest_hr_questions(db: Session) -> list[HrQuestion]:
    """The current (highest-version) row of every HR question, deleted ones included."""
    latest = select(func.max(HrQuestion.id)).group_by(HrQuestion.question_id).scalar_subquery()
    return list(db.scalars(select(HrQuestion).where(HrQuestion.id.in_(latest)).order_by(HrQuestion.id)))


def latest_hr_configs(db: Session) -> list[HrConfig]:
    """The current (highest-version) row of every HR track config and plan."""
    latest = select(func.max(HrConfig.id)).group_by(HrConfig.kind, HrConfig.item_id).scalar_subquery()
    return list(db.scalars(select(HrConfig).where(HrConfig.id.in_(latest)).order_by(HrConfig.id)))


def add_hr_question(
    db: Session, *, question_id: str, track: str, document: dict[str, Any], author: str, deleted: bool = False
) -> HrQuestion:
    """A new version of an HR question (flushed, not committed). Two saves racing for the same
    version number: the second fails on the unique constraint (IntegrityError) at flush."""
    last = db.scalar(select(func.max(HrQuestion.version)).where(HrQuestion.question_id == question_id))
    row = HrQuestion(
        question_id=question_id,
        version=(last or 0) + 1,
        track=track,
        document=document,
        author=author,
        deleted=deleted,
    )
    db.add(row)
    db.flush()
    return row


def add_hr_config(db: Session, *, kind: str, item_id: str, document: dict[str, Any], author: str) -> HrConfig:
    """A new version of a track config or plan (flushed, not committed)."""
    last = db.scalar(
        select(func.max(HrConfig.version)).where(HrConfig.kind == kind, HrConfig.item_id == item_id)
    )
    row = HrConfig(kind=kind, item_id=item_id, version=(last or 0) + 1, document=document, author=author)
    db.add(row)
    db.flush()
    return row


def hr_question_versions(db: Session, *, question_id: str) -> list[HrQuestion]:
    return list(
        db.scalars(
            select(HrQuestion).where(HrQuestion.question_id == question_id).order_by(HrQuestion.version)
        )
    )


def hr_config_versions(db: Session, *, kind: str, item_id: str) -> list[HrConfig]:
    return list(
        db.scalars(
            select(HrConfig)
            .where(HrConfig.kind == kind, HrConfig.item_id == item_id)
            .order_by(HrConfig.version)
        )
    )


def active_sessions_asking(db: Session, *, question_id: str) -> list[str]:
    """Ids of active sessions that have asked this question and still need it in the bank: those
    that asked it before revisions were kept (the others go on with their stored revision). A text
    match in SQL narrows the candidates; their state is then read properly."""
    candidates = db.scalars(
        select(InterviewSession).where(
            InterviewSession.status == "active",
            cast(InterviewSession.state, String).like(f'%"{question_id}"%'),
        )
    )
    return [
        s.id
        for s in candidates
        if any(
            q.get("question_id") == question_id and not q.get("revision")
            for t in s.state.get("tracks", [])
            for q in t["questions"]
        )
    ]
