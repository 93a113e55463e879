"""Keep the process's `Bank` equal to seed + HR's edits in the database, and save HR's edits.

The engine (orchestrator, retriever) and the web context share one `Bank` object, so the
effective bank is applied *in place*: its dicts are replaced attribute by attribute (each
assignment is atomic; a reader holding the old dict keeps a consistent snapshot) under a lock.
After every change the vector index is brought up to date (`VectorIndex.ingest` is idempotent by
content hash: only the changed questions are embedded), so the next session can retrieve it.

Several worker processes share one database: each remembers the bank revision it applied
(`repo.bank_revision`, two `max(id)` look-ups) and `refresh()` reloads when another process saved
something. `InterviewService.start` calls `refresh_for(bank)` before every new session; running
sessions keep their track configs, pinned in their state.

Errors (the web layer maps them to HTTP):

    EditError
    ├── Invalid     the edit breaks a rule of the bank; `problems` keyed by field (422)
    ├── Missing     no such question, track or plan (404)
    └── Refused     deleting a shipped question, or one that a running interview from before
                    question revisions has asked; a concurrent save of the same item (409)
    Stale           a save based on an older version than the current one (412)
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from interviewer.bank.index import VectorIndex
from interviewer.bank.loader import Bank, Problem
from interviewer.bank.overlay import (
    Edits,
    Seed,
    compose,
    document,
    field_path,
    introduced,
    parse_document,
    source,
)
from interviewer.domain import Plan, Question, TrackConfig
from interviewer.store import repo
from interviewer.store.db import Database

log = logging.getLogger("interviewer.bank")
Kind = Literal["question", "track", "plan"]
M = TypeVar("M", bound=BaseModel)


class EditError(Exception):
    pass


class Invalid(EditError):
    def __init__(self, problems: list[Problem], *, item: str) -> None:
        self.problems = problems
        self.item = item
        super().__init__(f"{len(problems)} problem(s): " + "; ".join(str(p) for p in problems[:5]))

    def fields(self) -> list[dict[str, str]]:
        """Each problem as {"field", "message"}; a problem of another item (a track the edit
        leaves short of questions) has no field here and names its item in the message."""
        out = []
        for p in self.problems:
            if p.file == self.item:
                out.append({"field": field_path(p.field), "message": p.message})
            else:
                where = p.file.removeprefix("hr/").replace("/", " ", 1)
                out.append({"field": "", "message": f"{where}: {field_path(p.field) or '-'}: {p.message}"})
        return out


class Missing(EditError):
    pass


class Refused(EditError):
    pass


class Stale(EditError):
    """The item changed since the editor loaded it (its version is not the one the save was
    based on): nothing is saved, so that nobody's edit is silently overwritten."""


_SEEDS: dict[int, tuple[Bank, Seed]] = {}
"""The seed of every bank object a sync was built for (kept with the bank, so the id is not
reused): a second app built on the same, already overlaid `Bank` (a restart in tests) still
knows what the files said."""
_ACTIVE: dict[int, BankSync] = {}


async def refresh_for(bank: Bank) -> None:
    """Bring `bank` up to date with the database, if an app keeps it in sync (a cheap check)."""
    sync = _ACTIVE.get(id(bank))
    if sync is not None:
        await asyncio.to_thread(sync.refresh)


