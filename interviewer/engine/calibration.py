"""Calibration: how far the machine's scores agree with evaluators', from the evaluators' overrides.

Each override is a pair (machine score, evaluator score) for one track and one rubric criterion
(or the question's overall score). Per group: the number of pairs, the mean absolute difference,
the mean signed difference (evaluator minus machine), Spearman's rank correlation and Cohen's
kappa with quadratic weights over the five score levels (scores rounded half up to 1..5). A
group with at least `min_pairs` pairs whose kappa falls below the bar carries a warning.

Pure functions, no I/O. Undefined figures are None rather than a misleading number: Spearman when
either side is constant, kappa when both raters used one and the same level throughout (chance
agreement is then total, so agreement beyond chance cannot be measured).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from interviewer.engine.metrics import spearman as _spearman

LEVELS = (1, 2, 3, 4, 5)
ALL_TRACKS = "all"
OVERALL = "overall"


@dataclass(frozen=True)
class Pair:
    track: str
    criterion: str
    machine: float
    evaluator: float


@dataclass(frozen=True)
class GroupFigures:
    track: str
    criterion: str
    n: int
    enough: bool
    mean_abs_diff: float | None
    bias: float | None
    spearman: float | None
    kappa: float | None
    warning: bool
    matrix: list[list[int]]
    """Counts of (machine level, evaluator level), rows 1..5 = machine, columns 1..5 = evaluator."""


def to_level(score: float) -> int:
    """Round half up and clamp to 1..5 (2.5 → 3, not Python's banker's 2)."""
    return max(1, min(5, math.floor(score + 0.5)))


def mean_abs_diff(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    if not xs:
        return None
    return sum(abs(a - b) for a, b in zip(xs, ys, strict=True)) / len(xs)


def bias(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Mean of ys - xs (positive: evaluators score higher than the machine)."""
    if not xs:
        return None
    return sum(b - a for a, b in zip(xs, ys, strict=True)) / len(xs)


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    if len(xs) < 2 or len(set(xs)) < 2 or len(set(ys)) < 2:
        return None
    return _spearman(xs, ys)


def confusion(xs: Sequence[float], ys: Sequence[float]) -> list[list[int]]:
    matrix = [[0] * len(LEVELS) for _ in LEVELS]
    for a, b in zip(xs, ys, strict=True):
        matrix[to_level(a) - 1][to_level(b) - 1] += 1
    return matrix


def quadratic_kappa(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Cohen's kappa with quadratic weights over the levels 1..5:
    1 - Σ w·observed / Σ w·expected, w = (i - j)², expected from the two raters' marginals."""
    n = len(xs)
    if n == 0:
        return None
    observed = confusion(xs, ys)
    rows = [sum(r) for r in observed]
    cols = [sum(observed[i][j] for i in range(len(LEVELS))) for j in range(len(LEVELS))]
    seen = expected = 0.0
    for i in range(len(LEVELS)):
        for j in range(len(LEVELS)):
            weight = (i - j) ** 2
            seen += weight * observed[i][j]
            expected += weight * rows[i] * cols[j] / n
    if expected == 0:
        return None
    return 1.0 - seen / expected


def _figures(
    track: str, criterion: str, pairs: Sequence[Pair], *, min_pairs: int, min_kappa: float
) -> GroupFigures:
    xs = [p.machine for p in pairs]
    ys = [p.evaluator for p in pairs]
    enough = len(pairs) >= min_pairs
    kappa = _round(quadratic_kappa(xs, ys)) if enough else None  # the bar compares the figure shown
    return GroupFigures(
        track=track,
        criterion=criterion,
        n=len(pairs),
        enough=enough,
        mean_abs_diff=_round(mean_abs_diff(xs, ys)) if enough else None,
        bias=_round(bias(xs, ys)) if enough else None,
        spearman=_round(spearman(xs, ys)) if enough else None,
        kappa=kappa,
        warning=enough and kappa is not None and kappa < min_kappa,
        matrix=confusion(xs, ys),
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def calibrate(pairs: Sequence[Pair], *, min_pairs: int = 3, min_kappa: float = 0.6) -> list[GroupFigures]:
    """Figures per (track, criterion), then per criterion over all tracks (track "all"); in
    each, the overall score first, then the criteria by name."""
    groups: dict[tuple[str, str], list[Pair]] = defaultdict(list)
    for pair in pairs:
        groups[(pair.track, pair.criterion)].append(pair)
        groups[(ALL_TRACKS, pair.criterion)].append(pair)

    def order(key: tuple[str, str]) -> tuple[bool, str, bool, str]:
        track, criterion = key
        return (track == ALL_TRACKS, track, criterion != OVERALL, criterion)

    return [
        _figures(track, criterion, groups[(track, criterion)], min_pairs=min_pairs, min_kappa=min_kappa)
        for track, criterion in sorted(groups, key=order)
    ]
