"""The model scorer in checklist form: the model answers yes/no checks, the code computes the score.

Asked for holistic 1-5 numbers, a small model gives a confidently wrong answer 5/5: it grades the
vocabulary. Asked one narrow question at a time — "does the answer state <key point>? quote the
sentence", "does the answer assert <wrong claim>? quote it" — the same model separates a good
answer from a wrong one. So one call per answer returns a checklist (`ChecklistReply`), and:

- every "yes" must come with a quote that is verbatim in the candidate's own words
  (`evidence.quote_is_verbatim`; of a quote of several sentences, the verbatim ones are kept); a
  "yes" without one counts as "no" and is counted in `dropped_quotes` — a model cannot credit a
  point the candidate never wrote;
- a check the model left out, or answered twice, counts once, as "no" when absent;
- a key point quoted from a sentence that asserts a verified misconception is not covered: a
  wrong sentence states nothing correctly (the offline scorer's rule too), and a small model
  often quotes the same wrong sentence for a key point and for the pitfall;
- the score is `offline_scorer.rubric_assessment` over those facts (key point covered: 1.0, not:
  0.0; each verified pitfall is a misconception with its quote), so the checklist and the offline
  scorer give the same score for the same facts, with the same monotone floor and penalties.

Only the question's own pitfalls are checked: borrowed ones (a question outside the bank gets its
neighbours' in `Assessor._ground`) have no correction to show the candidate, and a neighbour's
misconception is not necessarily wrong here. Errors from the model (`LLMError`, `LLMOutputError`)
propagate unchanged: `Assessor` falls back to the offline scorer and says so.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, WithJsonSchema

from interviewer.domain import Assessment, Criterion, Question
from interviewer.engine import guard
from interviewer.engine.evidence import locate, quote_is_verbatim
from interviewer.engine.offline_scorer import Coverage, rubric_assessment
from interviewer.engine.scoring import Exchange, ModelScorer, candidate_text, render_transcript
from interviewer.engine.text import sentences
from interviewer.llm.base import CallSink

PROMPT = "score_checklist"
_CHECK_ID = re.compile(r"\s*([KP])\s*(\d+)\b", re.IGNORECASE)  # "K1", "k 1", "K1: ..."
_YES = re.compile(r"\s*(?:yes|y|true)\b", re.IGNORECASE)


def _yes_no(value: object) -> object:
    """The verdict folded: "Yes", "yes, it does" -> "yes"; any other word ("No", "partially",
    "unclear") -> "no": what is not a plain yes credits nothing (and a "yes" needs its quote)."""
    if not isinstance(value, str):
        return value
    return "yes" if _YES.match(value) else "no"


# The JSON schema says "a string" rather than the enum: the verdict is folded here, so the enum
# would buy nothing, and with it llama.cpp's grammar-constrained decoding once ran at 1.6 tokens/s
# against 26 without it, back to back (Qwen2.5-Coder-1.5B, 2 server threads on a busy machine).
YesNo = Annotated[
    Literal["yes", "no"],
    BeforeValidator(_yes_no),
    WithJsonSchema({"type": "string", "description": "yes or no"}),
]


class Check(BaseModel):
    # The schema asks for every field (a constrained server then writes them all); parsing is
    # lenient. The verdict comes before the quote: asked to quote first, a small model quotes
    # the sentence nearest a misconception and then says "yes" to it, and the quote verifies;
    # asked to answer first, its mistaken "yes" comes with the claim's own words, which do not.
    model_config = ConfigDict(json_schema_extra={"required": ["id", "answer", "quote"]})

    id: str
    answer: YesNo
    quote: str = ""


class ChecklistReply(BaseModel):
    checks: list[Check]
    manipulation: bool = False


def key_point_check(n: int) -> str:
    return f"K{n}"


def pitfall_check(n: int) -> str:
    return f"P{n}"


def render_checks(question: Question) -> str:
    """One line per check. Ids are short and opaque (K1, P1): a small model copies them
    reliably, and they give away nothing about which checks are 'good'."""
    lines = [
        f"- {key_point_check(i)}: does the answer state: {_one_line(kp.text)}?"
        for i, kp in enumerate(question.key_points, start=1)
    ]
    lines += [
        f"- {pitfall_check(i)}: does the answer assert (as true): {_one_line(p.claim)}?"
        for i, p in enumerate(question.pitfalls, start=1)
    ]
    return "\n".join(lines)


def _one_line(text: str) -> str:
    return " ".join(text.split()).rstrip(".?")


def _verified(check: Check | None, text: str) -> str | None:
    """The quote as it stands in the candidate's text, when a "yes" is backed by one. A quote of
    several sentences keeps those that are verbatim (a small model copying three sentences often
    garbles a word of the last one); what is kept is always the candidate's own words."""
    if check is None or check.answer != "yes":
        return None
    pieces = [check.quote] if quote_is_verbatim(check.quote, text) else sentences(check.quote)
    found = [locate(p, text) for p in pieces if quote_is_verbatim(p, text)]
    spans = [span for located in found if located for span in located]
    if not found:
        return None
    if not spans:
        return check.quote.strip()
    return " … ".join(text[start:end] for start, end in spans)


