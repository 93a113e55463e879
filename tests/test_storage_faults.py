"""Storage faults seen by operators and clients: a corrupt SQLite file, a full disk, a deleted
Chroma index, a read-only data folder. `/readyz` says what is wrong (503 with a reason), API
requests get a 503 with a clear JSON error (never a traceback), and `interviewer serve` refuses
to start on a data folder it cannot write with one line. The real app on real files; the full
disk is an injected `database or disk is full` at the database driver's edge."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from interviewer.config import Settings
from interviewer.store.db import Database
from interviewer.store.faults import FAULT_HOLD_S
from interviewer.web.app import create_app
from tests.conftest import ROOT
from tests.minibank import write_mini_bank

ANSWER = "Cache-aside reads the cache first, falls back to the database on a miss, then stores it."


def settings_for(tmp: Path) -> Settings:
    return Settings(
        _env_file=None,
        data_dir=tmp / "data",
        knowledge_dir=write_mini_bank(tmp / "knowledge"),  # type: ignore[call-arg]
        prompts_dir=ROOT / "prompts",
    )


def ready(client: TestClient) -> Any:
    for _ in range(600):  # the start-up warm-up
        r = client.get("/readyz")
        if r.json().get("warm_up") == "ok":
            return r
        time.sleep(0.1)
    raise AssertionError("never warmed up")


def start(client: TestClient) -> tuple[str, dict[str, str]]:
    r = client.post("/api/v1/sessions", json={"plan": "full"})
    assert r.status_code == 201, r.text
    return r.json()["session_id"], {"Authorization": f"Bearer {r.json()['token']}"}


def answer(client: TestClient, sid: str, auth: dict[str, str]) -> Any:
    return client.post(
        f"/api/v1/sessions/{sid}/messages",
        headers=auth,
        json={"content": ANSWER, "client_msg_id": str(uuid.uuid4())},
    )


def assert_clear_503(r: Any, *words: str) -> None:
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/json")
    detail = r.json()["detail"]
    assert isinstance(detail, str) and "Traceback" not in detail and "SELECT" not in detail
    assert all(w in detail for w in words), detail
    assert ANSWER not in r.text  # the statement's parameters (candidate text) are never echoed


def test_a_corrupt_database_file(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    with TestClient(create_app(settings, offline_only=True)) as client:
        assert ready(client).status_code == 200
        sid, auth = start(client)
        for name in ("interviewer.db", "interviewer.db-wal", "interviewer.db-shm"):
            path = settings.data_dir / name  # garbled in place, as a failing disk leaves them
            if path.exists():
                with path.open("r+b") as f:
                    f.write(os.urandom(path.stat().st_size))
        r = client.get("/readyz")
        assert r.status_code == 503 and "corrupt" in r.json()["database"], r.text
        assert_clear_503(answer(client, sid, auth), "corrupt")
        assert_clear_503(client.get(f"/api/v1/sessions/{sid}", headers=auth), "corrupt")
        assert_clear_503(client.post("/api/v1/sessions", json={"plan": "full"}), "corrupt")


def test_a_full_disk(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    db = Database.from_settings(settings)
    full = {"on": False}

    @event.listens_for(db.engine, "before_cursor_execute")
    def disk_full(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if full["on"] and statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            raise sqlite3.OperationalError("database or disk is full")

    with TestClient(create_app(settings, db=db, offline_only=True)) as client:
        assert ready(client).status_code == 200
        sid, auth = start(client)
        full["on"] = True
        assert_clear_503(answer(client, sid, auth), "disk is full")
        r = client.get("/readyz")
        assert r.status_code == 503 and "disk is full" in r.json()["database"], r.text
        full["on"] = False  # space freed: the next write succeeds and the worker is ready again
        assert answer(client, sid, auth).status_code == 200
        assert client.get("/readyz").status_code == 200
        # a worker that gets no writes (unready: the load balancer sends it none) recovers too:
        # once the fault is older than the hold, the probe writes to the data folder itself
        full["on"] = True
        assert_clear_503(answer(client, sid, auth), "disk is full")
        assert client.get("/readyz").status_code == 503
        reason = db.faults.current()
        assert reason is not None
        db.faults.record(reason[0], at=time.time() - FAULT_HOLD_S - 1)
        assert client.get("/readyz").status_code == 200
    db.dispose()


def test_a_full_disk_while_the_reply_streams(tmp_path: Path) -> None:
    """The answer is taken, then storing the reply fails: the stream (already 200) says so
    in-band, in words, without the statement or the candidate's text."""
    settings = settings_for(tmp_path)
    db = Database.from_settings(settings)

    @event.listens_for(db.engine, "before_cursor_execute")
    def disk_full(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO ASSESSMENTS"):
            raise sqlite3.OperationalError("database or disk is full")

    with TestClient(create_app(settings, db=db, offline_only=True)) as client:
        sid, auth = start(client)
        body = {"content": ANSWER, "client_msg_id": str(uuid.uuid4())}
        headers = {**auth, "Accept": "text/event-stream"}
        with client.stream("POST", f"/api/v1/sessions/{sid}/messages", headers=headers, json=body) as r:
            raw = r.read().decode()
    db.dispose()
    assert r.status_code == 200 and "event: accepted" in raw and "event: error" in raw
    error = raw.split("event: error", 1)[1]
    assert "storage unavailable: the disk is full" in error
    assert "INSERT" not in error and ANSWER not in error


def test_a_deleted_index(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    with TestClient(create_app(settings, offline_only=True)) as client:
        assert ready(client).status_code == 200
        shutil.rmtree(settings.chroma_dir)
        r = client.get("/readyz")
        assert r.status_code == 503, r.text
        assert "index missing, run `interviewer ingest`" in r.json()["index"]


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """A folder nobody may write — also root, who ignores permission bits: then the folder is
    made immutable (`chattr +i`, ext4 and the like), or the test is skipped."""
    path.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP)
    immutable = False
    try:
        if os.geteuid() == 0:
            chattr = shutil.which("chattr")
            if chattr is None or subprocess.run([chattr, "+i", str(path)], capture_output=True).returncode:
                pytest.skip("running as root without chattr +i: cannot make a read-only folder")
            immutable = True
        yield
    finally:
        if immutable:
            subprocess.run([str(shutil.which("chattr")), "-i", str(path)], check=True)
        path.chmod(stat.S_IRWXU)


@pytest.mark.parametrize("fresh", [True, False], ids=["empty-folder", "existing-data"])
def test_serve_on_a_read_only_data_folder_says_so_in_one_line(tmp_path: Path, fresh: bool) -> None:
    data = tmp_path / "data"
    if fresh:
        data.mkdir()
    else:  # a data folder in use before, now mounted read-only
        settings = settings_for(tmp_path)
        db = Database.from_settings(settings)
        db.migrate()
        db.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INTERVIEWER_", "OPENAI_", "DATABASE_"))}
    env.update(
        INTERVIEWER_DATA_DIR=str(data),
        INTERVIEWER_KNOWLEDGE_DIR=str(ROOT / "knowledge"),
        PYTHONPATH=str(ROOT),  # this checkout's package, whatever the folder it runs from
    )
    with read_only(data):
        r = subprocess.run(
            [sys.executable, "-m", "interviewer.cli", "serve", "--port", "9"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert r.returncode != 0
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert str(data) in lines[0] and ("read-only" in lines[0] or "not writable" in lines[0]), lines[0]
