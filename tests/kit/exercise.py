"""A problem-solving interview that reaches its coding exercise, for the tests of the exercise
through the API: a bank whose only exercise is merge-intervals, given after three main questions
with no follow-ups (so an interview reaches it in four answers); the app on it with an optional
sandbox passed in through `create_app`'s door; an answer good enough to move on; a solution that
fails on the empty list; the run call; the skip where the real sandbox cannot run."""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from interviewer.bank import Bank, VectorIndex
from interviewer.config import Settings
from interviewer.sandbox import BubblewrapSandbox, Sandbox
from interviewer.web.app import create_app
from tests.conftest import KNOWLEDGE, ROOT
from tests.kit.client import send, start

EXERCISE = "merge-intervals"
DONT_KNOW = "I don't know this one, sorry."
ANSWER = (
    "I would start by measuring: profile the code, find the hot path, then pick a data structure "
    "that makes the common operation cheap, for example a hash map for lookups or a heap for the "
    "top k, and write tests for the edge cases such as empty input, duplicates and very large input."
)
WRONG = """\
def merge(intervals):
    ordered = sorted(intervals)
    out = [ordered[0]]
    for start, end in ordered[1:]:
        if start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out
"""
"""Fails on the empty list (IndexError): the exercise's `empty_input` follow-up."""


def require_sandbox() -> None:
    reason = BubblewrapSandbox().unavailable()
    if reason:
        pytest.skip(f"bubblewrap cannot run here: {reason}")


def one_exercise_bank(bank: Bank) -> Bank:
    """A copy of `bank` whose problem-solving track gives merge-intervals, its only exercise,
    after three main questions and no follow-ups."""
    track = bank.tracks["problem_solving"].model_copy(
        update={"exercises": 1, "questions": 3, "follow_up_budget": 0}
    )
    return dataclasses.replace(
        bank, tracks={**bank.tracks, "problem_solving": track}, exercises={EXERCISE: bank.exercises[EXERCISE]}
    )


def exercise_client(
    tmp: Path, bank: Bank, index: VectorIndex, *, sandbox: Sandbox | None = None, **overrides: Any
) -> TestClient:
    """The app (not started: use it in a `with` block) over `one_exercise_bank(bank)`."""
    settings = Settings(
        _env_file=None,
        data_dir=tmp / "data",
        knowledge_dir=KNOWLEDGE,
        prompts_dir=ROOT / "prompts",
        **({"max_loop_lag_ms": 0} | overrides),  # see conftest.make_settings
    )
    app = create_app(settings, bank=one_exercise_bank(bank), index=index, sandbox=sandbox, offline_only=True)
    return TestClient(app)


def reach_exercise(client: TestClient, answer: str = ANSWER) -> tuple[str, dict[str, str], dict[str, Any]]:
    """A new problem-solving interview answered up to its open exercise: (sid, auth, the reply
    that presented it)."""
    sid, auth, _ = start(client, "problem_solving")
    for _ in range(12):
        r = send(client, sid, auth, answer)
        assert r.status_code == 200, r.text
        reply = r.json()
        if reply["state"]["exercise"] is not None:
            return sid, auth, reply
    raise AssertionError("the exercise was never presented")


def run_code(
    client: TestClient,
    sid: str,
    auth: dict[str, str],
    code: str,
    kind: str = "examples",
    cid: str | None = None,
) -> Any:
    return client.post(
        f"/api/v1/sessions/{sid}/exercise/runs",
        headers=auth,
        json={"code": code, "kind": kind, "client_msg_id": cid or str(uuid.uuid4())},
    )
