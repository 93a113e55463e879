"""The coding exercise of a track: given after the main questions when the track asks for one
(`TrackConfig.exercises`), then a submission, one follow-up grounded in its run, and the score.

    present   -> an interviewer turn of kind "exercise" whose content is the statement
    submit    -> the run's facts (`SubmissionFacts`, read by the service off the sandbox's result)
                 -> a follow-up about what happened: the first failing case, the timeout, or,
                 when everything passed, complexity and trade-offs (model-phrased when a model is
                 configured, from the exercise's follow-ups otherwise)
    submit    -> instead of answering, the candidate may fix the code and submit again (up to
                 MAX_SUBMISSIONS in all): a new follow-up, grounded in the new run
    answer    -> the candidate's words on the last follow-up are scored with the LAST submission:
                 hidden tests passed (0.5), complexity (0.2: the time-limited large inputs),
                 code quality (0.1: ruff's findings) and the discussion against the exercise's
                 key points (0.2)

A plain answer while no code was submitted gets a nudge toward the editor; saying they give up
(or a third plain answer) closes the exercise with the floor score, so a client without an
editor is never stuck. The engine runs no code: the facts come from the caller.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping

from interviewer.domain import (
    Assessment,
    CriterionScore,
    Exercise,
    FollowUp,
    Question,
    SubmissionFacts,
    TrackConfig,
    Turn,
)
from interviewer.engine import guard
from interviewer.engine.classify import classify
from interviewer.engine.phrasing import Phraser
from interviewer.engine.scoring import Assessor, Exchange
from interviewer.engine.state import ExchangeRecord, ExerciseState, SessionState, TrackState
from interviewer.engine.turn_work import TurnWork
from interviewer.llm.tokens import TokenCounter

WEIGHTS = {"tests": 0.5, "complexity": 0.2, "quality": 0.1, "discussion": 0.2}
"""The parts of an exercise's score; a part that could not be measured is left out and the
others are scaled up (`combined`)."""
MAX_SUBMISSIONS = 3
"""Submissions of one exercise: a fix after the follow-up, then one more (each run shows the
hidden tests' results, so the number is kept small)."""
MAX_EXERCISE_NUDGES = 2
FINDING_COST = 0.25
"""Code quality loses this much per ruff finding (four findings or more: 0)."""
MIN_TIMED_MS = 10.0
"""Under this, the largest input's time is too small to read a growth from."""
EDITOR_NUDGES = [
    'Please write your solution in the code editor: "Run examples" checks it against the visible '
    'tests, and "Submit" runs all the tests. If you\'d rather skip this exercise, just say so.',
    "The exercise is answered with code: use the editor and press Submit when you're ready. "
    "Tell me if you want to skip it.",
]


class ExerciseStep:
    def __init__(
        self,
        exercises: Mapping[str, Exercise],
        *,
        assessor: Assessor,
        phraser: Phraser,
        counter: TokenCounter,
    ) -> None:
        self._exercises = exercises  # live: HR's edits reach the next interview
        self._assessor = assessor
        self._phraser = phraser
        self._counter = counter

    def get(self, exercise_id: str) -> Exercise | None:
        return self._exercises.get(exercise_id)

    def to_give(self, state: SessionState, track: TrackState, config: TrackConfig) -> Exercise | None:
        """The next exercise of this track, if it asks for more than it has given: one of the
        track's exercises not given in this session, nearest the track's difficulty, picked by
        the session's seed (like questions: never repeated)."""
        if config.exercises <= len(track.exercises):
            return None
        given = {e.exercise_id for t in state.tracks for e in t.exercises}
        fresh = [e for e in self._exercises.values() if e.track == track.track and e.id not in given]
        if not fresh:
            return None
        best = min(abs(e.difficulty - track.difficulty) for e in fresh)
        near = sorted((e for e in fresh if abs(e.difficulty - track.difficulty) == best), key=lambda e: e.id)
        return random.Random(state.seed + len(given)).choice(near)

    def present(self, turn: TurnWork, track: TrackState, exercise: Exercise, config: TrackConfig) -> None:
        text = (
            f"Now a coding exercise: {exercise.title}. You have about {config.exercise_minutes} minutes.\n\n"
            f"{exercise.statement}"
        )
        track.exercises.append(
            ExerciseState(
                exercise_id=exercise.id, title=exercise.title, prompt=text, revision=exercise.revision
            )
        )
        turn.speak("exercise", text)

    async def answer(
        self,
        turn: TurnWork,
        track: TrackState,
        state: ExerciseState,
        text: str,
        config: TrackConfig,
        *,
        submission: SubmissionFacts | None = None,
    ) -> bool:
        """One candidate turn while the exercise is open; True when it closed (the caller goes
        on with the track)."""
        exercise = turn.exercises.get(state.exercise_id) or self._exercises[state.exercise_id]  # as given
        if submission is not None:
            turn.say(Turn(role="candidate", kind="submission", content=text, track=track.track))
            await self._follow_up(turn, state, exercise, submission)
            return False
        turn.say(Turn(role="candidate", kind="answer", content=text, track=track.track))
        if not state.submitted:
            if classify(text, state.prompt) == "skip" or state.nudges >= MAX_EXERCISE_NUDGES:
                self._close(turn, state, given_up(exercise, track, config))
                return True
            turn.speak("nudge", EDITOR_NUDGES[state.nudges % len(EDITOR_NUDGES)])
            state.nudges += 1
            return False
        state.discussion.append(ExchangeRecord(prompt=state.prompt, answer=text))
        discussion = await self._assessor.assess(
            as_question(exercise),
            [Exchange(e.prompt, e.answer) for e in state.discussion],
            config.rubric,
            track_title=config.title,
            deadline=turn.deadline,
            on_call=turn.record,
        )
        turn.calls += 1 if self._assessor.uses_model else 0
        self._close(
            turn,
            state,
            combined(exercise, state.submissions[-1], discussion, submissions=len(state.submissions)),
        )
        return True

    def _close(self, turn: TurnWork, state: ExerciseState, assessment: Assessment) -> None:
        state.assessment = assessment
        state.closed = True
        turn.assessment = assessment

    async def _follow_up(
        self, turn: TurnWork, state: ExerciseState, exercise: Exercise, facts: SubmissionFacts
    ) -> None:
        state.submissions.append(facts.model_copy(update={"code": ""}))  # the run row keeps the code
        resubmit = len(state.submissions) < MAX_SUBMISSIONS and not facts.all_passed
        fallback = offline_follow_up(exercise, facts, can_resubmit=resubmit)
        tag = guard.new_tag()
        text = await self._phraser.phrase(
            turn,
            "exercise_follow_up",
            None,
            fallback=fallback,
            values={
                "question": exercise.statement,
                "results": describe(facts)
                + (
                    f"\n- they may fix the code and submit again (up to {MAX_SUBMISSIONS} submissions)"
                    if resubmit
                    else ""
                ),
                "seed": fallback,
                "candidate_text": guard.wrap(self._counter.truncate(facts.code, 1500), tag),
                "tag": tag,
            },
        )
        state.prompt = text
        turn.speak("follow_up", text)


def describe(facts: SubmissionFacts) -> str:
    """The run's facts in words, for the model's prompt and the review."""
    lines = [f"- hidden and visible tests passed: {facts.passed} of {facts.total}"]
    if facts.first_failure:
        lines.append(f"- first failing test: {facts.first_failure}: {facts.first_message[:200]}")
    if facts.failures:
        lines.append(f"- kinds of failure: {', '.join(facts.failures)}")
    if facts.timed_out:
        lines.append("- a test ran over its time limit (too slow on a large input)")
    if facts.crash:
        lines.append(f"- the run ended early: {facts.crash[:200]}")
    if facts.findings:
        lines.append(f"- ruff's findings on the code: {'; '.join(facts.findings[:5])}")
    if facts.timings:
        curve = ", ".join(f"n={n}: {ms:.1f} ms" for n, ms in facts.timings)
        lines.append(f"- timing on growing inputs: {curve}")
        if (k := growth(facts)) is not None:
            lines.append(f"- time grows like n^{k:.1f} between the two largest inputs")
    return "\n".join(lines)


RESUBMIT = " If you'd rather fix it, change the code and submit again."


def offline_follow_up(exercise: Exercise, facts: SubmissionFacts, *, can_resubmit: bool = False) -> str:
    """The follow-up without a model: what happened, then the exercise's question for it (and,
    when the run failed and a submission is left, that a fix may be submitted instead)."""
    text = _offline_follow_up(exercise, facts)
    return text + RESUBMIT if can_resubmit and not facts.all_passed else text


def _offline_follow_up(exercise: Exercise, facts: SubmissionFacts) -> str:
    if facts.crash and facts.passed == 0:
        return f"Your code did not run through: {facts.crash[:160]} What do you think went wrong?"
    if facts.all_passed:
        lead = "All the tests pass."
        if facts.timings:
            n, ms = facts.timings[-1]
            lead += f" At n={n} it took {ms:.0f} ms."
        ask = "What are the time and space complexity of your solution, and what trade-off did you make?"
        if facts.findings:  # the first thing the linter saw, as a second, smaller question
            ask += f" And ruff reports {facts.findings[0]} — would you change that?"
        return f"{lead} {ask}"
    seed = next((f for k in facts.failures if (f := exercise.follow_up(k)) is not None), None)
    if facts.timed_out and "timeout" in facts.failures[:1]:
        lead = "It ran over the time limit on the large input — what is its complexity?"
        return f"{lead} {seed.text}" if seed is not None and seed.failure == "timeout" else lead
    lead = f"Your solution fails the test {facts.first_failure}" if facts.first_failure else "Some tests fail"
    if facts.first_message:
        lead += f" ({facts.first_message.strip().splitlines()[0][:120]})"
    return f"{lead}. {seed.text if seed is not None else 'Walk me through that case.'}"


def as_question(exercise: Exercise) -> Question:
    """The exercise as a question to score the discussion against its key points (built without
    validation: an exercise may have fewer key points than a bank question must)."""
    return Question.model_construct(
        id=f"exercise-{exercise.id}",
        track=exercise.track,
        topic=exercise.topic,
        difficulty=exercise.difficulty,
        question=exercise.statement,
        key_points=list(exercise.key_points),
        follow_ups=[FollowUp(key_point=exercise.key_points[0].id, text=f.text) for f in exercise.follow_ups],
        pitfalls=[],
        model_answer=exercise.solution,
        references=[],
    )


def growth(facts: SubmissionFacts) -> float | None:
    """How the run's time grows with n, as the exponent k of n^k between the two largest inputs
    of its timing curve; None when there is no curve or its largest time is too small to read."""
    points = sorted(facts.timings)
    if len(points) < 2:
        return None
    (n1, t1), (n2, t2) = points[-2], points[-1]
    if n2 <= n1 or t2 < MIN_TIMED_MS or t1 <= 0:
        return None
    return math.log(t2 / t1) / math.log(n2 / n1)


def complexity_met(facts: SubmissionFacts) -> float:
    """0 when a test ran over its time limit (each exercise's large inputs carry a limit an
    O(n log n) solution meets with a wide margin and an O(n²) one cannot); else 1 when every test
    passed and ½ otherwise (wrong, but not shown to be slow).

    The timing curve's growth (`growth`) is shown to the evaluator and given to the follow-up,
    but not scored: one run's timings on this machine are too noisy — the bank's own reference
    solutions, all O(n log n) or better, measure growth exponents up to 1.6, and a quadratic
    starter 1.6 too (tests/test_exercise_step.py keeps that decision visible)."""
    if facts.timed_out:
        return 0.0
    return 1.0 if facts.all_passed else 0.5


def code_quality(facts: SubmissionFacts) -> float | None:
    """1 with no ruff finding, FINDING_COST less per finding, at least 0; None when unread."""
    if facts.findings is None:
        return None
    return max(0.0, 1.0 - FINDING_COST * len(facts.findings))


def combined(
    exercise: Exercise, facts: SubmissionFacts, discussion: Assessment, *, submissions: int = 1
) -> Assessment:
    """The exercise's score from its last submission and the discussion: each part in [0, 1],
    weighted by WEIGHTS (a part not measured is left out), mapped onto 1..5."""
    parts: dict[str, float | None] = {
        "tests": facts.passed / facts.total if facts.total else 0.0,
        "complexity": complexity_met(facts),
        "quality": code_quality(facts),
        "discussion": (discussion.score - 1) / 4,
    }
    measured = {k: v for k, v in parts.items() if v is not None}
    weight = sum(WEIGHTS[k] for k in measured)
    score = 1 + 4 * sum(WEIGHTS[k] * v for k, v in measured.items()) / weight
    k = growth(facts)
    notes = [
        f"exercise: {facts.passed}/{facts.total} tests passed in the last of {submissions} "
        f"submission{'s' if submissions != 1 else ''} (weight {WEIGHTS['tests']})",
        f"exercise: complexity met {parts['complexity']:g}"
        + (" (a test ran over its time limit)" if facts.timed_out else "")
        + (f" (time grows like n^{k:.1f}; shown, not scored)" if k is not None else "")
        + f" (weight {WEIGHTS['complexity']})",
        f"exercise: code quality {parts['quality']:g} ({len(facts.findings or [])} ruff findings) "
        f"(weight {WEIGHTS['quality']})"
        if parts["quality"] is not None
        else "exercise: code quality not measured (ruff could not run)",
        f"exercise: discussion {discussion.score:.1f}/5 (weight {WEIGHTS['discussion']})",
    ]
    return discussion.model_copy(
        update={
            "question_id": exercise.id,
            "score": round(min(5.0, max(1.0, score)), 2),
            "notes": [*discussion.notes, *notes, *(f"ruff: {f}" for f in (facts.findings or [])[:5])],
        }
    )


def given_up(exercise: Exercise, track: TrackState, config: TrackConfig) -> Assessment:
    return Assessment(
        question_id=exercise.id,
        track=track.track,
        score=1.0,
        criteria=[
            CriterionScore(id=c.id, score=1.0, unsupported=True, rationale="exercise not attempted")
            for c in config.rubric
        ],
        missed=[kp.id for kp in exercise.key_points],
        notes=["exercise: skipped without a submission"],
    )
