"""Scoring an answer against the track rubric: the model scorer, and the `Assessor` that puts
the guard, the model scorer and the offline scorer together.

The model scorer is a separate call from the interviewer's: it sees the key points, pitfalls,
rubric and reference passages as instructions and the candidate's words only as delimited data.
Its quotes are verified against the candidate's text (`evidence.verify`). If the model fails
(outage, or a reply that does not validate even after a re-ask), the offline scorer's assessment
is used for that answer and the record says so. A manipulation flag (the guard's, or the model's
own verdict) never raises a score: a flagged answer gets the lower of the model's score and the
offline score of its text with the flagged sentences removed, less `MANIPULATION_PENALTY`, never
below 1 — one rule (`injection_capped`) for the interview's turns and for `interviewer eval`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, Field

from interviewer.bank.retrieval import Retriever
from interviewer.domain import Assessment, Criterion, CriterionScore, Question
from interviewer.engine import guard, warm_cache
from interviewer.engine.deadline import Deadline
from interviewer.engine.evidence import verify
from interviewer.engine.offline_scorer import OfflineScorer
from interviewer.engine.prompts import PromptLibrary
from interviewer.llm.base import CallSink, ChatModel
from interviewer.llm.errors import LLMError, LLMOutputError
from interviewer.llm.tokens import TokenCounter

MANIPULATION_PENALTY = 0.5
"""Taken off a flagged answer's score: trying to game the scorer is itself a signal, and the
penalty keeps an attack below its clean twin even when the non-flagged rest adds a little."""


def injection_capped(score: float, offline_score: float) -> float:
    """The score of an answer flagged for manipulation: the lower of its score and the offline
    score of its text with the flagged sentences removed, less `MANIPULATION_PENALTY`, and never
    below 1. Scored offline only (`interviewer eval`), both scores are the offline one."""
    return round(max(1.0, min(score, offline_score) - MANIPULATION_PENALTY), 2)


def injection_flags(findings: Sequence[guard.Finding], *, model_flag: bool = False) -> list[str]:
    """The flags of an answer flagged for manipulation: `prompt_injection`, and what flagged it —
    the guard's categories, or the model scorer's own verdict when the guard saw nothing."""
    flags = ["prompt_injection", *(f"injection:{f.category}" for f in findings)]
    if model_flag and not findings:
        flags.append("injection:model_verdict")
    return flags


def skipped_assessment(question: Question, rubric: Sequence[Criterion]) -> Assessment:
    """A question skipped without an answer: the floor, every key point missed."""
    return Assessment(
        question_id=question.id,
        track=question.track,
        score=1.0,
        criteria=[
            CriterionScore(id=c.id, score=1.0, unsupported=True, rationale="no answer given") for c in rubric
        ],
        missed=[kp.id for kp in question.key_points],
        notes=["skipped: no answer given"],
    )


class CriterionReply(BaseModel):
    id: str
    score: int = Field(ge=1, le=5)
    evidence: list[str] = Field(default_factory=list, max_length=5)
    rationale: str = ""


class ScoreReply(BaseModel):
    criteria: list[CriterionReply] = Field(min_length=1)
    covered: list[str] = Field(default_factory=list)
    missed: list[str] = Field(default_factory=list)
    pitfalls: list[str] = Field(default_factory=list)
    manipulation: bool = False


@dataclass(frozen=True)
class Exchange:
    """One interviewer prompt and the candidate's reply to it."""

    prompt: str
    answer: str


def candidate_text(exchanges: Sequence[Exchange]) -> str:
    return "\n\n".join(e.answer for e in exchanges if e.answer.strip())


