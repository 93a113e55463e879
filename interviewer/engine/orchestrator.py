"""The orchestrator: runs a session through its tracks, one candidate turn at a time.

    start(plan)          -> greeting and the first question
    answer(state, text)  -> classify the reply; for a real answer: assess it (guard, scorer),
                            then follow up, ask the next main question, or close the track;
                            after the last track, the report

At most two model calls per candidate turn (`turn_work.MAX_MODEL_CALLS_PER_TURN`): one to score,
one to phrase what comes next (a follow-up, the next question, a clarification, a track summary
or the final report). Everything a model phrases is checked before the candidate sees it
(`phrasing`, `messages.acceptable`), with the engine's own text as the fallback, so the candidate
never gets an empty, repeated or answer-leaking message whatever the model does. With no model
configured, everything said is the engine's own text: the bank's questions and follow-ups, the
fixed messages of `messages`, the offline report.

The steps of a turn are here; their parts live by job: which question comes next
(`selection`), model phrasing (`phrasing`), the turn in progress and its messages (`turn_work`),
how the interview ends (`ending`), what is said without a model (`messages`), a track's coding
exercise after its main questions (`exercise_step`: while one is open, every turn goes there; a
submission's run facts arrive as `answer(..., submission=...)`).
"""

from __future__ import annotations

import random
import threading
from collections import ChainMap
from collections.abc import Mapping
from dataclasses import dataclass, field

from interviewer.bank.loader import Bank
from interviewer.bank.retrieval import Retriever
from interviewer.domain import (
    Assessment,
    CallRecord,
    Exercise,
    Plan,
    Question,
    SubmissionFacts,
    TrackConfig,
    Turn,
    question_revision,
)
from interviewer.engine import guard, policy
from interviewer.engine import messages as msg
from interviewer.engine.classify import classify
from interviewer.engine.deadline import Deadline
from interviewer.engine.ending import end_interview
from interviewer.engine.exercise_step import ExerciseStep
from interviewer.engine.phrasing import Phraser
from interviewer.engine.prompts import PromptLibrary
from interviewer.engine.scoring import (
    Assessor,
    Exchange,
    candidate_text,
    render_transcript,
    skipped_assessment,
)
from interviewer.engine.second_opinion import SecondOpinionJob
from interviewer.engine.selection import choose_question
from interviewer.engine.state import ExchangeRecord, QuestionState, SessionState, TrackState, said_key
from interviewer.engine.turn_work import Listener, TurnWork
from interviewer.errors import Conflict, Invalid
from interviewer.llm.base import ChatModel
from interviewer.llm.tokens import TokenCounter

__all__ = [
    "MAX_CLARIFICATIONS",
    "MAX_NUDGES",
    "Listener",
    "Orchestrator",
    "SessionCompleted",
    "TurnResult",
    "UnknownPlan",
]

MAX_NUDGES = 2
MAX_CLARIFICATIONS = 2


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
    calls: list[CallRecord] = field(default_factory=list)
    """The records of the model calls made for this turn (failed ones included)."""


