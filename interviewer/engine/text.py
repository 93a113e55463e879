"""Plain-text helpers shared by the scorers, the guard, the reply classifier and the
interviewer's messages: normalisation, sentence splitting, word statistics. No model, no I/O."""

from __future__ import annotations

import re
import unicodedata

# zero-width, bidi controls, word joiners, BOM, soft hyphen, and Unicode tag characters
_INVISIBLE = re.compile(
    "[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\U000e0000-\U000e007f]"
)
_WS = re.compile(r"\s+")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_']*|\d+")

STOPWORDS = frozenset(
    """
a about above after again against all am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has
have having he her here hers him his how i if in into is it its itself just me more most my no
nor not now of off on once only or other our ours out over own same she should so some such than
that the their theirs them then there these they this those through to too under until up very
was we were what when where which while who whom why will with would you your yours also get got
use used using like really actually basically just thing things way lot well
""".split()
)


def strip_invisible(text: str) -> str:
    return _INVISIBLE.sub("", text)


def normalize(text: str) -> str:
    """NFKC, invisible characters removed, whitespace folded: the form quotes are compared in."""
    text = unicodedata.normalize("NFKC", strip_invisible(text))
    text = text.replace("\u2018", "'").replace("\u2019", "'").replace("\u201c", '"')
    text = text.replace("\u201d", '"').replace("\u2013", "-").replace("\u2014", "-")
    return _WS.sub(" ", text).strip()


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def content_words(text: str) -> list[str]:
    return [w for w in words(text) if w not in STOPWORDS and len(w) > 2]


_CODE_FENCE = re.compile(r"```.*?(?:```|$)", re.DOTALL)
_SENT_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9`])|\n\s*\n|\n(?=\s*(?:[-*•]|\d+[.)])\s)")
_ABBREV = re.compile(r"\b(?:e\.g|i\.e|etc|vs|approx|cf|Mr|Dr)\.$", re.IGNORECASE)


def sentences(text: str) -> list[str]:
    """Split prose into sentences (bullets and paragraphs too); code blocks stay whole."""
    out: list[str] = []
    pos = 0
    for match in _CODE_FENCE.finditer(text):
        out.extend(_split_prose(text[pos : match.start()]))
        code = match.group(0).strip()
        if code:
            out.append(code)
        pos = match.end()
    out.extend(_split_prose(text[pos:]))
    return out


def _split_prose(text: str) -> list[str]:
    parts: list[str] = []
    buffer = ""
    for piece in _SENT_END.split(text):
        if piece is None:
            continue
        buffer = f"{buffer} {piece}".strip() if buffer else piece.strip()
        if buffer and not _ABBREV.search(buffer):
            parts.append(buffer)
            buffer = ""
    if buffer:
        parts.append(buffer)
    return [_WS.sub(" ", p).strip(" -*•\t") for p in parts if p.strip(" -*•\t\n")]


def stopword_ratio(text: str) -> float:
    ws = words(text)
    return sum(w in STOPWORDS for w in ws) / len(ws) if ws else 0.0


def looks_like_code(text: str) -> bool:
    stripped = text.strip()
    if stripped.startswith("```"):
        return True
    symbols = sum(stripped.count(c) for c in "(){}[]=:;<>")
    return bool(
        re.search(
            r"^\s*(def |class |import |from \w+ import|for .+:|return |SELECT )", stripped, re.MULTILINE
        )
    ) or symbols > max(6, len(stripped) // 12)
