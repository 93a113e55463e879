"""The records HR edits — questions, track configs, plans, coding exercises — between the bank's
models and the database rows of `store/bank_edits.py`: which model a kind is, which of the bank's
dicts holds it, how a record joins the edits, how the current rows become `Edits` and how a new
version is stored. One table of kinds, so that a new kind is one line in each function, not a
parallel copy of the edit path (`services/bank_edits.py`).
"""

from __future__ import annotations

import logging
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from interviewer.bank.loader import Bank
from interviewer.bank.overlay import Edits, Seed, document
from interviewer.domain import Exercise, Plan, Question, TrackConfig
from interviewer.store import bank_edits as store
from interviewer.store.bank_edits import ItemKind

log = logging.getLogger("interviewer.bank")
Record = Question | TrackConfig | Plan | Exercise
M = TypeVar("M", bound=BaseModel)
MODELS: dict[ItemKind, type[Record]] = {
    "question": Question,
    "track": TrackConfig,
    "plan": Plan,
    "exercise": Exercise,
}
"""The model of each kind: the same pydantic model the knowledge files are loaded with."""
CONFIG_KINDS: dict[str, type[TrackConfig] | type[Plan] | type[Exercise]] = {
    "track": TrackConfig,
    "plan": Plan,
    "exercise": Exercise,
}
"""The kinds stored in `hr_configs` (questions have their own table, with deletion)."""


def pool(kind: ItemKind, of: Bank | Seed | Edits) -> dict[Any, Any]:
    """The dict of `of` (a bank, the seed or HR's edits) that holds items of `kind`."""
    match kind:
        case "question":
            return of.questions
        case "track":
            return of.tracks
        case "plan":
            return of.plans
        case "exercise":
            return of.exercises


def doc_id(doc: Any) -> str:
    """The id a document claims (for naming it in problems before it is parsed)."""
    value = doc.get("id") if isinstance(doc, dict) else None
    return value if isinstance(value, str) and len(value) <= 80 else "new"


def with_record(edits: Edits, record: Record) -> Edits:
    if isinstance(record, Question):
        return edits.with_question(record)
    if isinstance(record, TrackConfig):
        return edits.with_track(record)
    if isinstance(record, Exercise):
        return edits.with_exercise(record)
    return edits.with_plan(record)


def load_edits(db: Session) -> Edits:
    """The current rows as records. A row the models no longer accept (the schema moved on since
    it was saved) is skipped with a warning rather than stopping the app: the seed shows instead."""
    edits = Edits()
    withdrawn: set[str] = set()
    for row in store.latest_hr_questions(db):
        if row.deleted:
            withdrawn.add(row.question_id)
        elif (question := tolerant(Question, row.document, f"question {row.question_id}")) is not None:
            edits.questions[row.question_id] = question
    for crow in store.latest_hr_configs(db):
        model = CONFIG_KINDS.get(crow.kind)
        record = tolerant(model, crow.document, f"{crow.kind} {crow.item_id}") if model else None
        if record is not None:
            pool(record_kind(record), edits)[crow.item_id] = record
    return Edits(edits.questions, frozenset(withdrawn), edits.tracks, edits.plans, edits.exercises)


def record_kind(record: Record) -> ItemKind:
    return next(kind for kind, model in MODELS.items() if isinstance(record, model))


def tolerant(model: type[M], doc: dict[str, Any], what: str) -> M | None:
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        log.warning("HR's %s in the database is no longer valid, ignored: %s", what, exc)
        return None


def store_record(db: Session, record: Record, *, author: str) -> None:
    """Insert a new version of one HR-edited record."""
    if isinstance(record, Question):
        store.add_hr_question(
            db, question_id=record.id, track=record.track, document=document(record), author=author
        )
    else:
        store.add_hr_config(
            db, kind=record_kind(record), item_id=record.id, document=document(record), author=author
        )
