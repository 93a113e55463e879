"""The offline scorer: rubric scores from key-point coverage with local sentence embeddings.

How an answer is read (deterministic, no network):
- It is split into sentences (code blocks whole); each sentence is embedded once.
- **Coverage.** A key point is covered by the sentence closest to it — either to the key point's
  own text or to the model answer's sentence that states it (a candidate talks more like the model
  answer than like a rubric line). Similarity is mapped from `COVER_LO` ("related") to the model
  answer's own similarity ("as well as the model answer says it") onto 0..1. Sentences that merely
  restate the question earn less (`RESTATE_PENALTY`). The best sentence per key point counts, so
  padding and repetition earn nothing, and key points are weighted by their weight.
- **One point is not its siblings.** A question's key points are close to each other, so a
  sentence that states one of them is also near the rest. Its closeness to key point k counts only
  beyond what its closeness to another key point j explains (about sim_j × cos(j, k)), reaching
  full credit `EXCLUSIVE_SPAN` above that; a sentence that really states two key points keeps both.
- **Misconceptions.** A sentence *asserts a known pitfall* when it is closer to the pitfall's claim
  than to the pitfall's correction (`why`), closer to the claim than any sentence of the model
  answer gets, and not clearly closer to a key point or the model answer than to the claim
  (`CORRECT_SLACK`): a sentence that states a key point in a pitfall's vocabulary is not wrong. Measuring against those two correct texts, rather than against a fixed threshold,
  is what separates "the GIL makes code thread-safe" from "the GIL does not make code
  thread-safe" — sentence embeddings alone barely see the negation. Wrongness is graded
  (`WRONG_LO`..`WRONG_HI`): a wrong sentence covers nothing and pulls every criterion toward 1.
- **Prose.** A sentence with almost no function words counts little, and an answer whose word
  order is broken (`fluency.disorder`: a shuffled bag of the right terms) loses its coverage.
- **Off-topic.** An answer far from the question and all its key points is flagged and scores 1.

Known limit: a wrong claim that is not among the question's pitfalls is only caught by what it
fails to cover; contradiction with the reference passages needs the model scorer.
Evidence for every criterion is the answer's own sentences, verbatim.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from interviewer.bank.embeddings import Embedder, Vectors
from interviewer.domain import Assessment, Criterion, CriterionScore, Question
from interviewer.engine.fluency import disorder
from interviewer.engine.text import looks_like_code, sentences, stopword_ratio, words

COVER_LO = 0.30
ALIGNED_DISCOUNT = 0.03
EXCLUSIVE_SPAN = 0.10
RESTATE_FROM = 0.30
RESTATE_PENALTY = 0.5
WRONG_LO = 0.05
WRONG_HI = 0.20
WRONG_PULL = 0.9
CORRECT_SLACK = 0.15  # a claim may sit this much below the closest correct text and still count
OFF_TOPIC = 0.25
FLUENT_RATIO = 0.18
DISORDER_OK = 0.12  # prose stays below this share of broken determiner/preposition transitions
DISORDER_SPAN = 0.18
JUDGEMENT_MARKERS = frozenset(
    """
