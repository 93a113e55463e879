"""The interview use cases without HTTP: `InterviewService` on a real SQLite file, the offline
engine and a real chromadb index — the answer stored before anything else, a retry answered
from the store, the admission bound, the error tree, a pending answer resumed by a new service
(as after a killed process)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from interviewer.bank import Retriever, VectorIndex
from interviewer.bank.loader import Bank
from interviewer.errors import Conflict, Forbidden, Invalid, NotFound, Overloaded
from interviewer.services.interview import InterviewService
from interviewer.store import repo
from interviewer.store.db import Database
from tests.conftest import make_orchestrator

Factory = Callable[..., Any]


@pytest.fixture
def database(tmp_path: Path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'interviewer.db'}")
    db.migrate()
    return db


@pytest.fixture
def service_for(
    database: Database, bank: Bank, full_index: VectorIndex, offline_scorer: Any, prompts: Any
) -> Factory:
    @asynccontextmanager
    async def make(**options: Any) -> AsyncIterator[InterviewService]:
        engine = make_orchestrator(bank, Retriever(bank, full_index), offline_scorer, prompts)
        service = InterviewService(db=database, engine=engine, bank=bank, **options)
        try:
            yield service
        finally:
            service.close()

    return make


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_an_answer_is_stored_then_answered_and_a_retry_reads_the_store(
    service_for: Factory, database: Database
) -> None:
    async def scenario() -> None:
        async with service_for() as service:
            sid, token, opening, state = await service.start(
                plan="python", invite_code=None, client_address="t"
            )
            assert opening and state["status"] == "active"
            reply = await service.answer(
                session_id=sid, token=token, content="A generator yields values lazily.", client_msg_id="m1"
            )
            assert reply.messages and all(m["role"] == "interviewer" for m in reply.messages)
            again = await service.answer(
                session_id=sid, token=token, content="A generator yields values lazily.", client_msg_id="m1"
            )
            assert [m["id"] for m in again.messages] == [m["id"] for m in reply.messages]
            with pytest.raises(Conflict):
                await service.answer(session_id=sid, token=token, content="Another text.", client_msg_id="m1")
            turns, _ = await service.transcript(session_id=sid, token=token)
            assert [t["content"] for t in turns].count("A generator yields values lazily.") == 1

    run(scenario())
    with database.session() as db:
        assert repo.pending_turns(db) == []


def test_the_error_tree(service_for: Factory) -> None:
    async def scenario() -> None:
        async with service_for(invite_only=True) as service:
            with pytest.raises(Forbidden):
                await service.start(plan="python", invite_code=None, client_address="t")
        async with service_for() as service:
            with pytest.raises(Invalid):
                await service.start(plan="no-such-plan", invite_code=None, client_address="t")
            sid, token, _, _ = await service.start(plan="python", invite_code=None, client_address="t")
            with pytest.raises(NotFound):
                await service.transcript(session_id=sid, token="not-the-token")
            with pytest.raises(Conflict):  # the report waits for the end
                await service.report(session_id=sid, token=token)

    run(scenario())


def test_at_capacity_an_answer_is_refused_and_not_taken(service_for: Factory) -> None:
    async def scenario() -> None:
        async with service_for(max_active_turns=1) as service:
            sid, token, _, _ = await service.start(plan="python", invite_code=None, client_address="t")
            before, _ = await service.transcript(session_id=sid, token=token)
            busy = asyncio.Event()
            service._runner.start(-1, busy.wait)  # type: ignore[arg-type]  # one turn in progress
            with pytest.raises(Overloaded):
                await service.answer(session_id=sid, token=token, content="An answer.", client_msg_id="m1")
            busy.set()
            await asyncio.sleep(0.01)
            after, _ = await service.transcript(session_id=sid, token=token)
            assert after == before

    run(scenario())


def test_a_pending_answer_is_resumed_by_the_next_service(service_for: Factory, database: Database) -> None:
    """An answer committed by a process that died before replying is processed by the next one."""

    async def scenario() -> None:
        async with service_for() as first:
            sid, token, _, _ = await first.start(plan="python", invite_code=None, client_address="t")
        with database.session() as db:
            submitted = repo.submit_answer(
                db, session_id=sid, client_msg_id="m1", content="An orphaned answer.", body_hash="h"
            )
            assert submitted.outcome == "accepted"
        async with service_for() as second:
            assert await second.resume_pending() == 1
            turns, state = await second.transcript(session_id=sid, token=token)
            assert not state["pending"]
            assert turns[-1]["role"] == "interviewer"

    run(scenario())
    with database.session() as db:
        assert repo.pending_turns(db) == []
