"""The evaluator's SQL: the sessions list with its filters and keyset paging, assessments,
score overrides, final recommendations, the audit trail of a subject, and the first answers the
list previews. Keyword-only arguments throughout; nothing here commits (the use case in
`services/review.py` owns the transaction). Sessions and turns themselves are `repo`'s."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, case, cast, func, or_, select
from sqlalchemy.orm import Session

from interviewer.candidate_label import like_pattern
from interviewer.store.tables import (
    AssessmentRow,
    AuditLog,
    InterviewSession,
    Override,
    Recommendation,
    ReportRow,
    TurnRow,
)


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


def first_answers(db: Session, *, session_ids: Sequence[str], chars: int) -> dict[str, str]:
    """The first `chars` characters of each session's first answer (sessions without one are
    left out): the list's preview of what the candidate wrote."""
    if not session_ids:
        return {}
    first = (
        select(TurnRow.session_id.label("sid"), func.min(TurnRow.seq).label("seq"))
        .where(TurnRow.session_id.in_(session_ids), TurnRow.role == "candidate")
        .group_by(TurnRow.session_id)
        .subquery()
    )
    rows = db.execute(
        select(TurnRow.session_id, TurnRow.content).join(
            first, (TurnRow.session_id == first.c.sid) & (TurnRow.seq == first.c.seq)
        )
    )
    return {sid: content[:chars] for sid, content in rows}
