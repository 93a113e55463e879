"""The orchestrator: runs a session through its tracks, one candidate turn at a time.

    start(plan)          -> greeting and the first question
    answer(state, text)  -> classify the reply; for a real answer: assess it (guard, scorer),
                            then follow up, ask the next main question, or close the track;
                            after the last track, the report

At most two model calls per candidate turn: one to score, one to phrase what comes next (a
follow-up, the next question, a clarification, a track summary or the final report). Everything
a model phrases is checked before the candidate sees it (`messages.acceptable`), with the bank's
own text as the fallback, so the candidate never gets an empty, repeated or answer-leaking
message whatever the model does. With no model configured, everything comes from the bank.
"""

from __future__ import annotations

import random
import threading
from collections import ChainMap
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from langchain_core.messages import BaseMessage

from interviewer.bank.loader import Bank
from interviewer.bank.retrieval import Retriever
from interviewer.domain import (
    Assessment,
    CriterionScore,
    Plan,
    Question,
    TrackConfig,
    Turn,
    question_revision,
)
from interviewer.engine import guard, policy
from interviewer.engine import messages as msg
from interviewer.engine.classify import classify
from interviewer.engine.deadline import Deadline
from interviewer.engine.prompts import Prompt, PromptLibrary
from interviewer.engine.report import build_report, results_text
from interviewer.engine.scoring import Assessor, Exchange, candidate_text, render_transcript
from interviewer.engine.second_opinion import SecondOpinionJob
from interviewer.engine.state import (
    ExchangeRecord,
    QuestionState,
    SessionState,
    TrackState,
    said_key,
)
from interviewer.errors import Conflict, EngineError, Invalid
from interviewer.llm.base import ChatModel, strip_reasoning
from interviewer.llm.errors import LLMError
from interviewer.llm.tokens import TokenCounter

MAX_MODEL_CALLS_PER_TURN = 2
MAX_NUDGES = 2
MAX_CLARIFICATIONS = 2

Listener = Callable[[int, str], Awaitable[None]]
"""Receives a model-phrased message while it streams: (its index in the turn's messages — the
candidate's answer is 0 —, the newly released text)."""


class UnknownPlan(Invalid):
    """No interview plan of that id."""


class SessionCompleted(Conflict):
    """An answer to an interview that has ended."""


@dataclass
class TurnResult:
    state: SessionState
    messages: list[Turn]
    assessment: Assessment | None = None
    model_calls: int = 0
    second_opinion: SecondOpinionJob | None = None
    """With a model and a deferred second opinion: what the offline scorer needs to score this
    turn's answer; the caller runs it after the reply (engine/second_opinion.py)."""
    asked: list[Question] = field(default_factory=list)
    """The main questions first asked in this turn, as asked: the caller keeps each revision
    (`QuestionState.revision`) so that the session can go on with it whatever HR edits."""


@dataclass
class _Turn:
    """Per-turn scratch: what was said and how many model calls were spent."""

    state: SessionState
    out: list[Turn] = field(default_factory=list)
    calls: int = 0
    assessment: Assessment | None = None
    listener: Listener | None = None
    second_opinion: SecondOpinionJob | None = None
    questions: Mapping[str, Question] = field(default_factory=dict)
    """The bank's questions as this session sees them: the revisions it asked win (by id)."""
    asked: list[Question] = field(default_factory=list)
    deadline: Deadline | None = None
    """The turn's time budget: model calls run within what is left of it (engine/deadline.py)."""

    def say(self, turn: Turn) -> None:
        self.state.turns.append(turn)
        self.out.append(turn)


