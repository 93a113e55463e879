"""The interview service: durable sessions around the orchestrator. Both the web app and tests
drive interviews through it.

One candidate turn: check the token → **commit the answer** (a pending turn) → run the engine →
write its replies, the new state, the assessment and the model calls in one transaction →
respond. A retry with the same `client_msg_id` gets the stored result; an answer left pending by
a killed process is picked up again by `resume_pending()` (at start-up, and when its session is
read after `STALE_AFTER`), so an acknowledged answer is never lost.

Errors (mapped to HTTP by web/ only):

    ServiceError
    ├── NotFound        unknown session, or a token that does not own it (404)
    ├── Expired         the session's token, past its lifetime (401)
    ├── Conflict        same client_msg_id with another body; answer while one is pending;
    │                   answering a finished interview; report before the end (409)
    ├── Forbidden       invite-only without a valid invite; report hidden by HR (403)
    ├── Overloaded      more turns in progress than this process admits; nothing was taken (503)
    └── Unavailable     the answer is saved but could not be processed now (503)
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import hmac
import logging
import secrets
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Any, TypeVar

from interviewer.bank.loader import Bank
from interviewer.bank.sync import refresh_for
from interviewer.domain import CallRecord, Question, Turn, question_revision
from interviewer.engine.orchestrator import Orchestrator, SessionCompleted
from interviewer.engine.report import candidate_view
from interviewer.engine.second_opinion import SecondOpinionJob, SecondOpinions
from interviewer.engine.state import SessionState
from interviewer.store import repo
from interviewer.store import staff as staff_store
from interviewer.store.db import Database
from interviewer.store.tables import InterviewSession, TurnRow, utcnow

log = logging.getLogger("interviewer.service")
T = TypeVar("T")
STALE_AFTER = timedelta(seconds=60)
"""A pending answer no process here is working on, older than this, is taken over (its process died)."""
WAIT_FOR_REPLY_S = 30.0
FRESH_REPLIES = 4096


class ServiceError(Exception):
    pass


class NotFound(ServiceError):
    pass


class Conflict(ServiceError):
    pass


class Expired(ServiceError):
    """The candidate's token is right but past `token_ttl` (counted from the session's start)."""


class Forbidden(ServiceError):
    pass


class Overloaded(ServiceError):
    """At capacity: the answer was NOT taken; the client retries later (503 + Retry-After)."""


class Unavailable(ServiceError):
    pass


_calls: contextvars.ContextVar[list[CallRecord] | None] = contextvars.ContextVar("calls", default=None)


def collect_call(record: CallRecord) -> None:
    """`on_call` sink for the chat model: records land with the turn being processed."""
    calls = _calls.get()
    if calls is not None:
        calls.append(record)


DeltaSink = Callable[[int, str], Awaitable[None]]
"""Receives streamed reply text as it is generated: (the message's id — its seq —, new text)."""


@dataclass(frozen=True)
class Reply:
    messages: list[dict[str, Any]]
    state: dict[str, Any]
    turn_seq: int


def message_json(row: TurnRow) -> dict[str, Any]:
    return {
        "id": row.seq,
        "role": row.role,
        "content": row.content,
        "kind": row.kind,
        "track": row.track,
        # SQLite hands back naive datetimes; every time stored is UTC
        "created_at": (
            row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
        ).isoformat(),
    }


class InterviewService:
    def __init__(
        self,
        *,
        db: Database,
        engine: Orchestrator,
        bank: Bank,
        invite_only: bool = False,
        max_active_turns: int = 0,
        max_loop_lag_s: float = 0.0,
        max_write_queue: int = 0,
        db_threads: int = 8,
        second_opinions: SecondOpinions | None = None,
        token_ttl: timedelta | None = None,
    ) -> None:
        self._token_ttl = token_ttl
        self._max_active = max_active_turns
        self._max_lag = max_loop_lag_s
        self._max_writes = max_write_queue
        self._writes_waiting = 0
        self.loop_lag = 0.0
        """Smoothed lateness of this process's event loop (s), kept by `watch_loop`."""
        # database calls get threads of their own, so that CPU-bound work (embeddings, the
        # guard) queued elsewhere never delays a commit — nor the reverse
        self._db_pool = ThreadPoolExecutor(max_workers=db_threads, thread_name_prefix="db")
        # SQLite has one writer at a time and makes the others poll with growing sleeps: this
        # process's writes queue on one thread instead (PostgreSQL locks rows: writes run anywhere)
        self._write_pool = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="db-write")
            if db.engine.dialect.name == "sqlite"
            else self._db_pool
        )
        self._opinions = second_opinions
        self._db = db
        self._engine = engine
        self._bank = bank
        self._invite_only = invite_only
        self._tasks: dict[int, asyncio.Task[None]] = {}
        """Answers being processed by this process, by turn id (shared by every request that waits)."""
        self._listeners: dict[int, list[DeltaSink]] = {}
        """Who receives the replies of a turn in progress as they stream, by turn id."""
        self._kept: set[str] = set()
        """Question revisions known to be stored (`repo.keep_question_versions`), so that a turn
        asking an already stored one writes nothing for it."""
        self._fresh: OrderedDict[int, Reply] = OrderedDict()
        """Replies just written by this process, by turn id: the request that waited for one
        returns it without reading it back (bounded; anything else reads the database)."""

    async def _run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Database reads off the event loop, on the database threads (context vars kept)."""
        call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._db_pool, call)

    async def _write(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Database writes off the event loop, one at a time on SQLite (context vars kept). How
        many are waiting is the database's backlog: beyond `max_write_queue`, answers are shed."""
        call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
        self._writes_waiting += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._write_pool, call)
        finally:
            self._writes_waiting -= 1

    def close(self) -> None:
        """Stop the service's threads (second opinions not computed yet are dropped)."""
        if self._opinions is not None:
            self._opinions.close()
        self._write_pool.shutdown(wait=True)
        self._db_pool.shutdown(wait=True)

    # --- public state -------------------------------------------------------------------
    def public_state(self, state: SessionState, *, pending: bool = False) -> dict[str, Any]:
        track = state.track
        config = state.config(track.track, self._bank) if track else None
        return {
            "status": state.status,
            "track": track.track if track else None,
            "track_title": config.title if config else None,
            "question_index": len(track.questions) if track else 0,
            "questions_total": config.questions if config else 0,
            "tracks": [
                {"track": t.track, "title": state.config(t.track, self._bank).title, "done": t.done}
                for t in state.tracks
            ],
            "mode": state.mode,
            "show_report": state.show_report,
            "plan_id": state.plan_id,
            "plan_title": state.plan_title,
            "pending": pending,
        }

    def plans(self) -> dict[str, Any]:
        return {
            "plans": [
                {"id": p.id, "title": p.title, "tracks": p.tracks, "mode": p.mode}
                for p in sorted(self._bank.plans.values(), key=lambda p: (p.id != "full", p.id))
            ],
            "invite_only": self._invite_only,
        }

    # --- start --------------------------------------------------------------------------
    async def start(
        self, *, plan: str | None, invite_code: str | None, client_address: str | None
    ) -> tuple[str, str, list[dict[str, Any]], dict[str, Any]]:
        await refresh_for(self._bank)  # HR's latest bank edits (saved by any worker) before a new session
        mode: str | None = None
        show_report = True
        invite_id = None
        if invite_code:
            invite = await self._write(self._claim, invite_code)
            if invite is None:
                raise Forbidden("this invite code is not valid (unknown, used or expired)")
            plan, mode, show_report, invite_id = invite
        elif self._invite_only:
            raise Forbidden("interviews here are by invitation only: enter your invite code")
        result = await self._engine.start(plan, mode=mode, show_report=show_report)  # raises UnknownPlan
        state = result.state
        session_id = str(uuid.uuid4())
        token = secrets.token_urlsafe(32)
        await self._write(
            self._create,
            session_id,
            token,
            state,
            result.messages,
            show_report,
            client_address,
            invite_id,
            result.asked,
        )
        messages = await self._run(self._messages, session_id)
        return session_id, token, messages, self.public_state(state)

    def _claim(self, code: str) -> tuple[str, str, bool, int] | None:
        with self._db.session() as db:
            invite = staff_store.claim_invite(db, code_hash=repo.sha256(code.strip()))
            if invite is None:
                return None
            db.commit()
            return invite.plan_id, invite.mode, invite.show_report, invite.id

    def _create(
        self,
        session_id: str,
        token: str,
        state: SessionState,
        turns: list[Turn],
        show_report: bool,
        client_address: str | None,
        invite_id: int | None,
        asked: list[Question],
    ) -> None:
        with self._db.session() as db:
            self._keep(db, asked)
            config = {
                "plan": state.plan_id,
                "tracks": {k: v.model_dump(mode="json") for k, v in state.track_configs.items()},
            }
            version = repo.pin_track_version(db, plan_id=state.plan_id, config=config)
            repo.create_session(
                db,
                session_id=session_id,
                token_hash=repo.sha256(token),
                plan_id=state.plan_id,
                track_version_id=version,
                mode=state.mode,
                show_report=show_report,
                state=state.model_dump(mode="json"),
                turns=turns,
                client_address=client_address,
                invite_id=invite_id,
            )
            repo.audit(
                db,
                actor="candidate",
                action="session.start",
                subject=session_id,
                data={"plan": state.plan_id, "invite": invite_id is not None},
            )
            db.commit()

    def _keep(self, db: Any, questions: list[Question]) -> None:
        """Store the revisions of newly asked questions (once per process and revision)."""
        new = [q for q in questions if question_revision(q) not in self._kept]
        if new:
            self._kept.update(repo.keep_question_versions(db, new))
            if len(self._kept) > 100_000:
                self._kept.clear()

    # --- reading ------------------------------------------------------------------------
    def _owned(self, db: Any, session_id: str, token: str) -> InterviewSession:
        row = repo.get_session(db, session_id=session_id)
        if row is None or not hmac.compare_digest(row.token_hash, repo.sha256(token)):
            raise NotFound("no such interview")
        if self._token_ttl is not None:
            started = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
            if utcnow() - started > self._token_ttl:
                raise Expired(
                    f"this interview's link has expired ({self._token_ttl.days} days after it started); "
                    "ask whoever invited you for a new one"
                )
        return row

    def _messages(self, session_id: str) -> list[dict[str, Any]]:
        with self._db.session() as db:
            return [message_json(t) for t in repo.list_turns(db, session_id=session_id)]

    async def transcript(self, *, session_id: str, token: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        def read() -> tuple[list[dict[str, Any]], dict[str, Any], TurnRow | None]:
            with self._db.session() as db:
                row = self._owned(db, session_id, token)
                pending = repo.pending_turn(db, session_id=session_id)
                turns = [message_json(t) for t in repo.list_turns(db, session_id=session_id)]
                state = SessionState.model_validate(row.state)
                return turns, self.public_state(state, pending=pending is not None), pending

        turns, state, pending = await self._run(read)
        if pending is not None and (pending.id in self._tasks or self._is_stale(pending)):
            with contextlib.suppress(ServiceError, TimeoutError):
                await asyncio.wait_for(self._process(pending.id), timeout=WAIT_FOR_REPLY_S)
            turns, state, _ = await self._run(read)
        return turns, state

    async def report(self, *, session_id: str, token: str) -> dict[str, Any]:
        def read() -> dict[str, Any]:
            with self._db.session() as db:
                row = self._owned(db, session_id, token)
                if row.status != "completed":
                    raise Conflict("the report is ready when the interview has ended")
                if not row.show_report:
                    raise Forbidden("the report of this interview is shared with the hiring team only")
                report = repo.get_report(db, session_id=session_id)
                if report is None:
                    raise Conflict("the report is being prepared")
                return candidate_view(report.data)

        return await self._run(read)

    # --- a candidate turn ---------------------------------------------------------------
    async def answer(
        self,
        *,
        session_id: str,
        token: str,
        content: str,
        client_msg_id: str,
        on_accepted: Callable[[int], Any] | None = None,
        on_delta: DeltaSink | None = None,
    ) -> Reply:
        """Take an answer and return the interviewer's reply. `on_accepted` is awaited once the
        answer is committed; `on_delta` receives model-phrased replies while they stream (they
        are provisional: the returned messages are what was stored)."""
        body_hash = repo.sha256(content)
        if (
            (self._max_active and len(self._tasks) >= self._max_active)
            or (self._max_lag and self.loop_lag > self._max_lag)
            or (self._max_writes and self._writes_waiting >= self._max_writes)
        ):
            raise Overloaded(
                "the interviewer is at capacity right now; your answer was not taken — "
                "send it again in a few seconds"
            )

        def submit() -> repo.Submitted:
            with self._db.session() as db:
                row = self._owned(db, session_id, token)
                if (
                    row.status == "completed"
                    and repo.find_turn(db, session_id=session_id, client_msg_id=client_msg_id) is None
                ):
                    raise Conflict("this interview has ended; see the report")
                return repo.submit_answer(
                    db,
                    session_id=session_id,
                    client_msg_id=client_msg_id,
                    content=content,
                    body_hash=body_hash,
                )

        submitted = await self._write(submit)
        match submitted.outcome:
            case "conflict":
                raise Conflict("this client_msg_id was already used with a different answer")
            case "busy":
                raise Conflict("another answer is being processed for this interview; wait for its reply")
            case "duplicate":
                assert submitted.turn is not None
                if submitted.turn.status == "pending":
                    if submitted.turn.id not in self._tasks and not self._is_stale(submitted.turn):
                        raise Conflict("this answer is still being processed; retry shortly")
                    await self._process(submitted.turn.id, on_delta)
                return await self._run(self._stored_reply, session_id, client_msg_id)
            case "accepted":
                assert submitted.turn is not None
                if on_accepted is not None:
                    await on_accepted(submitted.turn.seq)
                await self._process(submitted.turn.id, on_delta)
                fresh = self._fresh.pop(submitted.turn.id, None)
                if fresh is not None:
                    return fresh
                return await self._run(self._stored_reply, session_id, client_msg_id)

    def _stored_reply(self, session_id: str, client_msg_id: str) -> Reply:
        with self._db.session() as db:
            turn = repo.find_turn(db, session_id=session_id, client_msg_id=client_msg_id)
            row = repo.get_session(db, session_id=session_id)
            assert turn is not None and row is not None
            if turn.status == "pending":
                raise Unavailable(
                    "your answer is saved; the interviewer's reply is not ready yet — retry shortly"
                )
            replies = [
                message_json(t)
                for t in repo.list_turns(db, session_id=session_id, after_seq=turn.seq)
                if turn.reply_from is not None
                and turn.reply_to is not None
                and turn.reply_from <= t.seq <= turn.reply_to
            ]
            state = SessionState.model_validate(row.state)
            return Reply(replies, self.public_state(state), turn.seq)

    def _is_stale(self, turn: TurnRow) -> bool:
        created = (
            turn.created_at if turn.created_at.tzinfo else turn.created_at.replace(tzinfo=utcnow().tzinfo)
        )
        return turn.id not in self._tasks and utcnow() - created > STALE_AFTER

    async def _process(self, turn_id: int, on_delta: DeltaSink | None = None) -> None:
        """Process a pending answer, or join the processing already under way in this process.
        The work runs in its own task: a client that disconnects does not cancel it."""
        if on_delta is None:
            await asyncio.shield(self._start(turn_id))
            return
        sinks = self._listeners.setdefault(turn_id, [])
        sinks.append(on_delta)
        try:
            await asyncio.shield(self._start(turn_id))
        finally:
            sinks.remove(on_delta)
            if not sinks:
                self._listeners.pop(turn_id, None)

    def _start(self, turn_id: int) -> asyncio.Task[None]:
        task = self._tasks.get(turn_id)
        if task is None:
            task = asyncio.create_task(self._process_now(turn_id))
            self._tasks[turn_id] = task
            task.add_done_callback(lambda t: (self._tasks.pop(turn_id, None), t.cancelled() or t.exception()))
        return task

    async def _process_now(self, turn_id: int) -> None:
        """Run the engine on a pending answer and store the outcome (exactly once)."""

        def load() -> tuple[InterviewSession, TurnRow] | None:
            with self._db.session() as db:
                turn = db.get(TurnRow, turn_id)
                if turn is None or turn.status != "pending":
                    return None
                session = repo.get_session(db, session_id=turn.session_id)
                assert session is not None
                return session, turn

        loaded = await self._run(load)
        if loaded is None:
            return
        session, turn = loaded
        state = SessionState.model_validate(session.state)
        pinned: dict[str, Question] = {}
        stale = state.stale_revisions(self._bank.questions)
        if stale:  # HR changed or withdrew a question this session asked: go on with its text
            stored = await self._run(self._question_versions, list(stale.values()))
            pinned = {qid: stored[rev] for qid, rev in stale.items() if rev in stored}
        calls: list[CallRecord] = []
        token = _calls.set(calls)

        async def fan_out(index: int, text: str) -> None:
            for sink in list(self._listeners.get(turn_id, ())):
                with contextlib.suppress(Exception):  # a listener's failure is not the turn's
                    await sink(turn.seq + index, text)

        try:
            result = await self._engine.answer(
                state, turn.content, listener=fan_out, pinned=pinned, owned=True
            )
        except SessionCompleted as exc:
            raise Conflict(str(exc)) from exc
        except Exception as exc:  # the answer is safe in the database; say so, resume later
            log.exception("processing turn %s of session %s failed", turn.seq, session.id)
            raise Unavailable(
                "your answer is saved; the interviewer's reply failed — it will be retried"
            ) from exc
        finally:
            _calls.reset(token)
        new_state = result.state
        assessment = result.assessment.model_dump(mode="json") if result.assessment else None
        report = new_state.report.model_dump(mode="json") if new_state.report else None

        def write() -> list[TurnRow] | None:
            with self._db.session() as db:
                self._keep(db, result.asked)
                return repo.complete_turn(
                    db,
                    session=session,
                    turn=turn,
                    expected_version=session.version,
                    state=new_state.model_dump(mode="json"),
                    status=new_state.status,
                    replies=result.messages[1:],
                    assessment=assessment,
                    report=report,
                    calls=calls,
                )

        rows = await self._write(write)
        if rows is None:
            log.info("turn %s of session %s was completed by another worker", turn.seq, session.id)
            return
        self._fresh[turn_id] = Reply([message_json(r) for r in rows], self.public_state(new_state), turn.seq)
        while len(self._fresh) > FRESH_REPLIES:
            self._fresh.popitem(last=False)
        if result.second_opinion is not None:
            self._second_opinion(session.id, turn.seq, result.second_opinion)

    def _question_versions(self, revisions: list[str]) -> dict[str, Question]:
        with self._db.session() as db:
            return repo.question_versions(db, revisions)

    def _second_opinion(self, session_id: str, turn_seq: int, job: SecondOpinionJob) -> None:
        """Queue the offline scorer's opinion of a stored assessment, after the reply (in its own
        low-priority process, bounded backlog; see engine/second_opinion.py) and store it."""
        if self._opinions is None:
            return

        def store(score: float) -> None:
            with self._db.session() as db:
                repo.set_offline_score(db, session_id=session_id, turn_seq=turn_seq, score=score)
                db.commit()

        def on_score(score: float) -> None:
            self._write_pool.submit(contextvars.copy_context().run, store, score)

        if not self._opinions.submit(job, on_score):
            log.warning(
                "second opinion skipped (backlog full) for turn %s of session %s", turn_seq, session_id
            )

    async def watch_loop(self, interval: float = 0.05) -> None:
        """Keep `loop_lag`: how late a timer fires (smoothed). A late loop means this process is
        out of CPU; new answers are then refused (503) rather than slowing every turn down."""
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            await asyncio.sleep(interval)
            late = max(0.0, loop.time() - start - interval)
            self.loop_lag = 0.8 * self.loop_lag + 0.2 * late  # a lone hiccup does not trip it

    async def resume_pending(self) -> int:
        """Process answers left pending by a process that died (called at start-up)."""

        def find() -> list[int]:
            with self._db.session() as db:
                return [t.id for t in repo.pending_turns(db)]

        tasks = [self._start(turn_id) for turn_id in await self._run(find)]  # registered before any await
        results = await asyncio.gather(*tasks, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                log.warning("could not resume a pending answer: %s", result)
        return sum(not isinstance(r, BaseException) for r in results)