def checklist_assessment(
    question: Question,
    rubric: Sequence[Criterion],
    reply: ChecklistReply,
    text: str,
) -> Assessment:
    """The assessment the checks add up to (pure: the tests drive it without a model)."""
    by_id: dict[str, Check] = {}
    for check in reply.checks:
        match = _CHECK_ID.match(check.id)
        if match:
            by_id.setdefault(match[1].upper() + match[2], check)
    dropped = 0

    def verdict(check_id: str) -> str | None:
        nonlocal dropped
        check = by_id.get(check_id)
        quote = _verified(check, text)
        if check is not None and check.answer == "yes" and quote is None:
            dropped += 1
        return quote

    wrong: dict[str, str] = {}
    for i, pitfall in enumerate(question.pitfalls, start=1):
        quote = verdict(pitfall_check(i))
        if quote:
            wrong[pitfall.id] = quote
    coverage = []
    contradicted = 0
    for i, kp in enumerate(question.key_points, start=1):
        quote = verdict(key_point_check(i))
        if quote and any(_same_sentence(quote, w) for w in wrong.values()):
            quote, contradicted = None, contradicted + 1
        coverage.append(Coverage(kp.id, kp.weight, 1.0 if quote else 0.0, quote))
    assessment = rubric_assessment(question, rubric, question.track, coverage, wrong, scorer="model")
    notes = [f"checklist: {dropped} 'yes' without a verbatim quote counted as 'no'"] if dropped else []
    if contradicted:
        notes.append(
            f"checklist: {contradicted} key point(s) quoted from a sentence asserting a misconception"
        )
    return assessment.model_copy(update={"dropped_quotes": dropped, "notes": [*assessment.notes, *notes]})


def _same_sentence(a: str, b: str) -> bool:
    """One quote inside the other: a sentence that asserts a misconception states no key point
    (as in the offline scorer); a small model often credits the wrong sentence to both."""
    return quote_is_verbatim(a, b) or quote_is_verbatim(b, a)


class ChecklistScorer(ModelScorer):
    """`ModelScorer`'s place and signature, one yes/no check per key point and per pitfall."""

    async def assess(
        self,
        question: Question,
        exchanges: Sequence[Exchange],
        rubric: Sequence[Criterion],
        *,
        track_title: str,
        references: Sequence[str],
        pitfalls: Sequence[str],
        on_call: CallSink | None = None,
    ) -> tuple[Assessment, bool]:
        # `references` and the borrowed `pitfalls` are not used: each check is a reading
        # question about the candidate's words, and the prompt stays short for small models.
        del references, pitfalls
        tag = guard.new_tag()
        values = {
            "track_title": track_title,
            "question": question.question,
            "checks": render_checks(question),
            "tag": tag,
        }
        fixed = self._counter.count_messages(
            (m.type, m.text) for m in self._prompts.render(PROMPT, transcript="", **values)
        )
        transcript = render_transcript(
            exchanges, tag, counter=self._counter, max_tokens=self._budget - fixed - 50
        )
        messages = self._prompts.render(PROMPT, transcript=transcript, **values)
        prompt = self._prompts[PROMPT]
        completion = await self._model.complete(
            messages,
            schema=ChecklistReply,
            prompt=prompt.name,
            prompt_version=prompt.version,
            max_tokens=prompt.max_tokens,
            on_call=on_call,
        )
        reply = completion.parsed
        assert isinstance(reply, ChecklistReply)
        return checklist_assessment(question, rubric, reply, candidate_text(exchanges)), reply.manipulation
