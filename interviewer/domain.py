"""Typed records shared by every layer: the knowledge base (questions, key points, follow-ups,
pitfalls, articles) and its configuration (tracks with rubrics, interview plans).

These models are also the schema of the files in `knowledge/`: `extra="forbid"` so that a typo
in a field name is an error, not a silently ignored key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

TrackId = Literal["architecture", "python", "problem_solving"]
TRACKS: tuple[TrackId, ...] = ("architecture", "python", "problem_solving")

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$", max_length=80)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=4000)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=80)]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class KeyPoint(_Record):
    id: Slug
    text: Text
    weight: int = Field(default=2, ge=1, le=3)


class FollowUp(_Record):
    key_point: Slug
    text: Text


class Pitfall(_Record):
    """A misconception: ``claim`` is the wrong belief stated plainly, ``why`` the correction shown
    to the candidate; ``paraphrases`` are other ways candidates state the same wrong belief."""

    id: Slug
    claim: Text
    why: Text
    paraphrases: list[Text] = Field(default_factory=list, max_length=8)


class Question(_Record):
    id: Slug
    track: TrackId
    topic: Slug
    difficulty: int = Field(ge=1, le=3)
    question: Text
    key_points: list[KeyPoint] = Field(min_length=4, max_length=6)
    follow_ups: list[FollowUp] = Field(min_length=1)
    pitfalls: list[Pitfall] = Field(default_factory=list)
    model_answer: Text
    references: list[Slug] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_ids(self) -> Question:
        _unique([kp.id for kp in self.key_points], "key_points")
        _unique([p.id for p in self.pitfalls], "pitfalls")
        known = {kp.id for kp in self.key_points}
        for i, fu in enumerate(self.follow_ups):
            if fu.key_point not in known:
                raise ValueError(
                    f"follow_ups[{i}].key_point: {fu.key_point!r} is not a key point of this "
                    f"question (known: {', '.join(sorted(known))})"
                )
        return self

    @cached_property
    def revision(self) -> str:
        """The question's content hash (the JSON of every field): a session keeps the revision it
        asked, so that an HR edit later changes nothing for it. Computed once per object (bank
        questions are replaced, never mutated, when HR edits them)."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:32]

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        copy = super().model_copy(update=update, deep=deep)
        copy.__dict__.pop("revision", None)  # a copy with other fields has another revision
        return copy

    def key_point(self, kp_id: str) -> KeyPoint:
        for kp in self.key_points:
            if kp.id == kp_id:
                return kp
        raise KeyError(kp_id)


class DifficultyRange(_Record):
    start: int = Field(default=2, ge=1, le=3)
    min: int = Field(default=1, ge=1, le=3)
    max: int = Field(default=3, ge=1, le=3)

    @model_validator(mode="after")
    def _ordered(self) -> DifficultyRange:
        if not self.min <= self.start <= self.max:
            raise ValueError(f"need min <= start <= max, got {self.min}, {self.start}, {self.max}")
        return self


class Criterion(_Record):
    id: Slug
    title: Text
    weight: float = Field(gt=0, le=1)
    levels: dict[int, Text]

    @field_validator("levels")
    @classmethod
    def _five_levels(cls, levels: dict[int, str]) -> dict[int, str]:
        if sorted(levels) != [1, 2, 3, 4, 5]:
            raise ValueError(f"levels must describe exactly 1..5, got {sorted(levels)}")
        return levels


class TrackConfig(_Record):
    kind: Literal["track"] = "track"
    id: TrackId
    title: Text
    questions: int = Field(default=4, ge=3, le=5)
    follow_up_budget: int = Field(default=2, ge=0, le=3)
    difficulty: DifficultyRange = DifficultyRange()
    topics: list[Slug] = Field(default_factory=list)
    pass_threshold: float = Field(default=3.0, ge=1, le=5)
    rubric: list[Criterion] = Field(min_length=1)
    topic_titles: dict[Slug, Title] = Field(default_factory=dict)
    """How reports name the track's topics (`Question.topic` slugs) to people; a topic without a
    title is shown as its slug in words."""

    @model_validator(mode="after")
    def _weights(self) -> TrackConfig:
        _unique([c.id for c in self.rubric], "rubric")
        total = sum(c.weight for c in self.rubric)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"rubric: weights must sum to 1, they sum to {total:g}")
        return self


class Plan(_Record):
    kind: Literal["plan"] = "plan"
    id: Slug
    title: Text
    tracks: list[TrackId] = Field(min_length=1)
    mode: Literal["practice", "assessment"] = "practice"

    @model_validator(mode="after")
    def _distinct(self) -> Plan:
        _unique(list(self.tracks), "tracks")
        return self


def question_revision(question: Question) -> str:
    """`Question.revision`, as a function (sorting keys, maps)."""
    return question.revision


class ArticleChunk(_Record):
    """One retrievable passage of a reference article: a section, or part of a long one."""

    id: str
    article: Slug
    title: str
    heading: str
    text: str


class Article(_Record):
    slug: Slug
    title: str
    chunks: list[ArticleChunk]


def _unique(ids: list[str], where: str) -> None:
    seen: set[str] = set()
    for item in ids:
        if item in seen:
            raise ValueError(f"{where}: duplicate id {item!r}")
        seen.add(item)


# --- assessments and sessions -----------------------------------------------------------------

Scorer = Literal["model", "offline"]
HiringRecommendation = Literal["strong hire", "hire", "no hire", "strong no hire"]
"""The evaluator's recommendation options; the machine's recommendation uses the same words."""


class CriterionScore(_Record):
    id: str
    score: float = Field(ge=1, le=5)
    evidence: list[str] = Field(default_factory=list)
    unsupported: bool = False
    rationale: str = ""


class Misconception(_Record):
    id: str
    quote: str


class Assessment(_Record):
    """The score of one answer (a main question and its follow-ups) against the track rubric."""

    question_id: str
    track: str
    score: float = Field(ge=1, le=5)
    criteria: list[CriterionScore]
    covered: list[str] = Field(default_factory=list)
    missed: list[str] = Field(default_factory=list)
    pitfalls: list[str] = Field(default_factory=list)
    flags: list[str] = Field(default_factory=list)
    scorer: Scorer = "offline"
    confidence: float | None = Field(default=None, ge=0, le=1)
    """How sure the scorer is (0..1); below the review threshold the flag `needs_review` is set."""
    misconceptions: list[Misconception] = Field(default_factory=list)
    """Each detected pitfall with the answer's sentence that asserts it (verbatim)."""
    offline_score: float | None = None
    """The offline scorer's overall score, kept beside a model score as a second opinion."""
    notes: list[str] = Field(default_factory=list)
    dropped_quotes: int = 0


# --- transcripts and model calls ------------------------------------------------------------

TurnKind = Literal[
    "greeting",
    "question",
    "follow_up",
    "nudge",
    "clarification",
    "feedback",
    "summary",
    "report",
    "answer",
]


class Turn(BaseModel):
    """One message of an interview, as the engine says it and the store keeps it."""

    role: Literal["interviewer", "candidate"]
    content: str
    kind: TurnKind
    track: TrackId | None = None
    question_id: str | None = None
    key_point: str | None = None
    """For a follow-up: the key point it probes (the reason it was asked)."""


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True)
class CallRecord:
    """What is recorded for every model call (the llm layer makes them, the store keeps them)."""

    model: str
    prompt: str
    prompt_version: str
    usage: Usage
    latency_ms: float
    attempts: int = 1
    ok: bool = True
    error: str | None = None
