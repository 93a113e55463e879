"""The coding exercise of an interview, as the candidate's use cases: read the open exercise, and
run code on it (the visible examples, or a submission of all the tests).

A run is durable like an answer: the row is committed pending first (`store/exercises.py`), then
the code runs on the exercise service's `RunQueue` (its own workers; `Overloaded` past its
bound), then the result is stored. A submission then goes through the interview service's answer
path as a candidate turn of kind `submission` whose facts (`SubmissionFacts`, read back from the
stored run by `facts`) the engine grounds its follow-up in: replies, state, assessment and model
calls are written exactly as an answer's. A retry with the same `client_msg_id` and code gets the
stored run (and the stored reply); other code under that id is a Conflict, and so is any run while
another is pending for the session.
"""

from __future__ import annotations

import ast
import asyncio
from dataclasses import dataclass
from typing import Any, Literal

from interviewer.domain import Exercise, SubmissionFacts
from interviewer.engine.exercise_step import MAX_SUBMISSIONS
from interviewer.engine.state import SessionState
from interviewer.errors import Conflict, NotFound
from interviewer.sandbox import RunResult
from interviewer.services import code_quality
from interviewer.services.exercises import ExerciseRun, ExerciseService
from interviewer.services.interview import InterviewService
from interviewer.store import exercises as store
from interviewer.store import repo
from interviewer.store.db import Database
from interviewer.store.tables import ExerciseRunRow, InterviewSession

RunKind = Literal["examples", "submit"]


@dataclass(frozen=True)
class RunReply:
    run: dict[str, Any]
    messages: list[dict[str, Any]]
    state: dict[str, Any]


def run_json(row: ExerciseRunRow) -> dict[str, Any]:
    """A stored run as the API shows it."""
    result = RunResult.model_validate(row.result) if row.result else None
    return {
        "id": row.id,
        "kind": row.kind,
        "status": row.status,
        "passed": result.passed if result else 0,
        "failed": result.failed if result else 0,
        "errors": result.errors if result else 0,
        "timed_out": result.timed_out if result else False,
        "tests": [{"name": t.name, "ok": t.ok, "message": t.message} for t in result.tests] if result else [],
        "duration_ms": result.duration_ms if result else 0.0,
        "stdout_truncated": result.stdout_truncated if result else False,
        "crash": result.crash if result else None,
        "created_at": row.created_at.isoformat(),
    }


def example_tests(source: str) -> list[dict[str, str]]:
    """The visible example tests one by one: each `test_*` function's name and source."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return [{"name": "examples", "code": source}]
    return [
        {"name": node.name, "code": ast.get_source_segment(source, node) or ""}
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_")
    ] or [{"name": "examples", "code": source}]


def facts_of(exercise: Exercise, code: str, result: RunResult) -> SubmissionFacts:
    """What the engine is told about a submission's run."""
    run = ExerciseRun(exercise, result, hidden=True)
    first = next((t for t in result.tests if not t.ok), None)
    scale = result.timings[0].name if result.timings else None
    return SubmissionFacts(
        exercise_id=exercise.id,
        passed=result.passed,
        total=len(result.tests),
        timed_out=result.timed_out,
        failures=run.failures,
        first_failure=first.name if first else None,
        first_message=first.message[:500] if first else "",
        crash=result.crash,
        timings=[(t.n, t.cpu_ms) for t in result.timings if t.name == scale],
        code=code,
        findings=None if (found := code_quality.findings(code)) is None else [str(f) for f in found],
    )


def summary(row: ExerciseRunRow) -> str:
    """The candidate turn a submission makes in the transcript."""
    result = RunResult.model_validate(row.result)
    return f"(Submitted code: {result.passed} of {len(result.tests)} tests passed.)"


