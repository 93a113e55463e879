"""The exercise API with a busy, missing or hostile sandbox (issue 11).

- a run while the sandbox's queue is full gets 503 with Retry-After and says so; nothing of it is
  stored (no run row left pending, no submission turn), and the same `client_msg_id` succeeds once
  the queue has room;
- a sandbox that cannot run (bubblewrap missing, its Python missing) gets 503 with the reason;
  nothing is stored, and the same `client_msg_id` succeeds once it works; an engine failing
  otherwise (a bug) leaves no run pending either;
- hostile submissions sent through the API (an endless loop, a fork bomb, 8 GB, a socket to the
  host, the database file and other host files, the environment, gigabytes of output, killing its
  parent or its own group) each come back as a clear result within the run's deadline, leave no
  process behind, and the service goes on: a chat answer afterwards succeeds and the database file
  is intact.

One app per module (one sandbox worker, no queue beyond it), its sandbox passed in through
`create_app`'s door: a switch whose engine each test sets (the real bubblewrap sandbox unless
the test is about the queue or a missing sandbox). The hostile cases need bubblewrap and are
skipped with the reason where it cannot run (a failure in CI); the others run everywhere. Every
test opens its own interviews, so the module is safe under pytest-xdist.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import sqlite3
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from interviewer.bank import Bank, VectorIndex
from interviewer.bank.exercises import load_exercises
from interviewer.sandbox import BubblewrapSandbox, CaseResult, Limits, RunResult, Sandbox, Suite, new_label
from interviewer.services.exercises import DEFAULT_LIMITS, limits_for, suite_for
from interviewer.store import exercises as run_store
from tests.conftest import KNOWLEDGE, ROOT
from tests.kit import hostile
from tests.kit.client import send, start, transcript
from tests.kit.exercise import EXERCISE, exercise_client, reach_exercise, run_code
from tests.kit.review import FAST

RIGHT = """\
def merge(intervals):
    out = []
    for start, end in sorted(intervals):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out
"""
TIME_LIMIT_S = 0.5
"""Each test's CPU limit in this module's copy of the exercise (the shipped 2 s would make every
hostile run that spins or forks take 20 s; containment does not need it)."""
QUICK = load_exercises(KNOWLEDGE)[EXERCISE].model_copy(
    update={"time_limit_s": TIME_LIMIT_S, "time_limits": {}}
)
DEADLINE_S = limits_for(suite_for(QUICK, hidden=False), DEFAULT_LIMITS).wall_s + 10
"""The examples' run deadline (the sandbox kills the run there) plus a margin for a busy machine."""
ANSWER = "I would use a dict for the lookups and a heap for the top k, and test the empty input."


PROCESSES = 8
"""This module's process limit (the shipped 32 is contained by tests/test_sandbox.py): a fork bomb
sent through the API then spins 8 processes, not 32, and its starved tests are given back a
quarter of the waiting."""


class Switch:
    """The app's sandbox: hands every run to `engine`, which a test may replace."""

    def __init__(self, engine: Sandbox) -> None:
        self.engine = engine

    def run(self, code: str, tests: Suite, limits: Limits) -> RunResult:
        return self.engine.run(
            code, tests, dataclasses.replace(limits, processes=min(limits.processes, PROCESSES))
        )


class Passing:
    """Runs nothing and passes every test: for the tests about the queue, not the code."""

    def run(self, code: str, tests: Suite, limits: Limits) -> RunResult:
        cases = [CaseResult(name=name, group=group, outcome="passed") for group, name in tests.tests()]
        return RunResult.of(cases, duration_ms=1.0)


class Gate(Passing):
    """Holds every run until released (tells when one has arrived)."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.released = threading.Event()

    def run(self, code: str, tests: Suite, limits: Limits) -> RunResult:
        self.entered.set()
        if not self.released.wait(60):
            raise AssertionError("the gate was never released")
        return super().run(code, tests, limits)


@dataclass
class App:
    client: TestClient
    switch: Switch
    real: BubblewrapSandbox
    database: Path

    def runs(self, sid: str) -> list[tuple[str, str]]:
        """(kind, status) of every run stored for the session."""
        with self.client.app.state.ctx.db.session() as db:  # type: ignore[attr-defined]
            return [(r.kind, r.status) for r in run_store.list_runs(db, session_id=sid)]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, bank: Bank, full_index: VectorIndex) -> Iterator[App]:
    tmp = tmp_path_factory.mktemp("exercise-sandbox-api")
    real = BubblewrapSandbox(label=new_label())  # no I/O until its first run
    switch = Switch(real)
    quick = dataclasses.replace(bank, exercises={**bank.exercises, EXERCISE: QUICK})
    client = exercise_client(
        tmp, quick, full_index, sandbox=switch, sandbox_workers=1, sandbox_queue=0, **FAST
    )
    with client:
        yield App(client, switch, real, tmp / "data" / "interviewer.db")


@pytest.fixture
def use(app: App) -> Iterator[Callable[[Sandbox], None]]:
    """Sets the app's sandbox engine for one test; the real one again afterwards."""

    def set_engine(engine: Sandbox) -> None:
        app.switch.engine = engine

    yield set_engine
    app.switch.engine = app.real


