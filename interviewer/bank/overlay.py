"""The effective bank: the shipped files (the *seed*) with HR's edits from the database on top —
questions, track configs, plans and coding exercises.

- The seed is what `load_bank(knowledge/)` loaded at start-up. It is never written to: the files
  stay the reviewed, versioned seed bank, and HR's work lives in the database beside them.
- HR's edits are versioned rows (`hr_questions`; `hr_configs` for track configs, plans and
  exercises); the latest version of an item is current, and it wins over a seed item with the
  same id.
- Deleting an HR question withdraws HR's version; a shipped question with the same id shows
  again. There are no tombstones: a shipped question cannot be hidden from the database (edit it
  instead, or change the file), which keeps "what the files say" and "what runs" easy to relate.
- Edits are validated with the rules of the files: the same pydantic models (`domain.py`) and the
  same cross-checks (`loader._check_tracks`, article references) run on the bank the edit would
  produce, and only the problems the edit *introduces* refuse it. Problems carry a field path
  (`key_points.0.text`) so the HR page shows each next to its field.

Pure functions only; `services/bank_edits.py` reads the database and applies the result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from interviewer.bank.loader import Bank, Problem, _check_tracks, _parse
from interviewer.domain import Exercise, Plan, Question, TrackConfig, TrackId

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_INDEX = re.compile(r"\[(\d+)\]")
HR_SOURCE = "hr"
"""Pseudo-folder naming where an HR item comes from in problems and `Bank.sources`."""


@dataclass(frozen=True)
class Seed:
    """A copy of the bank as the files define it."""

    questions: dict[str, Question]
    tracks: dict[TrackId, TrackConfig]
    plans: dict[str, Plan]
    sources: dict[str, Path]
    exercises: dict[str, Exercise] = field(default_factory=dict)

    @classmethod
    def of(cls, bank: Bank) -> Seed:
        return cls(
            dict(bank.questions),
            dict(bank.tracks),
            dict(bank.plans),
            dict(bank.sources),
            dict(bank.exercises),
        )


@dataclass(frozen=True)
class Edits:
    """The current version of every HR item. A question id in `withdrawn` was deleted by HR."""

    questions: dict[str, Question] = field(default_factory=dict)
    withdrawn: frozenset[str] = frozenset()
    tracks: dict[TrackId, TrackConfig] = field(default_factory=dict)
    plans: dict[str, Plan] = field(default_factory=dict)
    exercises: dict[str, Exercise] = field(default_factory=dict)

    def with_question(self, question: Question, *, replaces: str | None = None) -> Edits:
        questions = {k: v for k, v in self.questions.items() if k != replaces}
        return replace(self, questions={**questions, question.id: question})

    def without_question(self, question_id: str) -> Edits:
        questions = {k: v for k, v in self.questions.items() if k != question_id}
        return replace(self, questions=questions, withdrawn=self.withdrawn | {question_id})

    def with_track(self, track: TrackConfig) -> Edits:
        return replace(self, tracks={**self.tracks, track.id: track})

    def with_plan(self, plan: Plan) -> Edits:
        return replace(self, plans={**self.plans, plan.id: plan})

    def with_exercise(self, exercise: Exercise) -> Edits:
        return replace(self, exercises={**self.exercises, exercise.id: exercise})


def source(kind: str, item_id: str) -> Path:
    return Path(HR_SOURCE) / kind / item_id


def compose(seed: Seed, edits: Edits, *, root: Path, articles: dict[str, Any]) -> Bank:
    """A new `Bank` holding seed + edits (DB wins on the same id)."""
    bank = Bank(root=root, articles=articles)
    bank.questions = {**seed.questions, **edits.questions}
    bank.tracks = {**seed.tracks, **edits.tracks}
    bank.plans = {**seed.plans, **edits.plans}
    bank.exercises = dict(sorted({**seed.exercises, **edits.exercises}.items()))
    bank.sources = dict(seed.sources)
    bank.sources.update({q: source("question", q) for q in edits.questions})
    bank.sources.update({f"track:{t}": source("track", t) for t in edits.tracks})
    bank.sources.update({f"plan:{p}": source("plan", p) for p in edits.plans})
    bank.sources.update({f"exercise:{e}": source("exercise", e) for e in edits.exercises})
    return bank


def check(bank: Bank) -> list[Problem]:
    """The bank-wide checks of the loader: references name articles; every track has a config
    and enough questions for its count, topics and difficulty range; plans name known tracks."""
    problems: list[Problem] = []
    for q in bank.questions.values():
        for j, ref in enumerate(q.references):
            if ref not in bank.articles:
                problems.append(Problem(str(bank.sources[q.id]), f"references[{j}]", f"no article {ref!r}"))
    problems.extend(_check_tracks(bank, str))
    return problems


def introduced(before: Bank, after: Bank) -> list[Problem]:
    """The problems `after` has that `before` did not: what an edit would break."""
    old = set(check(before))
    return [p for p in check(after) if p not in old]


def field_path(loc: str) -> str:
    """`topics[0]` and `key_points.0.text` alike become dotted paths; "-" (no field) becomes ""."""
    return "" if loc == "-" else _INDEX.sub(r".\1", loc).lstrip(".")


def parse_document(
    model: type[Question] | type[TrackConfig] | type[Plan] | type[Exercise], doc: Any, name: str
) -> Any:
    """(parsed record or None, problems) for an HR document, with the rules of the files plus one
    of the web: no control characters in any text."""
    problems: list[Problem] = []
    _control(doc, "", name, problems)
    parsed = _parse(model, doc, name, "", problems)
    return (parsed if not problems else None), problems


def _control(value: Any, path: str, name: str, problems: list[Problem]) -> None:
    if isinstance(value, str):
        if _CONTROL.search(value):
            problems.append(Problem(name, path or "-", "must not contain NUL or control characters"))
    elif isinstance(value, dict):
        for k, v in value.items():
            _control(v, f"{path}.{k}" if path else str(k), name, problems)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _control(v, f"{path}.{i}" if path else str(i), name, problems)


def document(record: Question | TrackConfig | Plan | Exercise) -> dict[str, Any]:
    """The record as a document of the file format (what YAML files and the API hold)."""
    return record.model_dump(mode="python")
