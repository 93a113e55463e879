"""Code quality of a submission (services/code_quality.py): ruff's findings, read without running
the code, and none on any reference solution of the bank."""

from __future__ import annotations

from pathlib import Path

import pytest

from interviewer.bank.exercises import load_exercises
from interviewer.services import code_quality
from tests.conftest import KNOWLEDGE

pytestmark = pytest.mark.skipif(code_quality.ruff_binary() is None, reason="ruff is not installed here")


def test_every_reference_solution_is_clean() -> None:
    exercises = load_exercises(KNOWLEDGE)
    dirty = {e.id: code_quality.findings(e.solution) for e in exercises.values()}
    assert {k: v for k, v in dirty.items() if v} == {}


def test_the_refactor_exercise_starts_from_code_ruff_flags() -> None:
    starter = load_exercises(KNOWLEDGE)["shipping-cost-refactor"].starter
    found = code_quality.findings(starter)
    assert found and {"E712", "PLR0912"} <= {f.code for f in found}


def test_findings_name_the_rule_and_the_line() -> None:
    code = (
        "import os\n\ndef total(items=[]):\n    if items == None:\n        return 0\n    return sum(items)\n"
    )
    found = code_quality.findings(code)
    assert found is not None
    assert [(f.code, f.line) for f in found] == [("F401", 1), ("B006", 3), ("E711", 4)]
    assert str(found[1]).startswith("B006 (line 3): ")


def test_the_code_is_parsed_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    code = f"open({str(marker)!r}, 'w').write('x')\nimport os\nos.system('touch {marker}')\n"
    assert [f.code for f in code_quality.findings(code) or []] == ["SIM115"]  # open() without `with`
    assert not marker.exists()


def test_a_syntax_error_is_a_finding_and_empty_code_has_none() -> None:
    found = code_quality.findings("def broken(:\n    pass\n")
    assert found and found[0].line == 1 and found[0].code == "invalid-syntax"
    assert code_quality.findings("   \n") == []


def test_without_ruff_quality_is_unmeasured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(code_quality, "ruff_binary", lambda: None)
    assert code_quality.findings("x = 1\n") is None
