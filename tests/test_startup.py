"""What `make run` shows: `interviewer serve --prepare` validates the bank and ingests it in the
serving process, the ingest reports progress in plain lines when its output is not a terminal,
the logs are human-readable text when asked, and one `ready: URL` line is printed once `/readyz`
says ok (not when the socket opens, which can be minutes earlier on a cold start)."""

from __future__ import annotations

import io
import os
import queue
import re
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from interviewer.cli import app
from interviewer.web.observability import resolve_log_format
from tests.conftest import ROOT, free_port, server_env
from tests.minibank import write_mini_bank


def test_ingest_progress_in_plain_lines_when_not_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kb = write_mini_bank(tmp_path / "knowledge")
    monkeypatch.setenv("INTERVIEWER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("INTERVIEWER_KNOWLEDGE_DIR", str(kb))
    monkeypatch.chdir(tmp_path)  # no stray .env
    result = CliRunner().invoke(app, ["ingest"])
    assert result.exit_code == 0, result.output
    counts = [(int(a), int(b)) for a, b in re.findall(r"^ingest: (\d+)/(\d+) vectors$", result.output, re.M)]
    assert counts, result.output
    total = counts[-1][1]
    assert counts[0] == (0, total) and counts[-1] == (total, total) and total > 0


@pytest.mark.parametrize(
    ("setting", "tty", "expected"),
    [("auto", True, "text"), ("auto", False, "json"), ("json", True, "json"), ("text", False, "text")],
)
def test_log_format_auto_is_text_on_a_terminal(setting: str, tty: bool, expected: str) -> None:
    class Stream(io.StringIO):
        def isatty(self) -> bool:
            return tty

    assert resolve_log_format(setting, Stream()) == expected  # type: ignore[arg-type]


def _lines(stream: io.BufferedReader | None, into: queue.Queue[str]) -> None:
    assert stream is not None
    for raw in stream:
        into.put(raw.decode("utf-8", "replace").rstrip("\n"))


@pytest.fixture
def serve(
    tmp_path: Path,
) -> Iterator[tuple[subprocess.Popen[bytes], queue.Queue[str], queue.Queue[str], int]]:
    kb = write_mini_bank(tmp_path / "knowledge")
    port = free_port()
    env = server_env(
        INTERVIEWER_DATA_DIR=str(tmp_path / "data"),
        INTERVIEWER_KNOWLEDGE_DIR=str(kb),
        INTERVIEWER_PROMPTS_DIR=str(ROOT / "prompts"),
        INTERVIEWER_LOG_FORMAT="text",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "interviewer.cli", "serve", "--prepare", "--port", str(port)],
        env=env,
        cwd=str(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out: queue.Queue[str] = queue.Queue()
    err: queue.Queue[str] = queue.Queue()
    readers = [
        threading.Thread(target=_lines, args=(stream, into), daemon=True)
        for stream, into in ((proc.stdout, out), (proc.stderr, err))
    ]
    for reader in readers:
        reader.start()
    try:
        yield proc, out, err, port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for reader in readers:
            reader.join(timeout=5)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def test_serve_prepare_prints_ready_once_readyz_is_ok(
    serve: tuple[subprocess.Popen[bytes], queue.Queue[str], queue.Queue[str], int],
) -> None:
    proc, out, err, port = serve
    seen: list[str] = []
    deadline = time.monotonic() + 240
    while not any(line.startswith("ready:") for line in seen):
        assert proc.poll() is None, "\n".join(seen)
        assert time.monotonic() < deadline, "no ready line:\n" + "\n".join(seen)
        try:
            seen.append(out.get(timeout=1))
        except queue.Empty:
            continue
    # printed only once the app says it is ready
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as r:  # noqa: S310
        assert r.status == 200
    assert seen[-1] == f"ready: http://127.0.0.1:{port}"
    text = "\n".join(seen)
    assert re.search(r"^ok .* 12 questions", text, re.M), text  # the bank was validated
    assert re.search(r"^ingest: 13 added", text, re.M), text  # and ingested, before serving
    assert f"http://127.0.0.1:{port}/" in seen[-2]  # the URL line comes first
    logs: list[str] = []
    while not err.empty():
        logs.append(err.get())
    assert any(" INFO " in line and "startup complete" in line for line in logs), logs
    assert not any(line.startswith("{") for line in logs), logs  # text, not JSON lines


def test_serve_prepare_refuses_a_broken_bank(tmp_path: Path) -> None:
    kb = write_mini_bank(tmp_path / "knowledge")
    (kb / "questions" / "python" / "broken.yaml").write_text("id: [unclosed\n", encoding="utf-8")
    env = {**os.environ, "INTERVIEWER_DATA_DIR": str(tmp_path / "data"), "INTERVIEWER_KNOWLEDGE_DIR": str(kb)}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-m", "interviewer.cli", "serve", "--prepare", "--port", str(free_port())],
        env=env,
        cwd=str(tmp_path),
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 1, done
    assert b"broken.yaml" in done.stdout and b"not valid YAML" in done.stdout
    assert not (tmp_path / "data" / "chroma").exists()  # nothing ingested, nothing served
