"""Pure transitions of the interview, table-tested."""

import pytest

from interviewer.domain import Assessment, DifficultyRange, Question
from interviewer.engine import policy
from tests.minibank import question, track


def _q() -> Question:
    data = question("python", "generators", 1)
    data["key_points"][1]["weight"] = 3  # kp1 and kp2 essential, kp3 important, kp4 nice
    return Question.model_validate(data)


def _a(score: float, missed: list[str]) -> Assessment:
    return Assessment(question_id="q", track="python", score=score, criteria=[], missed=missed)


@pytest.mark.parametrize(
    ("current", "score", "bounds", "expected"),
    [
        (2, 4.5, (1, 3), 3),
        (2, 4.0, (1, 3), 3),
        (2, 3.0, (1, 3), 2),
        (2, 2.5, (1, 3), 1),
        (3, 5.0, (1, 3), 3),
        (1, 1.0, (1, 3), 1),
        (2, 1.0, (2, 3), 2),
        (2, 5.0, (1, 2), 2),
    ],
)
def test_adaptive_difficulty(current: int, score: float, bounds: tuple[int, int], expected: int) -> None:
    rng = DifficultyRange(min=bounds[0], max=bounds[1], start=bounds[0])
    assert policy.next_difficulty(current, score, rng) == expected


@pytest.mark.parametrize(
    ("missed", "asked", "expected"),
    [
        (["kp4", "kp2", "kp3"], [], "kp2"),  # heaviest missing first
        (["kp1", "kp2"], [], "kp1"),  # tie on weight: bank order
        (["kp1", "kp2"], ["kp1"], "kp2"),  # never the same follow-up twice
        (["kp3"], ["kp3"], None),
        ([], [], None),
        (["nope"], [], None),  # unknown ids ignored
    ],
)
def test_follow_up_targets_heaviest_missing(
    missed: list[str], asked: list[str], expected: str | None
) -> None:
    got = policy.pick_follow_up(_q(), _a(2.0, missed), asked)
    assert (got.key_point if got else None) == expected


def _cfg(questions: int = 3, budget: int = 2):  # type: ignore[no-untyped-def]
    from interviewer.domain import TrackConfig

    return TrackConfig.model_validate({**track("python"), "questions": questions, "follow_up_budget": budget})


@pytest.mark.parametrize(
    ("score", "missed", "asked", "n_questions", "skipped", "budget", "expected"),
    [
        (2.0, ["kp1"], [], 1, False, 2, policy.FollowUp),
        (2.0, ["kp1"], ["kp2", "kp3"], 1, False, 2, policy.NextQuestion),  # budget spent
        (2.0, ["kp1"], [], 1, False, 0, policy.NextQuestion),  # no follow-ups configured
        (4.6, ["kp1"], [], 1, False, 2, policy.NextQuestion),  # strong: move on
        (1.0, ["kp1"], [], 1, True, 2, policy.NextQuestion),  # skipped: no follow-up
        (2.0, [], [], 1, False, 2, policy.NextQuestion),  # nothing missing
        (2.0, ["kp1"], ["kp1", "kp2"], 3, False, 2, policy.CloseTrack),  # last question
        (4.6, [], [], 3, False, 2, policy.CloseTrack),
    ],
)
def test_decide(
    score: float,
    missed: list[str],
    asked: list[str],
    n_questions: int,
    skipped: bool,
    budget: int,
    expected: type,
) -> None:
    decision = policy.decide(
        _cfg(budget=budget),
        question=_q(),
        assessment=_a(score, missed),
        follow_ups_asked=asked,
        questions_asked=n_questions,
        difficulty=2,
        skipped=skipped,
    )
    assert isinstance(decision, expected)