class Orchestrator:
    """Runs interviews over one bank. It keeps no session: each call gets the session's state and
    returns it (`TurnResult.state`) for the caller to store."""

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
        exercises: Mapping[str, Exercise] | None = None,
    ) -> None:
        self._counter = counter or TokenCounter()
        self._budget = budget
        self._turn_budget_s = turn_budget_s
        self._bank = bank
        self._retriever = retriever
        self._assessor = assessor
        self._model = model
        self._phraser = Phraser(model, prompts)
        self.exercises = ExerciseStep(
            exercises or {}, assessor=assessor, phraser=self._phraser, counter=self._counter
        )

    # --- public surface ------------------------------------------------------------------
    def warm_up(self, stop: threading.Event | None = None) -> int:
        """CPU-heavy preparation ahead of the first turns: the tokenizer, the guard's patterns
        (compiling them holds the GIL: done in a turn, it stalls the event loop and every reply
        streaming on it) and, when the offline scorer is on the turn's path, every bank
        question's vectors (run it in a thread at start-up)."""
        self._counter.count("warm-up")
        guard.detect("warm-up: compile and run the guard once")
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
        turn = TurnWork(state, questions=self._bank.questions)
        titles = ", ".join(configs[t].title.lower() for t in plan.tracks)
        turn.speak("greeting", msg.greeting(state.mode, titles), track=None)
        await self._ask_next(turn, first_in_track=True)
        return TurnResult(
            state=state, messages=turn.out, model_calls=turn.calls, asked=turn.asked, calls=turn.records
        )

    async def answer(
        self,
        state: SessionState,
        text: str,
        *,
        listener: Listener | None = None,
        pinned: Mapping[str, Question] | None = None,
        owned: bool = False,
        submission: SubmissionFacts | None = None,
        pinned_exercises: Mapping[str, Exercise] | None = None,
    ) -> TurnResult:
        """One candidate turn. With `listener`, model-phrased replies stream to it as they are
        generated (after the incremental checks of `messages.LiveRelease`); the returned
        messages are what counts. `pinned`: the revisions this session asked of questions the
        bank has changed or withdrawn since (`SessionState.stale_revisions` names them).
        `owned`: the caller hands `state` over (it parsed it for this turn and keeps no other
        reference), so it is worked on in place — mutated, and returned as `TurnResult.state` —
        instead of deep-copied first; without it, `state` is left as it was. `submission`: the
        facts of a run of the open coding exercise (`text` then says what was submitted).
        `pinned_exercises`: likewise the revisions of exercises it was given
        (`SessionState.stale_exercises`)."""
        if state.status == "completed":
            raise SessionCompleted("this interview has ended; see the report")
        turn = TurnWork(
            state if owned else state.model_copy(deep=True),
            listener=listener,
            questions=ChainMap(dict(pinned), self._bank.questions) if pinned else self._bank.questions,
            exercises=dict(pinned_exercises or {}),
            deadline=Deadline(self._turn_budget_s),
        )
        st = turn.state
        track, qs = st.track, st.question
        assert track is not None and qs is not None
        exercise = track.open_exercise
        if submission is not None and exercise is None:  # closed meanwhile (the candidate gave up)
            turn.say(Turn(role="candidate", kind="submission", content=text, track=track.track))
            turn.speak("nudge", msg.EXERCISE_CLOSED)
            return self._result(turn)
        if exercise is not None:
            config = st.config(track.track, self._bank)
            if await self.exercises.answer(turn, track, exercise, text, config, submission=submission):
                await self._next_exercise_or_close(turn, track, config)
            return self._result(turn)
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
        return self._result(turn)

    def _result(self, turn: TurnWork) -> TurnResult:
        turn.state.model_calls += turn.calls
        return TurnResult(
            state=turn.state,
            messages=turn.out,
            assessment=turn.assessment,
            model_calls=turn.calls,
            second_opinion=turn.second_opinion,
            asked=turn.asked,
            calls=turn.records,
        )

    # --- steps ---------------------------------------------------------------------------
    async def _assess_and_continue(
        self,
        turn: TurnWork,
        track: TrackState,
        qs: QuestionState,
        question: Question,
        *,
        skipped: bool = False,
    ) -> None:
        config = turn.state.config(track.track, self._bank)
        answered = [e for e in qs.exchanges if e.answer.strip()]
        if skipped and qs.skipped:
            assessment = skipped_assessment(question, config.rubric)
        else:
            exchanges = [Exchange(e.prompt, e.answer) for e in answered]
            assessment = await self._assessor.assess(
                question,
                exchanges,
                config.rubric,
                track_title=config.title,
                deadline=turn.deadline,
                on_call=turn.record,
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
                text = await self._phraser.phrase(
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
                turn.speak("follow_up", text, question_id=question.id, key_point=kp)
            case policy.NextQuestion(difficulty=level):
                self._feedback(turn, question, assessment)
                track.difficulty = level
                await self._ask_next(turn, first_in_track=False)
            case policy.CloseTrack():
                self._feedback(turn, question, assessment)
                await self._next_exercise_or_close(turn, track, config)

    async def _next_exercise_or_close(self, turn: TurnWork, track: TrackState, config: TrackConfig) -> None:
        """After the main questions (and after each exercise): the track's next coding exercise
        if it has one to give, else the track closes."""
        exercise = self.exercises.to_give(turn.state, track, config)
        if exercise is not None:
            self.exercises.present(turn, track, exercise, config)
        else:
            await self._close_track(turn, track, config)

    async def _ask_next(self, turn: TurnWork, *, first_in_track: bool) -> None:
        st = turn.state
        track = st.track
        assert track is not None
        config = st.config(track.track, self._bank)
        question = choose_question(
            self._retriever, state=st, track=track, config=config, questions=turn.questions
        )
        fallback = msg.ask_offline(
            question, len(st.turns), first_in_track=first_in_track, track_title=config.title.lower()
        )
        text = fallback
        if not first_in_track:
            previous = "the candidate finished answering the previous question"
            text = await self._phraser.phrase(
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
        turn.speak("question", text, question_id=question.id)

    async def _close_track(self, turn: TurnWork, track: TrackState, config: TrackConfig) -> None:
        st = turn.state
        track.done = True
        if st.current == len(st.tracks) - 1:
            await end_interview(turn, bank=self._bank, phraser=self._phraser)
            return
        scores = [q.assessment.score for q in track.questions if q.assessment]
        notes = f"{len(scores)} questions answered"
        text = await self._phraser.phrase(
            turn,
            "track_summary",
            None,
            fallback=msg.track_done(config.title),
            values={"track_title": config.title, "notes": notes},
        )
        turn.speak("summary", text)
        st.current += 1
        await self._ask_next(turn, first_in_track=True)

    async def _clarify(self, turn: TurnWork, qs: QuestionState, question: Question, text: str) -> None:
        fallback = msg.clarify_offline(question, qs.clarifications)
        tag = guard.new_tag()
        reply = await self._phraser.phrase(
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
        turn.speak("clarification", reply, question_id=question.id)

    def _nudge(self, turn: TurnWork, qs: QuestionState, question: Question, kind: str) -> None:
        text = msg.nudge(kind, qs.nudges, question.question)
        if said_key(text) in turn.state.interviewer_texts():
            text = msg.nudge(kind, qs.nudges + 1, question.question)
        qs.nudges += 1
        turn.speak("nudge", text, question_id=question.id)

    def _feedback(self, turn: TurnWork, question: Question, assessment: Assessment) -> None:
        """Practice mode: immediate feedback after each main question (now it may be said)."""
        if turn.state.mode == "practice":
            feedback = msg.practice_feedback(question, assessment, articles=self._bank.articles)
            turn.speak("feedback", feedback, question_id=question.id)
