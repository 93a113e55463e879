"""Scale-out, tested for real: the storage layer on SQLite and PostgreSQL (concurrent
connections, as several workers make them), the vector index against a Chroma server
(`chroma run`), and two `interviewer serve` processes sharing one PostgreSQL database and one
Chroma server — a session moves between them, and concurrent turns on one session have exactly
one winner. The PostgreSQL server is started by the tests themselves (tests/pg.py)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from interviewer.bank import Retriever, VectorIndex, load_bank
from interviewer.bank.embeddings import LocalMiniLM
from interviewer.bank.index import make_chroma_client
from interviewer.config import Settings
from interviewer.store import repo
from interviewer.store import staff as staff_store
from interviewer.store.db import MIGRATIONS, Database, normalize_url
from tests.conftest import ROOT, free_port
from tests.minibank import write_mini_bank

T = TypeVar("T")
CHROMA = Path(sys.executable).parent / "chroma"  # the CLI installed with chromadb
if not CHROMA.exists():
    CHROMA = Path(shutil.which("chroma") or CHROMA)


def at_once(*calls: Callable[[], T]) -> list[T]:
    """Run the calls in threads released together; their results in order (exceptions re-raised)."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(n: int, call: Callable[[], T]) -> None:
        barrier.wait()
        try:
            results[n] = call()
        except BaseException as exc:  # noqa: BLE001  # re-raised in the caller
            results[n] = exc

    threads = [threading.Thread(target=run, args=(n, c)) for n, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for r in results:
        if isinstance(r, BaseException):
            raise r
    return results


# --- storage on both databases ------------------------------------------------------------------


def test_postgres_urls_use_psycopg3() -> None:
    assert normalize_url("postgresql://u:p@h:5432/db") == "postgresql+psycopg://u:p@h:5432/db"
    assert normalize_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("sqlite:///x.db") == "sqlite:///x.db"


def test_workers_starting_at_once_migrate_once(database_url: str) -> None:
    databases = [Database(database_url) for _ in range(4)]  # one engine per "worker"
    try:
        applied = at_once(*(d.migrate for d in databases))
        assert sorted(name for names in applied for name in names) == sorted(name for name, _ in MIGRATIONS)
        assert databases[0].migrate() == []
        assert {"sessions", "turns", "schema_migrations", "track_versions"} <= set(databases[0].tables())
    finally:
        for d in databases:
            d.dispose()


@pytest.fixture
def stored_session(database_url: str) -> Iterator[tuple[str, list[Database]]]:
    """A migrated database holding one session, and three engines on it (three "workers")."""
    databases = [Database(database_url) for _ in range(3)]
    databases[0].migrate()
    session_id = str(uuid.uuid4())
    with databases[0].session() as db:
        version = repo.pin_track_version(db, plan_id="python", config={"tracks": {}})
        repo.create_session(
            db,
            session_id=session_id,
            token_hash=repo.sha256("token"),
            plan_id="python",
            track_version_id=version,
            mode="practice",
            show_report=True,
            state={"status": "active", "note": "naïve — ünïcode ✓"},
            turns=[],
            client_address="127.0.0.1",
        )
        db.commit()
    yield session_id, databases
    for d in databases:
        d.dispose()


def _submit(database: Database, session_id: str, cid: str, content: str) -> repo.Submitted:
    with database.session() as db:
        return repo.submit_answer(
            db, session_id=session_id, client_msg_id=cid, content=content, body_hash=repo.sha256(content)
        )


def _candidate_turns(database: Database, session_id: str) -> list[Any]:
    with database.session() as db:
        return [t for t in repo.list_turns(db, session_id=session_id) if t.role == "candidate"]


def test_concurrent_answers_from_several_connections_one_is_accepted(
    stored_session: tuple[str, list[Database]],
) -> None:
    sid, databases = stored_session
    outcomes = at_once(
        *(lambda d=d, n=n: _submit(d, sid, f"cid-{n}", f"answer {n}") for n, d in enumerate(databases))
    )
    assert sorted(o.outcome for o in outcomes) == ["accepted", "busy", "busy"]
    turns = _candidate_turns(databases[0], sid)
    assert len(turns) == 1 and turns[0].status == "pending" and turns[0].seq == 1


def test_same_answer_from_several_connections_is_stored_once(
    stored_session: tuple[str, list[Database]],
) -> None:
    sid, databases = stored_session
    outcomes = at_once(*(lambda d=d: _submit(d, sid, "same-id", "the same answer") for d in databases))
    assert sorted(o.outcome for o in outcomes) == ["accepted", "duplicate", "duplicate"]
    assert len(_candidate_turns(databases[0], sid)) == 1
    assert _submit(databases[1], sid, "same-id", "another answer").outcome == "conflict"


def test_completing_a_turn_twice_writes_it_once(stored_session: tuple[str, list[Database]]) -> None:
    from interviewer.domain import Turn

    sid, databases = stored_session
    assert _submit(databases[0], sid, "c1", "an answer").outcome == "accepted"

    def complete(database: Database) -> bool:
        with database.session() as db:
            session = repo.get_session(db, session_id=sid)
            turn = repo.find_turn(db, session_id=sid, client_msg_id="c1")
            assert session is not None and turn is not None
            return None is not repo.complete_turn(
                db,
                session=session,
                turn=turn,
                expected_version=0,
                state={"status": "active", "done": database is databases[0]},
                status="active",
                replies=[Turn(role="interviewer", kind="question", content="Next question?")],
                assessment=None,
                report=None,
                calls=[],
            )

    assert sorted(at_once(*(lambda d=d: complete(d) for d in databases))) == [False, False, True]
    with databases[2].session() as db:
        turns = repo.list_turns(db, session_id=sid)
        session = repo.get_session(db, session_id=sid)
        assert [(t.seq, t.role, t.status) for t in turns] == [
            (1, "candidate", "done"),
            (2, "interviewer", "done"),
        ]
        assert session is not None and session.version == 1
        assert repo.get_session(db, session_id="\x00") is None


def test_track_versions_and_invites_under_concurrency(stored_session: tuple[str, list[Database]]) -> None:
    from datetime import timedelta

    _, databases = stored_session
    config = {"plan": "full", "tracks": {"python": {"questions": 3}}}

    def pin(database: Database) -> int:
        with database.session() as db:
            version = repo.pin_track_version(db, plan_id="full", config=config)
            db.commit()
            return version

    assert len(set(at_once(*(lambda d=d: pin(d) for d in databases)))) == 1
    with databases[0].session() as db:
        staff_store.create_invite(
            db,
            code_hash=repo.sha256("code"),
            plan_id="full",
            mode="assessment",
            show_report=False,
            ttl=timedelta(hours=1),
            created_by=None,
        )
        db.commit()

    def claim(database: Database) -> bool:
        with database.session() as db:
            invite = staff_store.claim_invite(db, code_hash=repo.sha256("code"))
            db.commit()
            return invite is not None

    assert sorted(at_once(*(lambda d=d: claim(d) for d in databases))) == [False, False, True]


# --- a Chroma server ----------------------------------------------------------------------------


@dataclass
class ChromaServer:
    path: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        log = (self.path.parent / f"chroma-{self.port}.log").open("ab")
        self.proc = subprocess.Popen(
            [str(CHROMA), "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=self.path.parent,
        )
        log.close()
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"http://127.0.0.1:{self.port}/api/v2/heartbeat", timeout=1).status_code == 200:
                    return
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"chroma run did not start: {self.log()[-2000:]}")
            time.sleep(0.1)

    def log(self) -> str:
        path = self.path.parent / f"chroma-{self.port}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


