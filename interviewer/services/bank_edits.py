"""HR's edits of the question bank, and the process's `Bank` kept equal to seed + those edits.

The engine (orchestrator, retriever) and the web share one `Bank` object, so the effective bank
is applied *in place*: its dicts are replaced attribute by attribute (each assignment is atomic;
a reader holding the old dict keeps a consistent snapshot) under a lock. After every change the
vector index is brought up to date (`VectorIndex.ingest` is idempotent by content hash: only the
changed questions are embedded), so the next session can retrieve it.

Several worker processes share one database: each `BankEdits` remembers the bank revision it
applied (`store.bank_edits.bank_revision`, two `max(id)` look-ups) and `refresh()` reloads when
another process saved something. Whoever starts something new from the bank (the interview
service's `start`, invite creation) is handed this object and calls `catch_up()` first; running
sessions keep their track configs, pinned in their state.

A `BankEdits` overlays the bank it was given from construction to `close()`, which puts the
files' version back, so that an app built later on the same `Bank` object (a restart in tests)
starts from what the files say.

Errors (`interviewer.errors`; the web maps them to HTTP):

    Invalid              the edit breaks a rule of the bank; `problems` keyed by field (422)
    NotFound             no such question, track or plan (404)
    Conflict             deleting a shipped question, or one that a running interview from before
                         question revisions has asked; a concurrent save of the same item (409)
    PreconditionFailed   a save based on an older version than the current one (412)
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from interviewer.bank.archive import ArchiveError, export_zip, read_bank
from interviewer.bank.index import VectorIndex
from interviewer.bank.loader import Bank, Problem
from interviewer.bank.overlay import (
    Edits,
    Seed,
    compose,
    document,
    introduced,
    parse_document,
    source,
)
from interviewer.domain import TRACKS, Plan, Question, TrackConfig
from interviewer.errors import Conflict, Invalid, NotFound, PreconditionFailed
from interviewer.services.bank_problems import archive_invalid, edit_invalid
from interviewer.store import bank_edits as store
from interviewer.store.bank_edits import SHIPPED, ItemKind
from interviewer.store.db import Database
from interviewer.store.repo import audit

log = logging.getLogger("interviewer.bank")
Kind = ItemKind
Origin = Literal["hr", "seed", ""]
"""Where the current version of an item comes from: HR's edits, the files, or nowhere."""
Record = Question | TrackConfig | Plan
ImportCounts = dict[str, dict[str, int]]
"""Per group ("questions", "tracks", "plans"): how many were "added", "updated", "unchanged"."""
M = TypeVar("M", bound=BaseModel)
R = TypeVar("R", Question, TrackConfig, Plan)


@dataclass(frozen=True)
class Version:
    """One version of an item: 0 is the shipped file's (no date), the others HR's saves."""

    version: int
    author: str
    created_at: str | None
    deleted: bool


@dataclass(frozen=True)
class Item:
    """A question, track config or plan as HR sees it: the current document, its origin, the
    version an edit is based on (the ETag) and every version."""

    kind: Kind
    document: dict[str, Any]
    origin: Origin
    version: int
    versions: list[Version]


@dataclass(frozen=True)
class Current(Generic[R]):
    """The current version of an item in a listing."""

    record: R
    origin: Origin
    version: int

    @property
    def document(self) -> dict[str, Any]:
        return document(self.record)


