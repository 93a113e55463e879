"""Retrieval API used by the engine: questions by track, topic, difficulty and free text
(excluding those already asked), and the reference passages closest to a question or an answer.

A question is indexed as its own text plus one vector per key point, so free text finds it both
by how it is asked and by what a good answer says. Its score is the best of those similarities,
with key points discounted a little: matching the question's wording is the stronger signal.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from interviewer.bank.index import VectorIndex
from interviewer.bank.loader import Bank
from interviewer.domain import ArticleChunk, Question, TrackId

KEY_POINT_DISCOUNT = 0.9


@dataclass(frozen=True)
class QuestionHit:
    question: Question
    score: float
    """Cosine similarity of the best-matching vector (1.0 when no text was given)."""


@dataclass(frozen=True)
class PassageHit:
    chunk: ArticleChunk
    score: float


class Retriever:
    def __init__(self, bank: Bank, index: VectorIndex) -> None:
        self._bank = bank
        self._index = index

    @property
    def bank(self) -> Bank:
        return self._bank

    @property
    def embedder_name(self) -> str:
        """The vector space of the index (what a cached retrieval result depends on)."""
        return self._index.embedder.name

    def find_questions(
        self,
        text: str | None = None,
        *,
        track: TrackId | None = None,
        topics: Collection[str] | None = None,
        difficulty: int | tuple[int, int] | None = None,
        exclude: Iterable[str] = (),
        limit: int = 5,
    ) -> list[QuestionHit]:
        """Questions matching every filter, best first; without `text`, in bank order."""
        excluded = set(exclude)
        lo, hi = _range(difficulty)
        if not text or not text.strip():
            hits = [
                QuestionHit(q, 1.0)
                for q in self._bank.questions.values()
                if (track is None or q.track == track)
                and (not topics or q.topic in topics)
                and lo <= q.difficulty <= hi
                and q.id not in excluded
            ]
            return hits[:limit]
        clauses: list[dict[str, Any]] = []
        if track is not None:
            clauses.append({"track": track})
        if topics:
            clauses.append({"topic": {"$in": sorted(topics)}})
        if (lo, hi) != (1, 3):
            clauses += [{"difficulty": {"$gte": lo}}, {"difficulty": {"$lte": hi}}]
        if excluded:
            clauses.append({"question_id": {"$nin": sorted(excluded)}})
        where = clauses[0] if len(clauses) == 1 else ({"$and": clauses} if clauses else None)
        vector = self._index.embedder.embed([text])[0]
        best: dict[str, float] = {}
        for match in self._index.query("questions", vector, where=where, limit=limit * 8):
            qid = str(match.meta["question_id"])
            score = match.similarity
            if match.meta.get("kind") == "key_point":
                score *= KEY_POINT_DISCOUNT
            if qid in self._bank.questions and score > best.get(qid, -2.0):
                best[qid] = score
        ranked = sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
        return [QuestionHit(self._bank.questions[qid], score) for qid, score in ranked]

    def find_passages(
        self,
        text: str,
        *,
        limit: int = 3,
        articles: Collection[str] | None = None,
    ) -> list[PassageHit]:
        """Reference passages closest to `text` (a question, an answer, or both)."""
        chunks = {c.id: c for a in self._bank.articles.values() for c in a.chunks}
        where = {"article": {"$in": sorted(articles)}} if articles else None
        vector = self._index.embedder.embed([text])[0]
        hits = []
        for match in self._index.query("passages", vector, where=where, limit=limit):
            chunk = chunks.get(str(match.meta.get("chunk")))
            if chunk is not None:
                hits.append(PassageHit(chunk, match.similarity))
        return hits


def _range(difficulty: int | tuple[int, int] | None) -> tuple[int, int]:
    if difficulty is None:
        return 1, 3
    if isinstance(difficulty, int):
        return difficulty, difficulty
    return difficulty
