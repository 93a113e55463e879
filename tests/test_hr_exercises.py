"""HR's coding exercises, at the real edge: a real SQLite file, the real bubblewrap sandbox (skipped
with its reason where bubblewrap cannot run). An exercise is saved as a new version only when it
fits the schema of the files and its reference solution passes its tests in the sandbox; a bad
document, a failing reference or a missing sandbox saves nothing. A running interview keeps the
revision it was given — its follow-up, its score and its runs — while a new one gets HR's edit.
Export and import carry the exercises."""

from __future__ import annotations

import copy
import dataclasses
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from interviewer.bank import Bank, VectorIndex, load_bank, validate_bank
from interviewer.engine.state import SessionState
from interviewer.errors import Invalid, NotFound, PreconditionFailed, Unavailable
from interviewer.sandbox import BubblewrapSandbox
from interviewer.services.bank_edits import BankEdits
from interviewer.services.credentials import hash_password
from interviewer.services.exercises import ExerciseService, open_exercises
from interviewer.store import bank_edits as hrdb
from interviewer.store import repo
from interviewer.store import staff as staff_store
from interviewer.store.db import Database
from interviewer.store.tables import AuditLog, ExerciseVersion
from tests.conftest import KNOWLEDGE
from tests.kit.client import make_client, send
from tests.kit.exercise import EXERCISE, WRONG, one_exercise_bank, reach_exercise, require_sandbox, run_code

HR = "hr@example.com"
PASSWORD = "correct horse battery"
SHIPPED = EXERCISE
FAILS_ON_EMPTY = WRONG
NEW_FOLLOW_UP = "HR's edit: what does your merge return for no intervals at all, and why?"
EXTRA_TEST = "\n\ndef test_hr_added_case():\n    assert merge([(5, 6), (1, 2)]) == [(1, 2), (5, 6)]\n"


@pytest.fixture(scope="module")
def sandbox_ok() -> None:
    require_sandbox()


def _exercise(exercise_id: str = SHIPPED, **changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(load_bank(KNOWLEDGE).exercises[SHIPPED].model_dump())
    doc.update(id=exercise_id, **changes)
    return doc


def _edited(doc: dict[str, Any]) -> dict[str, Any]:
    """`doc` with HR's kind of edit: a new statement, one more hidden test, a new follow-up."""
    follow_ups = [
        {**f, "text": NEW_FOLLOW_UP} if f["failure"] == "empty_input" else f for f in doc["follow_ups"]
    ]
    return {
        **doc,
        "title": "Merge intervals (HR's edit)",
        "statement": doc["statement"] + "\nHR's edit: the input may be given in any order.",
        "hidden": doc["hidden"] + EXTRA_TEST,
        "follow_ups": follow_ups,
    }


# --- the service ---------------------------------------------------------------------------------


@pytest.fixture
def checker(sandbox_ok: None) -> Iterator[ExerciseService]:
    service = open_exercises(KNOWLEDGE, workers=2)
    yield service
    service.close()


@pytest.fixture
def edits(db: Database, checker: ExerciseService) -> Iterator[BankEdits]:
    service = BankEdits(bank=load_bank(KNOWLEDGE), db=db, index=None, exercises=checker)
    service.refresh()
    yield service
    service.close()


def _revision(db: Database) -> tuple[int, int]:
    with db.session() as s:
        return hrdb.bank_revision(s)


def test_an_exercise_is_created_and_edited_as_versions(edits: BankEdits, db: Database) -> None:
    created = edits.save("exercise", _exercise("hr-merge"), author=HR)
    assert (created.kind, created.origin, created.version) == ("exercise", "hr", 1)
    assert [v.version for v in created.versions] == [1]  # not shipped: no version 0
    assert edits.bank.exercises["hr-merge"].title == "Merge overlapping intervals"

    edited = edits.save("exercise", _edited(_exercise("hr-merge")), author=HR, item_id="hr-merge", based_on=1)
    assert edited.version == 2 and [v.version for v in edited.versions] == [1, 2]
    assert edits.bank.exercises["hr-merge"].title == "Merge intervals (HR's edit)"
    assert "test_hr_added_case" in edits.bank.exercises["hr-merge"].tests()

    shipped = edits.save("exercise", _edited(_exercise()), author=HR, item_id=SHIPPED, based_on=0)
    assert (shipped.origin, [v.version for v in shipped.versions]) == ("hr", [0, 1])
    listed = {e.record.id: (e.origin, e.version) for e in edits.exercises()}
    assert listed["hr-merge"] == ("hr", 2) and listed[SHIPPED] == ("hr", 1)
    assert listed["top-k-frequent"] == ("seed", 0)

    with pytest.raises(PreconditionFailed):  # based on version 1, now at 2
        edits.save("exercise", _exercise("hr-merge"), author=HR, item_id="hr-merge", based_on=1)
    with db.session() as s:
        actions = [(e.action, e.subject) for e in s.scalars(select(AuditLog))]
    assert ("bank.exercise.create", "exercise:hr-merge") in actions
    assert ("bank.exercise.update", "exercise:hr-merge") in actions
    assert ("bank.exercise.update", f"exercise:{SHIPPED}") in actions

    edits.close()  # the files' exercises come back
    assert "hr-merge" not in edits.bank.exercises
    assert edits.bank.exercises[SHIPPED].title == "Merge overlapping intervals"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"difficulty": 7}, "difficulty"),
        ({"title": ""}, "title"),
        ({"hidden": "def test_x(:\n    pass\n"}, "hidden"),
        ({"time_limits": {"test_nope": 1.0}}, "time_limits"),
        ({"statement": "bell\x07"}, "statement"),
    ],
    ids=["difficulty", "empty title", "hidden not Python", "limit of no test", "control character"],
)
def test_a_document_that_breaks_the_schema_saves_nothing(
    edits: BankEdits, db: Database, changes: dict[str, Any], field: str
) -> None:
    before = _revision(db)
    with pytest.raises(Invalid) as caught:
        edits.save("exercise", _exercise("hr-bad", **changes), author=HR)
    problems = caught.value.problems or []
    assert problems and all(p["msg"] for p in problems)
    assert field in [p["field"] for p in problems]
    assert _revision(db) == before and "hr-bad" not in edits.bank.exercises


