"""The coding exercise on a test client: the real app over a knowledge folder whose only exercise
is merge-intervals, the problem-solving track shortened to three main questions and no
follow-ups (so an interview reaches its exercise in four answers), an optional sandbox passed in
through `create_app`'s door; and the exercise API's calls on it."""

from __future__ import annotations

import dataclasses
import shutil
import uuid
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from interviewer.bank import Bank, VectorIndex
from interviewer.config import Settings
from interviewer.sandbox import Sandbox
from interviewer.web.app import create_app
from tests.conftest import KNOWLEDGE, ROOT
from tests.kit.client import send, start

EXERCISE = "merge-intervals"
DONT_KNOW = "I don't know this one, sorry."


def exercise_client(
    tmp: Path, bank: Bank, index: VectorIndex, *, sandbox: Sandbox | None = None, **overrides: Any
) -> TestClient:
    """The app (not started: use it in a `with` block) with one exercise after three questions."""
    knowledge = tmp / "knowledge"
    (knowledge / "exercises").mkdir(parents=True)
    shutil.copy(KNOWLEDGE / "exercises" / f"{EXERCISE}.yaml", knowledge / "exercises")
    track = bank.tracks["problem_solving"].model_copy(
        update={"exercises": 1, "questions": 3, "follow_up_budget": 0}
    )
    with_exercise = dataclasses.replace(bank, tracks={**bank.tracks, "problem_solving": track})
    settings = Settings(
        _env_file=None,
        data_dir=tmp / "data",
        knowledge_dir=knowledge,
        prompts_dir=ROOT / "prompts",
        **({"max_loop_lag_ms": 0} | overrides),  # see conftest.make_settings
    )
    app = create_app(settings, bank=with_exercise, index=index, sandbox=sandbox, offline_only=True)
    return TestClient(app)


def reach_exercise(client: TestClient, answer: str = DONT_KNOW) -> tuple[str, dict[str, str], dict[str, Any]]:
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
