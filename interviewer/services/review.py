"""The evaluator's use cases: the sessions list (filters, paging, effective scores, previews of
the first answer), the review document of one interview (also what the exports render), score
overrides and the final recommendation (both audited, each in one transaction), and calibration
of the machine's scores against the evaluators' overrides.

Who may do what (evaluators write, HR reads) is the door's check: these methods take the acting
user's id and e-mail as given. They are blocking (database work): the web calls them off the
event loop. Refusals are the kernel's errors: an unknown session is `NotFound`, an override of a
question or criterion the interview did not assess is `Invalid`, a recommendation before the
interview ended is `Conflict`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from pydantic import BaseModel
from sqlalchemy.orm import Session

from interviewer.bank.loader import Bank
from interviewer.domain import HiringRecommendation
from interviewer.engine.calibration import GroupFigures, Pair, calibrate
from interviewer.engine.state import SessionState
from interviewer.errors import Conflict, Invalid, NotFound
from interviewer.services import review_doc
from interviewer.services.review_doc import RecommendationRecord, ReviewDocument
from interviewer.services.review_runs import run_records
from interviewer.services.review_scores import (
    OVERALL,
    effective,
    iso,
    latest_by_question,
    rubric_weights,
    session_scores,
)
from interviewer.store import exercises as exercise_store
from interviewer.store import repo
from interviewer.store import review as store
from interviewer.store.db import Database
from interviewer.store.tables import InterviewSession, Override

PREVIEW_CHARS = 160
"""How much of a session's first answer the list shows."""


@dataclass(frozen=True)
class ReviewFilters:
    """What the sessions list is narrowed to; None: no condition. Dates are calendar days in UTC,
    both ends included; `label_contains` is case-insensitive."""

    plan_id: str | None = None
    status: Literal["active", "completed"] | None = None
    min_score: float | None = None
    max_score: float | None = None
    flagged: bool | None = None
    needs_review: bool | None = None
    created_from: date | None = None
    created_to: date | None = None
    label_contains: str | None = None


class SessionSummary(BaseModel):
    """One interview in the evaluator's list."""

    session_id: str
    plan_id: str
    mode: str
    status: str
    candidate_label: str | None
    created_at: str
    score: float | None
    effective_score: float | None
    flagged: bool
    needs_review: bool
    answers: int
    overridden: bool
    first_answer: str | None


@dataclass(frozen=True)
class SessionsPage:
    items: list[SessionSummary]
    total: int
    """How many sessions match the filters (all pages)."""
    next_after: tuple[datetime, str] | None
    """The keyset of this page's last session, when there is a next page: pass it as `after`."""


class OverrideCreated(BaseModel):
    """An override as recorded, with the question's effective score now."""

    id: int
    question_id: str
    criterion: str
    machine_score: float
    old_score: float
    new_score: float
    reason: str
    evaluator: str
    created_at: str
    question_effective_score: float


class CalibrationReport(BaseModel):
    """Agreement between the machine and the evaluators, per track and criterion, then overall."""

    min_kappa: float
    min_pairs: int
    pairs: int
    warnings: int
    groups: list[GroupFigures]