but however although whereas instead unless depends trade-off tradeoff downside cost costs risk
risks alternatively otherwise prefer rather because
""".split()
)


@dataclass(frozen=True)
class _QuestionVectors:
    question: Vectors
    key_points: Vectors
    aligned: Vectors  # per key point: the model-answer sentence that states it
    reference: Vectors  # per key point: how close the model answer gets
    claims: Vectors
    corrections: Vectors
    claim_baseline: Vectors  # per pitfall: how close the model answer gets to the claim
    siblings: Vectors  # key point x key point similarity, zero on the diagonal


_SHARED_VECTORS: OrderedDict[str, _QuestionVectors] = OrderedDict()
_SHARED_LOCK = threading.RLock()


@dataclass(frozen=True)
class Coverage:
    key_point: str
    weight: int
    value: float
    sentence: str | None


class OfflineScorer:
    def __init__(self, embedder: Embedder, *, cache_size: int = 512) -> None:
        self._embedder = embedder
        # shared by every scorer of the process using the same embedding model: an app (or a test
        # suite) that builds several engines prepares each question once
        self._cache = _SHARED_VECTORS
        self._lock = _SHARED_LOCK
        self._cache_size = cache_size

    def warm(self, questions: Iterable[Question]) -> int:
        """Compute the questions' own vectors ahead of the first answers (start-up)."""
        n = 0
        for q in questions:
            self._vectors(q)
            n += 1
        return n

    def _vectors(self, q: Question) -> _QuestionVectors:
        key = f"{self._embedder.name}:{q.model_dump_json()}"
        with self._lock:  # concurrent misses on one question compute it once
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
            return self._compute(q, key)

    def _compute(self, q: Question, key: str) -> _QuestionVectors:
        model_sents = sentences(q.model_answer) or [q.model_answer]
        texts = [
            q.question,
            *(k.text for k in q.key_points),
            *(p.claim for p in q.pitfalls),
            *(p.why for p in q.pitfalls),
            *model_sents,
        ]
        vecs = self._embedder.embed(texts)
        nk, npf = len(q.key_points), len(q.pitfalls)
        kps = vecs[1 : 1 + nk]
        claims = vecs[1 + nk : 1 + nk + npf]
        fixes = vecs[1 + nk + npf : 1 + nk + 2 * npf]
        model = vecs[1 + nk + 2 * npf :]
        mk = model @ kps.T
        qv = _QuestionVectors(
            question=vecs[0],
            key_points=kps,
            aligned=model[mk.argmax(axis=0)],
            reference=mk.max(axis=0),
            claims=claims,
            corrections=fixes,
            claim_baseline=(model @ claims.T).max(axis=0) if npf else np.zeros(0, np.float32),
            siblings=np.clip(kps @ kps.T, 0, 1) * (1 - np.eye(nk, dtype=np.float32)),
        )
        self._cache[key] = qv
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return qv

    def assess(
        self, question: Question, answer: str, rubric: Sequence[Criterion], *, track: str | None = None
    ) -> Assessment:
        return self.assess_many([(question, answer, rubric)], track=track)[0]

    def assess_many(
        self, items: Sequence[tuple[Question, str, Sequence[Criterion]]], *, track: str | None = None
    ) -> list[Assessment]:
        """Several answers with one embedding call for all their sentences (throughput)."""
        units = [[u for u in sentences(a) if len(words(u)) >= 2 or looks_like_code(u)] for _, a, _ in items]
        flat = [u for us in units for u in us]
        vectors = self._embedder.embed(flat) if flat else np.zeros((0, 384), np.float32)
        out = []
        start = 0
        for (question, _, rubric), us in zip(items, units, strict=True):
            vecs = vectors[start : start + len(us)]
            start += len(us)
            out.append(self._assess_units(question, us, vecs, rubric, track))
        return out

    def _assess_units(
        self, question: Question, units: list[str], u: Vectors, rubric: Sequence[Criterion], track: str | None
    ) -> Assessment:
        if not units:
            return _floor(question, rubric, track, note="no substantive answer")
        qv = self._vectors(question)
        to_question = u @ qv.question
        sim = np.maximum(u @ qv.key_points.T, u @ qv.aligned.T - ALIGNED_DISCOUNT)
        if float(max(to_question.max(), sim.max())) < OFF_TOPIC:
            return _floor(question, rubric, track, note="off-topic", flags=["off_topic"])
        # what a sentence's closeness to one key point already explains of its closeness to the
        # others: a sentence that states key point j sits at about sim_j * cos(j, k) from a sibling
        # k, so only the excess over that is evidence for k (one point about the GIL is not five)
        explained = (sim[:, :, None] * qv.siblings[None, :, :]).max(axis=1)
        exclusive = np.clip((sim - explained) / EXCLUSIVE_SPAN, 0, 1)
        sim = sim - RESTATE_PENALTY * np.maximum(to_question - RESTATE_FROM, 0)[:, None]

        wrongness = np.zeros(len(units))
        wrong: dict[str, str] = {}
        if len(question.pitfalls):
            to_claim = u @ qv.claims.T
            # and closer to it than to anything correct the question knows: a sentence that states
            # a key point (or the model answer) is not read as a misconception it merely resembles
            correct = np.maximum((u @ qv.key_points.T).max(axis=1), (u @ qv.aligned.T).max(axis=1))
            margin = np.minimum(
                np.minimum(to_claim - u @ qv.corrections.T, to_claim - qv.claim_baseline),
                to_claim - correct[:, None] + CORRECT_SLACK,
            )
            wrongness = np.clip((margin.max(axis=1) - WRONG_LO) / (WRONG_HI - WRONG_LO), 0, 1)
            for i in np.argsort(-wrongness):
                if wrongness[i] >= 0.5:
                    wrong.setdefault(question.pitfalls[int(margin[i].argmax())].id, units[i])

        fluency = np.array(
            [1.0 if looks_like_code(t) else min(1.0, stopword_ratio(t) / FLUENT_RATIO) for t in units]
        )
        span = np.maximum(qv.reference - COVER_LO, 0.05)
        grades = (
            np.clip((sim - COVER_LO) / span, 0, 1) * exclusive * fluency[:, None] * (1 - wrongness)[:, None]
        )
        coverage = []
        for k, kp in enumerate(question.key_points):
            best = int(grades[:, k].argmax())
            value = float(grades[best, k])
            coverage.append(Coverage(kp.id, kp.weight, value, units[best] if value > 0 else None))
        share = sum(c.weight * c.value for c in coverage) / sum(c.weight for c in coverage)
        prose = " ".join(t for t in units if not looks_like_code(t))
        order = float(np.clip(1 - (disorder(prose) - DISORDER_OK) / DISORDER_SPAN, 0, 1))
        share *= order
        return _score(
            question,
            rubric,
            track,
            units,
            coverage,
            share,
            float(wrongness.max()),
            wrong,
            float(fluency.mean()),
        )


