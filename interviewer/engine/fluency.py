"""Is this prose, or a bag of words? Sentence embeddings barely see word order, so a shuffled
list of the right terms looks much like a good answer to them. English word order has hard
rules that a shuffle breaks at once: a determiner ("the", "a", "this") or a preposition ("of",
"with") is followed by the thing it introduces, not by another determiner, an auxiliary verb, a
conjunction or the end of the sentence. `disorder` is the share of determiners and prepositions
that break this; prose stays near 0, shuffled words land near a half."""

from __future__ import annotations

import re

DETERMINERS = frozenset(
    ["the", "a", "an", "this", "these", "those", "its", "their", "my", "your", "our", "each", "every"]
)
PREPOSITIONS = frozenset(
    """
of in on at for with from by into about over under between through without within during per via
""".split()
)
_NEVER_NEXT = frozenset(
    """
and or but nor is are was were be been being has have had does did of in on at for with from by
into . , ; : ! ? )
""".split()
)
AFTER_DETERMINER = _NEVER_NEXT | DETERMINERS
AFTER_PREPOSITION = _NEVER_NEXT - {"in", "on", "into", "from"}  # "from in", "in on" are rare but legal
_TOKEN = re.compile(r"[A-Za-z']+|[.,;:!?)]")
_CODE_SPAN = re.compile(r"`[^`\n]*`")  # inline code is a noun to the sentence, not words of it


def disorder(text: str) -> float:
    """Share of determiners/prepositions followed by something that cannot follow them."""
    tokens = [t.lower() for t in _TOKEN.findall(_CODE_SPAN.sub(" code ", text))] + ["."]
    heads = broken = 0
    for word, nxt in zip(tokens, tokens[1:], strict=False):
        if word in DETERMINERS:
            heads += 1
            broken += nxt in AFTER_DETERMINER
        elif word in PREPOSITIONS:
            heads += 1
            broken += nxt in AFTER_PREPOSITION
    return broken / heads if heads >= 3 else 0.0