def submitted(client: TestClient, sid: str, auth: dict[str, str]) -> list[str]:
    """The submission turns of the transcript."""
    return [m["content"] for m in transcript(client, sid, auth) if "Submitted code" in m["content"]]


# --- a busy sandbox -------------------------------------------------------------------------------


def test_a_run_while_the_queue_is_full_gets_503_and_nothing_is_stored(
    app: App, use: Callable[[Sandbox], None]
) -> None:
    client = app.client
    holder, holder_auth, _ = reach_exercise(client)
    sid, auth, _ = reach_exercise(client)
    gate = Gate()
    use(gate)
    cid = str(uuid.uuid4())
    with ThreadPoolExecutor(max_workers=1) as pool:
        held = pool.submit(run_code, client, holder, holder_auth, RIGHT, "examples")
        try:
            assert gate.entered.wait(30), "the first run never reached the sandbox"
            busy = run_code(client, sid, auth, RIGHT, "submit", cid)
            assert busy.status_code == 503, busy.text
            assert int(busy.headers["Retry-After"]) > 0
            detail = busy.json()["detail"]
            assert "busy" in detail and "try again" in detail
            assert app.runs(sid) == []  # taken pending, then dropped: nothing left behind
            assert submitted(client, sid, auth) == []
            assert app.runs(holder) == [("examples", "pending")]
        finally:
            gate.released.set()
        assert held.result(timeout=60).status_code == 200

    use(Passing())
    later = run_code(client, sid, auth, RIGHT, "submit", cid)
    assert later.status_code == 200, later.text
    run = later.json()["run"]
    assert run["passed"] == len(run["tests"]) > 2  # the hidden tests too
    assert later.json()["messages"], "the submission got no reply"
    assert app.runs(sid) == [("submit", "done")]
    assert len(submitted(client, sid, auth)) == 1
    assert app.runs(holder) == [("examples", "done")]


# --- a sandbox that cannot run --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("broken", "reason"),
    [
        ({"bwrap": "/nonexistent/bwrap"}, "install bubblewrap"),
        ({"python": "/nonexistent/python3"}, "Python cannot run"),
    ],
    ids=["bubblewrap-missing", "python-missing"],
)
def test_an_unavailable_sandbox_gets_503_and_nothing_is_stored(
    app: App, use: Callable[[Sandbox], None], broken: dict[str, str], reason: str
) -> None:
    client = app.client
    sid, auth, _ = reach_exercise(client)
    use(BubblewrapSandbox(label=new_label(), **broken))
    cid = str(uuid.uuid4())
    for kind in ("examples", "submit"):
        r = run_code(client, sid, auth, RIGHT, kind, cid if kind == "submit" else None)
        assert r.status_code == 503, r.text
        assert int(r.headers["Retry-After"]) > 0
        detail = r.json()["detail"]
        assert "sandbox is unavailable" in detail and reason in detail, detail
    assert app.runs(sid) == []
    assert submitted(client, sid, auth) == []

    use(Passing())  # the sandbox works again: the same submission goes through
    later = run_code(client, sid, auth, RIGHT, "submit", cid)
    assert later.status_code == 200, later.text
    assert app.runs(sid) == [("submit", "done")]


class Failing:
    """An engine with a bug: raises what is not a service error."""

    def run(self, code: str, tests: Suite, limits: Limits) -> RunResult:
        raise RuntimeError("the engine failed")


def test_a_failing_engine_leaves_no_run_pending(app: App, use: Callable[[Sandbox], None]) -> None:
    client = app.client
    sid, auth, _ = reach_exercise(client)
    use(Failing())
    with pytest.raises(RuntimeError):  # the test client re-raises the server's 500
        run_code(client, sid, auth, RIGHT, "examples")
    use(Passing())
    later = run_code(client, sid, auth, RIGHT, "examples")
    assert later.status_code == 200, later.text


# --- hostile code -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bubblewrap(app: App) -> BubblewrapSandbox:
    """The app's real sandbox, where bwrap can run (else the test is skipped; failed in CI)."""
    reason = app.real.unavailable()
    if reason is not None:
        hostile.require_bubblewrap()  # skips, or fails in CI, with the reason
    return app.real


@dataclass(frozen=True)
class Attack:
    code: str
    """Defines `attack()`; `merge` returns what it returns."""
    check: Callable[[dict[str, Any]], None]
    """Asserts on the run as the API returned it."""


def _messages(run: dict[str, Any]) -> str:
    return json.dumps(run)


def _timed_out(run: dict[str, Any]) -> None:
    """Over a test's time limit, or (a test starved by its own forks is granted the time it
    waited for a CPU) over the run's deadline."""
    assert run["timed_out"] and run["passed"] == 0
    assert all("timed out" in t["message"] or "deadline" in t["message"] for t in run["tests"]), run["tests"]


