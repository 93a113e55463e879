"""`interviewer exercise list|show|run`: the coding exercises from the terminal, and the check of
the reference solutions that `interviewer bank validate` adds.

`list` and `run` are a contract (DESIGN.md): `list` prints one problem per line, its id first;
`run PROBLEM_ID FILE` prints one JSON object and exits 0 whenever the code ran, whatever the code
did. Exit 2: an unknown problem, a file it cannot read or refuses; exit 1: the exercises do not
load or the sandbox cannot run here — each with one line on stderr.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from interviewer.config import Settings
from interviewer.errors import Invalid, NotFound, Overloaded, Unavailable
from interviewer.services.exercises import ExerciseRun, ExerciseService, check_exercises, open_exercises


def contract(run: ExerciseRun) -> dict[str, Any]:
    """The JSON object `interviewer exercise run` prints (DESIGN.md)."""
    result = run.result
    return {
        "problem_id": run.exercise.id,
        "passed": result.passed,
        "failed": result.failed,
        "errors": result.errors,
        "timed_out": result.timed_out,
        "tests": [{"name": t.name, "ok": t.ok, "message": t.message} for t in result.tests],
        "duration_ms": result.duration_ms,
        "stdout_truncated": result.stdout_truncated,
    }


def report_exercises(root: Path, out: Console) -> bool:
    """`bank validate`'s part for exercises: every problem of the files, then every reference
    solution run against its tests in the sandbox. True when nothing is wrong."""
    check = check_exercises(root)
    for problem in check.problems:
        out.print(f"[red]✗[/red] {problem}", highlight=False, soft_wrap=True)
    if check.problems:
        out.print(f"[red]{len(check.problems)} problem(s)[/red] in the exercises", highlight=False)
        return False
    if check.exercises:
        out.print(
            f"[green]ok[/green] {check.exercises} exercises: every reference solution passes its tests "
            f"in the sandbox ({check.seconds:.1f} s)",
            highlight=False,
        )
    return True


def register(app: typer.Typer, settings_factory: Any, out: Console, err: Console) -> None:
    exercise_app = typer.Typer(
        help="Coding exercises: list them, run a solution in the sandbox.", no_args_is_help=True
    )
    app.add_typer(exercise_app, name="exercise")

    def service() -> ExerciseService:
        settings: Settings = settings_factory()
        try:
            return open_exercises(settings.knowledge_dir, workers=1, max_queued=0)
        except Invalid as exc:
            err.print(
                f"{exc}\nrun `interviewer bank validate` for the full list", highlight=False, markup=False
            )
            raise typer.Exit(1) from exc

    @exercise_app.command("list")
    def list_exercises() -> None:
        """One exercise per line: id, topic, difficulty, title."""
        for exercise in service().exercises():
            sys.stdout.write(f"{exercise.id}\t{exercise.topic}\t{exercise.difficulty}\t{exercise.title}\n")

    @exercise_app.command("show")
    def show(
        problem_id: Annotated[str, typer.Argument(help="an id from `interviewer exercise list`")],
    ) -> None:
        """The statement, the starter code and the visible examples of one exercise."""
        try:
            exercise = service().get(problem_id)
        except NotFound as exc:
            err.print(f"{exc}; `interviewer exercise list` shows the ids", highlight=False, markup=False)
            raise typer.Exit(2) from exc
        sys.stdout.write(
            f"# {exercise.title} ({exercise.id})\n\n{exercise.statement}\n\n"
            f"## starter: solution.py\n\n{exercise.starter}\n\n## examples\n\n{exercise.examples}\n"
        )

    @exercise_app.command("run")
    def run(
        problem_id: Annotated[str, typer.Argument(help="an id from `interviewer exercise list`")],
        file: Annotated[Path, typer.Argument(help="the solution: a Python module", dir_okay=False)],
        examples_only: Annotated[bool, typer.Option(help="run only the visible examples")] = False,
    ) -> None:
        """Run FILE as the module `solution` against the problem's tests in the sandbox; print one
        JSON object (exit 0 whenever it ran, whatever the code did)."""
        exercises = service()
        try:
            exercises.get(problem_id)
        except NotFound as exc:
            err.print(f"{exc}; `interviewer exercise list` shows the ids", highlight=False, markup=False)
            raise typer.Exit(2) from exc
        try:
            code = file.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            err.print(f"cannot read {file}: not UTF-8 text", highlight=False, markup=False)
            raise typer.Exit(2) from exc
        except OSError as exc:
            err.print(f"cannot read {file}: {exc.strerror or exc}", highlight=False, markup=False)
            raise typer.Exit(2) from exc
        try:
            result = exercises.run(problem_id, code, hidden=not examples_only)
        except Invalid as exc:
            err.print(f"{file}: {exc}", highlight=False, markup=False)
            raise typer.Exit(2) from exc
        except (Unavailable, Overloaded) as exc:
            err.print(str(exc), highlight=False, markup=False)
            raise typer.Exit(1) from exc
        finally:
            exercises.close()
        sys.stdout.write(json.dumps(contract(result)) + "\n")
