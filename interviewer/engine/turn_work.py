"""One candidate turn in progress: the session state it works on, what has been said so far, and
the model calls spent against the turn's budget.

The orchestrator's steps (engine/orchestrator.py), the question choice (engine/selection.py) and
the model phrasing (engine/phrasing.py) share it for the length of one `start` or `answer`. Every
interviewer message goes through `speak`, which builds the `Turn` record: a call site says only
its kind, its text and what it is about.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from interviewer.domain import Assessment, CallRecord, Exercise, Question, TrackId, Turn, TurnKind
from interviewer.engine.deadline import Deadline
from interviewer.engine.second_opinion import SecondOpinionJob
from interviewer.engine.state import SessionState

MAX_MODEL_CALLS_PER_TURN = 2
"""One to score the answer, one to phrase what comes next (engine/orchestrator.py)."""

Listener = Callable[[int, str], Awaitable[None]]
"""Receives a model-phrased message while it streams: (its index in the turn's messages — the
candidate's answer is 0 —, the newly released text)."""


@dataclass
class TurnWork:
    """Per-turn scratch: what was said and how many model calls were spent."""

    state: SessionState
    out: list[Turn] = field(default_factory=list)
    calls: int = 0
    assessment: Assessment | None = None
    listener: Listener | None = None
    second_opinion: SecondOpinionJob | None = None
    questions: Mapping[str, Question] = field(default_factory=dict)
    """The bank's questions as this session sees them: the revisions it asked win (by id)."""
    exercises: Mapping[str, Exercise] = field(default_factory=dict)
    """The revisions of exercises this session was given that the bank has changed since (by id)."""
    asked: list[Question] = field(default_factory=list)
    deadline: Deadline | None = None
    """The turn's time budget: model calls run within what is left of it (engine/deadline.py)."""
    records: list[CallRecord] = field(default_factory=list)
    """The model calls made for this turn, failed ones included (`ChatModel`'s `on_call`): the
    caller stores them with the turn."""

    def record(self, call: CallRecord) -> None:
        """The `on_call` sink of this turn's model calls."""
        self.records.append(call)

    @property
    def may_call_model(self) -> bool:
        """Whether the turn's budget of model calls allows one more."""
        return self.calls < MAX_MODEL_CALLS_PER_TURN

    def say(self, turn: Turn) -> None:
        """Add `turn` to the session's transcript and to this turn's messages."""
        self.state.turns.append(turn)
        self.out.append(turn)

    def speak(
        self,
        kind: TurnKind,
        content: str,
        *,
        question_id: str | None = None,
        key_point: str | None = None,
        track: TrackId | Literal["current"] | None = "current",
    ) -> None:
        """Say an interviewer message. `track`: by default the session's current one (None once
        the interview has ended); None for a message about no track (the greeting)."""
        if track == "current":
            track = self.state.track.track if self.state.track is not None else None
        self.say(
            Turn(
                role="interviewer",
                kind=kind,
                content=content,
                track=track,
                question_id=question_id,
                key_point=key_point,
            )
        )
