"""Lexical evidence for key points: the share of a key point's distinctive terms an answer uses.

Sentence embeddings see topic, not substance: an answer that names the right concepts is near
every key point of its question. A key point's own terms (stemmed, so "released" meets "release")
are a second, independent signal that survives voice and length changes: a term counts by how
particular it is to this key point among its siblings, and terms the question itself uses count
half (restating the question is not answering it). Candidates rarely reuse a rubric's wording, so
recall is read as a graded signal beside the embeddings, never as the only one.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable

import snowballstemmer

from interviewer.domain import Question
from interviewer.engine.text import STOPWORDS, words

_STEMMER = snowballstemmer.stemmer("english")
_CACHE: dict[str, str] = {}
_LOCK = threading.Lock()  # the Snowball stemmer keeps state between calls
QUESTION_TERM_WEIGHT = 0.5


def stem(word: str) -> str:
    hit = _CACHE.get(word)
    if hit is None:
        with _LOCK:
            hit = _STEMMER.stemWord(word)
        if len(_CACHE) < 200_000:
            _CACHE[word] = hit
    return hit


def known_stems() -> dict[str, str]:
    """Every word stemmed so far in this process (saved by the warm-up for the next start)."""
    return dict(_CACHE)


def remember_stems(known: dict[str, str]) -> None:
    """Stems computed earlier (by this stemmer version) that need not be computed again."""
    for word, hit in known.items():
        if len(_CACHE) >= 200_000:
            break
        _CACHE.setdefault(word, hit)


def stems(text: str) -> list[str]:
    """Stems of the content words (stop words and words of one or two letters dropped)."""
    return [stem(w) for w in words(text) if w not in STOPWORDS and len(w) > 2]


def key_terms(question: Question, extra: Iterable[str] = ()) -> list[dict[str, float]]:
    """Per key point: stem -> weight (1 / how many of the question's key points use it)."""
    asked = set(stems(question.question + " " + " ".join(extra)))
    per_point = [set(stems(kp.text)) for kp in question.key_points]
    spread = Counter(t for terms in per_point for t in terms)
    return [
        {t: (QUESTION_TERM_WEIGHT if t in asked else 1.0) / spread[t] for t in terms} for terms in per_point
    ]


def recall(terms: dict[str, float], present: set[str]) -> float:
    total = sum(terms.values())
    return sum(w for t, w in terms.items() if t in present) / total if total else 0.0


NEGATION = frozenset(
    """not no never nor neither cannot without unlike instead avoid myth misconception wrong mistake
    false isn't doesn't don't won't can't aren't wasn't weren't shouldn't mustn't hasn't haven't""".split()
)


def negated(text: str) -> bool:
    """Whether a sentence carries a negation or refutation cue (parity is what is compared)."""
    return any(w in NEGATION or w.endswith("n't") for w in words(text))


def distinctive_terms(question: Question, statements: Iterable[str]) -> list[frozenset[str]]:
    """Per statement of a misconception: its stems that no correct text of the question uses (key
    points, model answer, the question). "a per-bucket linked list" is evidence of the wrong belief
    in a way "dict" and "hash" never are."""
    correct = set(stems(question.question + " " + question.model_answer))
    for kp in question.key_points:
        correct |= set(stems(kp.text))
    polarity = {stem(w) for w in NEGATION}  # negation is compared as parity, not as a word
    return [frozenset(set(stems(s)) - correct - polarity) for s in statements]