def render_transcript(
    exchanges: Sequence[Exchange], tag: str, *, counter: TokenCounter, max_tokens: int
) -> str:
    """Interviewer lines as plain text, candidate lines wrapped in the tag; older answers are
    condensed first when the whole does not fit in `max_tokens`."""
    parts = [(e.prompt, guard.for_model(e.answer, tag)) for e in exchanges]
    budget = max(200, max_tokens)
    while True:
        text = "\n".join(f"Interviewer: {p}\n<{tag}>\n{a}\n</{tag}>" for p, a in parts)
        if counter.count(text) <= budget:
            return text
        longest = max(range(len(parts)), key=lambda i: (len(parts[i][1]), -i))
        prompt, answer = parts[longest]
        keep = max(20, counter.count(answer) // 2)
        if keep >= counter.count(answer):
            return counter.truncate(text, budget)
        parts[longest] = (prompt, counter.truncate(answer, keep) + " […]")


class ModelScorer:
    def __init__(
        self, model: ChatModel, prompts: PromptLibrary, *, counter: TokenCounter, budget: int
    ) -> None:
        self._model = model
        self._prompts = prompts
        self._counter = counter
        self._budget = budget

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
        tag = guard.new_tag()
        values = {
            "track_title": track_title,
            "question": question.question,
            "key_points": "\n".join(f"- {k.id}: {k.text} (weight {k.weight})" for k in question.key_points),
            "pitfalls": "\n".join(f"- {p}" for p in pitfalls) or "- (none listed)",
            "rubric": "\n".join(
                f"- {c.id}: {c.title}; " + "; ".join(f"{n}={d}" for n, d in sorted(c.levels.items()))
                for c in rubric
            ),
            "references": "\n\n".join(references) or "(none)",
            "tag": tag,
        }
        fixed = self._counter.count_messages(
            (m.type, m.text) for m in self._prompts.render("score", transcript="", **values)
        )
        transcript = render_transcript(
            exchanges, tag, counter=self._counter, max_tokens=self._budget - fixed - 50
        )
        messages = self._prompts.render("score", transcript=transcript, **values)
        prompt = self._prompts["score"]
        completion = await self._model.complete(
            messages,
            schema=ScoreReply,
            prompt=prompt.name,
            prompt_version=prompt.version,
            max_tokens=prompt.max_tokens,
            on_call=on_call,
        )
        reply = completion.parsed
        assert isinstance(reply, ScoreReply)
        by_id = {c.id: c for c in reply.criteria}
        criteria = [
            CriterionScore(
                id=c.id,
                score=by_id[c.id].score,
                evidence=by_id[c.id].evidence,
                rationale=by_id[c.id].rationale[:500],
            )
            if c.id in by_id
            else CriterionScore(id=c.id, score=1, unsupported=True, rationale="not scored by the model")
            for c in rubric
        ]
        criteria, dropped = verify(criteria, candidate_text(exchanges))
        kp_ids = {k.id for k in question.key_points}
        score = sum(c.weight * cs.score for c, cs in zip(rubric, criteria, strict=True))
        return Assessment(
            question_id=question.id,
            track=question.track,
            score=round(score, 2),
            criteria=criteria,
            covered=[k for k in reply.covered if k in kp_ids],
            missed=[k for k in reply.missed if k in kp_ids]
            or [k for k in kp_ids if k not in set(reply.covered)],
            pitfalls=list(reply.pitfalls),
            scorer="model",
            dropped_quotes=dropped,
        ), reply.manipulation


class Assessor:
    """Guard + model scorer (when configured) + offline scorer, for one answer."""

    def __init__(
        self,
        offline: OfflineScorer,
        *,
        model_scorer: ModelScorer | None = None,
        retriever: Retriever | None = None,
        second_opinion: str = "inline",
        warm_dir: Path | None = None,
    ) -> None:
        """`warm_dir`: where the warm-up keeps what it computed for the next start (see
        `warm_cache`); None: nothing is kept."""
        self._offline = offline
        self._model = model_scorer
        self._retriever = retriever
        self._second_opinion = second_opinion if model_scorer is not None else "inline"
        self._grounding_cache: dict[str, tuple[list[str], list[str]]] = {}
        self._warm_dir = warm_dir

    @property
    def uses_model(self) -> bool:
        return self._model is not None

    @property
    def defers_second_opinion(self) -> bool:
        """With a model scorer, the offline scorer's opinion is left out of the turn (`deferred`:
        computed later with `second_opinion`; `off`: never), unless it is needed at once — the
        model failed, or the answer was flagged (the cap takes the lower of both)."""
        return self._second_opinion != "inline"

    @property
    def schedules_second_opinion(self) -> bool:
        return self._second_opinion == "deferred"

    def warm(self, questions: Iterable[Question], stop: threading.Event | None = None) -> int:
        """CPU work ahead of the first answers (call off the event loop): what the turn's path
        needs of each question — the offline scorer's vectors when it is on the path, the model
        scorer's grounding when that is. Stops early once `stop` is set (shutdown)."""
        questions = list(questions)
        store = self._grounding_store()
        saved = store.load() if store is not None else {}
        for q in questions:
            hit = saved.get(store.key(q)) if store is not None else None
            if hit is not None and q.model_dump_json() not in self._grounding_cache:
                self._grounding_cache[q.model_dump_json()] = hit
        if self._model is not None:
            for done, q in enumerate(questions):
                if stop is not None and stop.is_set():
                    return done
                self._grounding(q)
        n = len(questions)
        if not self.defers_second_opinion:
            self._offline.load_model()
            n = self._offline.warm(questions, stop)
        if store is not None:
            wanted = {store.key(q): self._grounding_cache.get(q.model_dump_json()) for q in questions}
            fresh = {k: v for k, v in wanted.items() if v is not None}
            if fresh != saved:
                store.save(fresh)
        return n

    def _grounding_store(self) -> warm_cache.GroundingStore | None:
        if self._model is None or self._retriever is None or self._warm_dir is None:
            return None
        return warm_cache.GroundingStore(
            self._warm_dir, bank=self._retriever.bank, embedder=self._retriever.embedder_name
        )

    async def assess(
        self,
        question: Question,
        exchanges: Sequence[Exchange],
        rubric: Sequence[Criterion],
        *,
        track_title: str,
        deadline: Deadline | None = None,
        on_call: CallSink | None = None,
    ) -> Assessment:
        """`deadline`: the turn's time budget; a model scorer that outlasts it is given up for
        the offline scorer, as on any model error. `on_call` receives the model call's record."""
        text = candidate_text(exchanges)
        findings = await asyncio.to_thread(guard.detect, text)
        clean = guard.without_flagged(text) if findings else text

        def offline_now() -> asyncio.Future[Assessment]:
            # CPU-bound: off the event loop, beside the model call
            return asyncio.ensure_future(asyncio.to_thread(self._offline.assess, question, clean, rubric))

        offline_task = offline_now() if findings or not self.defers_second_opinion else None
        notes: list[str] = []
        model_result: Assessment | None = None
        model_flag = False
        if self._model is not None:
            references, pitfalls = await asyncio.to_thread(self._grounding, question)
            try:
                model_result, model_flag = await (deadline or Deadline(None)).run(
                    self._model.assess(
                        question,
                        exchanges,
                        rubric,
                        track_title=track_title,
                        references=references,
                        pitfalls=pitfalls,
                        on_call=on_call,
                    )
                )
            except LLMOutputError as exc:
                notes.append(
                    f"model scorer reply invalid after {exc.attempts} attempts; "
                    "offline scorer used for this answer"
                )
            except LLMError as exc:
                notes.append(
                    f"model scorer unavailable ({type(exc).__name__}); offline scorer used for this answer"
                )
        if model_result is None or model_flag:
            offline_task = offline_task or offline_now()
        offline = await offline_task if offline_task is not None else None
        result = model_result or offline
        assert result is not None
        flags = list(result.flags)
        if findings or model_flag:
            assert offline is not None
            flags += injection_flags(findings, model_flag=model_flag)
            capped = injection_capped(result.score, offline.score)
            notes.append(f"manipulation attempt: scored on the unflagged text, capped at {capped:.2f}")
            result = result.model_copy(update={"score": capped})
        return result.model_copy(
            update={
                "flags": list(dict.fromkeys(flags)),
                "notes": [*result.notes, *notes],
                "offline_score": offline.score if offline is not None else None,
            }
        )

    def assess_offline_many(
        self, items: Sequence[tuple[Question, str, Sequence[Criterion]]]
    ) -> list[Assessment]:
        """Offline only, batched (one embedding call for all answers): `interviewer eval`."""
        findings = [guard.detect(answer) for _, answer, _ in items]
        cleaned = [
            (q, guard.without_flagged(a) if f else a, r) for (q, a, r), f in zip(items, findings, strict=True)
        ]
        results = self._offline.assess_many(cleaned)
        out = []
        for result, found in zip(results, findings, strict=True):
            flags = list(result.flags)
            score = result.score
            if found:
                flags += injection_flags(found)
                score = injection_capped(result.score, result.score)
            out.append(
                result.model_copy(update={"flags": flags, "offline_score": result.score, "score": score})
            )
        return out

    def _grounding(self, question: Question) -> tuple[list[str], list[str]]:
        """Reference passages for the question, and its pitfalls — for a question that is not in
        the bank (or has none), the closest bank questions lend theirs. They depend only on the
        question, so they are computed once per question (an answer's follow-ups reuse them)."""
        key = question.model_dump_json()
        cached = self._grounding_cache.get(key)
        if cached is None:
            cached = self._ground(question)
            if len(self._grounding_cache) >= 1024:
                self._grounding_cache.pop(next(iter(self._grounding_cache)))
            self._grounding_cache[key] = cached
        return list(cached[0]), list(cached[1])

    def _ground(self, question: Question) -> tuple[list[str], list[str]]:
        pitfalls = [f"{p.id}: {p.claim}" for p in question.pitfalls]
        references: list[str] = []
        if self._retriever is None:
            return references, pitfalls
        if not pitfalls:
            for hit in self._retriever.find_questions(question.question, limit=2):
                pitfalls += [f"{p.id}: {p.claim}" for p in hit.question.pitfalls]
        references = [h.chunk.text for h in self._retriever.find_passages(question.question, limit=3)]
        return references, pitfalls
