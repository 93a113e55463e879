"""What kind of reply did the candidate send? Real candidates skip, send nothing, mash the
keyboard, paste the question back, ask for clarification, or answer in code. Only real answers
are scored; the rest get a fitting response (a nudge, a clarification, moving on)."""

from __future__ import annotations

import re
from typing import Literal

from interviewer.engine.text import looks_like_code, normalize, words

Kind = Literal["empty", "skip", "gibberish", "repeat", "clarify", "thinking", "too_short", "answer"]

_SKIP = re.compile(
    r"^(?:i\s+)?(?:(?:really\s+)?(?:don'?t|do not|dont)\s+know(?:\s+(?:this|that|the answer|it))?|"
    r"idk|no idea|not sure|i'?m not sure|no clue|dunno|skip(?:\s+(?:this|it|please))?|pass|next"
    r"(?:\s+question)?|i have no idea|can we skip(?: this)?(?: one)?|let'?s skip(?: this)?(?: one)?|"
    r"i give up|i can'?t answer(?: this| that)?|no answer|nothing|sorry,? (?:i )?(?:don'?t|do not) know)"
    r"[\s.!,]*(?:sorry|please|,? next|\W)*$",
    re.IGNORECASE,
)
_SKIP_PHRASE = re.compile(
    r"\b(?:(?:don'?t|do not|dont) (?:really )?know|idk|no idea|no clue|dunno|not sure|skip (?:this|it|that|the "
    r"question|please)|(?:let'?s|can we|could we|i'?ll|i'?d like to|please) (?:skip|move on|pass)|pass on "
    r"(?:this|that|it)|next question|give up|can'?t answer|cannot answer|rather not (?:answer|say)|not familiar "
    r"with|never (?:used|heard of|worked with)|no experience with|haven'?t (?:used|worked with|heard of)|"
    # the same in the languages candidates fall back to
    r"je ne sais pas|aucune idée|no (?:lo )?s[eé]|ni idea|keine ahnung|wei(?:ß|ss) (?:ich )?nicht|non lo so|"
    r"n[aã]o sei)\b|не знаю|不知道",
    re.IGNORECASE,
)
"""A short reply built around one of these says "I can't answer this" in other words."""
_HEDGED = re.compile(
    r"\b(?:but|because|although|though|however|maybe|perhaps|probably|i think|i guess|i believe|i'?d say|"
    r"might|could be|something like)\b",
    re.IGNORECASE,
)
_STALL = re.compile(
    r"^(?:h+m+|u+m+|e+r+m*|uh+|well|ok(?:ay)?|so|right|sure|let me (?:think|see)|give me a (?:sec(?:ond)?|"
    r"moment|minute)|one (?:sec(?:ond)?|moment)|thinking|good question|hold on|wait)(?:[\s,.!…-]+(?:h+m+|u+m+|"
    r"let me (?:think|see)(?: about it)?|give me a (?:sec(?:ond)?|moment|minute)|one (?:sec(?:ond)?|moment)|"
    r"thinking|good question|hold on|wait|ok(?:ay)?|so|well))*[\s.!…-]*$",
    re.IGNORECASE,
)
"""Thinking out loud before an answer: a nudge, not an answer to score."""
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
    n_words = len(clean.split())
    if _SKIP.match(clean) or (n_words <= 8 and _SKIP_PHRASE.search(clean) and not _HEDGED.search(clean)):
        return "skip"
    if _STALL.match(clean):
        return "thinking"
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
    if clean.endswith("?") and n_words <= 40 and (_CLARIFY_START.match(clean) or n_words <= 15):
        return "clarify"
    if n_words < 4:
        return "too_short"
    return "answer"