class Orchestrator:
    def __init__(
        self,
        *,
        bank: Bank,
        retriever: Retriever,
        assessor: Assessor,
        prompts: PromptLibrary,
        model: ChatModel | None = None,
        counter: TokenCounter | None = None,
        budget: int = 4000,
        turn_budget_s: float | None = None,
    ) -> None:
        self._counter = counter or TokenCounter()
        self._budget = budget
        self._turn_budget_s = turn_budget_s
        self._bank = bank
        self._retriever = retriever
        self._assessor = assessor
        self._prompts = prompts
        self._model = model

    # --- public surface ------------------------------------------------------------------
    def warm_up(self, stop: threading.Event | None = None) -> int:
        """CPU-heavy preparation ahead of the first turns: the tokenizer and, when the offline
        scorer is on the turn's path, every bank question's vectors (run it in a thread at
        start-up)."""
        self._counter.count("warm-up")
        warm_model = getattr(self._model, "warm", None)
        if callable(warm_model):
            warm_model()
        return self._assessor.warm(list(self._bank.questions.values()), stop)

    def plan(self, plan_id: str | None) -> Plan:
        plan_id = plan_id or "full"
        plan = self._bank.plans.get(plan_id)
        if plan is None:
            raise UnknownPlan(f"no interview plan {plan_id!r}; known: {', '.join(sorted(self._bank.plans))}")
        return plan

    async def start(
        self,
        plan_id: str | None = None,
        *,
        seed: int | None = None,
        mode: str | None = None,
        show_report: bool = True,
    ) -> TurnResult:
        plan = self.plan(plan_id)
        configs = {t: self._bank.tracks[t] for t in plan.tracks}
        state = SessionState(
            plan_id=plan.id,
            plan_title=plan.title,
            mode=mode or plan.mode,
            show_report=show_report,
            seed=seed if seed is not None else random.SystemRandom().randrange(2**31),
            tracks=[TrackState(track=t, difficulty=configs[t].difficulty.start) for t in plan.tracks],
            track_configs=configs,
        )
        turn = _Turn(state, questions=self._bank.questions)
        titles = ", ".join(configs[t].title.lower() for t in plan.tracks)
        turn.say(Turn(role="interviewer", kind="greeting", content=msg.greeting(state.mode, titles)))
        await self._ask_next(turn, first_in_track=True)
        return TurnResult(state=state, messages=turn.out, model_calls=turn.calls, asked=turn.asked)

    async def answer(
        self,
        state: SessionState,
        text: str,
        *,
        listener: Listener | None = None,
        pinned: Mapping[str, Question] | None = None,
        owned: bool = False,
    ) -> TurnResult:
        """One candidate turn. With `listener`, model-phrased replies stream to it as they are
        generated (after the incremental checks of `messages.LiveRelease`); the returned
        messages are what counts. `pinned`: the revisions this session asked of questions the
        bank has changed or withdrawn since (`SessionState.stale_revisions` names them).
        `owned`: the caller hands `state` over (it parsed it for this turn and keeps no other
        reference), so it is worked on in place instead of deep-copied first."""
        if state.status == "completed":
            raise SessionCompleted("this interview has ended; see the report")
        turn = _Turn(
            state if owned else state.model_copy(deep=True),
            listener=listener,
            questions=ChainMap(dict(pinned), self._bank.questions) if pinned else self._bank.questions,
            deadline=Deadline(self._turn_budget_s),
        )
        st = turn.state
        track, qs = st.track, st.question
        assert track is not None and qs is not None
        question = turn.questions[qs.question_id]
        turn.say(
            Turn(role="candidate", kind="answer", content=text, track=track.track, question_id=qs.question_id)
        )
        kind = classify(text, qs.prompt)
        if kind == "clarify" and qs.clarifications < MAX_CLARIFICATIONS:
            await self._clarify(turn, qs, question, text)
        elif kind in ("empty", "gibberish", "repeat", "thinking", "too_short") and qs.nudges < MAX_NUDGES:
            self._nudge(turn, qs, question, kind)
        elif kind == "skip" or (kind != "answer" and kind != "too_short" and not qs.exchanges):
            qs.skipped = not qs.exchanges
            qs.exchanges.append(ExchangeRecord(prompt=qs.prompt, answer=text))
            await self._assess_and_continue(turn, track, qs, question, skipped=True)
        else:
            qs.exchanges.append(ExchangeRecord(prompt=qs.prompt, answer=text))
            await self._assess_and_continue(turn, track, qs, question)
        st.model_calls += turn.calls
        return TurnResult(
            state=st,
            messages=turn.out,
            assessment=turn.assessment,
            model_calls=turn.calls,
            second_opinion=turn.second_opinion,
            asked=turn.asked,
        )

    # --- steps ---------------------------------------------------------------------------
    async def _assess_and_continue(
        self, turn: _Turn, track: TrackState, qs: QuestionState, question: Question, *, skipped: bool = False
    ) -> None:
        config = turn.state.config(track.track, self._bank)
        answered = [e for e in qs.exchanges if e.answer.strip()]
        if skipped and qs.skipped:
            assessment = _skipped(question, config)
        else:
            exchanges = [Exchange(e.prompt, e.answer) for e in answered]
            assessment = await self._assessor.assess(
                question, exchanges, config.rubric, track_title=config.title, deadline=turn.deadline
            )
            turn.calls += 1 if self._assessor.uses_model else 0
            if assessment.offline_score is None and self._assessor.schedules_second_opinion:
                turn.second_opinion = SecondOpinionJob(
                    question, candidate_text(exchanges), tuple(config.rubric)
                )
        qs.assessment = assessment
        turn.assessment = assessment
        decision = policy.decide(
            config,
            question=question,
            assessment=assessment,
            follow_ups_asked=qs.follow_ups,
            questions_asked=len(track.questions),
            difficulty=qs.difficulty,
            skipped=skipped,
        )
        match decision:
            case policy.FollowUp(key_point=kp, seed=seed):
                tag = guard.new_tag()
                transcript = render_transcript(
                    [Exchange(e.prompt, e.answer) for e in qs.exchanges],
                    tag,
                    counter=self._counter,
                    max_tokens=self._budget // 2,
                )
                text = await self._phrase(
                    turn,
                    "follow_up",
                    question,
                    fallback=seed,
                    values={
                        "question": question.question.strip(),
                        "seed": seed,
                        "transcript": transcript,
                        "tag": tag,
                    },
                )
                qs.follow_ups.append(kp)
                qs.prompt = text
                turn.say(
                    Turn(
                        role="interviewer",
                        kind="follow_up",
                        content=text,
                        track=track.track,
                        question_id=question.id,
                        key_point=kp,
                    )
                )
            case policy.NextQuestion(difficulty=level):
                self._feedback(turn, track, question, assessment)
                track.difficulty = level
                await self._ask_next(turn, first_in_track=False)
            case policy.CloseTrack():
                self._feedback(turn, track, question, assessment)
                await self._close_track(turn, track, config)

    async def _ask_next(self, turn: _Turn, *, first_in_track: bool) -> None:
        st = turn.state
        track = st.track
        assert track is not None
        config = st.config(track.track, self._bank)
        question = self._choose(turn, track, config)
        fallback = msg.ask_offline(
            question, len(st.turns), first_in_track=first_in_track, track_title=config.title.lower()
        )
        text = fallback
        if not first_in_track:
            previous = "the candidate finished answering the previous question"
            text = await self._phrase(
                turn,
                "ask",
                question,
                fallback=fallback,
                values={
                    "track_title": config.title,
                    "question": question.question.strip(),
                    "previous": previous,
                },
            )
        track.questions.append(
            QuestionState(
                question_id=question.id,
                difficulty=question.difficulty,
                prompt=text,
                revision=question_revision(question),
            )
        )
        turn.asked.append(question)
        turn.say(
            Turn(
                role="interviewer", kind="question", content=text, track=track.track, question_id=question.id
            )
        )

    def _choose(self, turn: _Turn, track: TrackState, config: TrackConfig) -> Question:
        """Next main question: the track's topics and the target difficulty (nearest level if
        that one is exhausted), never a question or a topic already asked in this session."""
        st = turn.state
        asked = {q.question_id for t in st.tracks for q in t.questions}
        seen = (turn.questions.get(q) for q in asked)
        topics_seen = {q.topic for q in seen if q is not None}
        rng = random.Random(st.seed * 1009 + len(asked))
        for spread in (0, 1, 2):
            for level in sorted({track.difficulty - spread, track.difficulty + spread}):
                if not config.difficulty.min <= level <= config.difficulty.max:
                    continue
                hits = self._retriever.find_questions(
                    track=track.track,
                    topics=set(config.topics) or None,
                    difficulty=level,
                    exclude=asked,
                    limit=1000,
                )
                fresh = [h.question for h in hits if h.question.topic not in topics_seen]
                if fresh:
                    return rng.choice(fresh)
        hits = self._retriever.find_questions(track=track.track, exclude=asked, limit=1000)
        if not hits:
            raise EngineError(f"the {track.track} bank has no unasked question left")
        return rng.choice([h.question for h in hits])

    async def _close_track(self, turn: _Turn, track: TrackState, config: TrackConfig) -> None:
        st = turn.state
        track.done = True
        last = st.current == len(st.tracks) - 1
        if not last:
            scores = [q.assessment.score for q in track.questions if q.assessment]
            notes = f"{len(scores)} questions answered"
            fallback = (
                f"That's the end of the {config.title.lower()} part — thank you. "
                "Let's move on to the next part."
            )
            text = await self._phrase(
                turn,
                "track_summary",
                None,
                fallback=fallback,
                values={"track_title": config.title, "notes": notes},
            )
            turn.say(Turn(role="interviewer", kind="summary", content=text, track=track.track))
            st.current += 1
            await self._ask_next(turn, first_in_track=True)
            return
        st.status = "completed"
        report = build_report(st, self._bank, questions=turn.questions)
        if st.mode != "practice" or not st.show_report:  # the results are not said in the interview
            st.report = report
            turn.say(
                Turn(
                    role="interviewer",
                    kind="report",
                    content=msg.closing_without_results(show_report=st.show_report),
                )
            )
            return
        narrative = report.narrative
        lead = msg.results_lead(report.score)
        if self._model is not None and turn.calls < MAX_MODEL_CALLS_PER_TURN:
            plan = self._bank.plans[st.plan_id]
            narrative = await self._phrase(
                turn,
                "final_report",
                None,
                fallback=narrative,
                values={"plan_title": plan.title, "results": results_text(report.tracks)},
                lead=lead,
            )
        st.report = report.model_copy(update={"narrative": narrative})
        turn.say(Turn(role="interviewer", kind="report", content=lead + narrative))

    async def _clarify(self, turn: _Turn, qs: QuestionState, question: Question, text: str) -> None:
        fallback = msg.clarify_offline(question, qs.clarifications)
        tag = guard.new_tag()
        reply = await self._phrase(
            turn,
            "clarify",
            question,
            fallback=fallback,
            values={
                "question": qs.prompt,
                "candidate_text": guard.wrap(self._counter.truncate(text, 500), tag),
                "tag": tag,
            },
        )
        qs.clarifications += 1
        turn.say(
            Turn(
                role="interviewer",
                kind="clarification",
                content=reply,
                track=turn.state.track.track if turn.state.track else None,
                question_id=question.id,
            )
        )

    def _nudge(self, turn: _Turn, qs: QuestionState, question: Question, kind: str) -> None:
        text = msg.nudge(kind, qs.nudges, question.question)
        if said_key(text) in turn.state.interviewer_texts():
            text = msg.nudge(kind, qs.nudges + 1, question.question)
        qs.nudges += 1
        turn.say(
            Turn(
                role="interviewer",
                kind="nudge",
                content=text,
                question_id=question.id,
                track=turn.state.track.track if turn.state.track else None,
            )
        )

    def _feedback(self, turn: _Turn, track: TrackState, question: Question, assessment: Assessment) -> None:
        """Practice mode: immediate feedback after each main question (now it may be said)."""
        if turn.state.mode != "practice":
            return
        covered = [kp for kp in question.key_points if kp.id in assessment.covered]
        missed = policy.worth_adding(question, assessment)
        parts = ["Quick feedback on that one."]
        if covered:
            parts.append("Strong: " + "; ".join(kp.text.strip().rstrip(".") for kp in covered[:2]) + ".")
        if missed:
            parts.append("Worth adding: " + "; ".join(kp.text.strip().rstrip(".") for kp in missed) + ".")
        parts += policy.corrections(question, assessment)
        if question.references:
            titles = [self._bank.articles[r].title for r in question.references if r in self._bank.articles]
            parts.append("To study: " + "; ".join(f"the reference article “{t}”" for t in titles) + ".")
        turn.say(
            Turn(
                role="interviewer",
                kind="feedback",
                content="\n".join(parts),
                track=track.track,
                question_id=question.id,
            )
        )

    async def _phrase(
        self,
        turn: _Turn,
        prompt_name: str,
        question: Question | None,
        *,
        fallback: str,
        values: dict[str, str],
        lead: str = "",
    ) -> str:
        """Model-phrased text if a model is configured, the turn's call budget allows, and the
        text passes the checks; otherwise `fallback`. With a listener on the turn the model's
        reply streams to it (`lead` first) as it is generated; it is then the next message said."""
        if self._model is None or turn.calls >= MAX_MODEL_CALLS_PER_TURN:
            return fallback
        prompt = self._prompts[prompt_name]
        messages = self._prompts.render(prompt_name, **values)
        turn.calls += 1
        release = msg.LiveRelease(question, report=prompt_name == "final_report")
        deadline = turn.deadline or Deadline(None)
        try:
            if turn.listener is None:
                completion = await deadline.run(
                    self._model.complete(
                        messages,
                        prompt=prompt.name,
                        prompt_version=prompt.version,
                        max_tokens=prompt.max_tokens,
                    )
                )
                text = completion.text.strip()
            else:
                text = await deadline.run(self._stream(turn, messages, prompt, release, lead))
        except LLMError:
            return fallback
        ok = msg.acceptable(
            text,
            question=question,
            already_said=turn.state.interviewer_texts(),
            report=prompt_name == "final_report",
        )
        if ok and turn.listener is not None and (rest := release.rest(text)):
            await turn.listener(len(turn.out), rest)  # a last word that waited for the checks
        return text if ok else fallback

    async def _stream(
        self,
        turn: _Turn,
        messages: Sequence[BaseMessage],
        prompt: Prompt,
        release: msg.LiveRelease,
        lead: str,
    ) -> str:
        assert self._model is not None and turn.listener is not None
        index = len(turn.out)  # this reply will be the turn's next message
        if lead:
            await turn.listener(index, lead)
        parts: list[str] = []
        async for piece in self._model.stream(
            messages, prompt=prompt.name, prompt_version=prompt.version, max_tokens=prompt.max_tokens
        ):
            parts.append(piece)
            shown = release.feed("".join(parts))
            if shown:
                await turn.listener(index, shown)
        return strip_reasoning("".join(parts)).strip()  # a block whose opening tag the server sent


def _skipped(question: Question, config: TrackConfig) -> Assessment:
    return Assessment(
        question_id=question.id,
        track=question.track,
        score=1.0,
        criteria=[
            CriterionScore(id=c.id, score=1.0, unsupported=True, rationale="no answer given")
            for c in config.rubric
        ],
        missed=[kp.id for kp in question.key_points],
        notes=["skipped: no answer given"],
    )
