"""The SQL of HR's bank edits: versioned rows of questions (`hr_questions`) and of track configs,
plans and coding exercises (`hr_configs`, by `kind`). Rows are only ever added — the highest version of an item is current,
the rest is its history — so a save never loses an earlier one, and the highest row ids make a
cheap marker of "something changed" that every worker can poll (`bank_revision`).

Keyword-only arguments; writes flush and leave the commit to the caller (one transaction per
use case, `services/bank_edits.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session

from interviewer.store.tables import HrConfig, HrQuestion, InterviewSession

ItemKind = Literal["question", "track", "plan", "exercise"]
SHIPPED = "knowledge/ (the shipped files)"
"""Who "saved" version 0 of an item: the files under knowledge/."""


@dataclass(frozen=True)
class SavedVersion:
    """One stored version of a question, track config, plan or exercise (only questions are
    ever deleted)."""

    version: int
    author: str
    created_at: datetime
    deleted: bool
    document: dict[str, Any]


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
    """The current (highest-version) row of every HR track config, plan and exercise."""
    latest = select(func.max(HrConfig.id)).group_by(HrConfig.kind, HrConfig.item_id).scalar_subquery()
    return list(db.scalars(select(HrConfig).where(HrConfig.id.in_(latest)).order_by(HrConfig.id)))


def latest_versions(db: Session, *, kind: ItemKind) -> dict[str, int]:
    """The current version number of every HR item of `kind` (a withdrawn question has none)."""
    if kind == "question":
        return {r.question_id: r.version for r in latest_hr_questions(db) if not r.deleted}
    return {r.item_id: r.version for r in latest_hr_configs(db) if r.kind == kind}


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
    """A new version of a track config, plan or exercise (flushed, not committed)."""
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


def saved_versions(db: Session, *, kind: ItemKind, item_id: str) -> list[SavedVersion]:
    """HR's saved versions of an item, oldest first (version 0, the file's, is not stored)."""
    if kind == "question":
        return [
            SavedVersion(r.version, r.author, r.created_at, r.deleted, r.document)
            for r in hr_question_versions(db, question_id=item_id)
        ]
    return [
        SavedVersion(r.version, r.author, r.created_at, False, r.document)
        for r in hr_config_versions(db, kind=kind, item_id=item_id)
    ]


def current_version(db: Session, *, kind: ItemKind, item_id: str) -> tuple[int, str]:
    """The version HR sees as current and who saved it: HR's latest, or 0 (the shipped file's)
    when there is none or HR's question was withdrawn."""
    rows = saved_versions(db, kind=kind, item_id=item_id)
    if not rows:
        return 0, SHIPPED
    if rows[-1].deleted:
        return 0, rows[-1].author
    return rows[-1].version, rows[-1].author


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
