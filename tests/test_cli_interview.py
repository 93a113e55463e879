"""`interviewer interview` as a user runs it: HR's saved track settings apply, answers span
several lines (code with blank lines inside fences too), and Ctrl-D ends it with a partial report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from interviewer.bank import VectorIndex, load_bank
from interviewer.cli import app
from interviewer.services.bank_edits import BankEdits
from interviewer.store.db import Database
from tests.conftest import KNOWLEDGE, ROOT

ANSWERS = [
    "It is about how CPython manages objects, I think; the details depend on the version.",
    "I would look at what the interpreter does underneath and measure it before deciding.",
    "Mostly it comes down to references and when objects are created or freed.",
    "There are trade-offs: it is simpler but can be slower in some cases.",
    "I remember it is related to the standard library, but not much more than that.",
    "One approach is to keep state in a closure, another is a class; both work.",
]


@pytest.fixture
def env(
    monkeypatch: pytest.MonkeyPatch, full_data_dir: Path, full_index: VectorIndex, tmp_path: Path
) -> Path:
    for var in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "INTERVIEWER_MODEL", "INTERVIEWER_DATABASE_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("INTERVIEWER_DATA_DIR", str(full_data_dir))  # the shared, ready index
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'server.db'}")  # this test's own
    monkeypatch.setenv("INTERVIEWER_KNOWLEDGE_DIR", str(KNOWLEDGE))
    monkeypatch.setenv("INTERVIEWER_PROMPTS_DIR", str(ROOT / "prompts"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _answers(n: int) -> str:
    """`n` one-line answers, each sent with an empty line."""
    return "".join(f"{ANSWERS[i % len(ANSWERS)]} ({i})\n\n" for i in range(n))


def _follow_ups(state: dict[str, object]) -> list[int]:
    tracks = state["tracks"]
    assert isinstance(tracks, list)
    return [len(q["follow_ups"]) for t in tracks for q in t["questions"]]


def test_terminal_interview_uses_hr_track_settings_from_the_database(env: Path) -> None:
    """HR saved the python track with one follow-up per question (the file says 2), as the /hr
    page does; the terminal interview reads the same database as the web app."""
    db = Database(f"sqlite:///{env / 'server.db'}")
    db.migrate()
    doc = yaml.safe_load((KNOWLEDGE / "tracks" / "python.yaml").read_text())
    assert doc["follow_up_budget"] == 2
    BankEdits(bank=load_bank(KNOWLEDGE), db=db, index=None).save(
        "track", {**doc, "follow_up_budget": 1}, author="hr@example.com", item_id="python"
    )
    db.dispose()

    baseline = CliRunner().invoke(  # the same interview without HR's edit: two follow-ups somewhere
        app,
        ["interview", "--plan", "python", "--seed", "7", "--offline", "--save", str(env / "files.json")],
        input=_answers(40),
        env={"DATABASE_URL": f"sqlite:///{env / 'none.db'}"},
    )
    assert baseline.exit_code == 0, baseline.output
    assert max(_follow_ups(json.loads((env / "files.json").read_text()))) == 2
    assert not (env / "none.db").exists()  # an interview never creates a database

    save = env / "t.json"
    result = CliRunner().invoke(
        app,
        ["interview", "--plan", "python", "--seed", "7", "--offline", "--save", str(save)],
        input=_answers(40),
    )
    assert result.exit_code == 0, result.output
    state = json.loads(save.read_text())
    assert state["status"] == "completed"
    assert state["track_configs"]["python"]["follow_up_budget"] == 1
    counts = _follow_ups(state)
    assert len(counts) == 4 and max(counts) == 1, counts


CODE_ANSWER = """A generator keeps its frame between calls, so it yields values lazily:
```python
def numbers(limit):
    n = 0

    while n < limit:
        yield n

        n += 1
```
Memory stays constant however many values are produced."""


@pytest.mark.parametrize(
    ("typed", "answers"),
    [
        (["one line", ""], ["one line"]),
        (["", "", "first", "second", "", "third", ""], ["first\nsecond", "third"]),
        (
            ["look:", "```", "a = 1", "", "b = 2", "```", "", "next", ""],
            ["look:\n```\na = 1\n\nb = 2\n```", "next"],
        ),
        (["``` ", "", "  ```", ""], ["``` \n\n  ```"]),
        (["typed before Ctrl-D"], ["typed before Ctrl-D"]),  # end of input sends what was typed
        (["", ""], []),
        ([], []),
    ],
)
def test_read_answer(typed: list[str], answers: list[str]) -> None:
    from interviewer.cli_interview import read_answer

    lines = iter(typed)

    def read(prompt: str) -> str:
        try:
            return next(lines)
        except StopIteration:
            raise EOFError from None

    got = []
    while (answer := read_answer(read)) is not None:
        got.append(answer)
    assert got == answers


def _candidate_turns(state: dict[str, object]) -> list[str]:
    turns = state["turns"]
    assert isinstance(turns, list)
    return [t["content"] for t in turns if t["role"] == "candidate"]


def test_multi_line_code_answer_then_ctrl_d_prints_a_partial_report_and_resumes(env: Path) -> None:
    save = env / "t.json"
    typed = CODE_ANSWER + "\n\n" + "I don't know\n\n" + "A half-typed answer, then Ctrl-D"
    result = CliRunner().invoke(
        app, ["interview", "--plan", "python", "--seed", "4", "--offline", "--save", str(save)], input=typed
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.count("an empty line sends the answer") == 1  # the hint, once
    assert "[interview ended early]" in result.stdout
    assert "Report so far" in result.stdout and "Python proficiency" in result.stdout
    assert f"interviewer interview --resume {save}" in result.stdout
    state = json.loads(save.read_text())
    assert state["status"] == "active" and state["report"] is None
    sent = _candidate_turns(state)
    assert sent == [
        CODE_ANSWER,
        "I don't know",
        "A half-typed answer, then Ctrl-D",
    ]  # nothing split, nothing lost

    resumed = CliRunner().invoke(app, ["interview", "--resume", str(save)], input="I don't know\n\n" * 30)
    assert resumed.exit_code == 0, resumed.output
    assert "Report —" in resumed.stdout and "--resume" not in resumed.stdout
    final = json.loads(save.read_text())
    assert final["status"] == "completed" and final["report"] is not None
    assert _candidate_turns(final)[:3] == sent
    assert len(final["tracks"][0]["questions"]) == 4


def test_ctrl_d_before_any_answer(env: Path) -> None:
    save = env / "t.json"
    result = CliRunner().invoke(
        app, ["interview", "--plan", "python", "--offline", "--save", str(save)], input=""
    )
    assert result.exit_code == 0, result.output
    assert "No question was answered" in result.stdout and "--resume" in result.stdout
    assert json.loads(save.read_text())["status"] == "active"
