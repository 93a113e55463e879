"""HR's edits of the bank — questions, track configs, plans and coding exercises — and the
process's `Bank` kept equal to seed + those edits.

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

A coding exercise is saved only when its reference solution passes all its tests in the sandbox
(`ExerciseService.reference_failures`, run before the lock is taken); a session keeps the
revision of an exercise it was given, as it does the questions it asked (`services/interview.py`).

A `BankEdits` overlays the bank it was given from construction to `close()`, which puts the
files' version back, so that an app built later on the same `Bank` object (a restart in tests)
starts from what the files say.

Errors (`interviewer.errors`; the web maps them to HTTP):

    Invalid              the edit breaks a rule of the bank, or an exercise's reference solution
                         fails its tests; `problems` keyed by field (422)
    Unavailable          an exercise cannot be checked: no sandbox here (503)
    NotFound             no such question, track, plan or exercise (404)
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
from interviewer.domain import TRACKS, Exercise, Plan, Question, TrackConfig
from interviewer.errors import Conflict, Invalid, NotFound, PreconditionFailed, Unavailable
from interviewer.services.bank_problems import archive_invalid, edit_invalid
from interviewer.services.bank_records import (
    MODELS,
    Record,
    doc_id,
    load_edits,
    pool,
    store_record,
    with_record,
)
from interviewer.services.exercises import ExerciseService
from interviewer.store import bank_edits as store
from interviewer.store.bank_edits import SHIPPED, ItemKind
from interviewer.store.db import Database
from interviewer.store.repo import audit

log = logging.getLogger("interviewer.bank")
Kind = ItemKind
Origin = Literal["hr", "seed", ""]
"""Where the current version of an item comes from: HR's edits, the files, or nowhere."""
ImportCounts = dict[str, dict[str, int]]
"""Per group ("questions", "tracks", "plans", "exercises"): how many were "added", "updated",
"unchanged"."""
R = TypeVar("R", Question, TrackConfig, Plan, Exercise)


@dataclass(frozen=True)
class Version:
    """One version of an item: 0 is the shipped file's (no date), the others HR's saves."""

    version: int
    author: str
    created_at: str | None
    deleted: bool


@dataclass(frozen=True)
class Item:
    """A question, track config, plan or exercise as HR sees it: the current document, its origin,
    the version an edit is based on (the ETag) and every version."""

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
    None: the index is not touched (a server re-indexes when it notices the change). `exercises`:
    the sandbox that checks an exercise's reference solution (None: exercises cannot be saved)."""

    def __init__(
        self,
        *,
        bank: Bank,
        db: Database,
        index: VectorIndex | None,
        exercises: ExerciseService | None = None,
    ) -> None:
        self.bank = bank
        self._exercises = exercises
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
                edits = load_edits(db)
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
        )  # exercises are not in the vector index
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
        bank.exercises = effective.exercises

    def _compose(self, edits: Edits) -> Bank:
        return compose(self._seed, edits, root=self.bank.root, articles=self.bank.articles)

    # --- reading --------------------------------------------------------------------------
    def origin(self, kind: Kind, item_id: str) -> Origin:
        if item_id in pool(kind, self._edits):
            return "hr"
        return "seed" if item_id in pool(kind, self._seed) else ""

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

    def exercises(self) -> list[Current[Exercise]]:
        """The current coding exercises (shipped and HR's) by id."""
        self.refresh()
        return self._listed("exercise", sorted(self.bank.exercises.values(), key=lambda e: e.id))

    def _listed(self, kind: Kind, records: Iterable[R]) -> list[Current[R]]:
        with self._db.session() as db:
            versions = store.latest_versions(db, kind=kind)
        return [Current(r, self.origin(kind, r.id), versions.get(r.id, 0)) for r in records]

    def item(self, kind: Kind, item_id: str) -> Item:
        """One item with its versions (after catching up); `NotFound` if there is none."""
        self.refresh()
        record = pool(kind, self.bank).get(item_id)
        if record is None:
            raise NotFound(f"no {kind} {item_id!r}")
        saved = self.history(kind, item_id)
        origin = self.origin(kind, item_id)
        shipped = item_id in pool(kind, self._seed)
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
        """Validate and save a new version of a question, track config, plan or exercise (whose
        reference solution must pass its tests in the sandbox); `item_id` None
        creates (the id must be new), else updates that item (the document's id must match).
        `based_on`: the version the edit started from (0 = the shipped file's); if the item is
        at another version now, `PreconditionFailed` and nothing is saved. Returns the item as
        saved; the bank and the index are up to date when this returns."""
        name = str(source(kind, item_id or doc_id(doc)))
        record, problems = parse_document(MODELS[kind], doc, name)
        if record is None:
            raise edit_invalid(problems, item=name)
        self._verify([record], item=name)  # runs code: outside the lock
        with self._lock:
            self.refresh()
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
            self._check(with_record(self._edits, record), item=name)

            def write(db: Session) -> None:
                if based_on is not None and item_id is not None:
                    current, by = store.current_version(db, kind=kind, item_id=item_id)
                    if current != based_on:
                        raise PreconditionFailed(
                            f"this {kind} was changed by {by} since you opened it (version {based_on}; "
                            f"now version {current}); nothing was saved — reload it and apply your edit again"
                        )
                store_record(db, record, author=author)
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
        """Save every question, track, plan and exercise of `incoming` (a validated bank in the
        file format) that differs from the effective bank, as new versions, in one transaction.
        Items it does not contain are left as they are (nothing is deleted). The reference
        solutions of new and changed exercises must pass their tests (checked first)."""
        self.refresh()
        new_exercises = [e for k, e in incoming.exercises.items() if self.bank.exercises.get(k) != e]
        self._verify(new_exercises, item="import")
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
                ("exercises", incoming.exercises, current.exercises),
            ]
            for label, new, old in groups:
                tally = {"added": 0, "updated": 0, "unchanged": 0}
                for key, record in new.items():
                    was = old.get(key)
                    status = "added" if was is None else "unchanged" if was == record else "updated"
                    tally[status] += 1
                    if status != "unchanged":
                        changes.append(record)
                        edits = with_record(edits, record)
                counts[label] = tally
            self._check(edits, item="import")
            if changes:

                def write(db: Session) -> None:
                    for record in changes:
                        store_record(db, record, author=author)
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

    def _verify(self, records: list[Any], *, item: str) -> None:
        """Run the reference solution of each exercise among `records` against all its tests in
        the sandbox; any failure refuses the edit (Invalid, keyed to `solution`)."""
        exercises = [r for r in records if isinstance(r, Exercise)]
        if not exercises:
            return
        if self._exercises is None:
            raise Unavailable("exercises cannot be saved here: no sandbox to check the reference solution")
        imported = item == "import"
        problems = [
            Problem(f"exercises/{e.id}.yaml" if imported else item, "solution", f"the reference solution {f}")
            for e in exercises
            for f in self._exercises.reference_failures(e)
        ]
        if problems:
            raise archive_invalid(problems) if imported else edit_invalid(problems, item=item)

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
