"""SQLAlchemy 2 typed tables. Persistence is boring on purpose: one row per thing, JSON columns
for records the engine already validates (session state, assessments, reports).

These classes are what the code reads and writes; they never build a database. The schema is
built by the migration steps (`store/migrations/`), each with its own DDL: a change here (a
column, a type, an index) needs a new step doing the same, and `tests/test_migrations.py` fails
until the two agree (see "How to add a migration" in `store/migrations/__init__.py`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A moment in UTC, read back with its zone on every database. SQLite keeps no zone and hands
    back naive datetimes; every time stored here is UTC, so the zone is put back on read (once,
    here, rather than at each reader). The column's DDL is `DateTime(timezone=True)`'s."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    role: Mapped[str] = mapped_column(String(20))  # hr | evaluator
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    disabled: Mapped[bool] = mapped_column(default=False)


class StaffSession(Base):
    __tablename__ = "staff_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked: Mapped[bool] = mapped_column(default=False)


class TrackVersion(Base):
    """An immutable snapshot of a plan and its track configs; a session pins the one it ran with."""

    __tablename__ = "track_versions"
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[str] = mapped_column(String(80))
    content_hash: Mapped[str] = mapped_column(String(64))
    config: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    __table_args__ = (UniqueConstraint("plan_id", "content_hash"),)


class QuestionVersion(Base):
    """An immutable snapshot of a bank question as a session asked it, by content (`revision`, see
    `engine.state.question_revision`): an HR edit or withdrawal later changes nothing for the
    sessions that asked the earlier text, and reviews show the key points that were scored."""

    __tablename__ = "question_versions"
    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[str] = mapped_column(String(80))
    revision: Mapped[str] = mapped_column(String(64), unique=True)
    document: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ExerciseVersion(Base):
    """An immutable snapshot of a coding exercise as a session was given it, by content
    (`Exercise.revision`): an HR edit later changes nothing for the session that got the earlier
    statement, tests and key points."""

    __tablename__ = "exercise_versions"
    id: Mapped[int] = mapped_column(primary_key=True)
    exercise_id: Mapped[str] = mapped_column(String(80))
    revision: Mapped[str] = mapped_column(String(64), unique=True)
    document: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Invite(Base):
    __tablename__ = "invites"
    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    plan_id: Mapped[str] = mapped_column(String(80))
    mode: Mapped[str] = mapped_column(String(20), default="assessment")
    show_report: Mapped[bool] = mapped_column(default=True)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    candidate_label: Mapped[str | None] = mapped_column(String(200), default=None)
    """HR's free text naming the candidate (`interviewer/candidate_label.py`); staff only."""


class InterviewSession(Base):
    __tablename__ = "sessions"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    plan_id: Mapped[str] = mapped_column(String(80))
    track_version_id: Mapped[int] = mapped_column(ForeignKey("track_versions.id"))
    mode: Mapped[str] = mapped_column(String(20))
    show_report: Mapped[bool] = mapped_column(default=True)
    status: Mapped[str] = mapped_column(String(20), default="active")
    state: Mapped[dict[str, Any]] = mapped_column()
    version: Mapped[int] = mapped_column(Integer, default=0)
    invite_id: Mapped[int | None] = mapped_column(ForeignKey("invites.id"), default=None)
    client_address: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    candidate_label: Mapped[str | None] = mapped_column(String(200), default=None)
    """Copied from the invite that started the session (None without one); staff only."""


class TurnRow(Base):
    """Every message of the transcript, both sides, in order (`seq`). A candidate turn carries the
    client's `client_msg_id` (unique per session) and the state of its processing."""

    __tablename__ = "turns"
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"))
    seq: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))
    content: Mapped[str] = mapped_column(Text)
    track: Mapped[str | None] = mapped_column(String(40), default=None)
    question_id: Mapped[str | None] = mapped_column(String(80), default=None)
    key_point: Mapped[str | None] = mapped_column(String(80), default=None)
    client_msg_id: Mapped[str | None] = mapped_column(String(100), default=None)
    body_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    status: Mapped[str] = mapped_column(String(20), default="done")  # pending | done | failed
    reply_from: Mapped[int | None] = mapped_column(Integer, default=None)
    reply_to: Mapped[int | None] = mapped_column(Integer, default=None)
    """For a processed candidate turn: the seq range of the interviewer messages it produced."""
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    __table_args__ = (
        UniqueConstraint("session_id", "seq"),
        UniqueConstraint("session_id", "client_msg_id"),
        Index("ix_turns_pending", "status"),
    )


