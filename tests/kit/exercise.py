"""A problem-solving interview that reaches its coding exercise, for the tests of the exercise
through the API: a bank whose only exercise is merge-intervals, given after three main questions
with no follow-ups; an answer good enough to move on; a solution that fails on the empty list;
the run call; the skip where the real sandbox cannot run."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from interviewer.bank import Bank
from interviewer.sandbox import BubblewrapSandbox
from tests.kit.client import send, start

EXERCISE = "merge-intervals"
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


def reach_exercise(client: TestClient) -> tuple[str, dict[str, str], dict[str, Any]]:
    """Start a problem-solving interview and answer until the exercise is presented."""
    sid, auth, _ = start(client, "problem_solving")
    for _ in range(12):
        r = send(client, sid, auth, ANSWER)
        assert r.status_code == 200, r.text
        reply = r.json()
        if reply["messages"] and reply["messages"][-1]["kind"] == "exercise":
            return sid, auth, reply
    raise AssertionError("the exercise was never presented")


def run(
    client: TestClient, sid: str, auth: dict[str, str], code: str, kind: str, cid: str | None = None
) -> Any:
    return client.post(
        f"/api/v1/sessions/{sid}/exercise/runs",
        headers=auth,
        json={"code": code, "kind": kind, "client_msg_id": cid or str(uuid.uuid4())},
    )