class BankSync:
    def __init__(self, *, bank: Bank, db: Database, index: VectorIndex | None) -> None:
        known = _SEEDS.get(id(bank))
        self._seed = known[1] if known is not None else Seed.of(bank)
        _SEEDS[id(bank)] = (bank, self._seed)
        self.bank = bank
        self._db = db
        self._index = index
        self._lock = threading.RLock()
        self._revision: tuple[int, int] | None = None
        self._edits = Edits()

    def activate(self) -> None:
        """Make `refresh_for(self.bank)` use this sync (the app's start-up)."""
        _ACTIVE[id(self.bank)] = self

    def deactivate(self) -> None:
        if _ACTIVE.get(id(self.bank)) is self:
            del _ACTIVE[id(self.bank)]

    @property
    def seed(self) -> Seed:
        return self._seed

    @property
    def edits(self) -> Edits:
        return self._edits

    # --- reading --------------------------------------------------------------------------
    def refresh(self, *, force: bool = False) -> bool:
        """Apply the database's edits if they changed since the last call; True if they had."""
        with self._db.session() as db:
            revision = repo.bank_revision(db)
        if revision == self._revision and not force:
            return False
        with self._lock:
            with self._db.session() as db:
                revision = repo.bank_revision(db)
                if revision == self._revision and not force:
                    return False
                edits = _load_edits(db)
            self._apply(edits)
            self._revision = revision
        return True

    def _apply(self, edits: Edits) -> None:
        effective = self._compose(edits)
        for problem in introduced(self._compose(Edits()), effective):
            log.warning("HR edits break a rule of the bank: %s", problem)
        bank = self.bank
        changed = (effective.questions, effective.tracks, effective.plans) != (
            bank.questions,
            bank.tracks,
            bank.plans,
        )
        self._edits = edits
        # questions first: a new track config may need a new question
        bank.questions = effective.questions
        bank.sources = effective.sources
        bank.tracks = effective.tracks
        bank.plans = effective.plans
        if changed and self._index is not None:
            report = self._index.ingest(bank)
            log.info("bank refreshed from HR edits; %s", report.summary())

    def _compose(self, edits: Edits) -> Bank:
        return compose(self._seed, edits, root=self.bank.root, articles=self.bank.articles)

    def origin(self, kind: Kind, item_id: str) -> str:
        """ "hr" (the current version is HR's), "seed" (the files'), or "" (no such item)."""
        match kind:
            case "question":
                hr, seed = item_id in self._edits.questions, item_id in self._seed.questions
            case "track":
                hr, seed = item_id in self._edits.tracks, item_id in self._seed.tracks
            case "plan":
                hr, seed = item_id in self._edits.plans, item_id in self._seed.plans
        return "hr" if hr else "seed" if seed else ""

    # --- writing --------------------------------------------------------------------------
    def save(
        self,
        kind: Kind,
        doc: Any,
        *,
        author: str,
        item_id: str | None = None,
        based_on: int | None = None,
    ) -> Any:
        """Validate and save a new version of a question, track config or plan; `item_id` None
        creates (the id must be new), else updates that item (the document's id must match).
        `based_on`: the version the edit started from (0 = the shipped file's); if the item is
        at another version now, `Stale` and nothing is saved. Returns the saved record; the bank
        and the index are up to date when this returns."""
        model: type[Question] | type[TrackConfig] | type[Plan]
        match kind:
            case "question":
                model = Question
            case "track":
                model = TrackConfig
            case "plan":
                model = Plan
        with self._lock:
            self.refresh()
            name = str(source(kind, item_id or _doc_id(doc)))
            record, problems = parse_document(model, doc, name)
            if record is None:
                raise Invalid(problems, item=name)
            exists = self.origin(kind, record.id) != ""
            if item_id is None and exists:
                raise Invalid(
                    [Problem(name, "id", f"a {kind} with this id exists; edit it instead")], item=name
                )
            if item_id is not None and not exists:
                raise Missing(f"no {kind} {item_id!r}")
            if item_id is not None and record.id != item_id:
                raise Invalid([Problem(name, "id", f"the id cannot change (it is {item_id!r})")], item=name)
            if kind == "track" and item_id is None:
                raise Invalid([Problem(name, "id", "the three tracks exist; edit one")], item=name)
            edits = _with(self._edits, record)
            self._check(edits, item=name)

            def write(db: Session) -> None:
                if based_on is not None and item_id is not None:
                    current, by = current_version(db, kind, item_id)
                    if current != based_on:
                        raise Stale(
                            f"this {kind} was changed by {by} since you opened it (version {based_on}; "
                            f"now version {current}); nothing was saved — reload it and apply your edit again"
                        )
                _store(db, record, author=author)
                repo.audit(
                    db,
                    actor=author,
                    action=f"bank.{kind}.{'update' if exists else 'create'}",
                    subject=f"{kind}:{record.id}",
                )

            self._write(write)
            return record

    def delete_question(self, question_id: str, *, author: str) -> str:
        """Withdraw HR's version of a question; returns what is current now ("seed" or "")."""
        with self._lock:
            self.refresh()
            name = str(source("question", question_id))
            if question_id not in self._edits.questions:
                if question_id in self._seed.questions:
                    raise Refused("a shipped question (knowledge/) cannot be deleted here; edit it instead")
                raise Missing(f"no question {question_id!r}")
            falls_back = question_id in self._seed.questions
            if not falls_back:
                with self._db.session() as db:
                    running = repo.active_sessions_asking(db, question_id=question_id)
                if running:
                    raise Refused(
                        f"{len(running)} running interview(s) have asked this question; "
                        "delete it when they have ended"
                    )
            self._check(self._edits.without_question(question_id), item=name)
            track = self._edits.questions[question_id].track

            def write(db: Session) -> None:
                repo.add_hr_question(
                    db, question_id=question_id, track=track, document={}, author=author, deleted=True
                )
                repo.audit(db, actor=author, action="bank.question.delete", subject=f"question:{question_id}")

            self._write(write)
            return "seed" if falls_back else ""

    def import_bank(self, incoming: Bank, *, author: str) -> dict[str, dict[str, int]]:
        """Save every question, track and plan of `incoming` (a validated bank in the file
        format) that differs from the effective bank, as new versions, in one transaction. Items
        it does not contain are left as they are (nothing is deleted)."""
        with self._lock:
            self.refresh()
            current = self.bank
            edits = self._edits
            changes: list[Question | TrackConfig | Plan] = []
            counts: dict[str, dict[str, int]] = {}
            groups: list[tuple[str, dict[Any, Any], dict[Any, Any]]] = [
                ("questions", incoming.questions, current.questions),
                ("tracks", incoming.tracks, current.tracks),
                ("plans", incoming.plans, current.plans),
            ]
            for label, new, old in groups:
                tally = {"added": 0, "updated": 0, "unchanged": 0}
                for key, record in new.items():
                    was = old.get(key)
                    status = "added" if was is None else "unchanged" if was == record else "updated"
                    tally[status] += 1
                    if status != "unchanged":
                        changes.append(record)
                        edits = _with(edits, record)
                counts[label] = tally
            self._check(edits, item="import")
            if changes:

                def write(db: Session) -> None:
                    for record in changes:
                        _store(db, record, author=author)
                    repo.audit(db, actor=author, action="bank.import", subject="bank", data=counts)

                self._write(write)
            return counts

    def _check(self, edits: Edits, *, item: str) -> None:
        problems = introduced(self.bank, self._compose(edits))
        if problems:
            raise Invalid(problems, item=item)

    def _write(self, write: Callable[[Session], None]) -> None:
        with self._db.session() as db:
            try:
                write(db)
                db.commit()
            except IntegrityError as exc:
                db.rollback()
                raise Refused("someone saved this item at the same moment; reload and try again") from exc
        self.refresh()


