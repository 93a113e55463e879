"""Coding exercises: `knowledge/exercises/<id>.yaml`, one `Exercise` per file.

Validated like the questions (every problem with its file and field, not just the first): the
schema and the code checks of `domain.Exercise` (each code field parses, test names are unique,
limits name real tests), plus the file name matching the id. Whether each reference solution
passes its own tests is a question for the sandbox, asked by `interviewer bank validate` through
the exercise service; this module runs nothing.

A loaded bank holds its exercises (`Bank.exercises`); HR's edits replace that dict (never mutate
it), and `LiveExercises` is the view that whoever outlives an edit (the engine, the exercise
service) holds, so that the next interview gets the new version.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, ValuesView
from pathlib import Path

from interviewer.bank.loader import Bank, BankError, Problem, _parse, _read_yaml
from interviewer.domain import Exercise

FOLDER = "exercises"


def validate_exercises(root: Path) -> tuple[dict[str, Exercise], list[Problem]]:
    """The exercises of the knowledge folder `root` that are valid, and every problem found.
    No `exercises/` folder is no problem (a bank without coding exercises)."""
    folder = root / FOLDER
    exercises: dict[str, Exercise] = {}
    problems: list[Problem] = []
    for path in sorted(folder.glob("*.y*ml")) if folder.is_dir() else []:
        name = f"{FOLDER}/{path.name}"
        doc = _read_yaml(path, name, problems)
        if doc is None:
            continue
        if not isinstance(doc, dict):
            problems.append(Problem(name, "-", "expected a mapping: one exercise per file"))
            continue
        exercise = _parse(Exercise, doc, name, "", problems)
        if exercise is None:
            continue
        if exercise.id != path.stem:
            problems.append(Problem(name, "id", f"id {exercise.id!r} must match the file name {path.stem!r}"))
            continue
        if exercise.id in exercises:
            problems.append(Problem(name, "id", f"exercise {exercise.id!r} is defined twice"))
            continue
        exercises[exercise.id] = exercise
    return exercises, problems


def load_exercises(root: Path) -> dict[str, Exercise]:
    """The exercises by id, sorted; raises `BankError` listing every problem."""
    exercises, problems = validate_exercises(root)
    if problems:
        raise BankError(problems)
    return dict(sorted(exercises.items()))


class LiveExercises(Mapping[str, Exercise]):
    """The exercises of `bank` as they are now (each read sees the current `bank.exercises`)."""

    def __init__(self, bank: Bank) -> None:
        self._bank = bank

    def __getitem__(self, exercise_id: str) -> Exercise:
        return self._bank.exercises[exercise_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._bank.exercises)

    def __len__(self) -> int:
        return len(self._bank.exercises)

    def values(self) -> ValuesView[Exercise]:
        return self._bank.exercises.values()  # one dict: consistent while HR replaces it
