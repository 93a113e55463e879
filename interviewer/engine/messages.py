"""What the interviewer says when no model phrases it (the offline engine, and every fallback),
and the checks a model-phrased message must pass before a candidate sees it.

A model's message is rejected — and the engine's own text used instead — when it is empty, too
long, talks of grading (anything but the final report), repeats anything already said, or leaks
the rubric (shares a long run of words with a key point or the model answer, or most of a key
point's distinctive words)."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass

from interviewer.domain import Article, Assessment, Question
from interviewer.engine.policy import corrections, worth_adding
from interviewer.engine.state import said_key
from interviewer.engine.text import content_words, normalize

MAX_WORDS = 110

NUDGES = {
    "empty": [
        "Take your time — whenever you're ready, give it a try: {q}",
        "I didn't get an answer there. Even a partial answer or your first instinct helps: {q}",
    ],
    "gibberish": [
        "I couldn't make sense of that reply — could you answer in a sentence or two? {q}",
        "That still didn't come through as an answer. In your own words: {q}",
    ],
    "repeat": [
        "That's the question itself — how would you answer it? Start wherever you're most comfortable.",
        "You've restated the question; I'd like to hear your own take. What would you say first?",
    ],
    "thinking": [
        "Take your time — there's no clock here. Go ahead whenever you're ready.",
        "No rush. If it helps, start with the part you're surest about and build from there.",
    ],
    "too_short": [
        "Could you expand on that? Walk me through your reasoning.",
        "A little more detail, please: how does that work, and why does it matter here?",
    ],
}

EXERCISE_CLOSED = "That coding exercise is already closed, so I did not look at this submission."

TRANSITIONS = [
    "Thanks. Let's move on.",
    "Thank you — next question.",
    "Good, let's switch to something else.",
    "Alright, moving on.",
    "Thanks for that. Here's the next one.",
]


def greeting(mode: str, titles: str) -> str:
    """The opening: a practice run is a mock interview; an assessment is an interview."""
    what = "mock interview" if mode == "practice" else "interview"
    return (
        f"Hi, and welcome to your {what} for a Senior Python Developer role. We'll cover {titles}. "
        "I'll ask one question at a time and sometimes follow up. Answer in your own words; if "
        "something is unclear, just ask. Ready? Here we go."
    )


def results_lead(score: float) -> str:
    """The start of the closing message when the results may be said (practice, report shown)."""
    return f"That's the end of the interview — thank you for your time. Your overall result is {score:.1f}/5.\n\n"


def closing_without_results(*, show_report: bool) -> str:
    """The closing message when the results may not be said in the interview: an assessment's
    (its report, if HR shows it, is read on its own page), or any interview whose report HR hides."""
    if show_report:
        return (
            "That's the end of the interview — thank you for your time. Your report is ready: "
            "you can open it from this page."
        )
    return (
        "That's the end of the interview — thank you for your time and your answers. "
        "The hiring team will be in touch about the next steps."
    )


def track_done(track_title: str) -> str:
    """The close of a track that another follows."""
    return f"That's the end of the {track_title.lower()} part — thank you. Let's move on to the next part."


def practice_feedback(question: Question, assessment: Assessment, *, articles: Mapping[str, Article]) -> str:
    """Practice mode's feedback after each main question (there the key points may be said): what
    was strong, the heaviest points worth adding, the misconceptions to correct, what to read."""
    covered = [kp for kp in question.key_points if kp.id in assessment.covered]
    missed = worth_adding(question, assessment)
    parts = ["Quick feedback on that one."]
    if covered:
        parts.append("Strong: " + "; ".join(kp.text.strip().rstrip(".") for kp in covered[:2]) + ".")
    if missed:
        parts.append("Worth adding: " + "; ".join(kp.text.strip().rstrip(".") for kp in missed) + ".")
    parts += corrections(question, assessment)
    if question.references:
        titles = [articles[r].title for r in question.references if r in articles]
        parts.append("To study: " + "; ".join(f"the reference article “{t}”" for t in titles) + ".")
    return "\n".join(parts)


def nudge(kind: str, attempt: int, question_text: str) -> str:
    options = NUDGES.get(kind, NUDGES["too_short"])
    return options[min(attempt, len(options) - 1)].format(q=question_text.strip())


def ask_offline(question: Question, index: int, *, first_in_track: bool, track_title: str) -> str:
    if first_in_track:
        return f"Let's start the {track_title} part. {question.question.strip()}"
    return f"{TRANSITIONS[index % len(TRANSITIONS)]} {question.question.strip()}"


def clarify_offline(question: Question, attempt: int) -> str:
    if attempt == 0:
        return (
            "Good question. There's no trick here: make whatever reasonable assumptions you need, "
            f"state them, and go from there. The question again: {question.question.strip()}"
        )
    return (
        "Any sensible interpretation is fine — I'm interested in how you reason about it. "
        "Pick one, say why, and answer from there."
    )


def _ngrams(tokens: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


@functools.lru_cache(maxsize=1024)
def _rubric_text(key_points: tuple[str, ...], model_answer: str, question: str) -> _Rubric:
    grams: set[tuple[str, ...]] = set()
    for source in [*key_points, model_answer]:
        grams |= _ngrams(normalize(source).casefold().split(), 6)
    asked = set(content_words(question))
    distinctive = tuple(frozenset(set(content_words(kp)) - asked) for kp in key_points)
    return _Rubric(frozenset(grams), {g[:5]: g[5] for g in grams}, distinctive)


@dataclass(frozen=True)
class _Rubric:
    """What a message must not give away of a question, prepared once per question."""

    grams: frozenset[tuple[str, ...]]  # 6-word runs of the key points and the model answer
    heads: dict[tuple[str, ...], str]  # a run's first five words -> its sixth
    distinctive: tuple[frozenset[str], ...]  # per key point: its words the question does not use


def _rubric(question: Question) -> _Rubric:
    return _rubric_text(
        tuple(kp.text for kp in question.key_points), question.model_answer, question.question
    )


def leaks(text: str, question: Question) -> bool:
    """True when `text` gives away a key point or the model answer."""
    rubric = _rubric(question)
    if _ngrams(normalize(text).casefold().split(), 6) & rubric.grams:
        return True
    have = set(content_words(text))
    for distinctive in rubric.distinctive:
        if len(distinctive) >= 4 and len(distinctive & have) / len(distinctive) >= 0.6:
            return True
    return False


_GRADING_TALK = re.compile(
    r"\b(?:scor\w*|rubric|key points?|grade[ds]?|marks?)\b|\b\d(?:\.\d)?\s*/\s*(?:5|10)\b|"
    r"\bout of (?:5|five|10|ten)\b",
    re.IGNORECASE,
)
MAX_REPORT_WORDS = 260


def acceptable(
    text: str | None, *, question: Question | None, already_said: set[str], report: bool = False
) -> bool:
    """May the candidate see this model-written text? Reports may talk about scores; nothing
    else may, and questions must not leak their own key points."""
    if not text or not text.strip():
        return False
    if len(text.split()) > (MAX_REPORT_WORDS if report else MAX_WORDS):
        return False
    if not report and _GRADING_TALK.search(text):
        return False
    if said_key(text) in already_said:
        return False
    return question is None or not leaks(text, question)


_RISKY_WORDS = (
    "score",
    "scored",
    "scores",
    "scoring",
    "rubric",
    "key",
    "grade",
    "graded",
    "grades",
    "mark",
    "marks",
    "out",
)
_RISKY_AFTER = {"key": ("point", "points"), "out": ("of",), "of": ("five", "ten")}


class LiveRelease:
    """How much of a model's reply may be shown while it is still streaming.

    `feed(text_so_far)` returns the newly releasable part. Complete words are released once the
    text up to them passes every check a prefix can fail for good: too long, grading talk, a
    6-word run shared with a key point or the model answer. Such a failure is final (a longer text
    fails it too), so nothing more is released and the finished reply will be replaced by the
    fallback. The unfinished last word is released at once too, unless it could still become a
    grading word, a number or the next word of a leaking run — then it waits one token.
    The checks that need the whole text (repeats, most of a key point's distinctive words) run on
    the finished reply (`acceptable`); the `message` event that follows the deltas carries the
    text the candidate keeps, which replaces what was streamed."""

    def __init__(self, question: Question | None, *, report: bool = False) -> None:
        self._report = report
        self._max_words = MAX_REPORT_WORDS if report else MAX_WORDS
        rubric = _rubric(question) if question is not None else None
        self._grams = rubric.grams if rubric else frozenset()
        self._heads = rubric.heads if rubric else {}
        self._released = 0
        self.blocked = False

    def feed(self, text: str) -> str:
        if self.blocked:
            return ""
        text = text.lstrip()
        end = len(text)
        tail_start = len(text.rstrip()) if text[-1:].isspace() else _last_space(text) + 1
        tail = text[tail_start:]
        words = text[:tail_start].split()
        if tail and not text[-1:].isspace() and self._risky_tail(tail, words):
            end = tail_start
        shown = text[:end]
        if not self._prefix_ok(text[:tail_start]):
            self.blocked = True
            return ""
        new = shown[self._released :]
        self._released = max(self._released, len(shown))
        return new

    def rest(self, text: str) -> str:
        """What is still unshown of the finished `text`, once it has passed `acceptable`."""
        text = text.lstrip()
        new = text[self._released :] if not self.blocked else ""
        self._released = len(text)
        return new

    def _risky_tail(self, tail: str, words: list[str]) -> bool:
        low = tail.casefold()
        if any(ch.isdigit() or ch == "/" for ch in low) or len(low) < 2 and not low.isalpha():
            return True
        if not self._report:
            prev = words[-1].casefold() if words else ""
            risky = _RISKY_WORDS + _RISKY_AFTER.get(prev, ())
            if any(w.startswith(low) for w in risky):
                return True
        head = tuple(normalize(" ".join(words[-5:])).casefold().split())
        nxt = self._heads.get(head) if len(head) == 5 else None
        return nxt is not None and nxt.startswith(low)

    def _prefix_ok(self, prefix: str) -> bool:
        if len(prefix.split()) > self._max_words:
            return False
        if not self._report and _GRADING_TALK.search(prefix):
            return False
        return not (self._grams and _ngrams(normalize(prefix).casefold().split(), 6) & self._grams)


def _last_space(text: str) -> int:
    return max(text.rfind(" "), text.rfind("\n"), text.rfind("\t"))
