"""Helpers of the staff browser tests: staff accounts in the live server's database (through the
`interviewer users create` CLI), finished interviews produced through the candidate API, the
login page, and recorders for what a page requested.

The live server (tests/conftest.py, session-scoped) keeps its database under the pytest base
temporary folder, in `live<N>/data`; the accounts are created there, next to the running server."""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple"
PAYLOAD = '<script>alert(1)</script> <img src=x onerror=alert(1)> <a href="javascript:alert(1)">x</a>'
MAX_ANSWERS = 25


def live_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.getbasetemp()
    found = sorted({p.resolve() for p in base.glob("live*/data") if (p.parent / "server.log").exists()})
    assert len(found) == 1, f"expected the one live server's data folder, found {found}"
    return found[0]


def create_staff(data_dir: Path, email: str, role: str) -> None:
    """`interviewer users create` against the live server's database (in process: fast)."""
    from interviewer.cli import app

    env = {
        "INTERVIEWER_DATA_DIR": str(data_dir),
        "INTERVIEWER_KNOWLEDGE_DIR": str(ROOT / "knowledge"),
        "INTERVIEWER_PROMPTS_DIR": str(ROOT / "prompts"),
    }
    saved = {k: os.environ.get(k) for k in ("DATABASE_URL", "INTERVIEWER_DATABASE_URL")}
    for k in saved:
        os.environ.pop(k, None)
    try:  # in a thread of its own: a test's running Playwright loop would refuse asyncio.run
        with ThreadPoolExecutor(1) as worker:
            result = worker.submit(
                CliRunner().invoke,
                app,
                ["users", "create", "--email", email, "--role", role, "--password-stdin"],
                input=PASSWORD + "\n",
                env=env,
            ).result()
    finally:
        for k, v in saved.items():
            if v is not None:
                os.environ[k] = v
    assert result.exit_code == 0 or "exists already" in result.output, result.output


def call(
    base: str, path: str, body: Any = None, *, token: str | None = None, method: str | None = None
) -> Any:
    """A JSON call to the live server's API (loopback only)."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        base + "/api/v1" + path, data=data, headers=headers, method=method or ("POST" if data else "GET")
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as r:  # noqa: S310  # loopback test server
            raw = r.read()
    except urllib.error.HTTPError as exc:
        raise AssertionError(f"{method or 'call'} {path}: {exc.code} {exc.read()[:500]!r}") from exc
    return json.loads(raw) if raw else None


def api_login(base: str, email: str) -> str:
    token: str = call(base, "/auth/login", {"email": email, "password": PASSWORD})["token"]
    return token


def next_answer(base: str, sid: str, token: str, *, prefix: str = "") -> str:
    """What the simulated candidate says next: a main question gets a partial answer (its first
    two key points, so the offline scorer finds evidence and a follow-up is due) after `prefix`;
    a follow-up gets "I don't know" (skipped: no further follow-up). Reads the interview through
    the evaluator API with `token`."""
    doc = call(base, f"/review/sessions/{sid}", token=token)
    asked = [
        t for t in doc["transcript"] if t["role"] == "interviewer" and t["kind"] in ("question", "follow_up")
    ]
    if asked[-1]["kind"] == "follow_up":
        return "I don't know"
    question = next(q for q in doc["questions"] if q["question_id"] == asked[-1]["question_id"])
    partial = " ".join(k["text"] for k in question["key_points"][:2])
    return f"{prefix} {partial}".strip()


def finish_interview(base: str, plan: str, reviewer_token: str, *, prefix: str = "") -> str:
    """A whole interview through the candidate API (`next_answer`, `prefix` before the first
    answer only). Returns the session id."""
    started = call(base, "/sessions", {"plan": plan})
    sid, token = started["session_id"], started["token"]
    state = started["state"]
    for n in range(MAX_ANSWERS):
        if state["status"] != "active":
            break
        content = next_answer(base, sid, reviewer_token, prefix=prefix if n == 0 else "")
        body = {"content": content, "client_msg_id": str(uuid.uuid4())}
        state = call(base, f"/sessions/{sid}/messages", body, token=token)["state"]
    assert state["status"] == "completed", state
    return str(sid)


def login_on_page(page: Any, base: str, email: str, *, next_path: str | None = None) -> None:
    """Log in through the staff login page (sets the HttpOnly cookie in the browser)."""
    from playwright.sync_api import expect

    page.goto(f"{base}/staff/login" + (f"?next={next_path}" if next_path else ""))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".staff-who")).to_contain_text(email)


class Requests:
    """Every URL a page requested; `to_x()` lists those an injected `<img src=x>` or link would make."""

    def __init__(self, page: Any) -> None:
        self.urls: list[str] = []
        page.on("request", lambda r: self.urls.append(r.url))

    def to_x(self) -> list[str]:
        return [u for u in self.urls if re.search(r"/x$", urlsplit(u).path) or u.startswith("javascript:")]
