"""Evidence verification: every quote a scorer offers must be in the candidate's own words.

Quotes and transcript are compared after normalisation (NFKC, invisible characters removed,
curly quotes and dashes folded, whitespace folded, case folded). A quote may elide with "..." or
"…": each fragment must appear, in order. A quote that is not there is dropped; a criterion left
without a verified quote is marked unsupported and cannot score above `UNSUPPORTED_CAP`.
"""

from __future__ import annotations

import re
import unicodedata

from interviewer.domain import CriterionScore
from interviewer.engine.text import normalize, strip_invisible

UNSUPPORTED_CAP = 2.0
MIN_QUOTE_WORDS = 3
_ELLIPSIS = re.compile(r"\s*(?:\.\.\.|…)\s*")


def _norm(text: str) -> str:
    return normalize(text).casefold()


def quote_is_verbatim(quote: str, transcript: str) -> bool:
    fragments = [f for f in _ELLIPSIS.split(_norm(quote).strip(" \"'")) if f]
    if not fragments or sum(len(f.split()) for f in fragments) < MIN_QUOTE_WORDS:
        return False
    haystack = _norm(transcript)
    pos = 0
    for fragment in fragments:
        found = haystack.find(fragment, pos)
        if found < 0:
            return False
        pos = found + len(fragment)
    return True


_FOLD = str.maketrans(
    {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"}
)


def _norm_mapped(text: str) -> tuple[str, list[int], list[int]]:
    """`_norm(text)` built piece by piece, with each output character's source span in `text`
    (starts, ends), so that a match in the normalised form can be highlighted in the original.
    Pieces are a character and its combining marks, so NFKC composes as it does on the whole."""
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i = 0
    while i < len(text):
        j = i + 1
        while j < len(text) and unicodedata.combining(text[j]):
            j += 1
        piece = unicodedata.normalize("NFKC", strip_invisible(text[i:j])).translate(_FOLD).casefold()
        for ch in piece:
            if ch.isspace():
                if not out or out[-1] == " ":
                    continue
                ch = " "
            out.append(ch)
            starts.append(i)
            ends.append(j)
        i = j
    if out and out[-1] == " ":
        out.pop(), starts.pop(), ends.pop()
    return "".join(out), starts, ends


def locate(quote: str, text: str) -> list[tuple[int, int]] | None:
    """Where a quote is in `text`: one (start, end) span of `text` per fragment of the quote
    (a quote elided with "..." has several), found after the same normalisation as
    `quote_is_verbatim`; None when it is not there."""
    fragments = [f for f in _ELLIPSIS.split(_norm(quote).strip(" \"'")) if f.strip()]
    if not fragments:
        return None
    haystack, starts, ends = _norm_mapped(text)
    spans: list[tuple[int, int]] = []
    pos = 0
    for fragment in fragments:
        fragment = fragment.strip()
        found = haystack.find(fragment, pos)
        if found < 0:
            return None
        pos = found + len(fragment)
        spans.append((starts[found], ends[pos - 1]))
    return spans


def verify(criteria: list[CriterionScore], candidate_text: str) -> tuple[list[CriterionScore], int]:
    """Criteria with only verified quotes; unsupported ones capped. Returns (criteria, dropped)."""
    out: list[CriterionScore] = []
    dropped = 0
    for c in criteria:
        kept = [q for q in c.evidence if quote_is_verbatim(q, candidate_text)]
        dropped += len(c.evidence) - len(kept)
        unsupported = not kept
        score = min(c.score, UNSUPPORTED_CAP) if unsupported else c.score
        out.append(c.model_copy(update={"evidence": kept, "unsupported": unsupported, "score": score}))
    return out, dropped