def test_a_reference_solution_that_fails_its_tests_saves_nothing(edits: BankEdits, db: Database) -> None:
    before = _revision(db)
    wrong = _exercise(solution=FAILS_ON_EMPTY)
    with pytest.raises(Invalid) as caught:
        edits.save("exercise", wrong, author=HR, item_id=SHIPPED)
    problems = caught.value.problems or []
    assert [p["field"] for p in problems] == ["solution"]
    assert "test_empty_list" in problems[0]["msg"] and "reference solution fails" in problems[0]["msg"]
    assert _revision(db) == before
    assert edits.bank.exercises[SHIPPED].solution != FAILS_ON_EMPTY


def test_no_sandbox_saves_nothing(db: Database) -> None:
    broken = open_exercises(KNOWLEDGE, sandbox=BubblewrapSandbox(bwrap="/nonexistent/bwrap"))
    service = BankEdits(bank=load_bank(KNOWLEDGE), db=db, index=None, exercises=broken)
    try:
        with pytest.raises(Unavailable):
            service.save("exercise", _exercise("hr-merge"), author=HR)
        with pytest.raises(NotFound):
            service.item("exercise", "hr-merge")
        assert _revision(db) == (0, 0)
    finally:
        service.close()
        broken.close()
    without = BankEdits(bank=load_bank(KNOWLEDGE), db=db, index=None)
    with pytest.raises(Unavailable):
        without.save("exercise", _exercise("hr-merge"), author=HR)
    without.close()


def test_export_and_import_carry_the_exercises(
    edits: BankEdits, tmp_path: Path, checker: ExerciseService
) -> None:
    edits.save("exercise", _edited(_exercise("hr-merge")), author=HR)
    data = edits.export_archive(author=HR)
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert "exercises/hr-merge.yaml" in names and f"exercises/{SHIPPED}.yaml" in names
    text = zipfile.ZipFile(io.BytesIO(data)).read("exercises/hr-merge.yaml").decode()
    assert "hidden: |" in text  # code as a YAML block, as people write it
    assert yaml.safe_load(text)["hidden"] == edits.bank.exercises["hr-merge"].hidden

    other = Database(f"sqlite:///{tmp_path / 'other.db'}")
    other.migrate()
    elsewhere = BankEdits(bank=load_bank(KNOWLEDGE), db=other, index=None, exercises=checker)
    try:
        counts = elsewhere.import_archive(data, author=HR)
        assert counts["exercises"]["added"] == 1 and counts["exercises"]["updated"] == 0
        assert elsewhere.bank.exercises["hr-merge"] == edits.bank.exercises["hr-merge"]
        assert elsewhere.item("exercise", "hr-merge").versions[-1].version == 1
        again = elsewhere.import_archive(data, author=HR)  # nothing changed: no new version
        assert again["exercises"] == {"added": 0, "updated": 0, "unchanged": len(edits.bank.exercises)}

        # an archive whose exercise's reference fails its tests: the whole import is refused
        buffer = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(buffer, "w") as target:
            for name in source.namelist():
                content = source.read(name)
                if name == "exercises/hr-merge.yaml":
                    doc = yaml.safe_load(content)
                    doc["solution"] = FAILS_ON_EMPTY
                    content = yaml.safe_dump(doc).encode()
                target.writestr(name, content)
        before = _revision(other)
        with pytest.raises(Invalid) as caught:
            elsewhere.import_archive(buffer.getvalue(), author=HR)
        problems = caught.value.problems or []
        assert problems[0]["file"] == "exercises/hr-merge.yaml" and "test_empty_list" in problems[0]["msg"]
        assert _revision(other) == before
    finally:
        elsewhere.close()
        other.dispose()


