"""Scoring answers outside an interview: `interviewer score` (answers in, assessments out) and
`interviewer eval` (the scorer's agreement with labelled answers, and every judgement figure of a
corpus per half).

`Scoring` is the scorer an interview would use — the offline scorer, and the model scorer in the
configured form when a model is configured — over the shipped bank and its vector index (indexed
first when the index is empty). Answers are scored as an interview scores them, the injection
guard included, so the figures measure what candidates get.

The doors name the records these use cases take and give through this module (`ScoreInput`,
`LabelledAnswer`, `Agreement`, `Half`): they never import `engine/` themselves.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from interviewer.bank import Bank, Retriever, load_bank, open_index
from interviewer.config import Settings
from interviewer.domain import Assessment, Criterion, Question, Scorer
from interviewer.engine import guard, make_model, make_model_scorer
from interviewer.engine.adhoc import ScoreInput, resolve
from interviewer.engine.evaluation import (
    Corpus,
    Half,
    guard_figures,
    judgement_figures,
    load_corpus,
    score_figures,
    style_figures,
)
from interviewer.engine.metrics import Agreement, LabelledAnswer, agreement, keyword_baseline, length_baseline
from interviewer.engine.offline_scorer import OfflineScorer
from interviewer.engine.prompts import load_prompts
from interviewer.engine.scoring import Assessor, Exchange
from interviewer.llm.tokens import TokenCounter

__all__ = [
    "HALVES",
    "Agreement",
    "AgreementRow",
    "CriterionResult",
    "Figures",
    "Half",
    "LabelledAnswer",
    "ScoreInput",
    "ScoredAnswer",
    "Scoring",
    "agreement_rows",
    "evaluate",
]

HALVES: tuple[Half, ...] = ("tune", "test")
Figures = dict[str, float | None]


@dataclass(frozen=True)
class CriterionResult:
    name: str
    score: float
    evidence: list[str]


@dataclass(frozen=True)
class ScoredAnswer:
    """One line of `interviewer score` output (DESIGN.md), its fields in their printed order."""

    id: str
    score: float
    criteria: list[CriterionResult]
    flags: list[str]
    covered: list[str]
    missed: list[str]
    scorer: Scorer
    notes: list[str]


class Scoring:
    """The configured scorer over the shipped bank."""

    def __init__(self, assessor: Assessor, retriever: Retriever) -> None:
        self.assessor = assessor
        self.retriever = retriever

    @classmethod
    def open(cls, settings: Settings, *, offline: bool) -> Scoring:
        """`offline`: the offline scorer even when a model is configured."""
        bank = load_bank(settings.knowledge_dir)
        index = open_index(settings)
        if index.count("questions") == 0:
            index.ingest(bank)
        retriever = Retriever(bank, index)
        model = None if offline else make_model(settings)
        model_scorer = None
        if model is not None:
            model_scorer = make_model_scorer(
                model,
                load_prompts(settings.prompts_dir),
                form=settings.model_scorer,
                counter=TokenCounter(settings.tokenizer_encoding),
                budget=settings.prompt_token_budget,
            )
        scorer = OfflineScorer(index.embedder, cache_dir=settings.data_dir / "vectors")
        return cls(Assessor(scorer, model_scorer=model_scorer, retriever=retriever), retriever)

    @property
    def bank(self) -> Bank:
        return self.retriever.bank

    @property
    def uses_model(self) -> bool:
        return self.assessor.uses_model

    async def score(self, item: ScoreInput) -> ScoredAnswer:
        """One answer, to a bank question (`question_id`) or to a question given with its key points."""
        question = resolve(item, self.retriever)
        track = self.bank.tracks[question.track]
        a = await self.assessor.assess(
            question, [Exchange(question.question, item.answer)], track.rubric, track_title=track.title
        )
        return ScoredAnswer(
            id=item.id,
            score=a.score,
            criteria=[CriterionResult(name=c.id, score=c.score, evidence=c.evidence) for c in a.criteria],
            flags=a.flags,
            covered=a.covered,
            missed=a.missed,
            scorer=a.scorer,
            notes=a.notes,
        )

    async def score_labelled(self, items: Sequence[LabelledAnswer]) -> list[float]:
        """The scores of labelled answers (the offline scorer batches them: one embedding call)."""
        inputs = [
            ScoreInput(
                id=i.id,
                question=i.question,
                key_points=i.key_points,
                answer=i.answer,
                track=i.track,
                question_id=i.question_id,
            )
            for i in items
        ]
        if not self.assessor.uses_model:
            questions = [resolve(si, self.retriever) for si in inputs]
            batch = [
                (q, si.answer, self.bank.tracks[q.track].rubric)
                for q, si in zip(questions, inputs, strict=True)
            ]
            return [a.score for a in self.assessor.assess_offline_many(batch)]
        return [(await self.score(si)).score for si in inputs]

    def corpus_figures(
        self, directory: Path, *, halves: Sequence[Half] = HALVES, limit: int | None = None
    ) -> dict[Half, Figures]:
        """Every figure of the judgement corpus in `directory`, per half. `limit`: at most this
        many answers (and attacks, honest answers) per half, spread evenly over the questions and
        levels — for a slow model scorer. Raises OSError, ValidationError or KeyError on a corpus
        that cannot be read."""
        corpus = load_corpus(directory)
        return {half: evaluate(self.assessor, self.bank, corpus.half(half).sample(limit)) for half in halves}


@dataclass(frozen=True)
class AgreementRow:
    group: str
    """`all`, or a track."""
    scorer: str
    """`interviewer`, or one of the baselines it is measured beside."""
    agreement: Agreement


def agreement_rows(items: Sequence[LabelledAnswer], scores: Sequence[float]) -> list[AgreementRow]:
    """The scorer's agreement with the labels, overall and per track, beside keyword-overlap and
    length-only baselines."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, item in enumerate(items):
        groups["all"].append(i)
        groups[item.track or "?"].append(i)
    rows = []
    for name, idx in groups.items():
        rows += [
            AgreementRow(name, "interviewer", agreement([(items[i], scores[i]) for i in idx])),
            AgreementRow(
                name, "keyword overlap", agreement([(items[i], keyword_baseline(items[i])) for i in idx])
            ),
            AgreementRow(
                name, "length only", agreement([(items[i], length_baseline(items[i])) for i in idx])
            ),
        ]
    return rows


