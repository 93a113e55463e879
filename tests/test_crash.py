"""The crash test (benchmarks/crash_test.py) with small parameters: the real server is killed with
SIGKILL while simulated candidates answer; every acknowledged answer must be in the database,
the database must pass its integrity check, and every session must be able to continue. The full
run (12 rounds, 8 candidates) is the benchmark: `.venv/bin/python benchmarks/crash_test.py`."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from interviewer.bank import VectorIndex

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 2  # kills; each is a restart of the server (the suite's time goes there)


def _crash_test() -> ModuleType:
    path = ROOT / "benchmarks" / "crash_test.py"
    spec = importlib.util.spec_from_file_location("crash_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("crash_test", module)  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_acknowledged_answers_survive_sigkill(
    tmp_path_factory: pytest.TempPathFactory, full_data_dir: Path, full_index: VectorIndex
) -> None:
    crash = _crash_test()
    data_dir = tmp_path_factory.mktemp("crash") / "data"
    # a copy of the session's built index saves the server its first ingest (~15 s); were the copy
    # unusable, the server would find the index empty and build it
    assert full_index.count("questions") > 0
    lines: list[str] = []
    result = crash.run_crash_test(
        rounds=ROUNDS,
        candidates=3,
        seconds_per_round=1.5,
        data_dir=data_dir,
        port=crash.free_port(),
        log=lines.append,
        seed_index=full_data_dir,
    )
    report = "\n".join([*lines, "", result.table(), *result.problems])
    assert result.problems == [], report
    assert result.kills == ROUNDS
    assert result.acked > 0, report
    assert result.found == result.acked, report
    assert result.integrity == "ok"
    assert result.pending_at_kill == result.resumed
    assert result.continued == result.sessions > 0, report