@contextlib.contextmanager
def chroma_server(path: Path) -> Iterator[ChromaServer]:
    """`chroma run --path PATH` on a free port, stopped afterwards."""
    server = ChromaServer(path, free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_index_on_a_chroma_server(tmp_path: Path, embedder: LocalMiniLM) -> None:
    kb = write_mini_bank(tmp_path / "knowledge")
    bank = load_bank(kb)
    with chroma_server(tmp_path / "chroma-server") as server:
        settings = Settings(
            _env_file=None,
            data_dir=tmp_path / "data",
            knowledge_dir=kb,  # type: ignore[call-arg]
            chroma_host="127.0.0.1",
            chroma_port=server.port,
        )
        first = VectorIndex(make_chroma_client(settings), embedder).ingest(bank)
        assert (first.added, first.unchanged) == (13, 0) and first.vectors_embedded == 12 * 5 + 3
        # another client (as another worker would open it) finds everything in place
        index = VectorIndex(make_chroma_client(settings), embedder)
        second = index.ingest(bank)
        assert (second.added, second.updated, second.unchanged, second.vectors_embedded) == (0, 0, 13, 0)
        assert index.count("questions") == 60 and index.count("passages") == 3
        hits = Retriever(bank, index).find_questions("lazy iteration with yield", track="python", limit=1)
        assert hits[0].question.id == "python-generators-1"
        assert not settings.chroma_dir.exists()  # nothing embedded on this side
        server.stop()
        server.start()  # the server keeps its data across a restart
        again = VectorIndex(make_chroma_client(settings), embedder)
        assert again.ingest(bank).vectors_embedded == 0 and again.count("questions") == 60


# --- two app workers, one database, one Chroma server ---------------------------------------------


@dataclass
class Worker:
    name: str
    base_url: str
    proc: subprocess.Popen[bytes]
    data_dir: Path


def _worker_env(data_dir: Path, knowledge: Path, database_url: str, chroma_port: int) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENAI_", "INTERVIEWER_")) and k != "DATABASE_URL"
    }
    env.update(
        DATABASE_URL=database_url,
        INTERVIEWER_CHROMA_HOST="127.0.0.1",
        INTERVIEWER_CHROMA_PORT=str(chroma_port),
        INTERVIEWER_DATA_DIR=str(data_dir),
        INTERVIEWER_KNOWLEDGE_DIR=str(knowledge),
        INTERVIEWER_PROMPTS_DIR=str(ROOT / "prompts"),
        INTERVIEWER_ANSWERS_PER_MINUTE="10000",
        INTERVIEWER_REQUESTS_PER_MINUTE="100000",
        INTERVIEWER_SESSIONS_PER_MINUTE="10000",
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture(scope="module")
def workers(
    tmp_path_factory: pytest.TempPathFactory, postgres: Any, embedder: LocalMiniLM
) -> Iterator[tuple[Worker, Worker]]:
    """Two `interviewer serve` processes (offline engine) on one PostgreSQL database and one
    Chroma server, each with its own (unused) data folder."""
    root = tmp_path_factory.mktemp("two-workers")
    kb = write_mini_bank(root / "knowledge")
    with postgres.database() as database_url, chroma_server(root / "chroma-server") as chroma:
        # the index is built once, as `interviewer ingest` would before a deployment
        settings = Settings(
            _env_file=None,
            data_dir=root / "ingest",
            knowledge_dir=kb,  # type: ignore[call-arg]
            chroma_host="127.0.0.1",
            chroma_port=chroma.port,
        )
        VectorIndex(make_chroma_client(settings), embedder).ingest(load_bank(kb))
        started: list[Worker] = []
        try:
            for name in ("A", "B"):  # started together: they migrate the empty database at once
                data = root / name / "data"
                data.mkdir(parents=True)
                port = free_port()
                log = (root / name / "server.log").open("wb")
                proc = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "interviewer.cli",
                        "serve",
                        "--port",
                        str(port),
                        "--log-level",
                        "warning",
                    ],
                    env=_worker_env(data, kb, database_url, chroma.port),
                    cwd=root / name,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
                log.close()
                started.append(Worker(name, f"http://127.0.0.1:{port}", proc, data))
            deadline = time.monotonic() + 120
            for w in started:
                while True:
                    with contextlib.suppress(httpx.TransportError):
                        if httpx.get(f"{w.base_url}/readyz", timeout=2).status_code == 200:
                            break
                    if w.proc.poll() is not None or time.monotonic() > deadline:
                        log_text = (w.data_dir.parent / "server.log").read_text(errors="replace")
                        raise RuntimeError(f"worker {w.name} did not start:\n{log_text[-3000:]}")
                    time.sleep(0.1)
            yield started[0], started[1]
            for w in started:  # no state on the side: no SQLite file, no local Chroma folder
                assert not {"interviewer.db", "chroma"} & {p.name for p in w.data_dir.iterdir()}, w.name
        finally:
            for w in started:
                w.proc.terminate()
            for w in started:
                try:
                    w.proc.wait(15)
                except subprocess.TimeoutExpired:
                    w.proc.kill()
                    w.proc.wait()


