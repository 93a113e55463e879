"""The judgement corpus and the figures it is measured by (`interviewer eval --corpus DIR`).

The corpus (`tests/data/judgement/`, made as its README says) holds answers written blind at
labelled levels, per-answer key-point coverage and misconception labels from separate labellers,
attacks with their clean twins, honest answers that look like attacks, and style rewrites. Every
item belongs to the half of its question (`split.json`): figures are reported per half and only the
test half's count as results.

Everything here is pure: the caller scores the answers (offline or with a model) and hands the
assessments in, so the same figures serve the CLI, the benchmarks and the tests.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, Field

from interviewer.domain import Assessment, Question
from interviewer.engine.metrics import pairwise, spearman
from interviewer.engine.policy import pick_follow_up, worth_adding

Half = Literal["tune", "test"]
_T = TypeVar("_T")
LEVELS: dict[str, tuple[float, tuple[float, float]]] = {
    # level: (expected score, expected range)
    "excellent": (5.0, (4.5, 5.0)),
    "short_excellent": (4.5, (3.5, 5.0)),
    "terse_correct": (4.0, (3.5, 4.5)),
    "adequate": (3.0, (2.5, 3.5)),
    "adequate_one_misconception": (2.5, (2.0, 3.0)),
    "weak": (2.0, (1.5, 2.5)),
    "confidently_wrong": (1.0, (1.0, 2.0)),
    "long_wrong": (1.0, (1.0, 2.0)),
}
CORRECT_LEVELS = frozenset({"excellent", "short_excellent", "terse_correct", "adequate"})
WRONG_LEVELS = frozenset({"confidently_wrong", "long_wrong"})
RANGE_SLACK = 0.5
STYLE_TOLERANCE = 0.3


class CorpusAnswer(BaseModel):
    id: str
    question_id: str
    track: str
    level: str
    voice: str = ""
    answer: str
    half: Half
    covered: list[str] | None = None
    misconceptions: list[str] | None = None
    other_wrong_claims: list[str] = Field(default_factory=list)
    writer_misconceptions: list[str] = Field(default_factory=list)

    @property
    def label(self) -> float:
        return LEVELS[self.level][0]

    @property
    def range(self) -> tuple[float, float]:
        return LEVELS[self.level][1]

    @property
    def states_no_misconception(self) -> bool:
        return self.level not in WRONG_LEVELS | {"adequate_one_misconception"} and not (
            self.misconceptions or self.other_wrong_claims
        )


class Attack(BaseModel):
    id: str
    kind: str
    question_id: str
    clean: str
    attack: str
    half: Half


class Honest(BaseModel):
    id: str
    kind: str
    question_id: str
    answer: str
    half: Half


class StyleVariant(BaseModel):
    id: str
    base_id: str
    style: str
    answer: str


@dataclass
class Corpus:
    answers: list[CorpusAnswer]
    attacks: list[Attack] = field(default_factory=list)
    honest: list[Honest] = field(default_factory=list)
    styles: list[StyleVariant] = field(default_factory=list)

    def half(self, half: Half) -> Corpus:
        ids = {a.id for a in self.answers if a.half == half}
        return Corpus(
            answers=[a for a in self.answers if a.half == half],
            attacks=[a for a in self.attacks if a.half == half],
            honest=[h for h in self.honest if h.half == half],
            styles=[s for s in self.styles if s.base_id in ids],
        )

    def sample(self, limit: int | None) -> Corpus:
        """At most `limit` answers as whole questions (every level of each, so the within-question
        figures stay measurable), questions spread over the tracks; at most `limit` of the other
        items, spread evenly."""
        answers = self.answers
        if limit is not None and len(answers) > limit:
            by_q: dict[str, list[CorpusAnswer]] = {}
            for a in sorted(answers, key=lambda a: (a.track, a.question_id, a.id)):
                by_q.setdefault(a.question_id, []).append(a)
            per = max(len(v) for v in by_q.values())
            picked = _spread(list(by_q), max(1, limit // per))
            answers = [a for q in picked for a in by_q[q]]
        ids = {a.id for a in answers}
        return Corpus(
            answers=answers,
            attacks=_spread(self.attacks, limit),
            honest=_spread(self.honest, limit),
            styles=_spread([s for s in self.styles if s.base_id in ids], limit),
        )


def _spread(items: list[_T], limit: int | None) -> list[_T]:
    if limit is None or len(items) <= limit:
        return items
    step = len(items) / limit
    return [items[int(i * step)] for i in range(limit)]


def _lines(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_corpus(directory: Path) -> Corpus:
    """Read the corpus folder; a missing optional file is an empty list, a bad line an error."""
    return Corpus(
        answers=[CorpusAnswer.model_validate_json(x) for x in _lines(directory / "answers.jsonl")],
        attacks=[Attack.model_validate_json(x) for x in _lines(directory / "attacks.jsonl")],
        honest=[Honest.model_validate_json(x) for x in _lines(directory / "honest.jsonl")],
        styles=[StyleVariant.model_validate_json(x) for x in _lines(directory / "styles.jsonl")],
    )


def load_split(directory: Path) -> dict[str, Half]:
    data = json.loads((directory / "split.json").read_text(encoding="utf-8"))
    return dict(data["split"])


def _share(hits: int | float, total: int | float) -> float | None:
    return hits / total if total else None


def _pair_share(
    rows: Sequence[tuple[CorpusAnswer, float]], better: Callable[[str], bool], worse: Callable[[str], bool]
) -> float | None:
    by_q: dict[str, list[tuple[CorpusAnswer, float]]] = defaultdict(list)
    for row, score in rows:
        by_q[row.question_id].append((row, score))
    wins = total = 0.0
    for items in by_q.values():
        for a, sa in items:
            if not better(a.level):
                continue
            for b, sb in items:
                if worse(b.level):
                    total += 1
                    wins += 1.0 if sa > sb else 0.5 if sa == sb else 0.0
    return _share(wins, total)


def score_figures(rows: Sequence[tuple[CorpusAnswer, Assessment]]) -> dict[str, float | None]:
    """Agreement of the scores with the levels."""
    scored = [(r, a.score) for r, a in rows]
    inside = sum(r.range[0] - RANGE_SLACK <= s <= r.range[1] + RANGE_SLACK for r, s in scored)
    return {
        "spearman": spearman([r.label for r, _ in scored], [s for _, s in scored]) if scored else None,
        "pairwise": pairwise((r.question_id, r.label, s) for r, s in scored),
        "correct_over_wrong": _pair_share(scored, CORRECT_LEVELS.__contains__, WRONG_LEVELS.__contains__),
        "terse_over_confident_wrong": _pair_share(scored, "terse_correct".__eq__, "confidently_wrong".__eq__),
        "within_range": _share(inside, len(scored)),
    }


def judgement_figures(
    rows: Sequence[tuple[CorpusAnswer, Assessment]], questions: Mapping[str, Question]
) -> dict[str, float | None]:
    """Coverage, misconceptions, the conversation built on them, and honesty of the floor."""
    tp = fp = fn = 0
    clean = clean_flagged = stated = stated_found = 0
    follow = follow_covered = listed = listed_covered = 0
    complete = complete_low = review = 0
    for row, a in rows:
        q = questions[row.question_id]
        review += "needs_review" in a.flags
        if row.states_no_misconception:
            clean += 1
            clean_flagged += bool(a.pitfalls)
        if row.misconceptions:
            stated += 1
            stated_found += bool(set(row.misconceptions) & set(a.pitfalls))
        if row.covered is None:
            continue
        truth = set(row.covered)
        said = set(a.covered)
        tp += len(said & truth)
        fp += len(said - truth)
        fn += len(truth - said)
        choice = pick_follow_up(q, a, [])
        if choice is not None:
            follow += 1
            follow_covered += choice.key_point in truth
        for kp in worth_adding(q, a):
            listed += 1
            listed_covered += kp.id in truth
        if truth >= {kp.id for kp in q.key_points} and not row.misconceptions and row.states_no_misconception:
            complete += 1
            complete_low += a.score < 3.5
    return {
        "misconception_false_flags": _share(clean_flagged, clean),
        "misconception_recall": _share(stated_found, stated),
        "coverage_precision": _share(tp, tp + fp),
        "coverage_recall": _share(tp, tp + fn),
        "follow_up_on_covered": _share(follow_covered, follow),
        "answers_followed_up": _share(follow, sum(r.covered is not None for r, _ in rows)),
        "worth_adding_covered": _share(listed_covered, listed),
        "complete_below_3_5": _share(complete_low, complete),
        "needs_review": _share(review, len(rows)),
    }


def style_figures(
    base: Mapping[str, float], variants: Sequence[tuple[StyleVariant, float]]
) -> dict[str, float | None]:
    moved = [abs(s - base[v.base_id]) > STYLE_TOLERANCE for v, s in variants if v.base_id in base]
    shift = [s - base[v.base_id] for v, s in variants if v.base_id in base]
    return {
        "style_moved_over_0_3": _share(sum(moved), len(moved)),
        "style_mean_shift": sum(shift) / len(shift) if shift else None,
    }


def guard_figures(
    attacks: Sequence[tuple[Attack, bool, float, float]], honest: Sequence[tuple[Honest, bool]]
) -> dict[str, float | None]:
    """`attacks`: (item, flagged, attack score, clean twin score); `honest`: (item, flagged)."""
    return {
        "attacks_flagged": _share(sum(f for _, f, _, _ in attacks), len(attacks)),
        "honest_flagged": _share(sum(f for _, f in honest), len(honest)),
        "attacks_above_twin": float(sum(s > c + 1e-9 for _, _, s, c in attacks)) if attacks else None,
    }
