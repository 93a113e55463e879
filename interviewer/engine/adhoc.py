"""Questions that are not in the bank (`interviewer score` input): a question text and its key
points. The closest bank questions lend their pitfalls (and, when it is the same question, the
whole bank record), so misconception checks work for them too."""

from __future__ import annotations

import hashlib

from pydantic import BaseModel, Field

from interviewer.bank.retrieval import Retriever
from interviewer.domain import TRACKS, FollowUp, KeyPoint, Question, TrackId
from interviewer.engine.text import normalize

SAME_QUESTION = 0.9
LEND_PITFALLS = 0.6


class ScoreInput(BaseModel):
    """One line of `interviewer score` input (DESIGN.md)."""

    id: str
    question: str = Field(min_length=1, max_length=4000)
    key_points: list[str] = Field(min_length=1, max_length=20)
    answer: str = Field(max_length=20000)
    track: TrackId | None = None
    question_id: str | None = None


def resolve(item: ScoreInput, retriever: Retriever) -> Question:
    bank = retriever.bank
    if item.question_id and item.question_id in bank.questions:
        return bank.questions[item.question_id]
    hits = retriever.find_questions(item.question, track=item.track, limit=3)
    if (
        hits
        and hits[0].score >= SAME_QUESTION
        and normalize(hits[0].question.question) == normalize(item.question)
    ):
        return hits[0].question
    track: TrackId = item.track or (hits[0].question.track if hits else TRACKS[1])
    pitfalls = [p for h in hits[:2] if h.score >= LEND_PITFALLS for p in h.question.pitfalls]
    seen: set[str] = set()
    lent = [p for p in pitfalls if not (p.id in seen or seen.add(p.id))]  # type: ignore[func-returns-value]
    key_points = [KeyPoint(id=f"kp{i + 1}", text=t, weight=2) for i, t in enumerate(item.key_points)]
    digest = hashlib.sha256(item.question.encode()).hexdigest()[:10]
    return Question.model_construct(
        id=f"adhoc-{digest}",
        track=track,
        topic="adhoc",
        difficulty=2,
        question=item.question,
        key_points=key_points,
        follow_ups=[FollowUp(key_point=kp.id, text="Could you say more about that?") for kp in key_points],
        pitfalls=lent,
        model_answer=" ".join(item.key_points),
        references=[],
    )