class ExerciseRuns:
    def __init__(self, *, db: Database, interview: InterviewService, exercises: ExerciseService) -> None:
        self._db = db
        self._interview = interview
        self._exercises = exercises
        interview.submissions = self.facts

    async def current(self, *, session_id: str, token: str) -> dict[str, Any]:
        """The open exercise of the session (NotFound when none is open)."""
        state = await self._interview.owned_state(session_id=session_id, token=token)
        open_ = state.exercise
        if open_ is None:
            raise NotFound("no coding exercise is open in this interview")
        exercise = self._exercises.get(open_.exercise_id, revision=open_.revision)
        track = state.track
        assert track is not None
        config = state.track_configs.get(track.track)
        runs = await asyncio.to_thread(self._runs, session_id)
        return {
            "exercise": {
                "id": exercise.id,
                "title": exercise.title,
                "statement": exercise.statement,
                "starter_code": exercise.starter,
                "examples": example_tests(exercise.examples),
                "time_limit_s": 60 * (config.exercise_minutes if config else 20),
                "submitted": open_.submitted,
                "submissions": len(open_.submissions),
                "max_submissions": MAX_SUBMISSIONS,
            },
            "runs": [run_json(r) for r in runs if r.exercise_id == exercise.id],
        }

    def _runs(self, session_id: str) -> list[ExerciseRunRow]:
        with self._db.session() as db:
            return list(store.list_runs(db, session_id=session_id))

    async def run(
        self, *, session_id: str, token: str, code: str, kind: RunKind, client_msg_id: str
    ) -> RunReply:
        state = await self._interview.owned_state(session_id=session_id, token=token)
        body_hash = repo.sha256(f"{kind}\n{code}")
        open_ = state.exercise

        def take() -> store.Taken:
            with self._db.session() as db:
                existing = store.find_run(db, session_id=session_id, client_msg_id=client_msg_id)
                if existing is None and open_ is None:
                    raise Conflict("no coding exercise is open in this interview")
                if (
                    existing is None
                    and kind == "submit"
                    and open_
                    and len(open_.submissions) >= MAX_SUBMISSIONS
                ):
                    raise Conflict(
                        f"this exercise takes {MAX_SUBMISSIONS} submissions and has had them all; "
                        "answer the interviewer's question to go on"
                    )
                return store.take_run(
                    db,
                    session_id=session_id,
                    exercise_id=open_.exercise_id if open_ else "",
                    kind=kind,
                    client_msg_id=client_msg_id,
                    body_hash=body_hash,
                    code=code,
                )

        taken = await asyncio.to_thread(take)
        match taken.outcome:
            case "conflict":
                raise Conflict("this client_msg_id was already used with other code")
            case "busy":
                raise Conflict("another run is pending for this interview; wait for its result")
            case "duplicate":
                assert taken.run is not None
                if taken.run.status == "pending":
                    raise Conflict("this run is still pending; retry shortly")
                row = taken.run
            case "accepted":
                assert taken.run is not None
                row = await self._execute(taken.run, code, kind, revision=open_.revision if open_ else None)
        messages: list[dict[str, Any]] = []
        if row.kind == "submit":
            reply = await self._interview.answer(
                session_id=session_id,
                token=token,
                content=summary(row),
                client_msg_id=f"submit:{client_msg_id}",
                kind="submission",
            )
            messages, public = reply.messages, reply.state
        else:
            public = self._interview.public_state(state)
        return RunReply(run_json(row), messages, public)

    async def _execute(
        self, row: ExerciseRunRow, code: str, kind: RunKind, *, revision: str | None
    ) -> ExerciseRunRow:
        """Run the code against the exercise as the session was given it (`revision`: HR may have
        edited it since)."""
        try:
            ran = await self._exercises.run_async(
                row.exercise_id, code, hidden=kind == "submit", revision=revision
            )
        except BaseException:
            # Overloaded, Unavailable, Invalid — or an engine's bug, or the request cancelled at
            # shutdown: no result will come, so the pending row goes (else every run of the
            # session would be refused as "pending" until it is abandoned); the client may retry.
            await asyncio.shield(asyncio.to_thread(self._drop, row.id))
            raise
        result = ran.result.model_dump(mode="json")

        def finish() -> ExerciseRunRow:
            with self._db.session() as db:
                store.finish_run(db, run_id=row.id, result=result)
                done = db.get(ExerciseRunRow, row.id)
                assert done is not None
                db.expunge(done)
                return done

        return await asyncio.to_thread(finish)

    def _drop(self, run_id: int) -> None:
        with self._db.session() as db:
            store.drop_run(db, run_id=run_id)

    def facts(self, session_id: str, client_msg_id: str) -> SubmissionFacts | None:
        """The facts of the submission behind the candidate turn `submit:<client_msg_id>`. The
        database is read first and let go: the code review (ruff, a subprocess) holds no session."""
        run_id = client_msg_id.removeprefix("submit:")
        with self._db.session() as db:
            row = store.find_run(db, session_id=session_id, client_msg_id=run_id)
            if row is None or row.result is None or row.kind != "submit":
                return None
            session = db.get(InterviewSession, session_id)
            state = SessionState.model_validate(session.state) if session is not None else None
            exercise_id, code, result = row.exercise_id, row.code, RunResult.model_validate(row.result)
        given = [
            e.revision
            for t in (state.tracks if state else [])
            for e in t.exercises
            if e.exercise_id == exercise_id
        ]
        exercise = self._exercises.get(exercise_id, revision=given[-1] if given else None)
        return facts_of(exercise, code, result)
