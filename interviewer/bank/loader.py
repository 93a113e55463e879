"""Load and validate the knowledge base (`knowledge/`): questions, articles, tracks, plans and
coding exercises (`bank/exercises.py` checks those).

Validation collects *every* problem, each with the file and the field it concerns, instead of
stopping at the first: HR fixing a bank wants the whole list. `load_bank` applies the same checks
and raises `BankError` carrying that list, so a broken bank never half-loads anywhere.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from interviewer.bank.articles import ArticleFormatError, parse_article
from interviewer.domain import TRACKS, Article, Exercise, Plan, Question, TrackConfig, TrackId

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Problem:
    file: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.message}"


class BankError(Exception):
    """The knowledge base has problems; `problems` lists each with its file and field."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        shown = "\n".join(f"  {p}" for p in problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"{len(problems)} problem(s) in the knowledge base:\n{shown}{more}")


@dataclass
class Bank:
    """The loaded, validated knowledge base."""

    root: Path
    questions: dict[str, Question] = field(default_factory=dict)
    tracks: dict[TrackId, TrackConfig] = field(default_factory=dict)
    plans: dict[str, Plan] = field(default_factory=dict)
    articles: dict[str, Article] = field(default_factory=dict)
    sources: dict[str, Path] = field(default_factory=dict)
    exercises: dict[str, Exercise] = field(default_factory=dict)

    def questions_for(self, track: TrackId) -> list[Question]:
        return [q for q in self.questions.values() if q.track == track]

    def topics(self, track: TrackId) -> set[str]:
        return {q.topic for q in self.questions_for(track)}


def load_bank(root: Path) -> Bank:
    bank, problems = _load(root)
    if problems:
        raise BankError(problems)
    return bank


def validate_bank(root: Path) -> tuple[Bank, list[Problem]]:
    return _load(root)


def _load(root: Path) -> tuple[Bank, list[Problem]]:
    bank = Bank(root=root)
    problems: list[Problem] = []
    if not root.is_dir():
        return bank, [Problem(str(root), "-", "knowledge folder not found")]

    def rel(path: Path) -> str:
        try:
            return str(path.relative_to(root.parent))
        except ValueError:
            return str(path)

    # articles first: questions reference them
    for path in sorted((root / "articles").glob("*.md")):
        try:
            article = parse_article(path)
        except (ArticleFormatError, UnicodeDecodeError, ValueError) as exc:
            problems.append(Problem(rel(path), "-", str(exc)))
            continue
        bank.articles[article.slug] = article
    if not bank.articles:
        problems.append(Problem(rel(root / "articles"), "-", "no articles (*.md) found"))

    qdir = root / "questions"
    seen_in: dict[str, Path] = {}
    for path in sorted(qdir.rglob("*.y*ml")) if qdir.is_dir() else []:
        folder = path.relative_to(qdir).parts[0] if len(path.relative_to(qdir).parts) > 1 else ""
        if folder not in TRACKS:
            problems.append(
                Problem(
                    rel(path),
                    "-",
                    f"questions must live in questions/<track>/ with track one "
                    f"of {', '.join(TRACKS)}; found folder {folder or '(none)'!r}",
                )
            )
            continue
        docs = _read_yaml(path, rel(path), problems)
        if docs is None:
            continue
        items = docs if isinstance(docs, list) else [docs]
        for i, item in enumerate(items):
            where = f"[{i}]." if isinstance(docs, list) else ""
            question = _parse(Question, item, rel(path), where, problems)
            if question is None:
                continue
            if question.track != folder:
                problems.append(
                    Problem(
                        rel(path),
                        f"{where}track",
                        f"track {question.track!r} does not match its folder questions/{folder}/",
                    )
                )
            if question.id in seen_in:
                problems.append(
                    Problem(
                        rel(path),
                        f"{where}id",
                        f"duplicate question id {question.id!r} (also in {rel(seen_in[question.id])})",
                    )
                )
                continue
            for j, ref in enumerate(question.references):
                if ref not in bank.articles:
                    problems.append(
                        Problem(rel(path), f"{where}references[{j}]", f"no article {ref!r} in articles/")
                    )
            seen_in[question.id] = path
            bank.questions[question.id] = question
            bank.sources[question.id] = path

    tdir = root / "tracks"
    for path in sorted(tdir.glob("*.y*ml")) if tdir.is_dir() else []:
        doc = _read_yaml(path, rel(path), problems)
        if doc is None:
            continue
        kind = doc.get("kind") if isinstance(doc, dict) else None
        if kind == "track":
            track = _parse(TrackConfig, doc, rel(path), "", problems)
            if track is not None:
                if track.id in bank.tracks:
                    problems.append(Problem(rel(path), "id", f"track {track.id!r} defined twice"))
                bank.tracks[track.id] = track
                bank.sources[f"track:{track.id}"] = path
        elif kind == "plan":
            plan = _parse(Plan, doc, rel(path), "", problems)
            if plan is not None:
                if plan.id in bank.plans:
                    problems.append(Problem(rel(path), "id", f"plan {plan.id!r} defined twice"))
                bank.plans[plan.id] = plan
                bank.sources[f"plan:{plan.id}"] = path
        else:
            problems.append(Problem(rel(path), "kind", "must be 'track' or 'plan'"))

    from interviewer.bank.exercises import validate_exercises  # it builds on this module

    exercises, found = validate_exercises(root)
    bank.exercises = dict(sorted(exercises.items()))
    problems.extend(found)
    problems.extend(_check_tracks(bank, rel))
    return bank, problems


