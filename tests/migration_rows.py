"""Rows as each earlier release wrote them, for tests/test_migrations.py: one writer per
migration step, inserting through that step's own frozen tables (the shape the tables had in
that release), and remembering what it wrote so that the test can read it back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Table

from interviewer.store.migrations import (
    m0001_initial,
    m0002_overrides_and_recommendations,
    m0003_hr_bank,
    m0004_question_versions,
    m0006_exercise_runs,
    m0007_exercise_versions,
)
from interviewer.store.tables import Base

AT = datetime(2025, 3, 4, 9, 30, 15, tzinfo=UTC)
SESSION_ID = "00000000-0000-4000-8000-00000000000a"
STATE = {"phase": "done", "asked": ["py-decorators"], "scores": {"py-decorators": 3.5}}


@dataclass
class Written:
    """Rows an old release wrote: (table, primary key, values), and the ids later eras refer to."""

    rows: list[tuple[str, Any, dict[str, Any]]] = field(default_factory=list)
    ids: dict[str, Any] = field(default_factory=dict)

    def insert(self, conn: Connection, table: Table, **values: Any) -> Any:
        inserted = conn.execute(table.insert().values(**values)).inserted_primary_key
        assert inserted is not None
        key = inserted[0]
        self.rows.append((table.name, key, values))
        return key


def era_0001(conn: Connection, w: Written) -> None:
    t = m0001_initial
    user = w.insert(
        conn, t.users, email="hr@example.com", role="hr", password_hash="h", created_at=AT, disabled=False
    )
    w.ids["user"] = user
    w.insert(
        conn,
        t.staff_sessions,
        user_id=user,
        token_hash="s" * 64,
        created_at=AT,
        expires_at=AT + timedelta(days=1),
        revoked=False,
    )
    version = w.insert(
        conn,
        t.track_versions,
        plan_id="python",
        content_hash="c" * 64,
        config={"tracks": {"python": {}}},
        created_at=AT,
    )
    invite = w.insert(
        conn,
        t.invites,
        code_hash="i" * 64,
        plan_id="python",
        mode="assessment",
        show_report=True,
        expires_at=AT + timedelta(days=7),
        used_at=AT + timedelta(hours=1),
        created_by=user,
        created_at=AT,
    )
    w.insert(
        conn,
        t.sessions,
        id=SESSION_ID,
        token_hash="t" * 64,
        plan_id="python",
        track_version_id=version,
        mode="assessment",
        show_report=True,
        status="completed",
        state=STATE,
        version=3,
        invite_id=invite,
        client_address="127.0.0.1",
        created_at=AT,
        updated_at=AT + timedelta(minutes=20),
    )
    common = {"session_id": SESSION_ID, "created_at": AT, "track": "python", "question_id": "py-decorators"}
    w.insert(
        conn,
        t.turns,
        **common,
        seq=1,
        role="interviewer",
        kind="question",
        content="Decorators?",
        status="done",
    )
    w.insert(
        conn,
        t.turns,
        **common,
        seq=2,
        role="candidate",
        kind="answer",
        content="A callable wrapping a callable.",
        key_point=None,
        client_msg_id="m-1",
        body_hash="b" * 64,
        status="done",
        reply_from=3,
        reply_to=3,
    )
    w.insert(
        conn,
        t.assessments,
        **common,
        turn_seq=2,
        score=3.5,
        scorer="offline",
        flags=["short"],
        data={"why": "ok"},
    )
    w.insert(
        conn,
        t.reports,
        session_id=SESSION_ID,
        score=3.5,
        recommendation="hire",
        data={"summary": "fine"},
        created_at=AT,
    )
    w.insert(
        conn,
        t.model_calls,
        session_id=SESSION_ID,
        model="fake",
        prompt="ask",
        prompt_version="v" * 64,
        prompt_tokens=120,
        completion_tokens=30,
        latency_ms=12.5,
        attempts=1,
        ok=True,
        error=None,
        created_at=AT,
    )
    w.insert(
        conn, t.audit_log, actor="hr@example.com", action="invite", subject="invite:1", data={}, created_at=AT
    )


def era_0002(conn: Connection, w: Written) -> None:
    t = m0002_overrides_and_recommendations
    staff = {"user_id": w.ids["user"], "actor": "hr@example.com", "created_at": AT, "session_id": SESSION_ID}
    w.insert(
        conn,
        t.overrides,
        **staff,
        question_id="py-decorators",
        track="python",
        criterion="overall",
        machine_score=3.5,
        old_score=3.5,
        new_score=4.0,
        reason="clearer than scored",
    )
    w.insert(conn, t.recommendations, **staff, recommendation="hire", note="strong")


def era_0003(conn: Connection, w: Written) -> None:
    t = m0003_hr_bank
    document = {"id": "hr-one", "text": "Why generators?"}
    w.insert(
        conn,
        t.hr_questions,
        question_id="hr-one",
        version=1,
        track="python",
        document=document,
        author="hr@example.com",
        deleted=False,
        created_at=AT,
    )
    w.insert(
        conn,
        t.hr_configs,
        kind="plan",
        item_id="python",
        version=1,
        document={"tracks": ["python"]},
        author="hr@example.com",
        created_at=AT,
    )


def era_0004(conn: Connection, w: Written) -> None:
    w.insert(
        conn,
        m0004_question_versions.question_versions,
        question_id="py-decorators",
        revision="r" * 64,
        document={"id": "py-decorators"},
        created_at=AT,
    )


def era_0005(conn: Connection, w: Written) -> None:
    """The invites table of 0005 is today's: an invite with a label."""
    w.insert(
        conn,
        Base.metadata.tables["invites"],
        code_hash="j" * 64,
        plan_id="python",
        mode="practice",
        show_report=False,
        expires_at=AT + timedelta(days=7),
        used_at=None,
        created_by=w.ids["user"],
        created_at=AT,
        candidate_label="Jane Doe",
    )


def era_0006(conn: Connection, w: Written) -> None:
    """A finished run of an exercise in the session of 0001."""
    w.insert(
        conn,
        m0006_exercise_runs.exercise_runs,
        session_id=SESSION_ID,
        exercise_id="merge-intervals",
        kind="submit",
        client_msg_id="run-1",
        body_hash="b" * 64,
        code="def merge(xs):\n    return xs\n",
        status="done",
        result={"passed": 1, "failed": 0},
        created_at=AT,
        finished_at=AT + timedelta(seconds=1),
    )


def era_0007(conn: Connection, w: Written) -> None:
    """An exercise as a session was given it."""
    w.insert(
        conn,
        m0007_exercise_versions.exercise_versions,
        exercise_id="merge-intervals",
        revision="e" * 64,
        document={"id": "merge-intervals"},
        created_at=AT,
    )


ERAS = [era_0001, era_0002, era_0003, era_0004, era_0005, era_0006, era_0007]
"""One writer per step, in order: step k's writer uses the tables as step k left them."""