class BankEdits:
    """HR's use cases on the bank, and the keeper of `bank` = seed + edits. One per app (built at
    start-up, handed to whoever needs it) or per CLI command. `bank` must hold what the files say
    when this is built (as loaded, or put back by an earlier `close()`): it is the seed. `index`
    None: the index is not touched (a server re-indexes when it notices the change)."""

    def __init__(self, *, bank: Bank, db: Database, index: VectorIndex | None) -> None:
        self.bank = bank
        self._seed = Seed.of(bank)
        self._db = db
        self._index = index
        self._lock = threading.RLock()
        self._revision: tuple[int, int] | None = None
        self._edits = Edits()

    # --- keeping the bank up to date ------------------------------------------------------
    def refresh(self, *, force: bool = False) -> bool:
        """Apply the database's edits if they changed since the last call; True if they had."""
        with self._db.session() as db:
            revision = store.bank_revision(db)
        if revision == self._revision and not force:
            return False
        with self._lock:
            with self._db.session() as db:
                revision = store.bank_revision(db)
                if revision == self._revision and not force:
                    return False
                edits = _load_edits(db)
            self._apply(edits)
            self._revision = revision
        return True

    async def catch_up(self) -> None:
        """`refresh()` off the event loop: edits saved by any worker, before something new starts."""
        await asyncio.to_thread(self.refresh)

    def close(self) -> None:
        """Put the files' version back into the bank (the index is left as it is)."""
        with self._lock:
            self._put(self._compose(Edits()))
            self._edits = Edits()
            self._revision = None

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
        self._put(effective)
        if changed and self._index is not None:
            report = self._index.ingest(bank)
            log.info("bank refreshed from HR edits; %s", report.summary())

    def _put(self, effective: Bank) -> None:
        bank = self.bank
        # questions first: a new track config may need a new question
        bank.questions = effective.questions
        bank.sources = effective.sources
        bank.tracks = effective.tracks
        bank.plans = effective.plans

    def _compose(self, edits: Edits) -> Bank:
        return compose(self._seed, edits, root=self.bank.root, articles=self.bank.articles)

    # --- reading --------------------------------------------------------------------------
    def origin(self, kind: Kind, item_id: str) -> Origin:
        match kind:
            case "question":
                hr, seed = item_id in self._edits.questions, item_id in self._seed.questions
            case "track":
                hr, seed = item_id in self._edits.tracks, item_id in self._seed.tracks
            case "plan":
                hr, seed = item_id in self._edits.plans, item_id in self._seed.plans
        return "hr" if hr else "seed" if seed else ""

    def tracks(self) -> list[Current[TrackConfig]]:
        """The current track configs, in the tracks' order (after catching up)."""
        self.refresh()
        return self._listed("track", [self.bank.tracks[t] for t in TRACKS if t in self.bank.tracks])

    def plans(self) -> list[Current[Plan]]:
        self.refresh()
        return self._listed("plan", sorted(self.bank.plans.values(), key=lambda p: p.id))

    def questions(self, *, track: str | None = None) -> list[Current[Question]]:
        """The current questions (shipped and HR's) by track and id, of one track or all."""
        self.refresh()
        questions = sorted(self.bank.questions.values(), key=lambda q: (q.track, q.id))
        return self._listed("question", [q for q in questions if track is None or q.track == track])

    def _listed(self, kind: Kind, records: Iterable[R]) -> list[Current[R]]:
        with self._db.session() as db:
            versions = store.latest_versions(db, kind=kind)
        return [Current(r, self.origin(kind, r.id), versions.get(r.id, 0)) for r in records]

    def item(self, kind: Kind, item_id: str) -> Item:
        """One item with its versions (after catching up); `NotFound` if there is none."""
        self.refresh()
        record = _pool(kind, self.bank.questions, self.bank.tracks, self.bank.plans).get(item_id)
        if record is None:
            raise NotFound(f"no {kind} {item_id!r}")
        saved = self.history(kind, item_id)
        origin = self.origin(kind, item_id)
        seed = self._seed
        shipped = item_id in _pool(kind, seed.questions, seed.tracks, seed.plans)
        return Item(
            kind=kind,
            document=document(record),
            origin=origin,
            version=saved[-1].version if origin == "hr" and saved else 0,
            versions=([Version(0, SHIPPED, None, False)] if shipped else []) + saved,
        )

    def history(self, kind: Kind, item_id: str) -> list[Version]:
        """HR's saved versions of an item, oldest first (version 0, the file's, is not stored)."""
        with self._db.session() as db:
            rows = store.saved_versions(db, kind=kind, item_id=item_id)
        return [Version(r.version, r.author, r.created_at.isoformat(), r.deleted) for r in rows]

    # --- writing --------------------------------------------------------------------------
    def save(
        self,
        kind: Kind,
        doc: Any,
        *,
        author: str,
        item_id: str | None = None,
        based_on: int | None = None,
    ) -> Item:
        """Validate and save a new version of a question, track config or plan; `item_id` None
        creates (the id must be new), else updates that item (the document's id must match).
        `based_on`: the version the edit started from (0 = the shipped file's); if the item is
        at another version now, `PreconditionFailed` and nothing is saved. Returns the item as
        saved; the bank and the index are up to date when this returns."""
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
                raise edit_invalid(problems, item=name)
            exists = self.origin(kind, record.id) != ""
            if item_id is None and exists:
                raise edit_invalid(
                    [Problem(name, "id", f"a {kind} with this id exists; edit it instead")], item=name
                )
            if item_id is not None and not exists:
                raise NotFound(f"no {kind} {item_id!r}")
            if item_id is not None and record.id != item_id:
                raise edit_invalid(
                    [Problem(name, "id", f"the id cannot change (it is {item_id!r})")], item=name
                )
            if kind == "track" and item_id is None:
                raise edit_invalid([Problem(name, "id", "the three tracks exist; edit one")], item=name)
            self._check(_with(self._edits, record), item=name)

            def write(db: Session) -> None:
                if based_on is not None and item_id is not None:
                    current, by = store.current_version(db, kind=kind, item_id=item_id)
                    if current != based_on:
                        raise PreconditionFailed(
                            f"this {kind} was changed by {by} since you opened it (version {based_on}; "
                            f"now version {current}); nothing was saved — reload it and apply your edit again"
                        )
                _store(db, record, author=author)
                audit(
                    db,
                    actor=author,
                    action=f"bank.{kind}.{'update' if exists else 'create'}",
                    subject=f"{kind}:{record.id}",
                )

            self._write(write)
        return self.item(kind, record.id)

    def delete_question(self, question_id: str, *, author: str) -> Origin:
        """Withdraw HR's version of a question; returns what is current now ("seed" or "")."""
        with self._lock:
            self.refresh()
            name = str(source("question", question_id))
            if question_id not in self._edits.questions:
                if question_id in self._seed.questions:
                    raise Conflict("a shipped question (knowledge/) cannot be deleted here; edit it instead")
                raise NotFound(f"no question {question_id!r}")
            falls_back = question_id in self._seed.questions
            if not falls_back:
                with self._db.session() as db:
                    running = store.active_sessions_asking(db, question_id=question_id)
                if running:
                    raise Conflict(
                        f"{len(running)} running interview(s) have asked this question; "
                        "delete it when they have ended"
                    )
            self._check(self._edits.without_question(question_id), item=name)
            track = self._edits.questions[question_id].track

            def write(db: Session) -> None:
                store.add_hr_question(
                    db, question_id=question_id, track=track, document={}, author=author, deleted=True
                )
                audit(db, actor=author, action="bank.question.delete", subject=f"question:{question_id}")

            self._write(write)
            return "seed" if falls_back else ""

    def import_archive(self, data: bytes, *, author: str) -> ImportCounts:
        """Import a zip of the knowledge/ format (`import_bank`). An unusable archive, or any
        problem in it, is `Invalid` and nothing is saved; the problems (the first
        `archive.MAX_REPORTED`, then one entry counting the rest) name their file and field."""
        try:
            incoming, problems = read_bank(data, articles_from=self.bank.root / "articles")
        except ArchiveError as exc:
            raise Invalid(str(exc)) from None
        if problems:
            raise archive_invalid(problems)
        return self.import_bank(incoming, author=author)

    def import_bank(self, incoming: Bank, *, author: str) -> ImportCounts:
        """Save every question, track and plan of `incoming` (a validated bank in the file
        format) that differs from the effective bank, as new versions, in one transaction. Items
        it does not contain are left as they are (nothing is deleted)."""
        with self._lock:
            self.refresh()
            current = self.bank
            edits = self._edits
            changes: list[Record] = []
            counts: ImportCounts = {}
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
                    audit(db, actor=author, action="bank.import", subject="bank", data=counts)

                self._write(write)
            return counts

    def export_archive(self, *, author: str) -> bytes:
        """The whole effective bank as a zip of the knowledge/ format (audited)."""
        self.refresh()
        data = export_zip(self.bank)
        with self._db.session() as db:
            audit(db, actor=author, action="bank.export", subject="bank")
            db.commit()
        return data

    def _check(self, edits: Edits, *, item: str) -> None:
        problems = introduced(self.bank, self._compose(edits))
        if problems:
            raise edit_invalid(problems, item=item)

    def _write(self, write: Callable[[Session], None]) -> None:
        with self._db.session() as db:
            try:
                write(db)
                db.commit()
            except IntegrityError as exc:
                db.rollback()
                raise Conflict("someone saved this item at the same moment; reload and try again") from exc
        self.refresh()


def _pool(
    kind: Kind, questions: dict[str, Question], tracks: dict[Any, TrackConfig], plans: dict[str, Plan]
) -> dict[Any, Any]:
    match kind:
        case "question":
            return questions
        case "track":
            return tracks
        case "plan":
            return plans


def _doc_id(doc: Any) -> str:
    value = doc.get("id") if isinstance(doc, dict) else None
    return value if isinstance(value, str) and len(value) <= 80 else "new"


def _with(edits: Edits, record: Record) -> Edits:
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
    for row in store.latest_hr_questions(db):
        if row.deleted:
            withdrawn.add(row.question_id)
        elif (question := _tolerant(Question, row.document, f"question {row.question_id}")) is not None:
            questions[row.question_id] = question
    for crow in store.latest_hr_configs(db):
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


def _store(db: Session, record: Record, *, author: str) -> None:
    """Insert a new version of one HR-edited record."""
    if isinstance(record, Question):
        store.add_hr_question(
            db, question_id=record.id, track=record.track, document=document(record), author=author
        )
    else:
        store.add_hr_config(db, kind=record.kind, item_id=record.id, document=document(record), author=author)
