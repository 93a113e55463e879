"""Retrieval over the shipped bank: filters, passages, and quality on hand-written paraphrases."""

from __future__ import annotations

import pytest

from interviewer.bank import Bank, Retriever
from interviewer.bank.quality import load_paraphrases, recall_at_k
from tests.conftest import DATA

TRACKS = ["architecture", "python", "problem_solving"]


@pytest.mark.parametrize("track", TRACKS)
def test_filters_by_track(retriever: Retriever, track: str) -> None:
    hits = retriever.find_questions("how would you design and test this", track=track, limit=10)
    assert len(hits) == 10
    assert {h.question.track for h in hits} == {track}
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_filters_by_topic_and_difficulty(retriever: Retriever, bank: Bank) -> None:
    q = bank.questions["py-shallow-deep-copy"]
    hits = retriever.find_questions("copying objects", topics={q.topic}, limit=10)
    assert hits and {h.question.topic for h in hits} == {q.topic}
    for level in (1, 2, 3):
        hits = retriever.find_questions("concurrency", track="python", difficulty=level, limit=20)
        assert hits and {h.question.difficulty for h in hits} == {level}
    ranged = retriever.find_questions("caching", difficulty=(2, 3), limit=20)
    assert ranged and all(h.question.difficulty >= 2 for h in ranged)


def test_excludes_questions_already_asked(retriever: Retriever) -> None:
    first = retriever.find_questions("shallow copy versus deep copy", track="python", limit=3)
    asked = {h.question.id for h in first}
    again = retriever.find_questions("shallow copy versus deep copy", track="python", exclude=asked, limit=3)
    assert len(again) == 3 and not asked & {h.question.id for h in again}


def test_without_text_filters_only(retriever: Retriever, bank: Bank) -> None:
    every = retriever.find_questions(track="python", limit=1000)
    assert {h.question.id for h in every} == {q.id for q in bank.questions_for("python")}
    assert retriever.find_questions(track="python", exclude=[h.question.id for h in every]) == []


def test_passages_for_a_question_come_from_the_right_article(retriever: Retriever) -> None:
    hits = retriever.find_passages("Why does the GIL stop threads from speeding up CPU-bound code?")
    assert hits and hits[0].chunk.article == "concurrency-in-python"
    only = retriever.find_passages("index on a slow query", articles={"testing-and-code-quality"})
    assert only and {h.chunk.article for h in only} == {"testing-and-code-quality"}


def test_passages_for_an_answer(retriever: Retriever) -> None:
    answer = (
        "I would run EXPLAIN ANALYZE, look for a sequential scan on the orders table and add "
        "a composite index; in the ORM I'd check for N+1 queries and use select_related."
    )
    hits = retriever.find_passages(answer, limit=3)
    assert hits[0].chunk.article == "databases-and-query-tuning"


@pytest.mark.parametrize("track", TRACKS)
def test_paraphrase_recall_at_3(retriever: Retriever, track: str) -> None:
    paraphrases = [p for p in load_paraphrases(DATA / "paraphrases") if p.track == track]
    assert len(paraphrases) >= 40  # two per question, at least 20 questions
    report = recall_at_k(retriever, paraphrases, k=3)
    assert report.recall(track) >= 0.9, [(m.text, m.question_id, got) for m, got in report.misses]


def test_every_question_has_paraphrases(bank: Bank) -> None:
    covered = {p.question_id for p in load_paraphrases(DATA / "paraphrases")}
    assert covered == set(bank.questions)
