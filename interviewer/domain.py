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


class _Versioned(_Record):
    """A bank item HR can edit while interviews run: a session keeps the revision it was given."""

    @cached_property
    def revision(self) -> str:
        """The item's content hash (the JSON of every field): a session keeps the revision it
        was given, so that an HR edit later changes nothing for it. Computed once per object (bank
        items are replaced, never mutated, when HR edits them)."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:32]

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        copy = super().model_copy(update=update, deep=deep)
        copy.__dict__.pop("revision", None)  # a copy with other fields has another revision
        return copy


class Question(_Versioned):
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
    exercises: int = Field(default=0, ge=0, le=2)
    """Coding exercises given after the main questions (problem-solving track only)."""
    exercise_minutes: int = Field(default=20, ge=5, le=90)
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


# --- reports -------------------------------------------------------------------------------


class Reading(BaseModel):
    slug: str
    title: str
    """As the article's own `# Title` heading gives it."""


class TrackReport(BaseModel):
    track: TrackId
    title: str
    score: float
    passed: bool
    pass_threshold: float
    criteria: dict[str, float]
    strengths: list[str]
    gaps: list[str]
    study: list[str]
    """Article slugs to read (knowledge/articles/<slug>.md)."""
    questions: list[str]
    flags: list[str] = Field(default_factory=list)
    criteria_titles: dict[str, str] = Field(default_factory=dict)
    """The track's rubric criteria as HR named them, by id (empty in reports from before)."""
    reading: list[Reading] = Field(default_factory=list)
    """`study` with the articles' titles."""
    focus: list[str] = Field(default_factory=list)
    """The topics (their titles) of the weaker answers: what assessment mode shows the candidate
    instead of `gaps`, which quote the bank's key points."""


class Report(BaseModel):
    plan_id: str
    score: float
    recommendation: Literal["strong", "pass", "not yet"]
    tracks: list[TrackReport]
    narrative: str
    flags: list[str] = Field(default_factory=list)
    mode: Literal["practice", "assessment"] = "practice"


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
    "exercise",
    "submission",
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


# --- coding exercises ---------------------------------------------------------------------------

FailureKind = Literal["empty_input", "wrong_edge_case", "wrong_answer", "timeout", "error"]
"""What a failing test says about a submission: a follow-up is keyed to each. A test's kind is
declared in `Exercise.test_kinds` (default `wrong_answer`); any test over its time limit is a
`timeout`, and one that raised something other than an assertion is an `error`."""

Code = Annotated[str, StringConstraints(min_length=1, max_length=20000)]
EXERCISE_TEST_PREFIX = "test_"
EXERCISE_SCALE_PREFIX = "scale_"


class ExerciseFollowUp(_Record):
    failure: FailureKind
    """The failure it asks about (not `on`: YAML 1.1 reads a bare `on` as true)."""
    text: Text


class Exercise(_Versioned):
    """A coding problem: the candidate edits `starter` into a module `solution`; `examples` (shown)
    and `hidden` are Python test modules that import from `solution` — functions `test_*` are
    tests, functions `scale_*(n)` return a call the sandbox times at `scale_sizes` (the timing
    curve). `time_limit_s` is each test's CPU-time limit; `time_limits` overrides it per test
    (a large-input test gets a limit that an O(n log n) solution meets and an O(n²) one cannot)."""

    id: Slug
    track: TrackId = "problem_solving"
    topic: Slug
    difficulty: int = Field(ge=1, le=3)
    title: Title
    statement: Text
    starter: Code
    examples: Code
    hidden: Code
    solution: Code
    time_limit_s: float = Field(default=2.0, gt=0, le=10)
    time_limits: dict[str, float] = Field(default_factory=dict)
    test_kinds: dict[str, FailureKind] = Field(default_factory=dict)
    scale_sizes: list[int] = Field(default_factory=list, max_length=8)
    key_points: list[KeyPoint] = Field(min_length=2, max_length=6)
    follow_ups: list[ExerciseFollowUp] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_code(self) -> Exercise:
        _unique([kp.id for kp in self.key_points], "key_points")
        found: dict[str, list[str]] = {}
        for field_name in ("starter", "solution", "examples", "hidden"):
            found[field_name] = _functions(getattr(self, field_name), field_name)
        examples = [n for n in found["examples"] if n.startswith(EXERCISE_TEST_PREFIX)]
        hidden = [n for n in found["hidden"] if n.startswith(EXERCISE_TEST_PREFIX)]
        if not examples:
            raise ValueError("examples: needs at least one test_* function")
        if not hidden:
            raise ValueError("hidden: needs at least one test_* function")
        _unique(examples + hidden, "tests")  # examples and hidden together
        named = set(examples + hidden) | {n for n in found["hidden"] if n.startswith(EXERCISE_SCALE_PREFIX)}
        for where, names in (("time_limits", self.time_limits), ("test_kinds", self.test_kinds)):
            for name in names:
                if name not in named:
                    raise ValueError(f"{where}: {name!r} is not a test of this exercise")
        for name, seconds in self.time_limits.items():
            if not 0 < seconds <= 10:
                raise ValueError(f"time_limits: {name!r} must be over 0 and at most 10 seconds")
        if self.scale_sizes and not any(n.startswith(EXERCISE_SCALE_PREFIX) for n in found["hidden"]):
            raise ValueError("scale_sizes: given, but hidden has no scale_* function to time")
        if any(n < 1 for n in self.scale_sizes):
            raise ValueError("scale_sizes: sizes must be positive")
        return self

    def tests(self, *, hidden: bool = True) -> list[str]:
        """The test names, examples first (and the hidden ones unless `hidden=False`)."""
        names = [n for n in _functions(self.examples, "examples") if n.startswith(EXERCISE_TEST_PREFIX)]
        if hidden:
            names += [n for n in _functions(self.hidden, "hidden") if n.startswith(EXERCISE_TEST_PREFIX)]
        return names

    def follow_up(self, kind: FailureKind) -> ExerciseFollowUp | None:
        return next((f for f in self.follow_ups if f.failure == kind), None)


def _functions(source: str, where: str) -> list[str]:
    """The top-level function names of `source`, in order; a syntax error names its line."""
    import ast  # here, not at the top: only exercises need it

    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise ValueError(f"{where}: not valid Python: {exc.msg} (line {exc.lineno})") from None
    return [n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


class SubmissionFacts(BaseModel):
    """What a submission's run showed, as the engine is told it (the service reads it off the
    sandbox's result): the engine grounds its follow-up and the exercise's score in these."""

    exercise_id: str
    passed: int = Field(ge=0)
    total: int = Field(ge=0)
    timed_out: bool = False
    failures: list[FailureKind] = Field(default_factory=list)
    """Most telling first (`services.exercises.ExerciseRun.failures`)."""
    first_failure: str | None = None
    """The first failing test's name."""
    first_message: str = ""
    crash: str | None = None
    timings: list[tuple[int, float]] = Field(default_factory=list)
    """(input size, milliseconds) on growing inputs, when the exercise times its solution."""
    code: str = ""
    """The submitted code (for the model's follow-up; not kept in the session state)."""
    findings: list[str] | None = None
    """ruff's findings on the code (`services/code_quality.py`), e.g. "B006 (line 1): ...";
    None when they could not be read (the score then leaves code quality out)."""

    @property
    def all_passed(self) -> bool:
        return self.total > 0 and self.passed == self.total