class ExerciseRunRow(Base):
    """One run of the candidate's code on the session's open exercise: `examples` (the visible
    tests) or `submit` (all tests; the engine then follows up). Committed `pending` before it
    runs, like an answer; `result` is the sandbox's RunResult once `done`. A retry with the
    same `client_msg_id` reads it back."""

    __tablename__ = "exercise_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"))
    exercise_id: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(20))  # examples | submit
    client_msg_id: Mapped[str] = mapped_column(String(100))
    body_hash: Mapped[str] = mapped_column(String(64))
    code: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | done
    result: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    __table_args__ = (UniqueConstraint("session_id", "client_msg_id"),)


class AssessmentRow(Base):
    __tablename__ = "assessments"
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"))
    turn_seq: Mapped[int] = mapped_column(Integer)
    question_id: Mapped[str] = mapped_column(String(80))
    track: Mapped[str] = mapped_column(String(40))
    score: Mapped[float] = mapped_column()
    scorer: Mapped[str] = mapped_column(String(20))
    flags: Mapped[list[Any]] = mapped_column()
    data: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ReportRow(Base):
    __tablename__ = "reports"
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), unique=True)
    score: Mapped[float] = mapped_column()
    recommendation: Mapped[str] = mapped_column(String(20))
    data: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ModelCall(Base):
    __tablename__ = "model_calls"
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[str | None] = mapped_column(String(36), default=None)
    model: Mapped[str] = mapped_column(String(200))
    prompt: Mapped[str] = mapped_column(String(80))
    prompt_version: Mapped[str] = mapped_column(String(64))
    prompt_tokens: Mapped[int] = mapped_column(Integer)
    completion_tokens: Mapped[int] = mapped_column(Integer)
    latency_ms: Mapped[float] = mapped_column()
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    ok: Mapped[bool] = mapped_column(default=True)
    error: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class AuditLog(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(80))
    subject: Mapped[str] = mapped_column(String(120))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Override(Base):
    """An evaluator's correction of one score (a rubric criterion of a main question, or its
    overall score). Rows are never updated: the latest per (session, question, criterion) wins,
    the earlier ones are the trail."""

    __tablename__ = "overrides"
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"))
    question_id: Mapped[str] = mapped_column(String(80))
    track: Mapped[str] = mapped_column(String(40))
    criterion: Mapped[str] = mapped_column(String(80))  # a rubric criterion id, or "overall"
    machine_score: Mapped[float] = mapped_column()
    old_score: Mapped[float] = mapped_column()
    """The effective score just before this override (the machine's, or an earlier override)."""
    new_score: Mapped[float] = mapped_column()
    reason: Mapped[str] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    actor: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    __table_args__ = (Index("ix_overrides_session", "session_id"),)


class Recommendation(Base):
    """An evaluator's final recommendation for a session; the latest row wins."""

    __tablename__ = "recommendations"
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"))
    recommendation: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text, default=None)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    actor: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    __table_args__ = (Index("ix_recommendations_session", "session_id"),)


class HrQuestion(Base):
    """One saved version of an HR-authored question (the whole document, as in the YAML files).
    Rows are never updated: the highest `version` per `question_id` is current; `deleted` on the
    current row withdraws the HR version (a shipped question of the same id shows again)."""

    __tablename__ = "hr_questions"
    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[str] = mapped_column(String(80))
    version: Mapped[int] = mapped_column(Integer)
    track: Mapped[str] = mapped_column(String(40))
    document: Mapped[dict[str, Any]] = mapped_column()
    author: Mapped[str] = mapped_column(String(254))
    deleted: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    __table_args__ = (UniqueConstraint("question_id", "version"),)


class HrConfig(Base):
    """One saved version of a track config, an interview plan or a coding exercise (`kind`:
    track | plan | exercise). Rows are
    never updated: the highest `version` per (kind, item_id) is current, the rest is history."""

    __tablename__ = "hr_configs"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    item_id: Mapped[str] = mapped_column(String(80))
    version: Mapped[int] = mapped_column(Integer)
    document: Mapped[dict[str, Any]] = mapped_column()
    author: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    __table_args__ = (UniqueConstraint("kind", "item_id", "version"),)


class SchemaMigration(Base):
    __tablename__ = "schema_migrations"
    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    applied_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
