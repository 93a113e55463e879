"""The review document of one interview: what an evaluator needs to judge it, built from the
stored rows and the bank. The review page, the JSON export and the other exports all read it, so
it is a typed model (`ReviewDocument`) published in the OpenAPI schema; its JSON form
(`model_dump(mode="json")`) is the page's and the exports' contract — field names, nesting and
nulls are theirs. Times are ISO 8601 strings in UTC, written as `datetime.isoformat` writes them.

Effective scores (`review_scores`): the latest override of a score wins; see that module.
"""

from __future__ import annotations

from collections import ChainMap, defaultdict
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field

from interviewer.bank.loader import Bank
from interviewer.domain import HiringRecommendation, Question
from interviewer.engine.evidence import locate
from interviewer.engine.report import hiring_recommendation
from interviewer.engine.state import SessionState
from interviewer.services.review_runs import ExerciseRunRecord
from interviewer.services.review_scores import (
    effective,
    iso,
    latest_by_question,
    rubric,
    rubric_weights,
    session_scores,
)
from interviewer.store.tables import (
    AssessmentRow,
    AuditLog,
    InterviewSession,
    Override,
    Recommendation,
    ReportRow,
    TurnRow,
)

INJECTION = "prompt_injection"


# --- the document's shape ---------------------------------------------------------------------


class EvidenceSpan(BaseModel):
    """Where a quote sits in one candidate turn: offsets into that turn's content."""

    turn: int
    start: int
    end: int


class EvidenceQuote(BaseModel):
    quote: str
    spans: list[EvidenceSpan]
    found: bool


class ReviewCriterion(BaseModel):
    id: str
    title: str
    weight: float | None
    score: float
    effective_score: float
    overridden: bool
    unsupported: bool
    rationale: str
    evidence: list[EvidenceQuote]


class MisconceptionQuote(BaseModel):
    id: str
    quote: str


class ReviewAssessment(BaseModel):
    """The latest assessment of a question, with the effective scores after overrides."""

    score: float
    effective_score: float
    overridden: bool
    scorer: str
    offline_score: float | None
    disagreement: float | None
    criteria: list[ReviewCriterion]
    covered: list[str]
    missed: list[str]
    pitfalls: list[str]
    misconceptions: list[MisconceptionQuote]
    confidence: float | None
    flags: list[str]
    notes: list[str]
    dropped_quotes: int
    turn_seq: int
    versions: int
    assessed_at: str


class OverrideRecord(BaseModel):
    """One score override; `evaluator` is who made it."""

    id: int
    question_id: str
    track: str
    criterion: str
    machine_score: float
    old_score: float
    new_score: float
    reason: str
    evaluator: str
    created_at: str


class RecommendationRecord(BaseModel):
    recommendation: HiringRecommendation
    note: str | None
    evaluator: str
    created_at: str


class KeyPointStatus(BaseModel):
    id: str
    text: str
    weight: int
    status: Literal["covered", "missed"] | None


class PitfallFound(BaseModel):
    id: str
    claim: str
    why: str
    quote: str | None


class FollowUpAsked(BaseModel):
    seq: int
    key_point: str | None
    reason: str | None
    """The text of the key point the follow-up probes: why it was asked."""


class ReviewQuestion(BaseModel):
    """A main question as asked (the revision the session asked when the bank changed since)."""

    question_id: str
    track: str
    topic: str | None
    difficulty: int | None
    question: str | None
    asked: str
    asked_seq: int
    criteria: list[str]
    key_points: list[KeyPointStatus]
    pitfalls: list[PitfallFound]
    follow_ups: list[FollowUpAsked]
    answers: list[int]
    answer_text: str
    assessment: ReviewAssessment | None
    overrides: list[OverrideRecord]


class ReviewTurn(BaseModel):
    """A turn of the transcript; a candidate's turn carries the question it answers."""

    seq: int
    role: str
    kind: str
    track: str | None
    question_id: str | None
    key_point: str | None
    key_point_text: str | None
    content: str
    status: str
    created_at: str


class Recommendations(BaseModel):
    machine: HiringRecommendation | None
    evaluator: RecommendationRecord | None
    """The latest of `history`: the one that counts."""
    history: list[RecommendationRecord]


class AuditEntry(BaseModel):
    actor: str
    action: str
    data: dict[str, Any]
    created_at: str


class ReviewDocument(BaseModel):
    """The whole interview for review (also the JSON export, which adds `format`)."""

    session_id: str
    plan_id: str
    plan_title: str
    candidate_label: str | None
    mode: str
    status: str
    created_at: str
    updated_at: str
    score: float | None
    effective_score: float | None
    flagged: bool
    answers: int
    transcript: list[ReviewTurn]
    questions: list[ReviewQuestion]
    report: dict[str, Any] | None
    recommendation: Recommendations
    overrides: list[OverrideRecord]
    audit: list[AuditEntry]
    exercise_runs: list[ExerciseRunRecord] = Field(default_factory=list)


