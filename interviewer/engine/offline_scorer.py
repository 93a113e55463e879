"""The offline scorer: rubric scores from key-point coverage with local sentence embeddings.

How an answer is read (deterministic, no network):
- It is split into sentences (code blocks whole); fragments of fewer than two words (code aside)
  are not read; each sentence is embedded once.
- **Coverage.** A key point's embedding grade comes from the sentence closest to it — either to
  the key point's own text or to the model answer's sentence that states it (a candidate talks
  more like the model answer than like a rubric line). Similarity is mapped from `COVER_LO`
  ("related") to the model answer's own similarity ("as well as the model answer says it") onto
  0..1. Sentences that merely restate the question earn less (`RESTATE_PENALTY`). The best
  sentence per key point counts, so padding and repetition earn nothing. Beside it, the key
  point's lexical recall (`lexical`: its distinctive terms used in the answer's on-topic
  sentences). Both give the probability that the answer states the point (a logistic,
  `Params.cover_*`): covered above `covered_at`, missed below `missed_below`, neither in between.
  The score follows that coverage, each key point counted by its weight.
- **One point is not its siblings.** A question's key points are close to each other, so a
  sentence that states one of them is also near the rest. Its closeness to key point k counts only
  beyond what its closeness to another key point j explains (about sim_j × cos(j, k)), reaching
  full credit `EXCLUSIVE_SPAN` above that; a sentence that really states two key points keeps both.
- **Misconceptions.** A sentence *asserts a known pitfall* when three independent readings agree:
  it is close to one of the pitfall's statements, its claim or a paraphrase (`Params.wrong_min`),
  closer to it than to anything correct the question knows — key points, the model answer's
  sentences, the pitfalls' corrections (`why`) — and closer than the model answer ever gets
  (embeddings: topic and phrasing); it uses that statement's distinctive words (lexical:
  substance); and its negation matches the statement's (polarity). Sentence embeddings alone
  barely see the negation that separates "the GIL makes code thread-safe" from "the GIL does not
  make code thread-safe". A wrong sentence covers nothing, and each misconception lowers every
  criterion (`Params.misconception_penalty`, accuracy most).
- **Doubt.** Embeddings see topic: an answer built on wrong beliefs is near the key points it gets
  wrong. Each sentence is compared with the question's wrong statements (the pitfalls' claims and
  paraphrases) and with everything correct it knows; the answer's *doubt* counts its on-topic words
  in sentences nearer the wrong side (graded over `Params.doubt_ramp`; by words, so bullets and long
  sentences weigh the same; a sum, so padding cannot dilute it). It lowers every key point's
  coverage probability (`Params.cover_doubt`, fitted with the other two signals) and is never a
  misconception flag by itself; a point is called *missed* from the reading without it (the answer
  did not talk about it), so a follow-up never asks again for what a doubted sentence talked about.
- **Prose.** An answer whose word order is broken (`fluency.disorder`: a shuffled bag of the right
  terms) loses its coverage.
- **Off-topic.** An answer far from the question and all its key points is flagged and scores 1.

Known limit: a wrong claim that is not among the question's pitfalls is only caught by what it
fails to cover; contradiction with the reference passages needs the model scorer.
Evidence for every criterion is the answer's own sentences, verbatim.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from interviewer.bank.embeddings import Embedder, Vectors
from interviewer.domain import Assessment, Criterion, CriterionScore, Misconception, Question, Scorer
from interviewer.engine import lexical, warm_cache
from interviewer.engine.fluency import disorder
from interviewer.engine.text import looks_like_code, sentences, words

COVER_LO = 0.30
ALIGNED_DISCOUNT = 0.03
EXCLUSIVE_SPAN = 0.10
RESTATE_FROM = 0.30
RESTATE_PENALTY = 0.5
OFF_TOPIC = 0.25
DISORDER_OK = 0.2  # honest prose (terse notes included) stays below this share of broken transitions
DISORDER_SPAN = 0.15
DOUBT_NOTE = 0.5  # an answer with this much doubt (50 words) says so in its notes (for the evaluator)


@dataclass(frozen=True)
class Params:
    """The scorer's tunable numbers, in one place (fitted on the corpus's tuning half only)."""

    # coverage probability of a key point: logistic in the embedding grade and the lexical recall
    cover_bias: float = -1.95
    cover_embedding: float = 2.13
    cover_lexical: float = 6.97
    # ... and in the answer's doubt: how many of its on-topic words (in hundreds) are in sentences
    # closer to one of the pitfalls' statements than to anything correct the question knows (an
    # answer built on wrong beliefs talks about the key points without stating them)
    cover_doubt: float = -1.34
    doubt_ramp: float = 0.1  # a sentence's doubt rises from 0 to 1 over this span of that gap
    covered_at: float = 0.5  # p >= this: covered
    missed_below: float = 0.30  # p < this: missed (in between: uncertain, neither list)
    # a sentence asserts a pitfall when it is this close to one of its statements ...
    wrong_min: float = 0.6
    # ... and closer to it by this margin than to anything correct the question knows
    wrong_margin: float = -0.05
    # ... and uses this many (and this share) of the statement's distinctive words
    wrong_terms: int = 2
    wrong_term_share: float = 0.4
    wrong_verbatim: float = 0.9
    # score: 1 + 4 * min(1, share / full_share), minus per misconception
    full_share: float = 0.9
    misconception_penalty: float = 0.75
    complete_floor: float = 3.5
    review_below: float = 0.2  # about a quarter of answers; their error rate is twice the rest's


DEFAULT_PARAMS = Params()


@dataclass(frozen=True)
class _QuestionVectors:
    question: Vectors
    key_points: Vectors
    aligned: Vectors  # per key point: the model-answer sentence that states it
    reference: Vectors  # per key point: how close the model answer gets
    correct: Vectors  # every correct text: key points, model-answer sentences, corrections
    wrong: Vectors  # every statement of a pitfall: claims and paraphrases
    wrong_owner: np.ndarray  # per wrong statement: the index of its pitfall
    wrong_baseline: Vectors  # per wrong statement: how close the model answer gets to it
    siblings: Vectors  # key point x key point similarity, zero on the diagonal
    terms: list[dict[str, float]] = field(default_factory=list)
    wrong_terms: list[frozenset[str]] = field(default_factory=list)  # per wrong statement
    wrong_negated: list[bool] = field(default_factory=list)


_SHARED_VECTORS: OrderedDict[str, _QuestionVectors] = OrderedDict()
_SHARED_LOCK = threading.RLock()


@dataclass(frozen=True)
class Coverage:
    key_point: str
    weight: int
    value: float  # probability that the answer states the key point
    sentence: str | None
    # the same without the answer's doubt: whether it talks about the point at all. A point is
    # called missed only when this is low (a follow-up never asks again for what was talked about)
    ceiling: float | None = None

    @property
    def upper(self) -> float:
        return self.value if self.ceiling is None else max(self.value, self.ceiling)


@dataclass(frozen=True)
class Features:
    """What the score is computed from (exposed for tuning and for the tests)."""

    units: list[str]
    embedding: np.ndarray  # per key point: the best sentence's graded similarity, 0..1
    lexical: np.ndarray  # per key point: recall of its distinctive terms, 0..1
    best: np.ndarray  # per key point: index of the best sentence
    wrong: dict[str, tuple[str, float]]  # pitfall id -> (sentence, margin over the threshold)
    near_wrong: float  # the smallest distance of any sentence from the misconception threshold
    order: float  # 1 for prose, toward 0 for a shuffled bag of words
    doubt: float = 0.0  # hundreds of on-topic words in sentences nearer the wrong statements


class OfflineScorer:
    def __init__(
        self,
        embedder: Embedder,
        *,
        cache_size: int = 512,
        params: Params = DEFAULT_PARAMS,
        cache_dir: Path | None = None,
    ) -> None:
        """`cache_dir`: where the questions' own vectors are kept between runs (a restart then
        embeds only what changed: about 3,500 texts for the whole bank otherwise)."""
        self._embedder = embedder
        self.params = params
        self._disk = cache_dir
        # shared by every scorer of the process using the same embedding model: an app (or a test
        # suite) that builds several engines prepares each question once
        self._cache = _SHARED_VECTORS
        self._lock = _SHARED_LOCK
        self._cache_size = cache_size

    def warm(self, questions: Iterable[Question], stop: threading.Event | None = None) -> int:
        """Compute the questions' own vectors ahead of the first answers (start-up); stops early
        once `stop` is set. With a `cache_dir`, the words' stems are read from and saved to it
        too (a restart then stems nothing of the bank again)."""
        stems_file = warm_cache.stems_path(self._disk) if self._disk is not None else None
        if stems_file is not None:
            lexical.remember_stems(warm_cache.load_stems(stems_file))
        before = len(lexical.known_stems())
        n = 0
        for q in questions:
            if stop is not None and stop.is_set():
                break
            self._vectors(q)
            n += 1
        known = lexical.known_stems()
        if stems_file is not None and len(known) > before:
            warm_cache.save_stems(stems_file, sorted(known.items()))
        return n

    def load_model(self) -> None:
        """Load the embedding model now (start-up), not on the first answer."""
        load = getattr(self._embedder, "load", None)
        if callable(load):
            load()

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
        statements = [(i, t) for i, p in enumerate(q.pitfalls) for t in (p.claim, *p.paraphrases)]
        texts = [
            q.question,
            *(k.text for k in q.key_points),
            *(p.why for p in q.pitfalls),
            *(t for _, t in statements),
            *model_sents,
        ]
        vecs = self._embed_cached(texts)
        nk, npf, ns = len(q.key_points), len(q.pitfalls), len(statements)
        kps = vecs[1 : 1 + nk]
        fixes = vecs[1 + nk : 1 + nk + npf]
        wrong = vecs[1 + nk + npf : 1 + nk + npf + ns]
        model = vecs[1 + nk + npf + ns :]
        mk = model @ kps.T
        qv = _QuestionVectors(
            question=vecs[0],
            key_points=kps,
            aligned=model[mk.argmax(axis=0)],
            reference=mk.max(axis=0),
            correct=np.concatenate([kps, model, fixes]),
            wrong=wrong,
            wrong_owner=np.array([i for i, _ in statements], dtype=np.int64),
            wrong_baseline=(model @ wrong.T).max(axis=0) if ns else np.zeros(0, np.float32),
            siblings=np.clip(kps @ kps.T, 0, 1) * (1 - np.eye(nk, dtype=np.float32)),
            terms=lexical.key_terms(q),
            wrong_terms=lexical.distinctive_terms(q, [t for _, t in statements]),
            wrong_negated=[lexical.negated(t) for _, t in statements],
        )
        self._cache[key] = qv
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return qv

    def _embed_cached(self, texts: list[str]) -> Vectors:
        if self._disk is None:
            return self._embedder.embed(texts)
        digest = hashlib.sha256("\x00".join([self._embedder.name, *texts]).encode()).hexdigest()[:32]
        path = self._disk / f"{digest}.npy"
        with contextlib.suppress(OSError, ValueError):
            cached: Vectors = np.load(path, allow_pickle=False)
            if cached.shape[0] == len(texts):
                return cached
        vecs = self._embedder.embed(texts)
        with contextlib.suppress(OSError):  # a read-only or full disk only costs the next start-up
            self._disk.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            with tmp.open("wb") as f:
                np.save(f, vecs, allow_pickle=False)
            os.replace(tmp, path)
        return vecs

    def assess(
        self, question: Question, answer: str, rubric: Sequence[Criterion], *, track: str | None = None
    ) -> Assessment:
        return self.assess_many([(question, answer, rubric)], track=track)[0]

    def assess_many(
        self, items: Sequence[tuple[Question, str, Sequence[Criterion]]], *, track: str | None = None
    ) -> list[Assessment]:
        """Several answers with one embedding call for all their sentences (throughput)."""
        out = []
        for (question, _, rubric), feats in zip(
            items, self.features_many([(q, a) for q, a, _ in items]), strict=True
        ):
            out.append(self._judge(question, feats, rubric, track))
        return out

    def features_many(self, items: Sequence[tuple[Question, str]]) -> list[Features | str]:
        """Per answer its features, or the reason it scores the floor ("off-topic", ...)."""
        units = [[u for u in sentences(a) if len(words(u)) >= 2 or looks_like_code(u)] for _, a in items]
        flat = [u for us in units for u in us]
        vectors = self._embedder.embed(flat) if flat else np.zeros((0, 384), np.float32)
        out: list[Features | str] = []
        start = 0
        for (question, _), us in zip(items, units, strict=True):
            vecs = vectors[start : start + len(us)]
            start += len(us)
            out.append(self._features(question, us, vecs) if us else "no substantive answer")
        return out

    def _features(self, question: Question, units: list[str], u: Vectors) -> Features | str:
        p = self.params
        qv = self._vectors(question)
        to_question = u @ qv.question
        sim = np.maximum(u @ qv.key_points.T, u @ qv.aligned.T - ALIGNED_DISCOUNT)
        if float(max(to_question.max(), sim.max())) < OFF_TOPIC:
            return "off-topic"
        # what a sentence's closeness to one key point already explains of its closeness to the
        # others: a sentence that states key point j sits at about sim_j * cos(j, k) from a sibling
        # k, so only the excess over that is evidence for k (one point about the GIL is not five)
        explained = (sim[:, :, None] * qv.siblings[None, :, :]).max(axis=1)
        exclusive = np.clip((sim - explained) / EXCLUSIVE_SPAN, 0, 1)
        sim = sim - RESTATE_PENALTY * np.maximum(to_question - RESTATE_FROM, 0)[:, None]

        wrong: dict[str, tuple[str, float]] = {}
        asserting = np.zeros(len(units), dtype=bool)
        doubtful = np.zeros(len(units))
        near = 1.0
        unit_stems = [set(lexical.stems(x)) for x in units]
        if len(qv.wrong):
            # a sentence asserts a misconception when three independent readings agree: it is
            # close to one of the misconception's statements (embeddings: topic and phrasing), it
            # uses that statement's distinctive words, which no correct text of the question uses
            # (lexical: substance), and its negation matches the statement's (polarity)
            to_wrong = u @ qv.wrong.T
            correct = (u @ qv.correct.T).max(axis=1)
            margin = np.minimum(
                np.minimum(to_wrong - p.wrong_min, to_wrong - correct[:, None] - p.wrong_margin),
                to_wrong - qv.wrong_baseline[None, :],
            )
            near = float(np.abs(margin.max(axis=1)).min())
            # graded, not a cut: most sentences sit near the middle, and a rewording must not
            # flip them
            doubtful = np.clip((to_wrong.max(axis=1) - correct) / p.doubt_ramp + 0.5, 0, 1)
            for i, j in zip(*np.nonzero(margin >= 0), strict=True):
                terms = qv.wrong_terms[j]
                hits = len(terms & unit_stems[i])
                worded = hits >= p.wrong_terms and hits >= p.wrong_term_share * len(terms)
                # a statement with too few distinctive words to check counts when nearly verbatim
                verbatim = len(terms) < p.wrong_terms and to_wrong[i, j] >= p.wrong_verbatim
                if not (worded or verbatim) or (lexical.negated(units[i]) != qv.wrong_negated[j]):
                    continue
                pid = question.pitfalls[int(qv.wrong_owner[j])].id
                asserting[i] = True
                if pid not in wrong or wrong[pid][1] < margin[i, j]:
                    wrong[pid] = (units[i], float(margin[i, j]))

        span = np.maximum(qv.reference - COVER_LO, 0.05)
        grades = np.clip((sim - COVER_LO) / span, 0, 1) * exclusive * (~asserting)[:, None]
        best_sentence = grades.argmax(axis=0)
        # words count as evidence only in sentences about the question (padding and asides to
        # the grader are not): the same floor that makes a whole answer off-topic
        on_topic = np.maximum(to_question, sim.max(axis=1)) >= OFF_TOPIC
        present = {t for i, st in enumerate(unit_stems) if on_topic[i] and not asserting[i] for t in st}
        lex = np.array([lexical.recall(t, present) for t in qv.terms])
        prose = " ".join(t for t in units if not looks_like_code(t))
        order = float(np.clip(1 - (disorder(prose) - DISORDER_OK) / DISORDER_SPAN, 0, 1))
        doubt = _doubt(units, doubtful, on_topic)
        return Features(units, grades.max(axis=0), lex, best_sentence, wrong, near, order, doubt)

    def coverage(self, question: Question, feats: Features) -> list[Coverage]:
        p = self.params
        z = p.cover_bias + p.cover_embedding * feats.embedding + p.cover_lexical * feats.lexical
        talked = feats.order / (1 + np.exp(-z))
        prob = feats.order / (1 + np.exp(-(z + p.cover_doubt * feats.doubt)))
        return [
            Coverage(
                kp.id,
                kp.weight,
                float(prob[k]),
                feats.units[int(feats.best[k])] if talked[k] >= p.missed_below else None,
                float(talked[k]) if feats.doubt else None,
            )
            for k, kp in enumerate(question.key_points)
        ]

    def _judge(
        self, question: Question, feats: Features | str, rubric: Sequence[Criterion], track: str | None
    ) -> Assessment:
        if isinstance(feats, str):
            flags = ["off_topic"] if feats == "off-topic" else []
            return _floor(question, rubric, track, note=feats, flags=flags)
        wrong = {pid: sentence for pid, (sentence, _) in feats.wrong.items()}
        assessment = rubric_assessment(
            question,
            rubric,
            track,
            self.coverage(question, feats),
            wrong,
            params=self.params,
            borderline=feats.near_wrong < 0.02,
        )
        if feats.doubt < DOUBT_NOTE:
            return assessment
        note = (
            f"about {round(feats.doubt * 100)} words of the answer read closer to known misconceptions "
            "than to any correct statement: its coverage is credited with less trust"
        )
        return assessment.model_copy(update={"notes": [*assessment.notes, note]})


def _doubt(units: list[str], doubtful: np.ndarray, on_topic: np.ndarray) -> float:
    """How much of the answer reads like a wrong belief, in hundreds of words: counted by words, so
    the same claims cut into bullets or joined into long sentences weigh the same, and summed, not
    averaged, so padding an answer with harmless text does not dilute it. Code is not a claim: its
    words do not count."""
    size = np.array([0 if looks_like_code(x) else len(words(x)) for x in units], dtype=np.float64)
    return float((size * on_topic * doubtful).sum()) / 100


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


def rubric_assessment(
    question: Question,
    rubric: Sequence[Criterion],
    track: str | None,
    coverage: list[Coverage],
    wrong: dict[str, str],
    *,
    params: Params = DEFAULT_PARAMS,
    borderline: bool = False,
    scorer: Scorer = "offline",
) -> Assessment:
    """The rubric scores computed from what an answer covers and which misconceptions it asserts
    (`wrong`: pitfall id -> the sentence asserting it), shared by the offline scorer and the
    model's checklist: the same facts give the same score whoever found them.

    Monotone and honest: more covered weight never lowers a score, each misconception lowers it,
    and an answer that covers every key point and asserts no misconception is never below
    `complete_floor`. `borderline`: a sentence sat at the misconception threshold."""
    p = params
    weight = sum(c.weight for c in coverage)
    share = sum(c.weight * c.value for c in coverage) / weight
    covered = [c for c in coverage if c.value >= p.covered_at]
    missed = [c for c in coverage if c.upper < p.missed_below]
    # how far the coverage readings are from a clear yes or no (0: all clear, 1: all coin flips)
    uncertain = sum(c.weight * 2 * min(c.value, 1 - c.value) for c in coverage) / weight
    level = min(1.0, share / p.full_share)
    pull = p.misconception_penalty * len(wrong)
    raw = {
        "accuracy": 1 + 4 * level - 1.5 * pull,
        "depth": 1 + 4 * level - pull,
        "trade_offs": 1 + 4 * level - pull,
        "communication": 1 + 4 * min(1.0, level + 0.1) - 0.5 * pull,
    }
    ranked = sorted(covered, key=lambda c: -c.value * c.weight)
    evidence = list(dict.fromkeys(c.sentence for c in ranked if c.sentence))
    complete = len(covered) == len(coverage) and not wrong
    why = {pf.id: pf.why.strip() for pf in question.pitfalls}
    criteria = []
    for c in rubric:
        value = raw.get(c.id, raw["depth"])
        if complete:
            value = max(value, p.complete_floor)
        ev = evidence[:3]
        rationale = f"{len(covered)}/{len(coverage)} key points covered"
        if c.id == "accuracy" and wrong:
            ev = list(wrong.values())[:2]
            rationale = "asserts a known misconception: " + "; ".join(f"{pid} ({why[pid]})" for pid in wrong)
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
    if complete:
        score = max(score, p.complete_floor)
    confidence = max(0.0, 1.0 - uncertain - (0.3 if borderline else 0.0))
    flags = ["needs_review"] if confidence < p.review_below else []
    return Assessment(
        question_id=question.id,
        track=track or question.track,
        score=round(max(1.0, min(5.0, score)), 2),
        criteria=criteria,
        covered=[c.key_point for c in covered],
        missed=[c.key_point for c in missed],
        pitfalls=list(wrong),
        misconceptions=[Misconception(id=pid, quote=sentence) for pid, sentence in wrong.items()],
        confidence=round(confidence, 3),
        flags=flags,
        scorer=scorer,
    )
