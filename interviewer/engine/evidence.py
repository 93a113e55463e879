"""Evidence verification: every quote a scorer offers must be in the candidate's own words.

Quotes and transcript are compared after normalisation (NFKC, invisible characters removed,
curly quotes and dashes folded, whitespace folded, case folded). A quote may elide with "..." or
"…": each fragment must appear, in order. A quote that is not there is dropped; a criterion left
without a verified quote is marked unsupported and cannot score above `UNSUPPORTED_CAP`.
"""

from __future__ import annotations

import re

from interviewer.domain import CriterionScore
from interviewer.engine.text import normalize

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