# --- building it ------------------------------------------------------------------------------


def locate_in_turns(quote: str, turns: Sequence[tuple[int, str]]) -> list[EvidenceSpan]:
    """Spans of a quote inside the candidate's turns. The turns are searched as one text, as the
    scorer saw them; [] if absent."""
    joined = ""
    bounds: list[tuple[int, int, int]] = []
    for seq, content in turns:
        if joined:
            joined += "\n\n"
        bounds.append((seq, len(joined), len(joined) + len(content)))
        joined += content
    found = locate(quote, joined) or []
    spans: list[EvidenceSpan] = []
    for start, end in found:
        for seq, lo, hi in bounds:
            a, b = max(start, lo), min(end, hi)
            if a < b:
                spans.append(EvidenceSpan(turn=seq, start=a - lo, end=b - lo))
    return spans


def override_record(row: Override) -> OverrideRecord:
    return OverrideRecord(
        id=row.id,
        question_id=row.question_id,
        track=row.track,
        criterion=row.criterion,
        machine_score=row.machine_score,
        old_score=row.old_score,
        new_score=row.new_score,
        reason=row.reason,
        evaluator=row.actor,
        created_at=iso(row.created_at),
    )


def recommendation_record(row: Recommendation) -> RecommendationRecord:
    return RecommendationRecord.model_validate(
        {
            "recommendation": row.recommendation,
            "note": row.note,
            "evaluator": row.actor,
            "created_at": iso(row.created_at),
        }
    )


def _transcript(turns: Sequence[TurnRow], questions: Mapping[str, Question]) -> list[ReviewTurn]:
    """Every turn in order; a candidate turn gets the question it answers (the last interviewer
    turn that named one) and a follow-up the text of the key point it probes (why it was asked)."""
    out: list[ReviewTurn] = []
    track: str | None = None
    question_id: str | None = None
    for t in turns:
        if t.role == "interviewer" and t.question_id:
            track, question_id = t.track, t.question_id
        question = questions.get(t.question_id or "")
        out.append(
            ReviewTurn(
                seq=t.seq,
                role=t.role,
                kind=t.kind,
                track=t.track if t.role == "interviewer" else track,
                question_id=t.question_id if t.role == "interviewer" else question_id,
                key_point=t.key_point,
                key_point_text=(
                    next((kp.text for kp in question.key_points if kp.id == t.key_point), None)
                    if t.key_point and question is not None
                    else None
                ),
                content=t.content,
                status=t.status,
                created_at=iso(t.created_at),
            )
        )
    return out


def _assessment(
    row: AssessmentRow,
    *,
    versions: int,
    overrides: Sequence[Override],
    weights: dict[str, float],
    titles: dict[str, str],
    answers: Sequence[tuple[int, str]],
) -> ReviewAssessment:
    data = row.data
    score, per_criterion = effective(data, overrides, weights)
    offline = data.get("offline_score")
    criteria = []
    for c in data["criteria"]:
        evidence = []
        for quote in c.get("evidence", []):
            spans = locate_in_turns(quote, answers)
            evidence.append(EvidenceQuote(quote=quote, spans=spans, found=bool(spans)))
        criteria.append(
            ReviewCriterion(
                id=c["id"],
                title=titles.get(c["id"], c["id"]),
                weight=weights.get(c["id"]),
                score=c["score"],
                effective_score=per_criterion[c["id"]],
                overridden=any(o.criterion == c["id"] for o in overrides),
                unsupported=c.get("unsupported", False),
                rationale=c.get("rationale", ""),
                evidence=evidence,
            )
        )
    return ReviewAssessment(
        score=data["score"],
        effective_score=score,
        overridden=bool(overrides),
        scorer=data.get("scorer", row.scorer),
        offline_score=offline,
        disagreement=round(abs(data["score"] - offline), 2) if offline is not None else None,
        criteria=criteria,
        covered=data.get("covered", []),
        missed=data.get("missed", []),
        pitfalls=data.get("pitfalls", []),
        misconceptions=data.get("misconceptions", []),
        confidence=data.get("confidence"),
        flags=data.get("flags", []),
        notes=data.get("notes", []),
        dropped_quotes=data.get("dropped_quotes", 0),
        turn_seq=row.turn_seq,
        versions=versions,
        assessed_at=iso(row.created_at),
    )


