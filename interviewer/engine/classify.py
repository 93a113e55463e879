"""What kind of reply did the candidate send? Real candidates skip, send nothing, mash the
keyboard, paste the question back, ask for clarification, or answer in code. Only real answers
are scored; the rest get a fitting response (a nudge, a clarification, moving on)."""

from __future__ import annotations

import re
from typing import Literal

from interviewer.engine.text import looks_like_code, normalize, words

Kind = Literal["empty", "skip", "gibberish", "repeat", "clarify", "too_short", "answer"]

_SKIP = re.compile(
    r"^(?:i\s+)?(?:(?:really\s+)?(?:don'?t|do not|dont)\s+know(?:\s+(?:this|that|the answer|it))?|"
    r"idk|no idea|not sure|i'?m not sure|no clue|dunno|skip(?:\s+(?:this|it|please))?|pass|next"
    r"(?:\s+question)?|i have no idea|can we skip(?: this)?(?: one)?|let'?s skip(?: this)?(?: one)?|"
    r"i give up|i can'?t answer(?: this| that)?|no answer|nothing|sorry,? (?:i )?(?:don'?t|do not) know)"
    r"[\s.!,]*(?:sorry|please|,? next|\W)*$",
    re.IGNORECASE,
)
_CLARIFY_START = re.compile(
    r"^(?:sorry,?\s*)?(?:do you mean|did you mean|what do you mean|could you (?:clarify|explain|"
    r"rephrase|repeat|give)|can you (?:clarify|explain|rephrase|repeat|give)|should i|are you asking|"
    r"is (?:this|that|it) about|does (?:this|that|it) (?:include|mean)|which (?:one|version|part)|"
    r"what (?:kind|scale|size|constraints|assumptions)|how (?:big|many|much|large)|just to clarify|"
    r"to clarify|clarification|quick question|before i answer)",
    re.IGNORECASE,
)
_VOWELS = set("aeiouyAEIOUY")


def _is_gibberish(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return not looks_like_code(text)
    if (
        any(not c.isascii() for c in letters[:200])
        and sum(not c.isascii() for c in letters) > len(letters) / 2
    ):
        return False  # another script: an answer in another language, not noise
    tokens = words(text)
    if not tokens:
        return True
    vowel_ratio = sum(c in _VOWELS for c in letters) / len(letters)
    plain = [t for t in re.findall(r"[A-Za-z]+", text) if 4 <= len(t) <= 15]
    unpronounceable = sum(1 for t in plain if re.search(r"[^aeiouyAEIOUY]{5,}", t) or not _VOWELS & set(t))
    mashed = re.search(r"([^\W\d_])\1{7,}", text) is not None or (
        len(text) > 15 and len(set(text.lower())) < 6
    )
    return vowel_ratio < 0.18 or (bool(plain) and unpronounceable > len(plain) / 2) or mashed


def classify(text: str, question: str) -> Kind:
    clean = normalize(text)
    if not clean or not any(c.isalnum() for c in clean):
        return "empty"
    if _SKIP.match(clean):
        return "skip"
    if looks_like_code(text):
        return "answer"
    if _is_gibberish(clean):
        return "gibberish"
    tokens = words(clean)
    q_tokens = words(normalize(question))
    if q_tokens and len(tokens) >= max(4, 0.6 * len(q_tokens)):
        overlap = len(set(tokens) & set(q_tokens)) / len(set(tokens))
        if overlap >= 0.85 and len(tokens) <= len(q_tokens) * 1.2:
            return "repeat"
    n_words = len(clean.split())
    if clean.endswith("?") and n_words <= 40 and (_CLARIFY_START.match(clean) or n_words <= 15):
        return "clarify"
    if n_words < 4:
        return "too_short"
    return "answer"
