"""Injection guard: candidate text is data, never instructions.

Two jobs:
1. `for_model()` / `wrap()`: the copy of candidate text a model sees is NFKC-normalised, has
   zero-width, bidi and Unicode-tag characters removed, and is wrapped in a per-request random tag
   (`<answer-3f9c…>`) after any copy of that tag inside the text is stripped, so it cannot close
   its own block. The stored original is never modified.
2. `detect()`: heuristics flag manipulation attempts by category — instruction overrides, fake
   system/assistant turns, fake scores or rubrics, role play, delimiter escapes, encoded
   instructions (base64, hex, rot13, reversed text, leetspeak, look-alike letters, hidden
   characters, letters spread out), prompt/rubric extraction, authority claims, and grading intent
   in any wording (`intent`). The known phrasings are data, the table `guard_rules.RULES`
   (category, pattern, flags), compiled on first use; each rule runs over the text and over its
   decoded variants, and "encoded" is said only of what a variant adds. A model-based check (the
   scorer's own `manipulation` verdict) is added where a model is configured. A flag is shown to
   evaluators; it never raises a score.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass

from interviewer.engine.decoders import SPACED, variants, variants_base
from interviewer.engine.guard_rules import CATEGORIES, Category, compiled
from interviewer.engine.intent import collapsed_intent, grading_intent
from interviewer.engine.text import strip_invisible

_HIDDEN = re.compile("[\U000e0000-\U000e007f]")
_ZERO_WIDTH_IN_WORD = re.compile("(?<=[^\\W\\d_])[\u200b-\u200f\u2060-\u2064\ufeff]+(?=[^\\W\\d_])")
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")

__all__ = [
    "CATEGORIES",
    "Category",
    "Finding",
    "detect",
    "for_model",
    "new_tag",
    "without_flagged",
    "wrap",
]


@dataclass(frozen=True)
class Finding:
    category: Category
    excerpt: str
    via: str = "text"  # "text", "hidden", or the decoding that revealed it (`decoders.variants`)


def new_tag() -> str:
    return f"answer-{secrets.token_hex(6)}"


def for_model(text: str, tag: str | None = None) -> str:
    """The model's copy of candidate text: NFKC, invisible characters removed, tag copies stripped."""
    clean = unicodedata.normalize("NFKC", strip_invisible(text))
    if tag:
        clean = re.sub(re.escape(tag), "", clean, flags=re.IGNORECASE)
    return clean


def wrap(text: str, tag: str) -> str:
    return f"<{tag}>\n{for_model(text, tag)}\n</{tag}>"


def detect(text: str) -> list[Finding]:
    """Manipulation attempts in `text`, at most one finding per category."""
    findings: dict[Category, Finding] = {}
    # invisible characters inside words split them to dodge patterns; between emoji (a family
    # emoji's zero-width joiners) or as a lone bidi mark they are ordinary text
    if _HIDDEN.search(text) or len(_ZERO_WIDTH_IN_WORD.findall(text)) >= 2 or len(_BIDI.findall(text)) >= 3:
        findings["encoded"] = Finding("encoded", "hidden characters", "hidden")
    plain = ""
    for via, variant in variants(text):
        if via == "text":
            plain = variant.lower()
        wanted = None if via != "text" and "grading_intent" in findings else grading_intent(variant)
        if wanted is None and via == "spaced":
            blobs = [m.group(0) for m in SPACED.finditer(variants_base(text))]
            wanted = next((b for b in blobs if collapsed_intent(b)), None)
        if wanted is not None and (via == "text" or wanted.lower() not in plain):
            findings.setdefault("grading_intent", Finding("grading_intent", wanted, via))
            if via != "text":
                findings.setdefault("encoded", Finding("encoded", wanted, via))
        matched: set[Category] = set()  # in this variant: the first rule of a category wins
        for category, pattern in compiled():
            if category in matched:
                continue
            if via == "text":
                match = pattern.search(variant)
                if match:
                    findings.setdefault(category, Finding(category, match.group(0)[:120], via))
                    matched.add(category)
                continue
            # a decoded variant counts only for what the plain text does not already say
            hidden = next(
                (m.group(0) for m in pattern.finditer(variant) if m.group(0).lower() not in plain), None
            )
            if hidden is None:
                continue
            findings.setdefault("encoded", Finding("encoded", hidden[:120], via))
            findings.setdefault(category, Finding(category, hidden[:120], via))
            matched.add(category)
    return list(findings.values())


_SPAN_BREAK = re.compile(r"((?<=[.!?])\s+|\n)")


def without_flagged(text: str) -> str:
    """`text` with the flagged sentences removed — and the span right after each, where a payload
    split across a line break continues — : what is scored when an answer is flagged. Everything
    kept stays verbatim, separators included, so the rest reads (and scores) exactly as written."""
    parts = _SPAN_BREAK.split(text)  # span, separator, span, separator, ..., span
    spans = parts[0::2]
    flagged = [bool(span.strip()) and bool(detect(span)) for span in spans]
    out: list[str] = []
    for i, span in enumerate(spans):
        drop = flagged[i] or (i > 0 and flagged[i - 1] and bool(span.strip())) or span.strip() == "```"
        if not drop:
            out.append(span)
        if i < len(spans) - 1 and not drop:
            out.append(parts[2 * i + 1])
    return "".join(out).strip()
