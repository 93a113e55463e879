"""Coding exercises as use cases: list them, run a submission against an exercise's tests in the
sandbox, check every reference solution (what `interviewer bank validate` adds for exercises) or
one draft's (what an HR edit must pass before it is saved).

The service reads the exercises it was given as they are now (a live view of the bank's, which
HR's edits replace); a session given an earlier revision asks for it by `revision`, looked up in
the stored snapshots (`versions`).

Runs go through the service's `RunQueue`: its own workers, a bounded wait, `errors.Overloaded`
past it — a burst of submissions cannot take the threads the chat needs. A run's limits come from
its exercise: each test's time limit, and a CPU budget and deadline that cover every test timing
out, so an honest submission never meets the deadline and a hostile one meets it soon.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from pathlib import Path

from interviewer.bank import Bank, BankError
from interviewer.bank.exercises import LiveExercises, load_exercises, validate_exercises
from interviewer.domain import Exercise, ExerciseFollowUp, FailureKind
from interviewer.errors import Invalid, NotFound, Overloaded, Unavailable
from interviewer.sandbox import BubblewrapSandbox, Limits, RunQueue, RunResult, Sandbox, SourceFile, Suite
from interviewer.store import repo
from interviewer.store.db import Database

MAX_CODE_CHARS = 64_000
"""A submission larger than this is refused before it reaches the sandbox."""
DEFAULT_LIMITS = Limits()
MAX_BUDGET_S = 60.0
"""The CPU budget and deadline of a run never exceed this, whatever its tests declare."""
_ORDER: tuple[FailureKind, ...] = ("empty_input", "wrong_edge_case", "timeout", "error", "wrong_answer")


@dataclass(frozen=True)
class ExerciseRun:
    """A submission's result, read against its exercise."""

    exercise: Exercise
    result: RunResult
    hidden: bool
    """The hidden tests ran too (a submission), not only the examples."""

    @property
    def failures(self) -> list[FailureKind]:
        """What went wrong, most telling first: a failing test's declared kind (`test_kinds`),
        `timeout` for a test over its limit, `error` for an exception, else `wrong_answer`."""
        found: set[FailureKind] = set()
        for test in self.result.tests:
            if test.ok:
                continue
            declared = self.exercise.test_kinds.get(test.name)
            if test.outcome == "timeout":
                found.add("timeout")
            elif declared is not None:
                found.add(declared)
            else:
                found.add("error" if test.outcome == "error" else "wrong_answer")
        return [kind for kind in _ORDER if kind in found]

    @property
    def follow_up(self) -> ExerciseFollowUp | None:
        """The exercise's follow-up for the most telling failure it has one for."""
        for kind in self.failures:
            follow_up = self.exercise.follow_up(kind)
            if follow_up is not None:
                return follow_up
        return None


Versions = Callable[[str], Exercise | None]
"""A stored revision of an exercise, by its `Exercise.revision` (None when it was never stored)."""


class ExerciseService:
    def __init__(
        self,
        exercises: Mapping[str, Exercise],
        runs: RunQueue,
        *,
        limits: Limits = DEFAULT_LIMITS,
        versions: Versions | None = None,
    ) -> None:
        self._exercises = exercises
        self._versions = versions
        self.runs = runs
        self.limits = limits

    def exercises(self) -> list[Exercise]:
        return sorted(self._exercises.values(), key=lambda e: e.id)

    def get(self, exercise_id: str, *, revision: str | None = None) -> Exercise:
        """The exercise as it is now, or — with `revision` — as a session was given it."""
        current = self._exercises.get(exercise_id)
        if revision is not None and (current is None or current.revision != revision):
            kept = self._versions(revision) if self._versions is not None else None
            if kept is not None and kept.id == exercise_id:
                return kept
        if current is None:
            raise NotFound(f"no exercise {exercise_id!r}")
        return current

    def run(
        self, exercise_id: str, code: str, *, hidden: bool = True, revision: str | None = None
    ) -> ExerciseRun:
        """Run `code` as the module `solution` against the exercise's examples (and hidden tests
        unless `hidden=False`). Raises NotFound, Invalid (code too large), Overloaded (the queue
        is full) or Unavailable (no sandbox here)."""
        return self.run_exercise(self.get(exercise_id, revision=revision), code, hidden=hidden)

    def run_exercise(self, exercise: Exercise, code: str, *, hidden: bool = True) -> ExerciseRun:
        """`run` on an exercise given whole (a draft not in the bank)."""
        _check_code(code)
        suite = suite_for(exercise, hidden=hidden)
        result = self.runs.run(code, suite, limits_for(suite, self.limits))
        return ExerciseRun(exercise, result, hidden)

    def reference_failures(self, exercise: Exercise) -> list[str]:
        """The exercise's reference solution against all its tests: what failed, one line each
        (none: it passes). Raises Unavailable (no sandbox here) or Overloaded."""
        return failures(self.run_exercise(exercise, exercise.solution))

    async def run_async(
        self, exercise_id: str, code: str, *, hidden: bool = True, revision: str | None = None
    ) -> ExerciseRun:
        exercise = self.get(exercise_id, revision=revision)
        _check_code(code)
        suite = suite_for(exercise, hidden=hidden)
        result = await self.runs.run_async(code, suite, limits_for(suite, self.limits))
        return ExerciseRun(exercise, result, hidden)

    def check_references(self) -> list[ExerciseRun]:
        """Every exercise's reference solution against all its tests (run concurrently on the
        queue's workers); the caller reads which failed."""
        futures: list[tuple[Exercise, Future[RunResult]]] = []
        for exercise in self.exercises():
            suite = suite_for(exercise, hidden=True)
            while True:
                try:
                    future = self.runs.submit(exercise.solution, suite, limits_for(suite, self.limits))
                    break
                except Overloaded:  # more exercises than the queue holds: wait for a slot
                    wait([f for _, f in futures if not f.done()], return_when=FIRST_COMPLETED)
            futures.append((exercise, future))
        return [ExerciseRun(exercise, future.result(), True) for exercise, future in futures]

    def close(self) -> None:
        self.runs.close()


