"""Calibration figures against values computed by hand (worked out in the comments)."""

from __future__ import annotations

import math

import pytest

from interviewer.engine.calibration import (
    Pair,
    bias,
    calibrate,
    confusion,
    mean_abs_diff,
    quadratic_kappa,
    spearman,
    to_level,
)


@pytest.mark.parametrize(
    ("score", "level"),
    [(1.0, 1), (0.2, 1), (1.49, 1), (1.5, 2), (2.5, 3), (3.49, 3), (4.5, 5), (5.4, 5), (5.0, 5)],
)
def test_levels_round_half_up_and_clamp(score: float, level: int) -> None:
    assert to_level(score) == level


KAPPA_CASES: list[tuple[str, list[float], list[float], float | None]] = [
    ("identical", [1, 2, 3, 4, 5], [1, 2, 3, 4, 5], 1.0),
    # observed Σw = (1-3)² + (3-1)² = 8; expected = Σ_{i,j∈1..3} (i-j)² / 3 = 12/3 = 4 → 1 - 8/4
    ("reversed", [1, 2, 3], [3, 2, 1], -1.0),
    # observed Σw = (4-5)² = 1; expected = Σ_{i∈{1,2,3,4}, j∈{1,2,3,5}} (i-j)² / 4 = 56/4 = 14 → 1 - 1/14
    ("one step off", [1, 2, 3, 4], [1, 2, 3, 5], 13 / 14),
    # rounded: [3, 3] vs [3, 3]: one level used by both, chance agreement is total → undefined
    ("constant and equal", [2.5, 3.4], [3, 3], None),
    # one pair (1, 4): observed 9, expected 9·1·1/1 = 9 → 0
    ("single pair", [1], [4], 0.0),
    # rounded [2, 4] vs [3, 3]: observed (2-3)² + (4-3)² = 2; expected rows {2,4}, cols {3,3}:
    # Σ w·r·c/n = (1·1·2 + 1·1·2)/2 = 2 → 1 - 2/2
    ("no better than chance", [1.6, 4.4], [3.0, 3.2], 0.0),
    ("empty", [], [], None),
]


@pytest.mark.parametrize(("case", "xs", "ys", "expected"), KAPPA_CASES, ids=[c[0] for c in KAPPA_CASES])
def test_quadratic_kappa(case: str, xs: list[float], ys: list[float], expected: float | None) -> None:
    got = quadratic_kappa(xs, ys)
    if expected is None:
        assert got is None
    else:
        assert got is not None and math.isclose(got, expected, abs_tol=1e-12)


SPEARMAN_CASES: list[tuple[str, list[float], list[float], float | None]] = [
    ("monotone", [1, 2, 3, 4], [1, 2, 3, 5], 1.0),
    ("reversed", [1, 2, 3], [3, 2, 1], -1.0),
    # ranks [1, 2.5, 2.5, 4] vs [1, 3, 2, 4]: cov 4.5, sd √4.5 and √5 → 4.5/√22.5 = 3/√10
    ("ties", [1, 2, 2, 3], [1, 3, 2, 4], 3 / math.sqrt(10)),
    ("constant side", [3, 3, 3], [1, 2, 3], None),
    ("one pair", [2], [4], None),
]


@pytest.mark.parametrize(("case", "xs", "ys", "expected"), SPEARMAN_CASES, ids=[c[0] for c in SPEARMAN_CASES])
def test_spearman(case: str, xs: list[float], ys: list[float], expected: float | None) -> None:
    got = spearman(xs, ys)
    if expected is None:
        assert got is None
    else:
        assert got is not None and math.isclose(got, expected, abs_tol=1e-12)


@pytest.mark.parametrize(
    ("xs", "ys", "mad", "signed"),
    [
        ([1, 2, 3, 4], [1, 2, 3, 5], 0.25, 0.25),
        ([2.4, 3.6], [3.0, 3.0], 0.6, 0.0),  # |0.6| and |-0.6|; signed they cancel
        ([5, 5], [3, 4], 1.5, -1.5),
        ([], [], None, None),
    ],
)
def test_mean_abs_diff_and_bias(
    xs: list[float], ys: list[float], mad: float | None, signed: float | None
) -> None:
    assert (mean_abs_diff(xs, ys) is None) == (mad is None)
    assert (bias(xs, ys) is None) == (signed is None)
    if mad is not None and signed is not None:
        assert math.isclose(mean_abs_diff(xs, ys) or 0.0, mad)
        assert math.isclose(bias(xs, ys) or 0.0, signed, abs_tol=1e-12)


def test_confusion_matrix_rows_are_machine_levels() -> None:
    matrix = confusion([1.2, 4.6, 4.5], [2, 5, 3])
    assert matrix[0][1] == 1 and matrix[4][4] == 1 and matrix[4][2] == 1
    assert sum(map(sum, matrix)) == 3


def test_calibrate_groups_min_pairs_and_warning() -> None:
    pairs = [
        # python/accuracy: the machine agrees with the evaluator → kappa 1
        Pair("python", "accuracy", 1, 1),
        Pair("python", "accuracy", 3, 3),
        Pair("python", "accuracy", 5, 5),
        # python/overall: reversed → kappa -1, a warning
        Pair("python", "overall", 1, 3),
        Pair("python", "overall", 2, 2),
        Pair("python", "overall", 3, 1),
        # architecture/overall: one pair only
        Pair("architecture", "overall", 2, 4),
    ]
    groups = {(g.track, g.criterion): g for g in calibrate(pairs, min_pairs=2, min_kappa=0.6)}
    assert list(groups) == [
        ("architecture", "overall"),
        ("python", "overall"),
        ("python", "accuracy"),
        ("all", "overall"),
        ("all", "accuracy"),
    ]
    accuracy = groups[("python", "accuracy")]
    assert accuracy.n == 3 and accuracy.kappa == 1.0 and accuracy.mean_abs_diff == 0 and not accuracy.warning
    overall = groups[("python", "overall")]
    assert overall.kappa == -1.0 and overall.spearman == -1.0 and overall.warning
    assert overall.mean_abs_diff == round(4 / 3, 4) and overall.bias == 0.0
    few = groups[("architecture", "overall")]
    assert few.n == 1 and not few.enough and few.kappa is None and not few.warning
    assert few.matrix[1][3] == 1  # the pair is still counted in the matrix
    everything = groups[("all", "overall")]
    assert everything.n == 4 and everything.enough
    # the bar is a setting: at -1 nothing is below it
    lenient = calibrate(pairs, min_pairs=2, min_kappa=-1.0)
    assert not any(g.warning for g in lenient)