def _floor(
    question: Question,
    rubric: Sequence[Criterion],
    track: str | None,
    *,
    note: str,
    flags: Sequence[str] = (),
) -> Assessment:
    return Assessment(
        question_id=question.id,
        track=track or question.track,
        score=1.0,
        criteria=[CriterionScore(id=c.id, score=1.0, unsupported=True, rationale=note) for c in rubric],
        missed=[kp.id for kp in question.key_points],
        flags=list(flags),
        notes=[note],
    )


def _score(
    question: Question,
    rubric: Sequence[Criterion],
    track: str | None,
    units: list[str],
    coverage: list[Coverage],
    share: float,
    wrongness: float,
    wrong: dict[str, str],
    fluency: float,
) -> Assessment:
    ranked = sorted(coverage, key=lambda c: -c.value * c.weight)
    evidence = list(dict.fromkeys(c.sentence for c in ranked if c.sentence and c.value >= 0.25))
    judgement_units = [t for t in units if JUDGEMENT_MARKERS & set(words(t)) and t in evidence]
    raw = {
        "accuracy": 1 + 4 * min(1.0, 1.4 * share),
        "depth": 1 + 4 * share,
        "trade_offs": 1 + 4 * share * (1.0 if judgement_units else 0.8),
        "communication": 1 + 4 * min(1.0, share + 0.25) * fluency,
    }
    criteria = []
    for c in rubric:
        value = raw.get(c.id, raw["depth"])
        value = value * (1 - WRONG_PULL * wrongness) + WRONG_PULL * wrongness
        ev = evidence[:3]
        rationale = f"{len([x for x in coverage if x.value >= 0.5])}/{len(coverage)} key points covered"
        if c.id == "trade_offs":
            ev = judgement_units[:2] or ev[:1]
        if c.id == "accuracy" and wrong:
            ev = list(wrong.values())[:2]
            rationale = "asserts a known misconception: " + ", ".join(wrong)
        unsupported = not ev
        if unsupported:
            value = min(value, 2.0)
        criteria.append(
            CriterionScore(
                id=c.id,
                score=round(max(1.0, min(5.0, value)), 2),
                evidence=ev,
                unsupported=unsupported,
                rationale=rationale,
            )
        )
    score = sum(c.weight * cs.score for c, cs in zip(rubric, criteria, strict=True))
    return Assessment(
        question_id=question.id,
        track=track or question.track,
        score=round(max(1.0, min(5.0, score)), 2),
        criteria=criteria,
        covered=[c.key_point for c in coverage if c.value >= 0.5],
        missed=[c.key_point for c in coverage if c.value < 0.5],
        pitfalls=list(wrong),
    )
