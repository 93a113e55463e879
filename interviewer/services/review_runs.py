"""The coding-exercise runs of a session as the evaluator sees them (a part of the review
document, `review_doc.ReviewDocument.exercise_runs`, and so of every export): the code, each
run's kind, its test results and the timing curve."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from interviewer.store.tables import ExerciseRunRow


class RunTest(BaseModel):
    name: str
    ok: bool
    outcome: str
    message: str


class RunTiming(BaseModel):
    name: str
    n: int
    cpu_ms: float


class ExerciseRunRecord(BaseModel):
    id: int
    exercise_id: str
    kind: str
    """`examples` (the visible tests) or `submit` (all tests)."""
    status: str
    code: str
    passed: int
    failed: int
    errors: int
    timed_out: bool
    duration_ms: float
    crash: str | None
    tests: list[RunTest]
    timings: list[RunTiming]
    created_at: str


def run_records(rows: Sequence[ExerciseRunRow]) -> list[ExerciseRunRecord]:
    out = []
    for row in rows:
        result = row.result or {}
        out.append(
            ExerciseRunRecord(
                id=row.id,
                exercise_id=row.exercise_id,
                kind=row.kind,
                status=row.status,
                code=row.code,
                passed=int(result.get("passed", 0)),
                failed=int(result.get("failed", 0)),
                errors=int(result.get("errors", 0)),
                timed_out=bool(result.get("timed_out", False)),
                duration_ms=float(result.get("duration_ms", 0.0)),
                crash=result.get("crash"),
                tests=[
                    RunTest(
                        name=t["name"],
                        ok=t["outcome"] == "passed",
                        outcome=t["outcome"],
                        message=t["message"],
                    )
                    for t in result.get("tests", [])
                ],
                timings=[
                    RunTiming(name=t["name"], n=t["n"], cpu_ms=t["cpu_ms"]) for t in result.get("timings", [])
                ],
                created_at=row.created_at.isoformat(),
            )
        )
    return out