def _question(
    t: ReviewTurn,
    question: Question | None,
    *,
    transcript: Sequence[ReviewTurn],
    state: SessionState,
    bank: Bank,
    row: AssessmentRow | None,
    versions: int,
    overrides: Sequence[Override],
) -> ReviewQuestion:
    """A main question (`t`, the turn that asked it) with its answers and latest assessment."""
    qid, track = t.question_id or "", t.track or ""
    answers = [(x.seq, x.content) for x in transcript if x.role == "candidate" and x.question_id == qid]
    criteria = rubric(state, bank, track)
    assessment = (
        _assessment(
            row,
            versions=versions,
            overrides=overrides,
            weights=rubric_weights(state, bank, track),
            titles={c.id: c.title for c in criteria},
            answers=answers,
        )
        if row is not None
        else None
    )
    covered = set(assessment.covered) if assessment else set()
    missed = set(assessment.missed) if assessment else set()
    quotes = {m.id: m.quote for m in assessment.misconceptions} if assessment else {}
    return ReviewQuestion(
        question_id=qid,
        track=track,
        topic=question.topic if question else None,
        difficulty=question.difficulty if question else None,
        question=question.question if question else None,
        asked=t.content,
        asked_seq=t.seq,
        criteria=[c.id for c in criteria],
        key_points=[
            KeyPointStatus(
                id=kp.id,
                text=kp.text,
                weight=kp.weight,
                status="covered" if kp.id in covered else "missed" if kp.id in missed else None,
            )
            for kp in (question.key_points if question else [])
        ],
        pitfalls=[
            PitfallFound(id=p.id, claim=p.claim, why=p.why, quote=quotes.get(p.id))
            for p in (question.pitfalls if question else [])
            if assessment and p.id in assessment.pitfalls
        ],
        follow_ups=[
            FollowUpAsked(seq=x.seq, key_point=x.key_point, reason=x.key_point_text)
            for x in transcript
            if x.kind == "follow_up" and x.question_id == qid
        ],
        answers=[seq for seq, _ in answers],
        answer_text="\n\n".join(content for _, content in answers),
        assessment=assessment,
        overrides=[override_record(o) for o in overrides],
    )


def build(
    *,
    session: InterviewSession,
    turns: Sequence[TurnRow],
    assessments: Sequence[AssessmentRow],
    report: ReportRow | None,
    overrides: Sequence[Override],
    recommendations: Sequence[Recommendation],
    audit: Sequence[AuditLog],
    bank: Bank,
    pinned: Mapping[str, Question] | None = None,
) -> ReviewDocument:
    """`pinned`: the revisions this session asked of questions the bank has changed since (by
    id; `SessionState.stale_revisions`): the review shows the key points that were scored."""
    state = SessionState.model_validate(session.state)
    asked: Mapping[str, Question] = ChainMap(dict(pinned or {}), bank.questions)
    transcript = _transcript(turns, asked)
    latest = latest_by_question(assessments)
    versions: dict[str, int] = defaultdict(int)
    for a in assessments:
        versions[a.question_id] += 1
    by_question: dict[str, list[Override]] = defaultdict(list)
    for o in overrides:
        by_question[o.question_id].append(o)
    questions: list[ReviewQuestion] = []
    for t in transcript:
        if t.role != "interviewer" or t.kind != "question" or not t.question_id:
            continue
        qid = t.question_id
        if any(q.question_id == qid for q in questions):
            continue
        questions.append(
            _question(
                t,
                asked.get(qid),
                transcript=transcript,
                state=state,
                bank=bank,
                row=latest.get(qid),
                versions=versions[qid],
                overrides=by_question[qid],
            )
        )
    machine, eff = session_scores(
        session=session, assessments=assessments, overrides=overrides, report=report, bank=bank
    )
    return ReviewDocument(
        session_id=session.id,
        plan_id=session.plan_id,
        plan_title=state.plan_title,
        candidate_label=session.candidate_label,
        mode=session.mode,
        status=session.status,
        created_at=iso(session.created_at),
        updated_at=iso(session.updated_at),
        score=machine,
        effective_score=eff,
        flagged=any(INJECTION in (a.flags or []) for a in assessments),
        answers=sum(t.role == "candidate" for t in turns),
        transcript=transcript,
        questions=questions,
        report=report.data if report else None,
        recommendation=Recommendations(
            machine=hiring_recommendation(report.recommendation, report.score) if report else None,
            evaluator=recommendation_record(recommendations[-1]) if recommendations else None,
            history=[recommendation_record(r) for r in recommendations],
        ),
        overrides=[override_record(o) for o in overrides],
        audit=[
            AuditEntry(actor=a.actor, action=a.action, data=a.data, created_at=iso(a.created_at))
            for a in audit
        ],
    )