class Candidate:
    def __init__(self, worker: Worker, plan: str = "full") -> None:
        r = httpx.post(f"{worker.base_url}/api/v1/sessions", json={"plan": plan}, timeout=30)
        assert r.status_code == 201, r.text
        body = r.json()
        self.sid: str = body["session_id"]
        self.auth = {"Authorization": f"Bearer {body['token']}"}
        self.state: dict[str, Any] = body["state"]

    def send(self, worker: Worker, content: str, cid: str | None = None) -> httpx.Response:
        return httpx.post(
            f"{worker.base_url}/api/v1/sessions/{self.sid}/messages",
            headers=self.auth,
            json={"content": content, "client_msg_id": cid or str(uuid.uuid4())},
            timeout=60,
        )

    def transcript(self, worker: Worker) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        r = httpx.get(f"{worker.base_url}/api/v1/sessions/{self.sid}", headers=self.auth, timeout=60)
        assert r.status_code == 200, r.text
        return r.json()["messages"], r.json()["state"]


def assert_consistent(messages: list[dict[str, Any]]) -> None:
    """Ids run 1..n without gaps; every candidate answer is followed by the interviewer's reply."""
    assert [m["id"] for m in messages] == list(range(1, len(messages) + 1))
    roles = [m["role"] for m in messages]
    assert roles[0] == "interviewer"
    for n, role in enumerate(roles):
        if role == "candidate":
            assert n + 1 < len(roles) and roles[n + 1] == "interviewer", roles