def _memory_error(run: dict[str, Any]) -> None:
    assert run["errors"] == len(run["tests"]) and run["passed"] == 0
    assert all("MemoryError" in t["message"] for t in run["tests"]), run["tests"]


def _contained(run: dict[str, Any]) -> None:
    """`merge` raised nothing: `attack()` reached nothing (else its message says LEAKED)."""
    assert "LEAKED" not in _messages(run), run["tests"]
    assert run["failed"] == len(run["tests"]) and run["passed"] == 0 and not run["timed_out"]


def _truncated(run: dict[str, Any]) -> None:
    assert run["stdout_truncated"] and run["passed"] == 0


def _crashed(run: dict[str, Any]) -> None:
    assert run["errors"] == len(run["tests"]) and run["crash"] and "killed" in run["crash"], run


SECRET = f"s3cret-{uuid.uuid4().hex}"


def _environment_hidden(run: dict[str, Any]) -> None:
    shown = _messages(run)
    assert SECRET not in shown and "INTERVIEWER_" not in shown and "OPENAI" not in shown
    assert run["errors"] == len(run["tests"])  # merge raised what it found: an empty environment


LEAK_CHECK = """

def merge(intervals):
    found = attack()
    if found:
        raise RuntimeError(f"LEAKED {found!r}")
    return "contained"
"""
RETURN_IT = """

def merge(intervals):
    return attack()
"""
RAISE_IT = """

def merge(intervals):
    raise ValueError(attack())
"""


def attacks(database: Path, port: int, abstract: str) -> dict[str, Attack]:
    files = [
        str(database),
        f"{database}-wal",
        str(Path(__file__).resolve()),
        str(ROOT / "pyproject.toml"),
        str(KNOWLEDGE / "exercises" / f"{EXERCISE}.yaml"),
        "/etc/shadow",
        "/etc/passwd",
        "/root/.ssh/id_rsa",
        sys.executable,
        "/bin/sh",
    ]
    return {
        "infinite-loop": Attack(hostile.INFINITE_LOOP + RETURN_IT, _timed_out),
        "fork-bomb": Attack(hostile.FORK_BOMB + RETURN_IT, _timed_out),
        "allocate-8-gb": Attack(hostile.ALLOCATE_8_GB + RETURN_IT, _memory_error),
        "socket-to-the-host": Attack(hostile.connect(port, abstract) + LEAK_CHECK, _contained),
        "read-the-database-and-host-files": Attack(hostile.read_files(files) + LEAK_CHECK, _contained),
        "read-the-environment": Attack(hostile.READ_ENVIRONMENT + RAISE_IT, _environment_hidden),
        "print-gigabytes": Attack(hostile.print_gigabytes("stdout") + RETURN_IT, _truncated),
        "kill-its-parent": Attack(
            hostile.kill_parents((os.getpid(), os.getppid())) + RETURN_IT, _contained_alive
        ),
        "kill-its-own-group": Attack(hostile.KILL_OWN_GROUP + RETURN_IT, _crashed),
    }


def _contained_alive(run: dict[str, Any]) -> None:
    """`attack()` returned "alive": the run went on to its tests' verdicts."""
    assert run["failed"] == len(run["tests"]) and run["crash"] is None, run


ATTACKS = [
    "infinite-loop",
    "fork-bomb",
    "allocate-8-gb",
    "socket-to-the-host",
    "read-the-database-and-host-files",
    "read-the-environment",
    "print-gigabytes",
    "kill-its-parent",
    "kill-its-own-group",
]


def service_goes_on(app: App) -> None:
    """A chat answer in another interview succeeds, and the database file is intact."""
    sid, auth, _ = start(app.client, "python")
    r = send(app.client, sid, auth, ANSWER)
    assert r.status_code == 200, r.text
    with sqlite3.connect(f"file:{app.database}?mode=ro", uri=True) as db:
        assert db.execute("PRAGMA quick_check").fetchone() == ("ok",)


@pytest.mark.parametrize("name", ATTACKS)
def test_hostile_code_through_the_api_gets_a_clear_result(
    app: App, bubblewrap: BubblewrapSandbox, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INTERVIEWER_TEST_SECRET", SECRET)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    abstract = f"\0interviewer-test-{uuid.uuid4().hex}"
    unix_listener = socket.socket(socket.AF_UNIX)
    unix_listener.bind(abstract)
    unix_listener.listen(1)
    attack = attacks(app.database, listener.getsockname()[1], abstract)[name]
    client = app.client
    sid, auth, _ = reach_exercise(client)
    try:
        started = time.monotonic()
        r = run_code(client, sid, auth, attack.code, "examples")
        took = time.monotonic() - started
        with pytest.raises(TimeoutError):
            listener.accept()
    finally:
        listener.close()
        unix_listener.close()
    assert r.status_code == 200, r.text
    assert took < DEADLINE_S, f"the run took {took:.1f} s"
    run = r.json()["run"]
    assert run["kind"] == "examples" and len(run["tests"]) == 2
    attack.check(run)
    hostile.no_strays(bubblewrap.label)
    assert app.runs(sid) == [("examples", "done")]
    service_goes_on(app)
