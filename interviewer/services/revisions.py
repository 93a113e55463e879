"""The revisions a session keeps: a question as it was asked and a coding exercise as it was given
stay the session's whatever HR edits meanwhile. Each revision is stored once, by content, when a
turn first uses it (`keep`); a turn of a session whose items the bank has changed since gets them
back by id (`pinned`) and hands them to the engine.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from interviewer.bank.loader import Bank
from interviewer.domain import Exercise, Question
from interviewer.engine.state import SessionState
from interviewer.store import repo
from interviewer.store.db import Database

MAX_REMEMBERED = 100_000


def keep(db: Session, kept: set[str], bank: Bank, asked: list[Question], state: SessionState | None) -> None:
    """Store the revisions of newly asked questions and of the exercises `state` was given (their
    current bank version), skipping those `kept` knows are stored; `kept` learns the new ones."""
    new = [q for q in asked if q.revision not in kept]
    if new:
        kept.update(repo.keep_question_versions(db, new))
    given = [e for t in state.tracks for e in t.exercises if e.revision not in kept] if state else []
    current = [bank.exercises.get(e.exercise_id) for e in given]
    exercises = [x for x, e in zip(current, given, strict=True) if x and x.revision == e.revision]
    if exercises:
        kept.update(repo.keep_exercise_versions(db, exercises))
    if len(kept) > MAX_REMEMBERED:
        kept.clear()


Pinned = tuple[dict[str, Question], dict[str, Exercise]]


def stale(state: SessionState, bank: Bank) -> tuple[dict[str, str], dict[str, str]]:
    """(question id -> revision, exercise id -> revision) of what the session had that the bank
    has changed or withdrawn since."""
    return state.stale_revisions(bank.questions), state.stale_exercises(bank.exercises)


def pinned(db: Database, questions: dict[str, str], exercises: dict[str, str]) -> Pinned:
    """The stored revisions of `stale`'s questions and exercises, by id."""
    with db.session() as session:
        asked = repo.question_versions(session, list(questions.values()))
        given = repo.exercise_versions(session, list(exercises.values()))
    return (
        {k: asked[r] for k, r in questions.items() if r in asked},
        {k: given[r] for k, r in exercises.items() if r in given},
    )
