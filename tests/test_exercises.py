"""Coding exercises (issue 11): the shipped problems are valid and complete, every reference
solution passes its tests in the sandbox, a quadratic solution fails the time-limited large test,
a broken exercise file or reference solution fails `interviewer bank validate`, and the CLI keeps
its contract (`exercise list`, the exit codes of `exercise run`)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from interviewer.bank.exercises import load_exercises, validate_exercises
from interviewer.cli import app
from interviewer.domain import Exercise
from interviewer.errors import Invalid, NotFound
from interviewer.sandbox import CaseResult, Limits, RunQueue, RunResult, SourceFile, Suite
from interviewer.services.exercises import (
    MAX_BUDGET_S,
    ExerciseRun,
    ExerciseService,
    check_exercises,
    limits_for,
    suite_for,
)
from tests.conftest import KNOWLEDGE
from tests.minibank import write_mini_bank
from tests.test_sandbox import require_bubblewrap

MERGE = KNOWLEDGE / "exercises" / "merge-intervals.yaml"
QUADRATIC_MERGE = """
def merge(intervals):
    result = []
    for start, end in intervals:
        kept = []
        for a, b in result:  # every run so far, for every interval: O(n²)
            if a <= end and start <= b:
                start, end = min(start, a), max(end, b)
            else:
                kept.append((a, b))
        kept.append((start, end))
        result = kept
    return sorted(result)
"""


class RecordingSandbox:
    """A stand-in engine: records the runs, passes every test (for the service's own logic)."""

    def __init__(self) -> None:
        self.runs: list[tuple[str, Suite, Limits]] = []

    def run(self, code: str, tests: Suite, limits: Limits) -> RunResult:
        self.runs.append((code, tests, limits))
        cases = [CaseResult(name=name, group=group, outcome="passed") for group, name in tests.tests()]
        return RunResult.of(cases, duration_ms=1.0)


def _doc(path: Path = MERGE) -> dict[str, Any]:
    doc = yaml.safe_load(path.read_text())
    assert isinstance(doc, dict)
    return doc


def _knowledge_with(tmp_path: Path, **exercises: dict[str, Any]) -> Path:
    root = write_mini_bank(tmp_path / "knowledge")
    (root / "exercises").mkdir()
    for name, doc in exercises.items():
        (root / "exercises" / f"{name}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return root


# --- the shipped exercises -----------------------------------------------------------------------


def test_shipped_exercises_are_valid_and_cover_the_topics() -> None:
    exercises = load_exercises(KNOWLEDGE)
    assert len(exercises) >= 15
    topics = {e.topic for e in exercises.values()}
    wanted = {"intervals", "top-n", "lru-cache", "heaps", "rate-limiter-impl", "graphs", "parsing"}
    wanted |= {"race-conditions", "profiling", "flaky-tests", "refactoring", "binary-search", "complexity"}
    assert wanted <= topics, wanted - topics
    for exercise in exercises.values():
        assert exercise.track == "problem_solving"
        kinds = {f.failure for f in exercise.follow_ups}
        assert {"empty_input", "wrong_edge_case", "timeout"} <= kinds, exercise.id
        assert len(exercise.tests(hidden=False)) >= 1 and len(exercise.tests()) > len(
            exercise.tests(hidden=False)
        )
    timed = [e for e in exercises.values() if any(v > 0 for v in e.time_limits.values())]
    assert len(timed) >= 10, "large inputs with a time limit separate O(n log n) from O(n²)"


def test_every_reference_solution_passes_in_the_sandbox() -> None:
    sandbox = require_bubblewrap()
    check = check_exercises(KNOWLEDGE, sandbox=sandbox)
    assert check.problems == []
    assert check.exercises >= 15


def test_a_quadratic_solution_fails_the_time_limited_test() -> None:
    sandbox = require_bubblewrap()
    exercise = Exercise.model_validate(_doc())
    suite = Suite(  # the hidden tests without the timing curve (the quadratic one would crawl through it)
        files=(SourceFile("hidden", exercise.hidden),),
        time_limit_s=exercise.time_limit_s,
        time_limits=exercise.time_limits,
    )
    result = sandbox.run(QUADRATIC_MERGE, suite, limits_for(suite, Limits()))
    outcomes = {t.name: t.outcome for t in result.tests}
    assert outcomes.pop("test_large_input") == "timeout"
    assert set(outcomes.values()) == {"passed"}, outcomes
    assert result.timed_out
    run = ExerciseRun(exercise, result, hidden=True)
    assert run.failures == ["timeout"]
    assert run.follow_up is not None and "100,000" in run.follow_up.text


# --- the schema ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"solution": "def merge(:\n    pass\n"}, "solution", "not valid Python"),
        ({"time_limits": {"test_nope": 1}}, "time_limits", "not a test"),
        ({"test_kinds": {"test_nope": "timeout"}}, "test_kinds", "not a test"),
        ({"hidden": "from solution import merge\n\ndef test_example():\n    pass\n"}, "tests", "duplicate"),
        ({"hidden": "x = 1\n"}, "hidden", "at least one test"),
        (
            {"scale_sizes": [10], "hidden": "def test_a():\n    pass\n", "time_limits": {}, "test_kinds": {}},
            "scale_sizes",
            "scale_",
        ),
        ({"follow_ups": [{"failure": "sleepy", "text": "Why so slow?"}]}, "follow_ups.0.failure", ""),
        ({"key_points": []}, "key_points", ""),
        ({"colour": "blue"}, "colour", "unknown field"),
    ],
)
def test_broken_exercises_name_the_field(
    tmp_path: Path, change: dict[str, Any], field: str, message: str
) -> None:
    root = _knowledge_with(tmp_path, **{"merge-intervals": {**_doc(), **change}})
    exercises, problems = validate_exercises(root)
    assert exercises == {}
    assert any(p.field.startswith(field) and message in p.message for p in problems), problems
    assert all(p.file == "exercises/merge-intervals.yaml" for p in problems)


