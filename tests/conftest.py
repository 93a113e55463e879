"""Shared fixtures. No test reaches a network: sockets may only connect to loopback."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from interviewer.bank import Bank, Retriever, VectorIndex, load_bank
from interviewer.bank.embeddings import LocalMiniLM
from interviewer.bank.index import make_chroma_client
from interviewer.config import Settings

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"
DATA = Path(__file__).resolve().parent / "data"

_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: Any) -> Any:
    host = address[0] if isinstance(address, tuple) else None
    if host is not None:
        try:
            ok = ipaddress.ip_address(host).is_loopback
        except ValueError:
            ok = host == "localhost"
        if not ok:
            raise RuntimeError(f"tests may not reach the network (tried {address!r})")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)


@pytest.fixture(scope="session")
def embedder() -> LocalMiniLM:
    return LocalMiniLM()


@pytest.fixture(scope="session")
def bank() -> Bank:
    return load_bank(KNOWLEDGE)


def make_settings(tmp: Path, **overrides: Any) -> Settings:
    # Admission by event-loop lag is off unless a test is about it: on a busy test machine (parallel
    # workers, browsers) the loop runs late for reasons that have nothing to do with the test.
    return Settings(
        _env_file=None,
        data_dir=tmp / "data",
        knowledge_dir=KNOWLEDGE,  # type: ignore[call-arg]
        **({"max_loop_lag_ms": 0} | overrides),
    )


# --- caches shared by the whole run (every xdist worker) ------------------------------------------


def _run_dir(factory: pytest.TempPathFactory) -> Path:
    """A folder shared by every worker of this run (xdist: the parent of the workers' own)."""
    base = factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def _once(run: Path, jobs: dict[str, Callable[[], None]]) -> None:
    """Run each job once for the whole run, whichever worker comes first (a lock file and a
    `done` marker per job). A worker starts with the jobs no other worker holds, so two workers
    build two things at once instead of one waiting for the other."""
    import fcntl

    later: list[str] = []
    for blocking in (False, True):
        for name in later if blocking else list(jobs):
            with (run / f"{name}.lock").open("a") as lock:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
                except BlockingIOError:
                    later.append(name)
                    continue
                try:
                    if not (run / f"{name}.done").exists():
                        jobs[name]()
                        (run / f"{name}.done").touch()
                finally:
                    fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def shared_vectors(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The offline scorer's vector cache for the whole run (files written atomically)."""
    path = _run_dir(tmp_path_factory) / "vectors"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def index_template(
    tmp_path_factory: pytest.TempPathFactory, bank: Bank, embedder: LocalMiniLM, shared_vectors: Path
) -> Path:
    """A data folder whose Chroma index holds the whole shipped bank, built once per run by one
    `interviewer ingest` process; tests get copies of it. The offline scorer's vectors of every
    bank question are computed once per run too, into `shared_vectors` (every app, server and
    scorer of the run then reads them instead of embedding ~3,500 texts)."""
    import subprocess
    import sys

    from interviewer.engine.offline_scorer import OfflineScorer

    run = _run_dir(tmp_path_factory)
    data = run / "index-template" / "data"

    def build_index() -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "INTERVIEWER_"))}
        env.update(
            INTERVIEWER_DATA_DIR=str(data), INTERVIEWER_KNOWLEDGE_DIR=str(KNOWLEDGE), PYTHONPATH=str(ROOT)
        )
        data.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "interviewer.cli", "ingest"],
            env=env,
            cwd=str(data.parent),
            check=True,
            capture_output=True,
        )

    def build_vectors() -> None:
        OfflineScorer(embedder, cache_dir=shared_vectors).warm(bank.questions.values())

    _once(run, {"index-template": build_index, "question-vectors": build_vectors})
    return data


def seed_data_dir(data: Path, *, template: Path, vectors: Path) -> Path:
    """`data` with a copy of the template's index and the run's vector cache linked in."""
    import shutil

    data.mkdir(parents=True, exist_ok=True)
    shutil.copytree(template / "chroma", data / "chroma")
    (data / "vectors").symlink_to(vectors, target_is_directory=True)
    return data


@pytest.fixture(scope="session")
def full_data_dir(
    tmp_path_factory: pytest.TempPathFactory, index_template: Path, shared_vectors: Path
) -> Path:
    """A data folder whose index holds the whole shipped bank (see `full_index`)."""
    return seed_data_dir(
        tmp_path_factory.mktemp("full-index") / "data", template=index_template, vectors=shared_vectors
    )


