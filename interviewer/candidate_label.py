"""HR's label for a candidate: free text typed on an invite (a name, an e-mail, a role — e.g.
"Jane Doe <jane@example.com> — backend role") so that staff can tell interviews apart. It is
carried from the invite to the session it starts, shown wherever staff see an interview, and
never to the candidate.

The label is untrusted text like any other: pages insert it as text, exports escape it. Here it
is held to one line of visible characters: trimmed, at most `MAX_CHARS`, and refused when it holds
control characters (C0, DEL, C1: NUL, tabs and newlines included), line or paragraph separators,
or bidirectional overrides (which could make a label display as another name).
"""

from __future__ import annotations

import unicodedata

MAX_CHARS = 200
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_REFUSED_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})


def clean(value: str | None) -> str | None:
    """The label as stored: trimmed; None when absent or blank. ValueError (with a message that
    does not repeat the text) when it is too long or holds a refused character."""
    if value is None:
        return None
    for char in value:
        if unicodedata.category(char) in _REFUSED_CATEGORIES or char in _BIDI:
            raise ValueError(
                "must be one line of visible text: no control characters, line breaks or "
                "bidirectional overrides"
            )
    text = value.strip()
    if len(text) > MAX_CHARS:
        raise ValueError(f"must be at most {MAX_CHARS} characters")
    return text or None


def like_pattern(query: str) -> str:
    """A LIKE pattern (escape character backslash) matching labels that contain `query` as
    typed: its own %, _ and backslash are literal."""
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