def test_the_file_name_is_the_id(tmp_path: Path) -> None:
    root = _knowledge_with(tmp_path, **{"other-name": _doc()})
    _, problems = validate_exercises(root)
    assert [p.field for p in problems] == ["id"]


def test_no_exercise_folder_is_no_problem(tmp_path: Path) -> None:
    assert validate_exercises(write_mini_bank(tmp_path / "knowledge")) == ({}, [])


# --- bank validate ---------------------------------------------------------------------------------


def test_bank_validate_fails_on_a_reference_solution_that_fails(tmp_path: Path) -> None:
    require_bubblewrap()
    wrong = _doc()
    wrong["solution"] = wrong["solution"].replace("merged: list[tuple[int, int]] = []", "merged = [(0, 0)]")
    root = _knowledge_with(tmp_path, **{"merge-intervals": wrong})
    result = CliRunner().invoke(app, ["bank", "validate", str(root)])
    assert result.exit_code == 1
    assert "exercises/merge-intervals.yaml: solution: fails test_example" in result.output
    shutil.copy(MERGE, root / "exercises" / "merge-intervals.yaml")
    result = CliRunner().invoke(app, ["bank", "validate", str(root)])
    assert result.exit_code == 0, result.output
    assert "1 exercises: every reference solution passes" in result.output


def test_bank_validate_reports_a_broken_exercise_file(tmp_path: Path) -> None:
    root = _knowledge_with(tmp_path, **{"merge-intervals": {**_doc(), "difficulty": 7}})
    result = CliRunner().invoke(app, ["bank", "validate", str(root)])
    assert result.exit_code == 1
    assert "exercises/merge-intervals.yaml: difficulty" in result.output


# --- the service and its limits --------------------------------------------------------------------


def test_the_service_runs_examples_or_everything() -> None:
    sandbox = RecordingSandbox()
    service = ExerciseService(load_exercises(KNOWLEDGE), RunQueue(sandbox, workers=1))
    try:
        examples = service.run("merge-intervals", "def merge(x):\n    return x\n", hidden=False)
        everything = service.run("merge-intervals", "def merge(x):\n    return x\n")
    finally:
        service.close()
    assert [f.name for f in sandbox.runs[0][1].files] == ["examples"] and sandbox.runs[0][1].scale_sizes == ()
    assert [f.name for f in sandbox.runs[1][1].files] == ["examples", "hidden"]
    assert examples.result.passed == 2 and everything.result.passed == 10
    assert examples.failures == [] and examples.follow_up is None


def test_the_service_refuses_unknown_problems_and_huge_code() -> None:
    service = ExerciseService(load_exercises(KNOWLEDGE), RunQueue(RecordingSandbox(), workers=1))
    with pytest.raises(NotFound):
        service.run("no-such-problem", "pass")
    with pytest.raises(Invalid, match="at most"):
        service.run("merge-intervals", "x = 1\n" * 20_000)


def test_failures_pick_the_most_telling_follow_up() -> None:
    exercise = load_exercises(KNOWLEDGE)["merge-intervals"]

    def result(**outcomes: str) -> RunResult:
        return RunResult.of(
            [CaseResult(name=n, group="hidden", outcome=o) for n, o in outcomes.items()],  # type: ignore[arg-type]
            duration_ms=1,
        )

    run = ExerciseRun(exercise, result(test_empty_list="error", test_large_input="timeout"), True)
    assert run.failures == ["empty_input", "timeout"]
    assert run.follow_up == exercise.follow_up("empty_input")
    run = ExerciseRun(exercise, result(test_example="failed", test_random_against_brute_force="error"), True)
    assert run.failures == ["error", "wrong_answer"]


def test_limits_cover_every_test_and_stay_bounded() -> None:
    for exercise in load_exercises(KNOWLEDGE).values():
        suite = suite_for(exercise, hidden=True)
        limits = limits_for(suite, Limits())
        total = sum(suite.limit_for(name) for _, name in suite.tests())
        assert limits.cpu_s >= min(total, MAX_BUDGET_S)
        assert limits.wall_s <= MAX_BUDGET_S and limits.wall_s >= limits.cpu_s


# --- the CLI contract ------------------------------------------------------------------------------


def test_exercise_list_prints_one_problem_per_line_id_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTERVIEWER_KNOWLEDGE_DIR", str(KNOWLEDGE))
    result = CliRunner().invoke(app, ["exercise", "list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split()[0] for line in lines] == sorted(load_exercises(KNOWLEDGE))


def test_exercise_run_refuses_unknown_problems_and_unreadable_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INTERVIEWER_KNOWLEDGE_DIR", str(KNOWLEDGE))
    solution = tmp_path / "solution.py"
    solution.write_text("def merge(x):\n    return x\n")
    result = CliRunner().invoke(app, ["exercise", "run", "no-such-problem", str(solution)])
    assert result.exit_code == 2 and "no exercise 'no-such-problem'" in result.output
    result = CliRunner().invoke(app, ["exercise", "run", "merge-intervals", str(tmp_path / "missing.py")])
    assert result.exit_code == 2 and "cannot read" in result.output
    (tmp_path / "latin1.py").write_bytes(b"# \xe9\n")
    result = CliRunner().invoke(app, ["exercise", "run", "merge-intervals", str(tmp_path / "latin1.py")])
    assert result.exit_code == 2 and "not UTF-8" in result.output