def _check_tracks(bank: Bank, rel: Any) -> list[Problem]:
    problems: list[Problem] = []
    by_track: dict[str, list[Question]] = defaultdict(list)
    for q in bank.questions.values():
        by_track[q.track].append(q)
    for track_id in TRACKS:
        track = bank.tracks.get(track_id)
        if track is None:
            problems.append(
                Problem(
                    rel(bank.root / "tracks"),
                    "-",
                    f"no track config for {track_id!r} (kind: track, id: {track_id})",
                )
            )
            continue
        source = rel(bank.sources[f"track:{track_id}"])
        topics = {q.topic for q in by_track[track_id]}
        for i, topic in enumerate(track.topics):
            if topic not in topics:
                problems.append(
                    Problem(source, f"topics[{i}]", f"no {track_id} question has topic {topic!r}")
                )
        usable = [
            q
            for q in by_track[track_id]
            if (not track.topics or q.topic in track.topics)
            and track.difficulty.min <= q.difficulty <= track.difficulty.max
        ]
        if len(usable) < track.questions:
            problems.append(
                Problem(
                    source,
                    "questions",
                    f"asks {track.questions} questions but "
                    f"only {len(usable)} match its topics and difficulty range",
                )
            )
    for plan in bank.plans.values():
        source = rel(bank.sources[f"plan:{plan.id}"])
        for i, t in enumerate(plan.tracks):
            if t not in bank.tracks:
                problems.append(Problem(source, f"tracks[{i}]", f"no track config for {t!r}"))
    return problems


# libyaml's safe loader when PyYAML was built with it: the same documents, ~10x faster to parse
# (the pure-Python parser was a large part of every start-up: it reads the whole bank)
_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: Path, name: str, problems: list[Problem]) -> Any:
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)  # noqa: S506  # a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "-"
        problems.append(Problem(name, where, f"not valid YAML: {getattr(exc, 'problem', exc)}"))
        return None
    except UnicodeDecodeError:
        problems.append(Problem(name, "-", "not UTF-8 text"))
        return None
    if not isinstance(doc, dict | list):
        problems.append(Problem(name, "-", "expected a mapping (or a list of questions)"))
        return None
    return doc


def _parse(model: type[M], doc: Any, name: str, prefix: str, problems: list[Problem]) -> M | None:
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        for err in exc.errors(include_url=False, include_input=False):
            loc = ".".join(str(p) for p in err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            if not loc:  # a check across fields names its field as "field: message"
                field, sep, rest = msg.partition(": ")
                loc, msg = (field, rest) if sep and " " not in field else ("-", msg)
            if err["type"] == "extra_forbidden":
                msg = "unknown field (check the spelling against knowledge/README.md)"
            problems.append(Problem(name, f"{prefix}{loc}", msg))
        return None
