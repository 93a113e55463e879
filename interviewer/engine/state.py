"""The session's state: plain pydantic records, JSON-serialisable, so that the store can persist
a session after every turn and any process can continue it.

The orchestrator keeps none: `start` makes a new state, and `answer` returns the state after the
turn. By default `answer` works on a deep copy and leaves the state it was given as it was; a
caller that hands the state over (`answer(..., owned=True)`: it parsed it for this turn and keeps
no other reference) has that very object updated in place and returned, saving the copy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, Field

from interviewer.bank.loader import Bank
from interviewer.domain import (
    Assessment,
    Exercise,
    Question,
    Report,
    SubmissionFacts,
    TrackConfig,
    TrackId,
    Turn,
    question_revision,
)


class ExchangeRecord(BaseModel):
    prompt: str
    answer: str


class QuestionState(BaseModel):
    question_id: str
    difficulty: int
    prompt: str
    """The interviewer message the candidate is answering now (question, follow-up or nudge)."""
    exchanges: list[ExchangeRecord] = Field(default_factory=list)
    follow_ups: list[str] = Field(default_factory=list)
    nudges: int = 0
    clarifications: int = 0
    skipped: bool = False
    assessment: Assessment | None = None
    revision: str | None = None
    """`question_revision` of the question as it was asked: the session keeps that text, key
    points and follow-ups even if HR edits or withdraws the question meanwhile (the service
    stores each revision once, `store.tables.QuestionVersion`). None in states from before."""


class ExerciseState(BaseModel):
    """A coding exercise given in the track (engine/exercise_step.py): open until the candidate
    has submitted and discussed the follow-up, or given up."""

    exercise_id: str
    title: str = ""
    prompt: str = ""
    """What the candidate is answering now: the statement, or the follow-up on a submission."""
    submissions: list[SubmissionFacts] = Field(default_factory=list)
    nudges: int = 0
    discussion: list[ExchangeRecord] = Field(default_factory=list)
    assessment: Assessment | None = None
    closed: bool = False
    revision: str | None = None
    """`Exercise.revision` as given: the session keeps that statement, tests and key points even if
    HR edits the exercise meanwhile (stored once, `store.tables.ExerciseVersion`). None in states
    from before."""

    @property
    def submitted(self) -> bool:
        return bool(self.submissions)


class TrackState(BaseModel):
    track: TrackId
    difficulty: int
    questions: list[QuestionState] = Field(default_factory=list)
    done: bool = False
    exercises: list[ExerciseState] = Field(default_factory=list)

    @property
    def open_exercise(self) -> ExerciseState | None:
        last = self.exercises[-1] if self.exercises else None
        return last if last is not None and not last.closed else None


class SessionState(BaseModel):
    plan_id: str
    plan_title: str = ""
    mode: Literal["practice", "assessment"]
    show_report: bool = True
    """Whether the candidate may read the report (HR's invite decides); when not, nothing of the
    results is said in the interview either."""
    seed: int
    tracks: list[TrackState]
    current: int = 0
    status: Literal["active", "completed"] = "active"
    turns: list[Turn] = Field(default_factory=list)
    report: Report | None = None
    model_calls: int = 0
    track_configs: dict[str, TrackConfig] = Field(default_factory=dict)
    """The track configs this session runs with, pinned at its start: editing a track later does
    not change a running session."""

    def config(self, track: str, bank: Bank) -> TrackConfig:
        return self.track_configs.get(track) or bank.tracks[track]  # type: ignore[index]

    @property
    def track(self) -> TrackState | None:
        return self.tracks[self.current] if self.status == "active" else None

    @property
    def question(self) -> QuestionState | None:
        track = self.track
        return track.questions[-1] if track and track.questions else None

    @property
    def exercise(self) -> ExerciseState | None:
        """The coding exercise open in the current track, if any."""
        track = self.track
        return track.open_exercise if track else None

    def interviewer_texts(self) -> set[str]:
        return {said_key(t.content) for t in self.turns if t.role == "interviewer"}

    def stale_revisions(self, questions: Mapping[str, Question]) -> dict[str, str]:
        """The questions this session asked whose current bank version (`questions`) is not the
        one it asked, or is gone: question id -> the revision it asked."""
        stale = {}
        for track in self.tracks:
            for qs in track.questions:
                if qs.revision is None:
                    continue
                current = questions.get(qs.question_id)
                if current is None or question_revision(current) != qs.revision:
                    stale[qs.question_id] = qs.revision
        return stale

    def stale_exercises(self, exercises: Mapping[str, Exercise]) -> dict[str, str]:
        """The exercises this session was given whose current version (`exercises`) is not the one
        it got, or is gone: exercise id -> the revision it got."""
        return {
            es.exercise_id: es.revision
            for track in self.tracks
            for es in track.exercises
            if es.revision is not None
            and ((current := exercises.get(es.exercise_id)) is None or current.revision != es.revision)
        }


def said_key(text: str) -> str:
    """How two interviewer messages are compared for "already said": whitespace and case folded."""
    return " ".join(text.split()).casefold()