ANSWERS = [
    "Cache-aside reads the cache first and falls back to the database, then stores the value with a TTL.",
    "I would use a queue with retries and a dead-letter queue, and make the consumers idempotent.",
    "A generator computes values lazily, one per next() call, so memory stays flat.",
]


@pytest.mark.slow
def test_a_session_moves_between_workers(workers: tuple[Worker, Worker]) -> None:
    a, b = workers
    candidate = Candidate(a)
    turns = 0
    while candidate.state["status"] == "active":
        worker, other = (b, a) if turns % 2 == 0 else (a, b)  # started on A, answered on B, A, B...
        content = ANSWERS[turns] if turns < len(ANSWERS) else "I don't know"
        r = candidate.send(worker, content)
        assert r.status_code == 200, (worker.name, r.text)
        candidate.state = r.json()["state"]
        seen_here, state_here = candidate.transcript(worker)
        seen_there, state_there = candidate.transcript(other)
        assert seen_here == seen_there and state_here == state_there
        assert_consistent(seen_there)
        assert [m["content"] for m in seen_there if m["role"] == "candidate"][-1] == content
        assert seen_there[-len(r.json()["messages"]) :] == r.json()["messages"]
        turns += 1
        assert turns < 40, "the interview did not end"
    assert candidate.state["status"] == "completed"
    reports = [
        httpx.get(f"{w.base_url}/api/v1/sessions/{candidate.sid}/report", headers=candidate.auth, timeout=30)
        for w in (a, b)
    ]
    assert [r.status_code for r in reports] == [200, 200] and reports[0].json() == reports[1].json()
    assert candidate.send(a, "one more").status_code == candidate.send(b, "one more").status_code == 409


@pytest.mark.slow
def test_concurrent_turns_on_one_session_from_two_workers(workers: tuple[Worker, Worker]) -> None:
    a, b = workers
    candidate = Candidate(b, plan="full")
    # two different answers at once, one to each worker: exactly one is taken, the other is a 409.
    # (Were one thread held up until the other's turn had been completely processed, both would
    # rightly succeed one after the other; then the pair is sent again.)
    codes: list[int] = []
    for _ in range(5):
        responses = at_once(
            lambda: candidate.send(a, ANSWERS[0], f"a-{uuid.uuid4()}"),
            lambda: candidate.send(b, ANSWERS[1], f"b-{uuid.uuid4()}"),
        )
        codes = sorted(r.status_code for r in responses)
        messages, _ = candidate.transcript(a)
        assert_consistent(messages)
        if codes == [200, 409]:
            loser = next(r for r in responses if r.status_code == 409)
            assert "being processed" in loser.json()["detail"]
            break
        assert codes == [200, 200], [r.text for r in responses]
    assert codes == [200, 409]
    # the same answer (same client_msg_id) to both at once: stored once, one reply
    before = [m for m in candidate.transcript(a)[0] if m["role"] == "candidate"]
    cid = f"same-{uuid.uuid4()}"
    responses = at_once(
        lambda: candidate.send(a, ANSWERS[2], cid), lambda: candidate.send(b, ANSWERS[2], cid)
    )
    assert 200 in {r.status_code for r in responses}, [r.text for r in responses]
    assert {r.status_code for r in responses} <= {200, 409}
    messages, _ = candidate.transcript(b)
    assert_consistent(messages)
    after = [m for m in messages if m["role"] == "candidate"]
    assert len(after) == len(before) + 1 and after[-1]["content"] == ANSWERS[2]
    # a retry on either worker gets the stored reply
    retries = [candidate.send(w, ANSWERS[2], cid) for w in (a, b)]
    assert [r.status_code for r in retries] == [200, 200]
    assert retries[0].json() == retries[1].json()
    winner = next(r for r in responses if r.status_code == 200)
    assert winner.json()["messages"] == retries[0].json()["messages"]


@pytest.mark.parametrize("fsync_answers", [True, False])
def test_only_the_answer_commit_is_fsynced_on_sqlite(tmp_path: Path, fsync_answers: bool) -> None:
    """SQLite runs at synchronous=NORMAL (WAL: survives a killed process); the transaction that
    takes an answer runs at FULL (survives a power cut) unless `fsync_answers` is off, and the
    connection goes back to NORMAL after it."""
    database = Database(f"sqlite:///{tmp_path / 'sync.db'}", fsync_answers=fsync_answers)
    database.migrate()
    normal, full = 1, 2

    def level(db: Any) -> int:
        return int(db.connection().exec_driver_sql("PRAGMA synchronous").scalar())

    try:
        with database.session() as db:
            assert level(db) == normal
        with database.session() as db:
            repo.lock_session(db, session_id="any", durable=True)
            assert level(db) == (full if fsync_answers else normal)
            db.commit()
        with database.session() as db:
            assert level(db) == normal
    finally:
        database.dispose()
