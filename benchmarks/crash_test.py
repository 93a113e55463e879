"""Crash test: the server process is killed (SIGKILL) again and again while simulated candidates
send answers. After each restart, and at the end, it checks that every answer the server
acknowledged (a 200; with server-sent events, the `accepted` event) is in the database with its
content, exactly once; that the database passes `PRAGMA integrity_check` (`quick_check` after
every kill); that answers left pending by a kill are resumed at start-up; and that every session
can continue (its transcript loads, an active one takes a new answer, a finished one has its
report).

    .venv/bin/python benchmarks/crash_test.py                       (about 2 minutes)
    .venv/bin/python benchmarks/crash_test.py --rounds 3 --candidates 4 --seconds-per-round 1.5

The server is the real one (`python -m interviewer.cli serve`, one uvicorn process, the offline
engine, SQLite in `--data-dir`). The data folder is reused between runs so that the vector index
is built only once (the first start ingests the bank, ~15 s; later starts take ~3 s); the SQLite
file is started afresh on each run unless `--keep-db`.

Candidates behave as the web page does: a fresh `client_msg_id` per answer; after a network error
or a timeout the same id and content are sent again until the server answers; 409 ("still being
processed") and 503 mean "retry shortly" with the same id. Half of them (`--sse-share`) send with
`Accept: text/event-stream`, the others plain JSON. Exit status 1 if anything is missing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = ROOT / "data" / "crash-test"

# Settings the child must not inherit: the offline engine, the embedded database and index.
_SCRUB_PREFIXES = ("OPENAI_", "INTERVIEWER_")
_SCRUB = {"DATABASE_URL"}

ANSWERS = [
    "I would put a load balancer in front of stateless app servers and keep state in PostgreSQL, "
    "with a read replica for reporting and Redis as a cache with a TTL.",
    "The GIL lets only one thread run Python bytecode at a time, so threads help for I/O-bound work "
    "while CPU-bound work needs multiprocessing or a C extension that releases the GIL.",
    "A shallow copy copies the outer container only; nested objects are shared. deepcopy recurses "
    "and keeps a memo dict so cycles and shared references are preserved.",
    "I'd count with a Counter (a hash map) in one pass and take the top N with heapq.nlargest, "
    "O(n log N) time and O(k) memory for k distinct IPs; for huge logs, shard by hash and merge.",
    "First I would reproduce it, then look at EXPLAIN ANALYZE: a sequential scan on a big table "
    "usually means a missing index, or a function on the column that stops the index being used.",
    "Generators produce values lazily with yield; the frame is suspended between next() calls, so "
    "memory stays constant — useful for streaming a large file line by line.",
    "Could you clarify whether the service must be multi-region?",
    "Tests: unit tests with pytest for the pure logic, a few integration tests against a real "
    "database in a container, property-based tests with Hypothesis for the parser — naïve edge "
    "cases like empty input, ünïcode and huge values ✓.",
    "For notifications I'd use a queue (Kafka or SQS) between producers and a fan-out service, "
    "WebSockets to connected clients, and a retry with backoff plus a dead-letter queue.",
]

# Replies the engine takes as "skip" (it moves on): they keep the interviews moving so that some
# finish within the run. The engine only recognises them bare, so they carry no marker and may
# repeat within a session; every other answer carries its own client_msg_id in its text.
SKIPS = ["I don't know.", "Sorry, I don't know", "skip", "no idea", "pass", "I give up"]
SKIP_RATE = 0.3
MARKER = "[answer "

# --- the server -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def child_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUB_PREFIXES) and k not in _SCRUB}
    env.update(
        INTERVIEWER_DATA_DIR=str(data_dir),
        INTERVIEWER_KNOWLEDGE_DIR=str(ROOT / "knowledge"),
        INTERVIEWER_PROMPTS_DIR=str(ROOT / "prompts"),
        # the candidates answer faster than people do: lift the rate limits
        INTERVIEWER_ANSWERS_PER_MINUTE="10000",
        INTERVIEWER_REQUESTS_PER_MINUTE="100000",
        INTERVIEWER_SESSIONS_PER_MINUTE="10000",
        PYTHONUNBUFFERED="1",
    )
    return env


class Server:
    """`python -m interviewer.cli serve` as a child process; its output goes to server.log."""

    def __init__(self, data_dir: Path, port: int) -> None:
        self.data_dir = data_dir
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / "server.log"
        self.starts = 0

    def start(self, timeout: float) -> float:
        """Start and wait for GET /readyz == 200; returns the seconds it took."""
        assert self.proc is None
        t0 = time.monotonic()
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(f"\n=== start {self.starts} ===\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "interviewer.cli",
                    "serve",
                    "--port",
                    str(self.port),
                    "--log-level",
                    "warning",
                ],
                cwd=self.data_dir,  # no stray .env is read
                env=child_env(self.data_dir),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        with httpx.Client(timeout=2.0) as client:
            while True:
                if self.proc.poll() is not None:
                    code = self.proc.returncode
                    self.proc = None
                    raise RuntimeError(f"the server exited with {code} during start-up; see {self.log_path}")
                with contextlib.suppress(httpx.TransportError):
                    if client.get(f"{self.base_url}/readyz").status_code == 200:
                        return time.monotonic() - t0
                if time.monotonic() - t0 > timeout:
                    self.kill()
                    raise RuntimeError(f"the server was not ready after {timeout:.0f} s; see {self.log_path}")
                time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.proc = None

    def stop(self, timeout: float = 30.0) -> str | None:
        """SIGTERM (a clean shutdown); SIGKILL if it does not end in time. None when it ended
        cleanly, else what went wrong. (uvicorn re-raises the signal after its graceful shutdown,
        so a clean stop exits with -SIGTERM or 0.)"""
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
            return f"the server did not stop within {timeout:.0f} s of SIGTERM"
        self.proc = None
        return None if code in (0, -signal.SIGTERM) else f"the server exited with {code} on SIGTERM"


def prepare_data_dir(data_dir: Path, *, keep_db: bool = False, seed_index: Path | None = None) -> None:
    """The data folder: keep its vector index (or copy one in), start with a fresh database."""
    data_dir.mkdir(parents=True, exist_ok=True)
    if seed_index is not None and not (data_dir / "chroma").exists() and (seed_index / "chroma").is_dir():
        shutil.copytree(seed_index / "chroma", data_dir / "chroma")
        if (seed_index / "vectors").is_dir() and not (data_dir / "vectors").exists():
            # the offline scorer's question vectors: the first start's warm-up reads, not embeds
            shutil.copytree(seed_index / "vectors", data_dir / "vectors")
    if not keep_db:
        for suffix in ("", "-wal", "-shm", "-journal"):
            (data_dir / f"interviewer.db{suffix}").unlink(missing_ok=True)
    (data_dir / "server.log").unlink(missing_ok=True)


@contextlib.contextmanager
def open_db(path: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(path, timeout=30)
    try:
        yield conn
    finally:
        conn.close()


# --- the candidates ---------------------------------------------------------------------------


@dataclass
class Answer:
    client_msg_id: str
    content: str
    attempts: int = 0
    network_errors: int = 0
    acked: bool = False


@dataclass
class SessionRecord:
    session_id: str
    token: str
    acked: list[Answer] = field(default_factory=list)
    unacked: list[Answer] = field(default_factory=list)  # given up at the end of the run
    completed: bool = False


@dataclass
class Stats:
    lock: threading.Lock = field(default_factory=threading.Lock)
    sessions: list[SessionRecord] = field(default_factory=list)
    answers_sent: int = 0
    requests: int = 0
    acked: int = 0
    acked_after_retry: int = 0  # acknowledged only after a network error (the server was killed)
    network_errors: int = 0
    retry_later: int = 0  # 409 "still being processed" / 503
    sse_cut_after_accepted: int = 0  # event streams cut by a kill after the answer was acknowledged
    rate_limited: int = 0
    dropped_session_ended: int = 0  # never stored: the session had ended
    unacked_at_end: int = 0
    problems: list[str] = field(default_factory=list)

    def add(self, name: str, n: int = 1) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + n)

    def problem(self, text: str) -> None:
        with self.lock:
            self.problems.append(text)


class Candidate(threading.Thread):
    """One simulated candidate: starts an interview and answers until told to stop; starts another
    interview when one ends."""

    def __init__(
        self,
        index: int,
        base_url: str,
        stats: Stats,
        stop: threading.Event,
        drain_deadline: list[float],
        *,
        sse: bool,
    ) -> None:
        super().__init__(name=f"candidate-{index}", daemon=True)
        self.index = index
        self.sse = sse  # answers as the web page sends them (server-sent events), else plain JSON
        self.base_url = base_url
        self.stats = stats
        self.stop = stop
        self.drain_deadline = drain_deadline  # [monotonic time] set when stop is set
        self.rng = random.Random(index)
        self.session: SessionRecord | None = None
        self.pending: Answer | None = None
        self.n = 0

    def run(self) -> None:
        try:
            with httpx.Client(base_url=self.base_url, timeout=httpx.Timeout(30.0, connect=2.0)) as client:
                self._loop(client)
        except Exception as exc:  # noqa: BLE001  # a bug in the harness or the server: report it
            self.stats.problem(f"{self.name} crashed: {type(exc).__name__}: {exc}")

    def _loop(self, client: httpx.Client) -> None:
        while True:
            if self.stop.is_set() and (self.pending is None or time.monotonic() > self.drain_deadline[0]):
                if self.pending is not None and self.session is not None:
                    self.session.unacked.append(self.pending)
                    self.stats.add("unacked_at_end")
                return
            if self.session is None:
                self._start(client)
                continue
            if self.pending is None:
                self.n += 1
                cmid = f"c{self.index}-{self.n}-{uuid.uuid4().hex[:12]}"
                if self.rng.random() < SKIP_RATE:
                    content = self.rng.choice(SKIPS)
                else:
                    content = (
                        f"{self.rng.choice(ANSWERS)} {MARKER}{self.n} of candidate {self.index}, {cmid}]"
                    )
                self.pending = Answer(cmid, content)
                self.stats.add("answers_sent")
            self._send(client, self.session, self.pending)

    def _start(self, client: httpx.Client) -> None:
        try:
            r = client.post("/api/v1/sessions", json={"plan": "full"})
        except httpx.TransportError:
            self.stats.add("network_errors")
            time.sleep(0.2)
            return
        if r.status_code == 201:
            body = r.json()
            self.session = SessionRecord(body["session_id"], body["token"])
            with self.stats.lock:
                self.stats.sessions.append(self.session)
        elif r.status_code in (429, 503):
            time.sleep(0.5)
        else:
            self.stats.problem(f"POST /sessions answered {r.status_code}: {r.text[:300]}")
            time.sleep(0.5)

    def _ack(self, session: SessionRecord, answer: Answer) -> None:
        if not answer.acked:
            answer.acked = True
            session.acked.append(answer)
            self.stats.add("acked")
            if answer.network_errors:
                self.stats.add("acked_after_retry")

    def _post_json(
        self, client: httpx.Client, session: SessionRecord, answer: Answer
    ) -> tuple[int, str, Any]:
        r = client.post(
            f"/api/v1/sessions/{session.session_id}/messages",
            json={"content": answer.content, "client_msg_id": answer.client_msg_id},
            headers={"Authorization": f"Bearer {session.token}"},
        )
        if r.status_code == 200:
            self._ack(session, answer)
            return 200, "", r.json().get("state", {})
        return r.status_code, _detail(r), r.headers.get("retry-after")

    def _post_sse(self, client: httpx.Client, session: SessionRecord, answer: Answer) -> tuple[int, str, Any]:
        """As the web page sends: the `accepted` event acknowledges the answer (it is committed);
        the reply follows; a stream cut after `accepted` is retried with the same id."""
        with client.stream(
            "POST",
            f"/api/v1/sessions/{session.session_id}/messages",
            json={"content": answer.content, "client_msg_id": answer.client_msg_id},
            headers={"Authorization": f"Bearer {session.token}", "Accept": "text/event-stream"},
        ) as r:
            if r.status_code != 200:
                r.read()
                return r.status_code, _detail(r), r.headers.get("retry-after")
            event, state = "", {}
            try:
                for line in r.iter_lines():
                    if line.startswith("event: "):
                        event = line[7:]
                    elif line.startswith("data: "):
                        data = json.loads(line[6:])
                        if event == "accepted":
                            self._ack(session, answer)
                        elif event == "state":
                            state = data
                        elif event == "error":  # in-band, after the 200: the answer is saved
                            return 503, str(data.get("detail", "")), None
                        elif event == "done":
                            self._ack(session, answer)
                            return 200, "", state
            except httpx.TransportError:
                if answer.acked:
                    self.stats.add("sse_cut_after_accepted")
                raise
            raise httpx.RemoteProtocolError("the event stream ended without `done`")

    def _send(self, client: httpx.Client, session: SessionRecord, answer: Answer) -> None:
        answer.attempts += 1
        self.stats.add("requests")
        try:
            post = self._post_sse if self.sse else self._post_json
            status, detail, extra = post(client, session, answer)
        except httpx.TransportError:  # killed mid-request, or not up yet: same id, same content
            answer.network_errors += 1
            self.stats.add("network_errors")
            time.sleep(0.2)
            return
        if status == 200:
            self.pending = None
            if extra.get("status") == "completed":
                session.completed = True
                self.session = None
            time.sleep(self.rng.uniform(0.0, 0.1))  # "typing"
        elif status == 409 and "ended" in detail:
            # the answer was refused (never stored): the interview is over
            session.completed = True
            self.stats.add("dropped_session_ended")
            self.pending = None
            self.session = None
        elif status == 409 and "different answer" in detail:
            self.stats.problem(
                f"409 'different answer' for a retry with the same content: session {session.session_id} "
                f"id {answer.client_msg_id}"
            )
            self.pending = None
        elif status in (409, 503):
            self.stats.add("retry_later")
            time.sleep(0.5)
        elif status == 429:
            self.stats.add("rate_limited")
            time.sleep(float(extra or "1"))
        else:
            self.stats.problem(
                f"POST messages answered {status} (session {session.session_id}, id "
                f"{answer.client_msg_id}, attempt {answer.attempts}): {detail[:300]}"
            )
            time.sleep(0.5)


def _detail(r: httpx.Response) -> str:
    try:
        d = r.json().get("detail", "")
    except ValueError:
        return r.text
    return d if isinstance(d, str) else str(d)


# --- checks -----------------------------------------------------------------------------------


def pending_ids(db_path: Path) -> set[int]:
    with open_db(db_path) as conn:
        return {row[0] for row in conn.execute("SELECT id FROM turns WHERE status = 'pending'")}


def done_ids(db_path: Path, ids: set[int]) -> set[int]:
    if not ids:
        return set()
    with open_db(db_path) as conn:
        marks = ",".join("?" * len(ids))
        return {
            row[0]
            for row in conn.execute(
                f"SELECT id FROM turns WHERE status = 'done' AND id IN ({marks})", sorted(ids)
            )
        }


def quick_check(db_path: Path) -> str:
    with open_db(db_path) as conn:
        return ", ".join(str(r[0]) for r in conn.execute("PRAGMA quick_check"))


@dataclass
class DbCheck:
    integrity: str
    foreign_keys_ok: bool
    found: int
    missing: list[str]
    wrong_content: list[str]
    not_done: list[str]
    duplicate_ids: int
    duplicate_seqs: int
    duplicate_contents: int


def check_database(db_path: Path, sessions: list[SessionRecord]) -> DbCheck:
    with open_db(db_path) as conn:
        integrity = ", ".join(str(r[0]) for r in conn.execute("PRAGMA integrity_check"))
        fk_ok = not conn.execute("PRAGMA foreign_key_check").fetchall()
        found, missing, wrong, not_done = 0, [], [], []
        for s in sessions:
            for a in s.acked:
                rows = conn.execute(
                    "SELECT content, role, status, reply_from FROM turns WHERE session_id = ? AND client_msg_id = ?",
                    (s.session_id, a.client_msg_id),
                ).fetchall()
                if not rows:
                    missing.append(f"{s.session_id}/{a.client_msg_id}")
                    continue
                content, role, status, reply_from = rows[0]
                if content != a.content or role != "candidate":
                    wrong.append(f"{s.session_id}/{a.client_msg_id}")
                    continue
                found += 1
                if status != "done" or reply_from is None:
                    not_done.append(f"{s.session_id}/{a.client_msg_id} ({status})")
        dup_ids = conn.execute(
            "SELECT count(*) FROM (SELECT 1 FROM turns WHERE client_msg_id IS NOT NULL "
            "GROUP BY session_id, client_msg_id HAVING count(*) > 1)"
        ).fetchone()[0]
        dup_seqs = conn.execute(
            "SELECT count(*) FROM (SELECT 1 FROM turns GROUP BY session_id, seq HAVING count(*) > 1)"
        ).fetchone()[0]
        # a marked answer carries its own id in its text: the same text twice in one session would
        # be a retry stored as a second answer
        dup_contents = conn.execute(
            "SELECT count(*) FROM (SELECT 1 FROM turns WHERE role = 'candidate' AND instr(content, ?) > 0 "
            "GROUP BY session_id, content HAVING count(*) > 1)",
            (MARKER,),
        ).fetchone()[0]
    return DbCheck(integrity, fk_ok, found, missing, wrong, not_done, dup_ids, dup_seqs, dup_contents)


def continue_sessions(
    base_url: str, sessions: list[SessionRecord], problems: list[str]
) -> tuple[int, int, int]:
    """Every session after the last restart: its transcript loads with every acknowledged answer;
    an active one takes a new answer, a finished one has its report. Returns (continued, answered,
    reported)."""
    continued = answered = reported = 0
    with httpx.Client(base_url=base_url, timeout=30.0) as client:
        for s in sessions:
            auth = {"Authorization": f"Bearer {s.token}"}
            r = client.get(f"/api/v1/sessions/{s.session_id}", headers=auth)
            if r.status_code != 200:
                problems.append(f"GET session {s.session_id} answered {r.status_code}: {r.text[:200]}")
                continue
            body = r.json()
            contents = [m["content"] for m in body["messages"] if m["role"] == "candidate"]
            if not s.unacked and [c for c in contents if MARKER not in c] != [
                a.content for a in s.acked if MARKER not in a.content
            ]:
                problems.append(
                    f"session {s.session_id}: the transcript's unmarked answers differ from those acknowledged"
                )
            marked = [c for c in contents if MARKER in c]
            expected = [a.content for a in s.acked if MARKER in a.content]
            lost = [a.client_msg_id for a in s.acked if MARKER in a.content and a.content not in marked]
            if lost:
                problems.append(f"session {s.session_id}: acknowledged answers not in the transcript: {lost}")
                continue
            if not s.unacked and marked != expected:
                problems.append(
                    f"session {s.session_id}: the transcript's answers differ from those acknowledged "
                    f"({len(marked)} vs {len(expected)}, or out of order)"
                )
            state = body["state"]
            if state["status"] == "active":
                cmid = f"final-{uuid.uuid4().hex[:12]}"
                content = f"{ANSWERS[0]} [after the last restart, {cmid}]"
                ok = False
                deadline = time.monotonic() + 90  # a pending answer is resumed at start-up, or after 60 s
                while time.monotonic() < deadline:
                    r = client.post(
                        f"/api/v1/sessions/{s.session_id}/messages",
                        json={"content": content, "client_msg_id": cmid},
                        headers=auth,
                    )
                    if r.status_code == 200:
                        ok = True
                        break
                    if (
                        r.status_code in (409, 503)
                        and "ended" not in _detail(r)
                        and "different" not in _detail(r)
                    ):
                        time.sleep(1)
                        continue
                    problems.append(
                        f"session {s.session_id}: a new answer got {r.status_code}: {r.text[:200]}"
                    )
                    break
                else:
                    problems.append(f"session {s.session_id}: a new answer was not taken within 90 s")
                if ok:
                    continued += 1
                    answered += 1
            else:
                r = client.get(f"/api/v1/sessions/{s.session_id}/report", headers=auth)
                if r.status_code == 200:
                    continued += 1
                    reported += 1
                else:
                    problems.append(f"session {s.session_id} (completed): report answered {r.status_code}")
    return continued, answered, reported


# --- the run ----------------------------------------------------------------------------------


@dataclass
class Result:
    rounds: int
    kills: int
    candidates: int
    sse_candidates: int
    sessions: int
    sessions_completed: int
    answers_sent: int
    requests: int
    acked: int
    acked_after_retry: int
    found: int
    pending_at_kill: int
    resumed: int
    network_errors: int
    retry_later: int
    sse_cut_after_accepted: int
    dropped_session_ended: int
    unacked_at_end: int
    quick_checks: list[str]
    integrity: str
    foreign_keys_ok: bool
    duplicates: int
    continued: int
    continued_answered: int
    continued_reported: int
    first_start_s: float
    restart_s: list[float]
    elapsed_s: float
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems

    def table(self) -> str:
        qc = sorted(set(self.quick_checks)) or ["—"]
        rows = [
            ("rounds (kill -9 + restart)", f"{self.rounds}"),
            ("kills (SIGKILL)", f"{self.kills}"),
            (
                "candidates (concurrent)",
                f"{self.candidates} ({self.candidates - self.sse_candidates} JSON, {self.sse_candidates} event stream)",
            ),
            ("sessions started", f"{self.sessions} ({self.sessions_completed} finished the interview)"),
            ("answers sent (distinct client_msg_id)", f"{self.answers_sent} in {self.requests} requests"),
            (
                "answers acknowledged (200 / `accepted` event)",
                f"{self.acked} ({self.acked_after_retry} only after a retry across a kill)",
            ),
            ("acknowledged answers found in the database", f"{self.found} / {self.acked}"),
            ("answers pending at a kill / resumed at restart", f"{self.pending_at_kill} / {self.resumed}"),
            ("network errors seen by candidates", f"{self.network_errors}"),
            ("409/503 'retry shortly' answers", f"{self.retry_later}"),
            ("event streams cut by a kill after `accepted`", f"{self.sse_cut_after_accepted}"),
            ("refused: interview already ended", f"{self.dropped_session_ended}"),
            ("sent but unacknowledged at the end", f"{self.unacked_at_end}"),
            ("quick_check after each kill", ", ".join(qc)),
            ("integrity_check at the end", self.integrity),
            ("foreign_key_check", "ok" if self.foreign_keys_ok else "FAILED"),
            ("duplicate turns (id / seq / text)", f"{self.duplicates}"),
            (
                "sessions continued after restart",
                f"{self.continued} / {self.sessions} ({self.continued_answered} took a new answer, "
                f"{self.continued_reported} finished with report)",
            ),
            (
                "server start: first / restart median (max)",
                f"{self.first_start_s:.1f} s / "
                + (
                    f"{statistics.median(self.restart_s):.1f} s ({max(self.restart_s):.1f} s)"
                    if self.restart_s
                    else "—"
                ),
            ),
            ("wall time", f"{self.elapsed_s:.0f} s"),
            ("result", "PASS" if self.ok else f"FAIL ({len(self.problems)} problem(s))"),
        ]
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def run_crash_test(
    *,
    rounds: int,
    candidates: int,
    seconds_per_round: float | None,
    data_dir: Path,
    port: int | None = None,
    keep_db: bool = False,
    seed_index: Path | None = None,
    seed: int | None = None,
    sse_share: float = 0.5,
    log: Any = print,
) -> Result:
    t_begin = time.monotonic()
    rng = random.Random(seed)
    data_dir = data_dir.resolve()
    prepare_data_dir(data_dir, keep_db=keep_db, seed_index=seed_index)
    db_path = data_dir / "interviewer.db"
    server = Server(data_dir, port or free_port())
    stats = Stats()
    stop = threading.Event()
    drain_deadline = [0.0]
    kills = 0
    quick_checks: list[str] = []
    restart_s: list[float] = []
    pending_at_kill = resumed = 0
    threads: list[Candidate] = []
    problems: list[str] = []
    try:
        first = server.start(timeout=300)
        log(f"server ready on port {server.port} in {first:.1f} s ({data_dir})")
        n_sse = round(candidates * sse_share)
        threads = [
            Candidate(i, server.base_url, stats, stop, drain_deadline, sse=i >= candidates - n_sse)
            for i in range(candidates)
        ]
        for t in threads:
            t.start()
        for r in range(1, rounds + 1):
            time.sleep(seconds_per_round if seconds_per_round is not None else rng.uniform(1.0, 3.0))
            server.kill()
            kills += 1
            pending = pending_ids(db_path)
            qc = quick_check(db_path)
            quick_checks.append(qc)
            if qc != "ok":
                problems.append(f"round {r}: quick_check after the kill: {qc}")
            took = server.start(timeout=120)
            restart_s.append(took)
            # resumed in the background right after start-up (the server is ready before they finish)
            resume_deadline = time.monotonic() + 30
            done = done_ids(db_path, pending)
            while done != pending and time.monotonic() < resume_deadline:
                time.sleep(0.2)
                done = done_ids(db_path, pending)
            pending_at_kill += len(pending)
            resumed += len(done)
            if done != pending:
                problems.append(
                    f"round {r}: {len(pending - done)} answer(s) pending at the kill not resumed within 30 s of start-up"
                )
            log(
                f"round {r}/{rounds}: killed; {len(pending)} pending answer(s), quick_check {qc}; "
                f"restarted in {took:.1f} s; acknowledged so far {stats.acked}"
            )
        # let the candidates get their last answers acknowledged, then stop them
        time.sleep(0.5)
        drain_deadline[0] = time.monotonic() + 30
        stop.set()
        for t in threads:
            t.join(timeout=60)
            if t.is_alive():
                problems.append(f"{t.name} did not stop")
        if (error := server.stop()) is not None:
            problems.append(error)
        check = check_database(db_path, stats.sessions)
        if check.integrity != "ok":
            problems.append(f"integrity_check: {check.integrity}")
        if not check.foreign_keys_ok:
            problems.append("foreign_key_check reported violations")
        if check.missing:
            problems.append(
                f"{len(check.missing)} acknowledged answer(s) missing from the database: {check.missing[:5]}"
            )
        if check.wrong_content:
            problems.append(
                f"{len(check.wrong_content)} acknowledged answer(s) stored with other content: {check.wrong_content[:5]}"
            )
        if check.not_done:
            problems.append(
                f"{len(check.not_done)} acknowledged answer(s) without a stored reply: {check.not_done[:5]}"
            )
        duplicates = check.duplicate_ids + check.duplicate_seqs + check.duplicate_contents
        if duplicates:
            problems.append(
                f"duplicate turns: {check.duplicate_ids} client_msg_id, {check.duplicate_seqs} seq, "
                f"{check.duplicate_contents} candidate text"
            )
        server.start(timeout=120)
        continued, answered, reported = continue_sessions(server.base_url, stats.sessions, problems)
        if (error := server.stop()) is not None:
            problems.append(error)
        if not stats.acked:
            problems.append("no answer was acknowledged: the test tested nothing")
    finally:
        stop.set()
        server.kill()
    return Result(
        rounds=rounds,
        kills=kills,
        candidates=candidates,
        sse_candidates=n_sse,
        sessions=len(stats.sessions),
        sessions_completed=sum(s.completed for s in stats.sessions),
        answers_sent=stats.answers_sent,
        requests=stats.requests,
        acked=stats.acked,
        acked_after_retry=stats.acked_after_retry,
        found=check.found,
        pending_at_kill=pending_at_kill,
        resumed=resumed,
        network_errors=stats.network_errors,
        retry_later=stats.retry_later,
        sse_cut_after_accepted=stats.sse_cut_after_accepted,
        dropped_session_ended=stats.dropped_session_ended,
        unacked_at_end=stats.unacked_at_end,
        quick_checks=quick_checks,
        integrity=check.integrity,
        foreign_keys_ok=check.foreign_keys_ok,
        duplicates=duplicates,
        continued=continued,
        continued_answered=answered,
        continued_reported=reported,
        first_start_s=first,
        restart_s=restart_s,
        elapsed_s=time.monotonic() - t_begin,
        problems=stats.problems + problems,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=12, help="kill -9 + restart rounds (default 12)")
    parser.add_argument(
        "--candidates", type=int, default=8, help="concurrent simulated candidates (default 8)"
    )
    parser.add_argument(
        "--seconds-per-round",
        type=float,
        default=None,
        help="seconds of traffic before each kill (default: random 1-3 s)",
    )
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help=f"default {DEFAULT_DATA_DIR}")
    parser.add_argument("--port", type=int, default=0, help="0 (default): a free port")
    parser.add_argument("--keep-db", action="store_true", help="keep the database of the previous run")
    parser.add_argument(
        "--seed-index",
        type=Path,
        default=None,
        help="a data folder with a built index to copy when --data-dir has none (e.g. ./data)",
    )
    parser.add_argument("--seed", type=int, default=None, help="random seed of the round lengths")
    parser.add_argument(
        "--sse-share",
        type=float,
        default=0.5,
        help="share of candidates that send answers as the web page does, with Accept: text/event-stream "
        "(acknowledged by the `accepted` event); the others use plain JSON (default 0.5)",
    )
    args = parser.parse_args(argv)
    result = run_crash_test(
        rounds=args.rounds,
        candidates=args.candidates,
        seconds_per_round=args.seconds_per_round,
        data_dir=args.data_dir,
        port=args.port or None,
        keep_db=args.keep_db,
        seed_index=args.seed_index,
        seed=args.seed,
        sse_share=args.sse_share,
    )
    print()
    print(result.table())
    for p in result.problems:
        print(f"PROBLEM: {p}", file=sys.stderr)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