def test_cli_export_and_import_carry_the_exercises(
    edits: BankEdits, db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from interviewer.cli import app

    edits.save("exercise", _edited(_exercise("hr-merge")), author=HR)
    monkeypatch.setenv("DATABASE_URL", str(db.engine.url))
    monkeypatch.setenv("INTERVIEWER_KNOWLEDGE_DIR", str(KNOWLEDGE))
    monkeypatch.setenv("INTERVIEWER_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    out = tmp_path / "out"
    result = runner.invoke(app, ["bank", "export", str(out)])
    assert result.exit_code == 0, result.output
    exported, problems = validate_bank(out)
    assert problems == []
    assert exported.exercises["hr-merge"] == edits.bank.exercises["hr-merge"]
    assert set(exported.exercises) == set(edits.bank.exercises)

    path = out / "exercises" / "hr-merge.yaml"
    path.write_text(path.read_text().replace("Merge intervals (HR's edit)", "Merge intervals (CLI)"))
    result = runner.invoke(app, ["bank", "import", str(out)])
    assert result.exit_code == 0 and "exercises: 0 added, 1 updated" in result.output, result.output
    assert edits.item("exercise", "hr-merge").version == 2  # refreshed from the database
    assert edits.bank.exercises["hr-merge"].title == "Merge intervals (CLI)"

    path.write_text(yaml.safe_dump({**yaml.safe_load(path.read_text()), "solution": FAILS_ON_EMPTY}))
    result = runner.invoke(app, ["bank", "import", str(out)])
    assert result.exit_code == 1 and "test_empty_list" in result.output, result.output
    assert edits.item("exercise", "hr-merge").version == 2


# --- a running interview keeps its revision ------------------------------------------------------


@dataclasses.dataclass
class World:
    client: TestClient
    bank: Bank
    hr: dict[str, str]

    @property
    def db(self) -> Database:
        return self.client.app.state.ctx.db  # type: ignore[attr-defined,no-any-return]


@pytest.fixture
def world(tmp_path: Path, bank: Bank, full_index: VectorIndex, sandbox_ok: None) -> Iterator[World]:
    """The problem-solving track with one exercise (merge-intervals); an HR user."""
    own = one_exercise_bank(bank)
    with make_client(tmp_path, own, full_index, f"sqlite:///{tmp_path / 'hr.db'}") as client:
        db: Database = client.app.state.ctx.db  # type: ignore[attr-defined]
        with db.session() as s:
            staff_store.create_user(s, email=HR, role="hr", password_hash=hash_password(PASSWORD))
            s.commit()
        r = client.post("/api/v1/auth/login", json={"email": HR, "password": PASSWORD})
        assert r.status_code == 200, r.text
        client.cookies.clear()
        yield World(client, own, {"Authorization": f"Bearer {r.json()['token']}"})


def _reach_exercise(c: TestClient) -> tuple[str, dict[str, str], str]:
    sid, auth, reply = reach_exercise(c)
    return sid, auth, reply["messages"][-1]["content"]


def _submit(c: TestClient, sid: str, auth: dict[str, str], code: str) -> Any:
    r = run_code(c, sid, auth, code, "submit")
    assert r.status_code == 200, r.text
    return r.json()


def _state(w: World, sid: str) -> SessionState:
    with w.db.session() as s:
        row = repo.get_session(s, session_id=sid)
        assert row is not None
        return SessionState.model_validate(row.state)


def test_a_running_interview_keeps_the_exercise_it_was_given(world: World) -> None:
    c = world.client
    running, auth, presented = _reach_exercise(c)
    given = _state(world, running).tracks[0].exercises[0]
    old = world.bank.exercises[SHIPPED]
    assert given.revision == old.revision and "Merge overlapping intervals" in presented
    with world.db.session() as s:  # the revision given is stored once, by content
        kept = s.scalars(select(ExerciseVersion.revision).where(ExerciseVersion.exercise_id == SHIPPED)).all()
    assert kept == [old.revision]

    # HR edits the exercise while the interview runs
    r = c.get(f"/api/v1/hr/exercises/{SHIPPED}", headers=world.hr)
    assert r.status_code == 200 and r.json()["version"] == 0
    r = c.put(
        f"/api/v1/hr/exercises/{SHIPPED}",
        headers={**world.hr, "If-Match": '"0"'},
        json=_edited(r.json()["exercise"]),
    )
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 1 and world.bank.exercises[SHIPPED].revision != old.revision

    # the running interview: its runs, its follow-up and the scoring of the talk are its revision's
    shown = c.get(f"/api/v1/sessions/{running}/exercise", headers=auth).json()["exercise"]
    assert shown["title"] == old.title and shown["statement"] == old.statement
    reply = _submit(c, running, auth, FAILS_ON_EMPTY)
    assert "test_hr_added_case" not in {t["name"] for t in reply["run"]["tests"]}
    follow_up = reply["messages"][-1]["content"]
    assert "Walk me through what it does with `[]`" in follow_up and NEW_FOLLOW_UP not in follow_up
    r = send(c, running, auth, "With an empty list ordered[0] raises IndexError; I return [] first.")
    assert r.status_code == 200, r.text
    closed = _state(world, running).tracks[0].exercises[0]
    assert closed.closed and closed.assessment is not None
    assert set(closed.assessment.missed) <= {kp.id for kp in old.key_points}

    # its runs: the service runs a session's revision when asked for it
    service = open_exercises(KNOWLEDGE, bank=world.bank, db=world.db)
    try:
        as_given = service.run(SHIPPED, old.solution, revision=old.revision)
        current = service.run(SHIPPED, old.solution)
    finally:
        service.close()
    assert "test_hr_added_case" not in {t.name for t in as_given.result.tests}
    assert "test_hr_added_case" in {t.name for t in current.result.tests}
    assert as_given.exercise == old

    # a new interview gets HR's version, and its runs include HR's added test
    fresh, fresh_auth, presented = _reach_exercise(c)
    assert "Merge intervals (HR's edit)" in presented and "in any order" in presented
    assert "test_hr_added_case" in {
        t["name"] for t in _submit(c, fresh, fresh_auth, FAILS_ON_EMPTY)["run"]["tests"]
    }


def test_exercises_through_the_hr_api(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    c = world.client
    with monkeypatch.context() as env:  # no bubblewrap on the PATH: the first check finds no sandbox
        env.setenv("PATH", str(tmp_path))
        r = c.post("/api/v1/hr/exercises", headers=world.hr, json=_exercise("hr-merge"))
    assert r.status_code == 503 and "sandbox" in r.json()["detail"], r.text
    assert c.get("/api/v1/hr/exercises/hr-merge", headers=world.hr).status_code == 404


def test_hr_api_refuses_bad_exercises_and_saves_good_ones(world: World) -> None:
    c = world.client
    assert c.get("/api/v1/hr/exercises").status_code == 401
    r = c.post("/api/v1/hr/exercises", headers=world.hr, json=_exercise("hr-merge", difficulty=9))
    assert r.status_code == 422 and [p["field"] for p in r.json()["detail"]] == ["difficulty"], r.text
    r = c.post("/api/v1/hr/exercises", headers=world.hr, json=_exercise("hr-merge", solution=FAILS_ON_EMPTY))
    assert r.status_code == 422, r.text
    assert [p["field"] for p in r.json()["detail"]] == ["solution"]
    assert "test_empty_list" in r.json()["detail"][0]["msg"]
    assert c.get("/api/v1/hr/exercises/hr-merge", headers=world.hr).status_code == 404

    # a large exercise (four code fields of up to 20,000 characters) is over the app-wide 64 KB
    padded = _exercise("hr-merge")
    for name in ("examples", "hidden", "solution", "starter"):
        padded[name] += "\n# " + "x" * (19_990 - len(padded[name]))
    r = c.post("/api/v1/hr/exercises", headers=world.hr, json=padded)
    assert r.status_code == 201, r.text[:500]
    assert r.json()["version"] == 1 and r.json()["origin"] == "hr"
    listed = {e["id"]: e for e in c.get("/api/v1/hr/exercises", headers=world.hr).json()["exercises"]}
    assert listed["hr-merge"]["version"] == 1 and listed["hr-merge"]["tests"] == listed[SHIPPED]["tests"]
    r = c.put("/api/v1/hr/exercises/hr-merge", headers={**world.hr, "If-Match": '"0"'}, json=padded)
    assert r.status_code == 412, r.text
