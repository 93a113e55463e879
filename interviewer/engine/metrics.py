"""Agreement figures between a scorer and human labels (used by `interviewer eval`, the
benchmarks and the tests): Spearman correlation, pairwise ordering accuracy within a question,
share inside the labelled range, and the targeted comparisons between kinds of answers."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations

from pydantic import BaseModel, Field

from interviewer.engine.text import content_words, words


class LabelledAnswer(BaseModel):
    id: str
    question: str
    key_points: list[str]
    answer: str
    track: str | None = None
    question_id: str | None = None
    kind: str | None = None
    label: float = Field(ge=1, le=5)
    range: tuple[float, float] | None = None


def _ranks(values: Sequence[float]) -> list[float]:
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float:
    if len(xs) < 2:
        return 0.0
    rx, ry = _ranks(xs), _ranks(ys)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    vx = sum((a - mx) ** 2 for a in rx) ** 0.5
    vy = sum((b - my) ** 2 for b in ry) ** 0.5
    return cov / (vx * vy) if vx and vy else 0.0


@dataclass(frozen=True)
class Agreement:
    n: int
    spearman: float
    pairwise: float
    within_range: float
    short_over_long_wrong: float | None
    adequate_over_confident_wrong: float | None


def _pair_share(items: list[tuple[LabelledAnswer, float]], better: str, worse: str) -> float | None:
    by_q: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for item, score in items:
        by_q[item.question_id or item.question][item.kind or ""].append(score)
    wins = total = 0.0
    for kinds in by_q.values():
        for b in kinds.get(better, []):
            for w in kinds.get(worse, []):
                total += 1
                wins += 1.0 if b > w else (0.5 if b == w else 0.0)
    return wins / total if total else None


def pairwise(items: Iterable[tuple[str, float, float]]) -> float | None:
    """(question, label, score) -> the share of same-question pairs with different labels that
    the scores order the same way (a tie counts half); None without such pairs."""
    by_q: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for question, label, score in items:
        by_q[question].append((label, score))
    good = total = 0.0
    for pairs in by_q.values():
        for (la, sa), (lb, sb) in combinations(pairs, 2):
            if la == lb:
                continue
            total += 1
            good += 0.5 if sa == sb else float((sa > sb) == (la > lb))
    return good / total if total else None


def agreement(items: list[tuple[LabelledAnswer, float]]) -> Agreement:
    labels = [i.label for i, _ in items]
    scores = [s for _, s in items]
    ordered = pairwise((item.question_id or item.question, item.label, score) for item, score in items)
    in_range = [
        (item.range[0] <= s <= item.range[1]) if item.range else abs(s - item.label) <= 0.5
        for item, s in items
    ]
    return Agreement(
        n=len(items),
        spearman=spearman(labels, scores),
        pairwise=ordered or 0.0,
        within_range=sum(in_range) / len(in_range) if in_range else 0.0,
        short_over_long_wrong=_pair_share(items, "short-excellent", "long-wrong"),
        adequate_over_confident_wrong=_pair_share(items, "adequate", "confident-wrong"),
    )


def keyword_baseline(item: LabelledAnswer) -> float:
    """Share of the key points' content words that appear in the answer, mapped to 1-5."""
    wanted = {w for kp in item.key_points for w in content_words(kp)}
    have = set(words(item.answer))
    return 1 + 4 * (len(wanted & have) / len(wanted) if wanted else 0.0)


def length_baseline(item: LabelledAnswer) -> float:
    return 1 + 4 * min(1.0, len(words(item.answer)) / 300)
