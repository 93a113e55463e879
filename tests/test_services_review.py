"""The evaluator's use cases (`services/review.py`) without HTTP: a real SQLite file, the shipped
bank, interviews written as the store keeps them (a question, an answer, its assessment). Overrides
move the effective score and are audited, the latest one wins, refusals are the kernel's errors
and change nothing, the list's filters and keyset paging."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from interviewer.bank import Bank
from interviewer.domain import Assessment, CriterionScore, Turn
from interviewer.engine.state import SessionState, TrackState
from interviewer.errors import Conflict, Invalid, NotFound
from interviewer.services.review import OverrideCreated, ReviewFilters, ReviewService
from interviewer.store import repo
from interviewer.store.db import Database
from interviewer.store.tables import AssessmentRow, TurnRow

QID = "py-asyncio-event-loop"
EV = "ev@example.com"


@pytest.fixture
def service(db: Database, bank: Bank) -> ReviewService:
    return ReviewService(db=db, bank=bank, min_kappa=0.6)


def _interview(
    db: Database,
    bank: Bank,
    *,
    score: float | None = 2.0,
    status: str = "completed",
    plan: str = "python",
    flags: tuple[str, ...] = (),
    answer: str = "The event loop runs one callback at a time.",
    label: str | None = None,
) -> str:
    """A session that asked QID and got `answer`, assessed at `score` on every python criterion
    (no assessment when `score` is None)."""
    sid = str(uuid.uuid4())
    state = SessionState(
        plan_id=plan, mode="assessment", seed=1, tracks=[TrackState(track="python", difficulty=2)]
    )
    asked = Turn(
        role="interviewer",
        kind="question",
        content="Explain the event loop.",
        track="python",
        question_id=QID,
    )
    with db.session() as s:
        version = repo.pin_track_version(s, plan_id=plan, config={"plan": plan})
        repo.create_session(
            s,
            session_id=sid,
            token_hash=uuid.uuid4().hex,
            plan_id=plan,
            track_version_id=version,
            mode="assessment",
            show_report=True,
            state=state.model_dump(mode="json"),
            turns=[asked],
            client_address=None,
        )
        session = repo.get_session(s, session_id=sid)
        assert session is not None
        session.status = status
        session.candidate_label = label
        s.add(TurnRow(session_id=sid, seq=2, role="candidate", kind="answer", content=answer))
        if score is not None:
            assessment = Assessment(
                question_id=QID,
                track="python",
                score=score,
                criteria=[CriterionScore(id=c.id, score=score) for c in bank.tracks["python"].rubric],
                flags=list(flags),
            ).model_dump(mode="json")
            s.add(
                AssessmentRow(
                    session_id=sid,
                    turn_seq=2,
                    question_id=QID,
                    track="python",
                    score=score,
                    scorer="offline",
                    flags=list(flags),
                    data=assessment,
                )
            )
        s.commit()
    return sid


def _override(
    service: ReviewService, sid: str, criterion: str, score: float, reason: str = "Too harsh."
) -> OverrideCreated:
    return service.add_override(
        sid, question_id=QID, criterion=criterion, score=score, reason=reason, user_id=None, actor=EV
    )


def test_override_changes_the_effective_score_and_is_audited(
    service: ReviewService, db: Database, bank: Bank
) -> None:
    sid = _interview(db, bank)
    created = _override(service, sid, "accuracy", 5)
    assert (created.old_score, created.new_score, created.machine_score) == (2.0, 5.0, 2.0)
    assert created.evaluator == EV and created.question_effective_score == 3.2  # 2 + 0.4 x 3

    doc = service.document(sid)
    a = doc.questions[0].assessment
    assert a is not None and a.score == 2.0 and a.effective_score == 3.2 and a.overridden
    accuracy = next(c for c in a.criteria if c.id == "accuracy")
    assert accuracy.score == 2.0 and accuracy.effective_score == 5.0 and accuracy.overridden
    assert doc.score == 2.0 and doc.effective_score == 3.2
    [entry] = doc.audit
    assert entry.action == "review.override" and entry.actor == EV
    assert entry.data == {
        "override": created.id,
        "question_id": QID,
        "criterion": "accuracy",
        "old": 2.0,
        "new": 5.0,
        "reason": "Too harsh.",
    }


def test_the_latest_override_wins(service: ReviewService, db: Database, bank: Bank) -> None:
    sid = _interview(db, bank)
    _override(service, sid, "overall", 4)
    second = _override(service, sid, "overall", 1.5, reason="second look")
    assert second.old_score == 4.0 and second.question_effective_score == 1.5
    doc = service.document(sid)
    assert doc.effective_score == 1.5 and [o.new_score for o in doc.overrides] == [4.0, 1.5]
    [item] = service.list_sessions(ReviewFilters()).items
    assert item.overridden and item.score == 2.0 and item.effective_score == 1.5
    calibration = service.calibration(min_pairs=1)
    assert calibration.pairs == 1  # one score, its latest override
    assert [(g.track, g.n, g.mean_abs_diff) for g in calibration.groups] == [
        ("python", 1, 0.5),
        ("all", 1, 0.5),
    ]


def test_unknown_criterion_or_question_is_invalid_and_changes_nothing(
    service: ReviewService, db: Database, bank: Bank
) -> None:
    sid = _interview(db, bank)
    before = service.document(sid)
    with pytest.raises(
        Invalid, match=r"^criterion: not a rubric criterion of this question \(known: overall, accuracy"
    ):
        _override(service, sid, "charm", 3)
    with pytest.raises(Invalid, match="^question_id: not an assessed question of this interview$"):
        service.add_override(
            sid, question_id="py-nope", criterion="overall", score=3, reason="nope", user_id=None, actor=EV
        )
    unassessed = _interview(db, bank, score=None)
    with pytest.raises(Invalid):
        _override(service, unassessed, "overall", 3)
    assert service.document(sid) == before


def test_recommendation_needs_an_ended_interview_and_is_audited(
    service: ReviewService, db: Database, bank: Bank
) -> None:
    active = _interview(db, bank, status="active")
    with pytest.raises(Conflict, match="once the interview has ended"):
        service.add_recommendation(active, recommendation="hire", note=None, user_id=None, actor=EV)
    assert service.document(active).audit == []
    sid = _interview(db, bank)
    service.add_recommendation(sid, recommendation="strong hire", note="clear", user_id=None, actor=EV)
    row = service.add_recommendation(sid, recommendation="no hire", note=None, user_id=None, actor=EV)
    assert row.recommendation == "no hire" and row.evaluator == EV
    rec = service.document(sid).recommendation
    assert rec.evaluator == row and [r.recommendation for r in rec.history] == ["strong hire", "no hire"]
    assert [a.action for a in service.document(sid).audit] == ["review.recommendation"] * 2


@pytest.mark.parametrize(
    "sid",
    ["nope", str(uuid.uuid4()), "a" * 300, "x\x00y"],
    ids=["word", "random-uuid", "long", "nul"],  # the same ids in every xdist worker
)
def test_an_unknown_session_is_not_found(service: ReviewService, sid: str) -> None:
    with pytest.raises(NotFound, match="^no such interview$"):
        service.document(sid)
    with pytest.raises(NotFound):
        _override(service, sid, "overall", 3)
    with pytest.raises(NotFound):
        service.add_recommendation(sid, recommendation="hire", note=None, user_id=None, actor=EV)


def test_list_filters_previews_and_paging(service: ReviewService, db: Database, bank: Bank) -> None:
    low = _interview(db, bank, score=1.5, label="Ada Lovelace", answer="x" * 300)
    high = _interview(db, bank, score=4.5, plan="full", flags=("prompt_injection", "needs_review"))
    active = _interview(db, bank, score=None, status="active", label="Grace")

    def only(**filters: Any) -> set[str]:
        return {i.session_id for i in service.list_sessions(ReviewFilters(**filters)).items}

    everything = service.list_sessions(ReviewFilters())
    assert everything.total == 3 and [i.session_id for i in everything.items] == [active, high, low]
    by_id = {i.session_id: i for i in everything.items}
    assert by_id[low].first_answer == "x" * 160 and by_id[low].candidate_label == "Ada Lovelace"
    assert by_id[active].score is None and by_id[high].score == 4.5 and by_id[high].flagged
    assert only(status="active") == {active} and only(status="completed") == {low, high}
    assert only(plan_id="full") == {high}
    assert only(flagged=True) == {high} and only(flagged=False) == {low, active}
    assert only(needs_review=True) == {high}
    assert only(min_score=2) == {high} and only(max_score=2) == {low}
    assert only(label_contains="lovelace") == {low} and only(label_contains="%") == set()
    today = datetime.now(UTC).date()
    assert only(created_from=today, created_to=today) == {low, high, active}
    assert only(created_from=today + timedelta(days=1)) == set()
    assert only(created_to=today - timedelta(days=1)) == set()

    walked, after = [], None
    while True:
        page = service.list_sessions(ReviewFilters(), limit=2, after=after)
        assert page.total == 3
        walked += [i.session_id for i in page.items]
        if page.next_after is None:
            break
        after = page.next_after
    assert walked == [active, high, low]
    assert [i.session_id for i in service.list_sessions(ReviewFilters(), limit=1, offset=2).items] == [low]