def _score(assessor: Assessor, bank: Bank, items: Sequence[tuple[str, str]]) -> list[Assessment]:
    """(question id, answer) -> assessments, as an interview scores them (guard included)."""
    questions = [bank.questions[qid] for qid, _ in items]
    rubrics: list[Sequence[Criterion]] = [bank.tracks[q.track].rubric for q in questions]
    if not assessor.uses_model:
        return assessor.assess_offline_many(
            [(q, a, r) for q, (_, a), r in zip(questions, items, rubrics, strict=True)]
        )

    async def all_() -> list[Assessment]:
        out = []
        for q, (_, a), r in zip(questions, items, rubrics, strict=True):
            title = bank.tracks[q.track].title
            out.append(await assessor.assess(q, [Exchange(q.question, a)], r, track_title=title))
        return out

    return asyncio.run(all_())


def evaluate(assessor: Assessor, bank: Bank, corpus: Corpus) -> Figures:
    """Every figure of one half of the corpus."""
    questions: dict[str, Question] = dict(bank.questions)
    assessor.warm(questions[a.question_id] for a in corpus.answers)  # start-up work, not per answer
    started = time.perf_counter()
    results = _score(assessor, bank, [(a.question_id, a.answer) for a in corpus.answers])
    rate = len(results) / max(time.perf_counter() - started, 1e-9)
    rows = list(zip(corpus.answers, results, strict=True))
    figures: Figures = {"answers": float(len(rows))}
    figures |= score_figures(rows)
    figures |= judgement_figures(rows, questions)
    figures["answers_per_second"] = rate
    if assessor.uses_model:
        # the share the model did not score (unreachable, too slow, invalid replies): the offline
        # scorer stood in, so the figures above are partly the offline scorer's
        figures["model_fallbacks"] = sum(
            any("offline scorer used" in n for n in a.notes) for a in results
        ) / max(len(results), 1)
    if corpus.styles:
        by_id = {a.id: a for a in corpus.answers}
        variants = [s for s in corpus.styles if s.base_id in by_id]
        scored = _score(assessor, bank, [(by_id[s.base_id].question_id, s.answer) for s in variants])
        base = {r.id: a.score for r, a in rows}
        figures |= style_figures(base, [(s, a.score) for s, a in zip(variants, scored, strict=True)])
    if corpus.attacks or corpus.honest:
        atk = _score(assessor, bank, [(a.question_id, a.attack) for a in corpus.attacks])
        twin = _score(assessor, bank, [(a.question_id, a.clean) for a in corpus.attacks])
        figures |= guard_figures(
            [
                (a, bool(guard.detect(a.attack)), s.score, c.score)
                for a, s, c in zip(corpus.attacks, atk, twin, strict=True)
            ],
            [(h, bool(guard.detect(h.answer))) for h in corpus.honest],
        )
    return figures
