"""The SQL of coding-exercise runs (`tables.ExerciseRunRow`): a run is committed pending before
the sandbox sees it, like an answer (`repo.submit_answer`), then completed with its result.
Keyword-only arguments; each function says whether it commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from interviewer.store.repo import Outcome, commit_once, lock_session, repeated
from interviewer.store.tables import ExerciseRunRow, utcnow

ABANDONED_AFTER = timedelta(minutes=10)
"""A run pending longer than this was lost with its process (runs end within a minute, queue
waits included in any sane configuration): it no longer blocks the session's next run."""


@dataclass(frozen=True)
class Taken:
    outcome: Outcome
    run: ExerciseRunRow | None


def find_run(db: Session, *, session_id: str, client_msg_id: str) -> ExerciseRunRow | None:
    return db.scalar(
        select(ExerciseRunRow).where(
            ExerciseRunRow.session_id == session_id, ExerciseRunRow.client_msg_id == client_msg_id
        )
    )


def pending_run(db: Session, *, session_id: str) -> ExerciseRunRow | None:
    return db.scalar(
        select(ExerciseRunRow)
        .where(ExerciseRunRow.session_id == session_id, ExerciseRunRow.status == "pending")
        .limit(1)
    )


def take_run(
    db: Session,
    *,
    session_id: str,
    exercise_id: str,
    kind: str,
    client_msg_id: str,
    body_hash: str,
    code: str,
) -> Taken:
    """Commit a run as pending (under the session's lock). The same client_msg_id again is a
    duplicate (same body) or a conflict (another); a run while another is pending is `busy`."""
    lock_session(db, session_id=session_id, durable=True)
    existing = find_run(db, session_id=session_id, client_msg_id=client_msg_id)
    if existing is not None:
        return Taken(repeated(existing, body_hash), existing)
    pending = pending_run(db, session_id=session_id)
    if pending is not None:
        if utcnow() - pending.created_at < ABANDONED_AFTER:
            return Taken("busy", None)
        db.delete(pending)  # its process died; the client sees it gone and may run again
    row = ExerciseRunRow(
        session_id=session_id,
        exercise_id=exercise_id,
        kind=kind,
        client_msg_id=client_msg_id,
        body_hash=body_hash,
        code=code,
        status="pending",
    )
    return Taken(
        *commit_once(db, row, again=lambda: find_run(db, session_id=session_id, client_msg_id=client_msg_id))
    )


def finish_run(db: Session, *, run_id: int, result: dict[str, Any]) -> None:
    """Store a run's result and mark it done (commits)."""
    row = db.get(ExerciseRunRow, run_id)
    if row is None:
        return
    row.result = result
    row.status = "done"
    row.finished_at = utcnow()
    db.commit()


def drop_run(db: Session, *, run_id: int) -> None:
    """Forget a run that could not start (no sandbox, queue full): the client may retry (commits)."""
    row = db.get(ExerciseRunRow, run_id)
    if row is not None and row.status == "pending":
        db.delete(row)
        db.commit()


def list_runs(db: Session, *, session_id: str) -> Sequence[ExerciseRunRow]:
    return db.scalars(
        select(ExerciseRunRow).where(ExerciseRunRow.session_id == session_id).order_by(ExerciseRunRow.id)
    ).all()