def _day_bounds(first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    """[start of `first`, start of the day after `last`) in UTC; the calendar's last day bounds
    nothing (and has no next day)."""
    return (
        datetime.combine(first, time.min, tzinfo=UTC) if first else None,
        datetime.combine(last + timedelta(days=1), time.min, tzinfo=UTC)
        if last and last < date.max
        else None,
    )


class ReviewService:
    def __init__(self, *, db: Database, bank: Bank, min_kappa: float) -> None:
        """`min_kappa`: below it a calibration group carries a warning."""
        self._db = db
        self._bank = bank
        self._min_kappa = min_kappa

    # --- reads ----------------------------------------------------------------------------------

    def list_sessions(
        self,
        filters: ReviewFilters,
        *,
        limit: int = 20,
        offset: int = 0,
        after: tuple[datetime, str] | None = None,
    ) -> SessionsPage:
        """Newest first. `after` (a previous page's `next_after`) pages by keyset; otherwise
        `offset` does."""
        created_from, created_before = _day_bounds(filters.created_from, filters.created_to)
        with self._db.session() as db:
            rows, total = store.list_review_sessions(
                db,
                plan_id=filters.plan_id,
                status=filters.status,
                min_score=filters.min_score,
                max_score=filters.max_score,
                flagged=filters.flagged,
                needs_review=filters.needs_review,
                created_from=created_from,
                created_before=created_before,
                label_contains=filters.label_contains,
                after=after,
                limit=limit + 1,  # one more tells whether there is a next page
                offset=offset,
            )
            more = len(rows) > limit
            rows = rows[:limit]
            ids = [r.session.id for r in rows]
            overrides: dict[str, list[Override]] = {}
            for o in store.list_overrides(db, session_ids=ids):
                overrides.setdefault(o.session_id, []).append(o)
            assessments = store.list_assessments(db, session_ids=list(overrides))
            previews = store.first_answers(db, session_ids=ids, chars=PREVIEW_CHARS)
            items = []
            for r in rows:
                effective_score = r.score
                if r.session.id in overrides:
                    _, effective_score = session_scores(
                        session=r.session,
                        assessments=[a for a in assessments if a.session_id == r.session.id],
                        overrides=overrides[r.session.id],
                        report=repo.get_report(db, session_id=r.session.id),
                        bank=self._bank,
                    )
                items.append(
                    SessionSummary(
                        session_id=r.session.id,
                        plan_id=r.session.plan_id,
                        mode=r.session.mode,
                        status=r.session.status,
                        candidate_label=r.session.candidate_label,
                        created_at=iso(r.session.created_at),
                        score=round(r.score, 2) if r.score is not None else None,
                        effective_score=round(effective_score, 2) if effective_score is not None else None,
                        flagged=r.flagged,
                        needs_review=r.needs_review,
                        answers=r.answers,
                        overridden=r.session.id in overrides,
                        first_answer=previews.get(r.session.id),
                    )
                )
            last = rows[-1].session if rows and more else None
            return SessionsPage(
                items=items, total=total, next_after=(last.created_at, last.id) if last else None
            )

    def document(self, session_id: str) -> ReviewDocument:
        """The whole interview for review; the exports render this too."""
        with self._db.session() as db:
            session = _session(db, session_id)
            stale = SessionState.model_validate(session.state).stale_revisions(self._bank.questions)
            stored = repo.question_versions(db, list(stale.values()))
            document = review_doc.build(
                pinned={qid: stored[rev] for qid, rev in stale.items() if rev in stored},
                session=session,
                turns=repo.list_turns(db, session_id=session_id),
                assessments=store.list_assessments(db, session_ids=[session_id]),
                report=repo.get_report(db, session_id=session_id),
                overrides=store.list_overrides(db, session_ids=[session_id]),
                recommendations=store.list_recommendations(db, session_id=session_id),
                audit=store.audit_entries(db, subject=session_id),
                bank=self._bank,
            )
            runs = exercise_store.list_runs(db, session_id=session_id)
            return document.model_copy(update={"exercise_runs": run_records(runs)})

    def calibration(self, *, min_pairs: int) -> CalibrationReport:
        """The latest override of each score is one pair (machine, evaluator); an override with
        the machine's own score records agreement. Figures need `min_pairs` pairs."""
        with self._db.session() as db:
            overrides = store.list_overrides(db)
        latest: dict[tuple[str, str, str], Override] = {}
        for o in overrides:
            latest[(o.session_id, o.question_id, o.criterion)] = o
        pairs = [Pair(o.track, o.criterion, o.machine_score, o.new_score) for o in latest.values()]
        groups = calibrate(pairs, min_pairs=min_pairs, min_kappa=self._min_kappa)
        return CalibrationReport(
            min_kappa=self._min_kappa,
            min_pairs=min_pairs,
            pairs=len(pairs),
            warnings=sum(g.warning for g in groups),
            groups=groups,
        )

    # --- writes ---------------------------------------------------------------------------------

    def add_override(
        self,
        session_id: str,
        *,
        question_id: str,
        criterion: str,
        score: float,
        reason: str,
        user_id: int | None,
        actor: str,
    ) -> OverrideCreated:
        """Override the latest assessment's score of a question: `criterion` is a rubric
        criterion it was scored on, or "overall". Audited (`review.override`) in the same
        transaction; the latest override of a score wins."""
        with self._db.session() as db:
            session = _session(db, session_id)
            latest = latest_by_question(store.list_assessments(db, session_ids=[session_id]))
            row = latest.get(question_id)
            if row is None:
                raise Invalid("question_id: not an assessed question of this interview")
            machine = {c["id"]: float(c["score"]) for c in row.data["criteria"]}
            if criterion != OVERALL and criterion not in machine:
                known = ", ".join([OVERALL, *machine])
                raise Invalid(f"criterion: not a rubric criterion of this question (known: {known})")
            weights = rubric_weights(SessionState.model_validate(session.state), self._bank, row.track)
            before = [
                o
                for o in store.list_overrides(db, session_ids=[session_id])
                if o.question_id == row.question_id
            ]
            question_score, per_criterion = effective(row.data, before, weights)
            overall = criterion == OVERALL
            old = question_score if overall else per_criterion[criterion]
            new = round(score, 2)
            created = store.add_override(
                db,
                session_id=session_id,
                question_id=row.question_id,
                track=row.track,
                criterion=criterion,
                machine_score=float(row.data["score"]) if overall else machine[criterion],
                old_score=old,
                new_score=new,
                reason=reason,
                user_id=user_id,
                actor=actor,
            )
            repo.audit(
                db,
                actor=actor,
                action="review.override",
                subject=session_id,
                data={
                    "override": created.id,
                    "question_id": row.question_id,
                    "criterion": criterion,
                    "old": old,
                    "new": new,
                    "reason": reason,
                },
            )
            db.commit()
            now, _ = effective(row.data, [*before, created], weights)
            return OverrideCreated(
                id=created.id,
                question_id=row.question_id,
                criterion=criterion,
                machine_score=created.machine_score,
                old_score=old,
                new_score=new,
                reason=reason,
                evaluator=actor,
                created_at=iso(created.created_at),
                question_effective_score=now,
            )

    def add_recommendation(
        self,
        session_id: str,
        *,
        recommendation: HiringRecommendation,
        note: str | None,
        user_id: int | None,
        actor: str,
    ) -> RecommendationRecord:
        """The final recommendation for an ended interview (the latest one counts). Audited
        (`review.recommendation`) in the same transaction."""
        with self._db.session() as db:
            session = _session(db, session_id)
            if session.status != "completed":
                raise Conflict("the recommendation is given once the interview has ended")
            row = store.add_recommendation(
                db,
                session_id=session_id,
                recommendation=recommendation,
                note=note,
                user_id=user_id,
                actor=actor,
            )
            repo.audit(
                db,
                actor=actor,
                action="review.recommendation",
                subject=session_id,
                data={"recommendation": recommendation, "note": note},
            )
            db.commit()
            return review_doc.recommendation_record(row)


def _session(db: Session, session_id: str) -> InterviewSession:
    row = repo.get_session(db, session_id=session_id) if len(session_id) <= 36 else None
    if row is None:
        raise NotFound("no such interview")
    return row
