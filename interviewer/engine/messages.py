"""What the interviewer says when no model phrases it (the offline engine, and every fallback),
and the checks a model-phrased message must pass before a candidate sees it.

A model's question is rejected — and the bank's own text used instead — when it is empty, too
long, a repeat of anything already said, or leaks the rubric (shares a long run of words with a
key point or the model answer, or most of a key point's distinctive words)."""

from __future__ import annotations

import re

from interviewer.domain import Question
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
    "too_short": [
        "Could you expand on that? Walk me through your reasoning.",
        "A little more detail, please: how does that work, and why does it matter here?",
    ],
}

TRANSITIONS = [
    "Thanks. Let's move on.",
    "Thank you — next question.",
    "Good, let's switch to something else.",
    "Alright, moving on.",
    "Thanks for that. Here's the next one.",
]


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


def leaks(text: str, question: Question) -> bool:
    """True when `text` gives away a key point or the model answer."""
    tokens = normalize(text).casefold().split()
    said = _ngrams(tokens, 6)
    for source in [*(kp.text for kp in question.key_points), question.model_answer]:
        if said & _ngrams(normalize(source).casefold().split(), 6):
            return True
    asked = set(content_words(question.question))
    have = set(content_words(text))
    for kp in question.key_points:
        distinctive = set(content_words(kp.text)) - asked
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