@pytest.fixture(scope="session")
def full_index(full_data_dir: Path, bank: Bank, embedder: LocalMiniLM) -> Iterator[VectorIndex]:
    """The whole shipped bank in the index (a copy of the run's template: the ingest finds
    nothing to do)."""
    from interviewer.engine.offline_scorer import OfflineScorer

    settings = Settings(_env_file=None, data_dir=full_data_dir, knowledge_dir=KNOWLEDGE)  # type: ignore[call-arg]
    index = VectorIndex(make_chroma_client(settings), embedder)
    index.ingest(bank)
    # the questions' vectors into this process's memory (shared by every scorer and app built here)
    OfflineScorer(embedder, cache_dir=full_data_dir / "vectors").warm(bank.questions.values())
    yield index


@pytest.fixture(scope="session")
def retriever(bank: Bank, full_index: VectorIndex) -> Retriever:
    return Retriever(bank, full_index)


# --- databases: SQLite and PostgreSQL ---------------------------------------------------------


@pytest.fixture(scope="session")
def postgres() -> Iterator[Any]:
    """A throwaway PostgreSQL server for the session (see tests/pg.py). Where none can be started
    the PostgreSQL tests fail in CI (`CI` set) and are skipped, with the reason, elsewhere."""
    from tests import pg

    try:
        server = pg.start_server()
    except pg.PostgresUnavailable as exc:
        if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
            pytest.fail(f"PostgreSQL is required in CI and could not be started: {exc}", pytrace=False)
        pytest.skip(f"PostgreSQL not available: {exc}")
    yield server
    server.stop()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Any]:
    """A fresh, migrated SQLite file for one test (`interviewer.store.db.Database`)."""
    from interviewer.store.db import Database

    database = Database(f"sqlite:///{tmp_path / 'bank.db'}")
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database for one test: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    with request.getfixturevalue("postgres").database() as url:
        yield url


# --- engine fixtures ------------------------------------------------------------------------

PROMPTS = ROOT / "prompts"


@pytest.fixture(scope="session")
def prompts() -> Any:
    from interviewer.engine.prompts import load_prompts

    return load_prompts(PROMPTS)


@pytest.fixture(scope="session")
def offline_scorer(embedder: LocalMiniLM, shared_vectors: Path) -> Any:
    from interviewer.engine.offline_scorer import OfflineScorer

    return OfflineScorer(embedder, cache_dir=shared_vectors)


def make_orchestrator(
    bank: Bank, retriever: Retriever, offline_scorer: Any, prompts: Any, model: Any = None
) -> Any:
    """The orchestrator wired as production wires it, with an optional fake model."""
    from interviewer.engine import assemble

    return assemble(bank=bank, retriever=retriever, offline=offline_scorer, prompts=prompts, model=model)


# --- a real server --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sse_events(raw: str) -> list[tuple[str, str, dict[str, Any]]]:
    """A server-sent-events body as (id, event, data) triples; comments (keep-alives) skipped."""
    out = []
    for block in raw.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if not line.startswith(":"))
        if "event" in fields:
            out.append((fields.get("id", ""), fields["event"], json.loads(fields["data"])))
    return out


def server_env(**settings: str) -> dict[str, str]:
    """The environment of a real `interviewer serve` started by a test: this process's, without
    any model or database it may name (offline engine, SQLite under the data folder), running this
    checkout's package (not whichever one the editable install points at), plus `settings`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "INTERVIEWER_MODEL", "DATABASE_URL")
    }
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env.update(settings)
    return env


@contextlib.contextmanager
def running_server(data: Path, *, env: dict[str, str] | None = None) -> Iterator[str]:
    """A real `interviewer serve` process on `data` (offline engine unless `env` names a model),
    ready (`/readyz` 200) when its base URL is yielded; stopped afterwards."""
    import subprocess
    import sys
    import time
    import urllib.request

    port = free_port()
    environ = server_env(
        INTERVIEWER_DATA_DIR=str(data),
        INTERVIEWER_KNOWLEDGE_DIR=str(KNOWLEDGE),
        INTERVIEWER_PROMPTS_DIR=str(ROOT / "prompts"),
        INTERVIEWER_MAX_LOOP_LAG_MS="0",  # see make_settings
        **(env or {}),
    )
    log_path = data.parent / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "interviewer.cli", "serve", "--port", str(port), "--log-level", "warning"],
            env=environ,
            cwd=str(data.parent),
            stdout=log,
            stderr=log,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 300  # a busy machine (shared CI) can be slow to warm up
        while True:
            try:
                with urllib.request.urlopen(f"{base}/readyz", timeout=2) as r:  # noqa: S310
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"server did not start: {log_path.read_text()[-2000:]}")
            time.sleep(0.3)
        try:
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture(scope="session")
def live_server(
    tmp_path_factory: pytest.TempPathFactory, index_template: Path, shared_vectors: Path
) -> Iterator[str]:
    """A real `interviewer serve` process (offline engine, whole bank, its own data folder seeded
    with the run's index and vector cache)."""
    data = seed_data_dir(
        tmp_path_factory.mktemp("live") / "data", template=index_template, vectors=shared_vectors
    )
    with running_server(data) as base:
        yield base