@dataclass(frozen=True)
class Version:
    version: int
    author: str
    created_at: str
    deleted: bool
    document: dict[str, Any]


def current_version(db: Session, kind: Kind, item_id: str) -> tuple[int, str]:
    """The version HR sees as current and who saved it: HR's latest, or 0 (the shipped file's)
    when there is none or HR's question was withdrawn."""
    rows: list[Any] = (
        repo.hr_question_versions(db, question_id=item_id)
        if kind == "question"
        else repo.hr_config_versions(db, kind=kind, item_id=item_id)
    )
    if not rows or getattr(rows[-1], "deleted", False):
        return 0, "knowledge/ (the shipped files)" if not rows else rows[-1].author
    return rows[-1].version, rows[-1].author


def history(db: Database, kind: Kind, item_id: str) -> list[Version]:
    """HR's saved versions of an item, oldest first (version 0, the file's, is not stored)."""
    with db.session() as s:
        rows: list[Any] = (
            repo.hr_question_versions(s, question_id=item_id)
            if kind == "question"
            else repo.hr_config_versions(s, kind=kind, item_id=item_id)
        )
        return [
            Version(
                r.version, r.author, r.created_at.isoformat(), bool(getattr(r, "deleted", False)), r.document
            )
            for r in rows
        ]


def _doc_id(doc: Any) -> str:
    value = doc.get("id") if isinstance(doc, dict) else None
    return value if isinstance(value, str) and len(value) <= 80 else "new"


def _with(edits: Edits, record: Question | TrackConfig | Plan) -> Edits:
    if isinstance(record, Question):
        return edits.with_question(record)
    if isinstance(record, TrackConfig):
        return edits.with_track(record)
    return edits.with_plan(record)


def _load_edits(db: Session) -> Edits:
    """The current rows as records. A row the models no longer accept (the schema moved on since
    it was saved) is skipped with a warning rather than stopping the app: the seed shows instead."""
    questions: dict[str, Question] = {}
    withdrawn: set[str] = set()
    tracks: dict[Any, TrackConfig] = {}
    plans: dict[str, Plan] = {}
    for row in repo.latest_hr_questions(db):
        if row.deleted:
            withdrawn.add(row.question_id)
        elif (question := _tolerant(Question, row.document, f"question {row.question_id}")) is not None:
            questions[row.question_id] = question
    for crow in repo.latest_hr_configs(db):
        what = f"{crow.kind} {crow.item_id}"
        if crow.kind == "track" and (track := _tolerant(TrackConfig, crow.document, what)) is not None:
            tracks[crow.item_id] = track
        elif crow.kind == "plan" and (plan := _tolerant(Plan, crow.document, what)) is not None:
            plans[crow.item_id] = plan
    return Edits(questions, frozenset(withdrawn), tracks, plans)


def _tolerant(model: type[M], doc: dict[str, Any], what: str) -> M | None:
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        log.warning("HR's %s in the database is no longer valid, ignored: %s", what, exc)
        return None


def _store(db: Session, record: Question | TrackConfig | Plan, *, author: str) -> None:
    """Insert a new version of one HR-edited record."""
    if isinstance(record, Question):
        repo.add_hr_question(
            db, question_id=record.id, track=record.track, document=document(record), author=author
        )
    else:
        repo.add_hr_config(db, kind=record.kind, item_id=record.id, document=document(record), author=author)
