"""The exercise step's pure parts (engine/exercise_step.py): the offline follow-up grounded in a
submission's facts, and the combined score (tests 0.6, complexity 0.2, discussion 0.2)."""

from __future__ import annotations

import pytest

from interviewer.bank.exercises import load_exercises
from interviewer.domain import Assessment, CriterionScore, SubmissionFacts
from interviewer.engine.exercise_step import combined, offline_follow_up
from tests.conftest import KNOWLEDGE


@pytest.fixture(scope="module")
def exercise():  # type: ignore[no-untyped-def]
    return load_exercises(KNOWLEDGE)["merge-intervals"]


def facts(**kw: object) -> SubmissionFacts:
    return SubmissionFacts.model_validate({"exercise_id": "merge-intervals", "passed": 3, "total": 5} | kw)


def test_a_failing_case_is_named(exercise) -> None:  # type: ignore[no-untyped-def]
    text = offline_follow_up(
        exercise, facts(failures=["empty_input"], first_failure="test_empty", first_message="IndexError")
    )
    assert text.startswith("Your solution fails the test test_empty (IndexError).")


def test_a_timeout_asks_about_complexity(exercise) -> None:  # type: ignore[no-untyped-def]
    text = offline_follow_up(
        exercise, facts(timed_out=True, failures=["timeout"], first_failure="test_large")
    )
    assert "time limit" in text and "complexity" in text


def test_all_passed_asks_about_trade_offs(exercise) -> None:  # type: ignore[no-untyped-def]
    text = offline_follow_up(exercise, facts(passed=5, timings=[(1000, 1.0), (100000, 90.0)]))
    assert text.startswith("All the tests pass. At n=100000 it took 90 ms.") and "complexity" in text


@pytest.mark.parametrize(
    ("passed", "timed_out", "talk", "expected"),
    [(5, False, 5.0, 5.0), (0, True, 1.0, 1.0), (5, False, 1.0, 4.2), (3, False, 3.0, 3.24)],
)
def test_combined_score(exercise, passed: int, timed_out: bool, talk: float, expected: float) -> None:  # type: ignore[no-untyped-def]
    discussion = Assessment(
        question_id="exercise-merge-intervals",
        track="problem_solving",
        score=talk,
        criteria=[CriterionScore(id="accuracy", score=talk, evidence=["sorting is O(n log n)"])],
    )
    result = combined(exercise, facts(passed=passed, timed_out=timed_out), discussion)
    assert result.question_id == "merge-intervals"
    assert result.score == pytest.approx(expected)
    assert result.criteria[0].evidence == ["sorting is O(n log n)"]
