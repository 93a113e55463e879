"""The bank's schema and its error messages: each problem names its file and field."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from interviewer.bank import Bank, BankError, load_bank, validate_bank
from interviewer.cli import app
from tests.conftest import KNOWLEDGE
from tests.minibank import DELETE, edit, question, write_mini_bank, write_yaml

PY_Q = "questions/python/python-generators-1.yaml"


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    return write_mini_bank(tmp_path / "knowledge")


def test_shipped_bank_is_valid_and_complete() -> None:
    bank = load_bank(KNOWLEDGE)
    for track in ("architecture", "python", "problem_solving"):
        assert len(bank.questions_for(track)) >= 20, track
        assert len(bank.topics(track)) >= 12, track
    assert len(bank.articles) >= 8
    assert {"architecture", "python", "problem_solving"} <= set(bank.tracks)
    assert set(bank.plans["full"].tracks) == {"architecture", "python", "problem_solving"}
    for q in bank.questions.values():
        assert 4 <= len(q.key_points) <= 6
        assert {kp.weight for kp in q.key_points} & {3}, f"{q.id} has no essential key point"
        assert q.pitfalls, f"{q.id} has no pitfalls"


SEED_TOPICS = [
    # (track, topic) for every topic of the seed material, plus the wider list
    ("python", "concurrency"),
    ("architecture", "web-frameworks"),
    ("python", "decorators"),
    ("architecture", "url-shortener"),
    ("python", "data-structures"),
    ("python", "memory"),
    ("python", "generators"),
    ("python", "identity"),
    ("problem_solving", "slow-query"),
    ("architecture", "notifications"),
    ("python", "copying"),
    ("problem_solving", "top-n"),
    ("architecture", "rest-api"),
    ("architecture", "data-modeling"),
    ("architecture", "microservices"),
    ("architecture", "caching"),
    ("architecture", "rate-limiting"),
    ("architecture", "queues"),
    ("problem_solving", "testing"),
    ("problem_solving", "tdd"),
    ("architecture", "containers"),
    ("architecture", "ci-cd"),
    ("python", "asyncio"),
    ("python", "typing"),
    ("problem_solving", "complexity"),
]


@pytest.mark.parametrize(("track", "topic"), SEED_TOPICS)
def test_seed_topics_are_covered(bank: Bank, track: str, topic: str) -> None:
    assert topic in bank.topics(track)  # type: ignore[arg-type]


@pytest.mark.parametrize("track", ["architecture", "python", "problem_solving"])
def test_every_shipped_topic_has_a_title_for_reports(bank: Bank, track: str) -> None:
    titles = bank.tracks[track].topic_titles  # type: ignore[index]
    assert sorted(bank.topics(track) - set(titles)) == []  # type: ignore[arg-type]


def test_minibank_is_valid(kb: Path) -> None:
    bank = load_bank(kb)
    assert len(bank.questions) == 12
    assert bank.articles["caching-and-generators"].chunks


Breaker = Callable[[Path], None]

CASES: list[tuple[str, Breaker, str, str, str]] = [
    (
        "missing field",
        lambda kb: edit(kb / PY_Q, model_answer=DELETE),
        PY_Q,
        "model_answer",
        "Field required",
    ),
    ("unknown field", lambda kb: edit(kb / PY_Q, anwser="typo"), PY_Q, "anwser", "unknown field"),
    (
        "unknown track",
        lambda kb: edit(kb / PY_Q, track="golang"),
        PY_Q,
        "track",
        "'architecture', 'python' or 'problem_solving'",
    ),
    (
        "track/folder mismatch",
        lambda kb: edit(kb / PY_Q, track="architecture"),
        PY_Q,
        "track",
        "does not match its folder",
    ),
    (
        "difficulty out of range",
        lambda kb: edit(kb / PY_Q, difficulty=7),
        PY_Q,
        "difficulty",
        "less than or equal to 3",
    ),
    (
        "too few key points",
        lambda kb: edit(
            kb / PY_Q,
            key_points=[{"id": "a", "text": "only one point here"}],
            follow_ups=[{"key_point": "a", "text": "why?"}],
        ),
        PY_Q,
        "key_points",
        "at least 4",
    ),
    (
        "follow-up to a missing key point",
        lambda kb: edit(kb / PY_Q, follow_ups=[{"key_point": "nope", "text": "What about it?"}]),
        PY_Q,
        "follow_ups[0].key_point",
        "'nope' is not a key point",
    ),
    (
        "duplicate key point id",
        lambda kb: edit(
            kb / PY_Q,
            key_points=[{"id": "same", "text": f"point {i} text"} for i in range(4)],
            follow_ups=[{"key_point": "same", "text": "why?"}],
        ),
        PY_Q,
        "key_points",
        "duplicate id 'same'",
    ),
    (
        "duplicate question id",
        lambda kb: write_yaml(kb / "questions/python/copy.yaml", question("python", "generators", 1)),
        "questions/python/python-generators-1.yaml",
        "id",
        "duplicate question id",
    ),
    (
        "missing article",
        lambda kb: edit(kb / PY_Q, references=["no-such-article"]),
        PY_Q,
        "references[0]",
        "no article 'no-such-article'",
    ),
    (
        "not YAML",
        lambda kb: (kb / PY_Q).write_text("id: [unclosed\n", encoding="utf-8"),
        PY_Q,
        "line",
        "not valid YAML",
    ),
    (
        "question outside a track folder",
        lambda kb: write_yaml(kb / "questions/misc.yaml", question("python", "generators", 9)),
        "questions/misc.yaml",
        "-",
        "questions/<track>/",
    ),
    (
        "rubric weights",
        lambda kb: edit(
            kb / "tracks/python.yaml",
            rubric=[
                {
                    "id": "accuracy",
                    "title": "Accuracy",
                    "weight": 0.5,
                    "levels": {i: f"level {i}" for i in range(1, 6)},
                }
            ],
        ),
        "tracks/python.yaml",
        "rubric",
        "sum to 1",
    ),
    (
        "track too small",
        lambda kb: edit(kb / "tracks/python.yaml", questions=5),
        "tracks/python.yaml",
        "questions",
        "only 4 match",
    ),
    (
        "plan with unknown track",
        lambda kb: edit(kb / "tracks/full.yaml", tracks=["python", "java"]),
        "tracks/full.yaml",
        "tracks.1",
        "'architecture', 'python' or 'problem_solving'",
    ),
]


@pytest.mark.parametrize(("case", "breaker", "file", "field", "message"), CASES, ids=[c[0] for c in CASES])
def test_each_problem_names_file_and_field(
    kb: Path, case: str, breaker: Breaker, file: str, field: str, message: str
) -> None:
    breaker(kb)
    _, problems = validate_bank(kb)
    assert problems, case
    matching = [p for p in problems if p.file.endswith(file) and message in p.message]
    assert matching, [str(p) for p in problems]
    assert any(p.field.startswith(field) for p in matching), [str(p) for p in matching]
    with pytest.raises(BankError) as info:
        load_bank(kb)  # loading anywhere applies the same checks
    assert message in str(info.value)


def test_every_problem_is_reported_not_just_the_first(kb: Path) -> None:
    edit(kb / PY_Q, model_answer=DELETE, difficulty=9)
    edit(kb / "questions/architecture/architecture-caching-1.yaml", track="nope")
    _, problems = validate_bank(kb)
    assert len(problems) >= 3


def test_cli_validate_exit_codes(kb: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["bank", "validate", str(kb)])
    assert ok.exit_code == 0, ok.output
    assert "12 questions" in ok.output
    edit(kb / PY_Q, difficulty=0)
    bad = runner.invoke(app, ["bank", "validate", str(kb)])
    assert bad.exit_code == 1
    assert "python-generators-1.yaml" in bad.output and "difficulty" in bad.output


def test_cli_validate_missing_folder(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["bank", "validate", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert "not found" in result.output