def failures(run: ExerciseRun) -> list[str]:
    """A reference solution's run as problems: each failing test, or the crash when none failed."""
    found = [f"fails {t.name}: {t.message}" for t in run.result.tests if not t.ok]
    if run.result.crash and not found:
        found.append(run.result.crash)
    return found


def suite_for(exercise: Exercise, *, hidden: bool) -> Suite:
    files = [SourceFile("examples", exercise.examples)]
    if hidden:
        files.append(SourceFile("hidden", exercise.hidden))
    return Suite(
        files=tuple(files),
        time_limit_s=exercise.time_limit_s,
        time_limits=dict(exercise.time_limits),
        scale_sizes=tuple(exercise.scale_sizes) if hidden else (),
    )


def limits_for(suite: Suite, base: Limits) -> Limits:
    """`base` with a CPU budget and a deadline that cover every test and timing point running to
    its limit (plus start-up), capped at MAX_BUDGET_S."""
    scales = [s for f in suite.files for s in f.functions("scale_")]
    budget = sum(suite.limit_for(name) for _, name in suite.tests())
    budget += sum(suite.limit_for(name) for name in scales) * len(suite.scale_sizes)
    budget = min(budget + suite.time_limit_s, MAX_BUDGET_S)  # the imports run under a limit too
    return Limits(
        cpu_s=max(base.cpu_s, math.ceil(budget) + 1),
        wall_s=max(base.wall_s, min(3 * budget + 5, MAX_BUDGET_S)),
        memory_bytes=base.memory_bytes,
        processes=base.processes,
        file_bytes=base.file_bytes,
        disk_bytes=base.disk_bytes,
        open_files=base.open_files,
        output_bytes=base.output_bytes,
        nice=base.nice,
    )


def _check_code(code: str) -> None:
    if len(code) > MAX_CODE_CHARS:
        raise Invalid(f"the code is {len(code)} characters long; at most {MAX_CODE_CHARS} are accepted")
    if "\x00" in code:
        raise Invalid("the code contains a NUL character")


def open_exercises(
    knowledge_dir: Path,
    *,
    sandbox: Sandbox | None = None,
    workers: int = 2,
    max_queued: int = 20,
    limits: Limits = DEFAULT_LIMITS,
    bank: Bank | None = None,
    db: Database | None = None,
) -> ExerciseService:
    """The service over the exercises of `knowledge_dir` (raises `Invalid` listing every problem
    of the files) — or, given `bank`, over the bank's as they are now (HR's edits included) — with
    the revisions sessions were given looked up in `db`. No process starts here: the sandbox is
    probed on the first run."""
    exercises: Mapping[str, Exercise]
    if bank is not None:
        exercises = LiveExercises(bank)
    else:
        try:
            exercises = load_exercises(knowledge_dir)
        except BankError as exc:
            raise Invalid(str(exc)) from exc
    queue = RunQueue(sandbox or BubblewrapSandbox(), workers=workers, max_queued=max_queued)
    return ExerciseService(
        exercises, queue, limits=limits, versions=stored_versions(db) if db is not None else None
    )


def stored_versions(db: Database) -> Versions:
    """The revisions of exercises that sessions were given, from the database."""

    def lookup(revision: str) -> Exercise | None:
        with db.session() as session:
            return repo.exercise_versions(session, [revision]).get(revision)

    return lookup


@dataclass(frozen=True)
class ExerciseCheck:
    """What `interviewer bank validate` reports for the exercises."""

    exercises: int
    problems: list[str]
    """Each as `file: field: message` — a file that breaks the schema, or a reference solution
    that fails one of its tests (or cannot run: no sandbox here)."""
    seconds: float = 0.0


def check_exercises(
    knowledge_dir: Path, *, sandbox: Sandbox | None = None, workers: int = 2
) -> ExerciseCheck:
    """Validate the exercise files; when they are valid, run every reference solution against
    all its tests in the sandbox."""
    exercises, found = validate_exercises(knowledge_dir)
    problems = [str(p) for p in found]
    if problems or not exercises:
        return ExerciseCheck(len(exercises), problems)
    started = time.perf_counter()
    service = ExerciseService(exercises, RunQueue(sandbox or BubblewrapSandbox(), workers=workers))
    try:
        runs = service.check_references()
    except Unavailable as exc:
        return ExerciseCheck(len(exercises), [f"exercises: -: the reference solutions cannot run: {exc}"])
    finally:
        service.close()
    for run in runs:
        problems += [f"exercises/{run.exercise.id}.yaml: solution: {f}" for f in failures(run)]
    return ExerciseCheck(len(exercises), problems, time.perf_counter() - started)
