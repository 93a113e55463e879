"""The interview service: durable sessions around the orchestrator. Both the web app and tests
drive interviews through it.

One candidate turn: check the token → **commit the answer** (a pending turn) → run the engine →
write its replies, the new state, the assessment and the model calls in one transaction →
respond. A retry with the same `client_msg_id` gets the stored result; an answer left pending by
a killed process is picked up again by `resume_pending()` (at start-up, and when its session is
read after `STALE_AFTER`), so an acknowledged answer is never lost.

Errors are the tree in `interviewer/errors.py` (web maps them to HTTP in one table). Where
the work runs, and how much is admitted, is `services/runner.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hmac
import logging
import secrets
import uuid
from collections import OrderedDict
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from interviewer.bank.loader import Bank
from interviewer.domain import Question, SubmissionFacts, Turn
from interviewer.engine.orchestrator import Orchestrator, SessionCompleted
from interviewer.engine.report import candidate_view
from interviewer.engine.second_opinion import SecondOpinionJob, SecondOpinions
from interviewer.engine.state import SessionState
from interviewer.errors import Conflict, Expired, Forbidden, NotFound, ServiceError, Unavailable
from interviewer.services import revisions
from interviewer.services.bank_edits import BankEdits
from interviewer.services.replies import Reply, message_json
from interviewer.services.review_runs import run_records
from interviewer.services.runner import DeltaSink, Runner
from interviewer.store import exercises as exercise_store
from interviewer.store import repo
from interviewer.store import staff as staff_store
from interviewer.store.db import Database
from interviewer.store.tables import InterviewSession, TurnRow, utcnow

log = logging.getLogger("interviewer.service")
STALE_AFTER = timedelta(seconds=60)
"""A pending answer no process here is working on, older than this, is taken over (its process died)."""
WAIT_FOR_REPLY_S = 30.0
FRESH_REPLIES = 4096


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
        bank_edits: BankEdits | None = None,
    ) -> None:
        self._bank_edits = bank_edits
        self._token_ttl = token_ttl
        self._runner = Runner(
            single_writer=db.engine.dialect.name == "sqlite",
            db_threads=db_threads,
            max_active=max_active_turns,
            max_loop_lag_s=max_loop_lag_s,
            max_write_queue=max_write_queue,
        )
        self._opinions = second_opinions
        self._db = db
        self._engine = engine
        self._bank = bank
        self._invite_only = invite_only
        self._resuming: asyncio.Future[None] | None = None
        """Set while start-up is finding the answers left pending (`resume_pending`): a reader
        that meets a pending answer waits for it to be taken up rather than race it."""
        self._kept: set[str] = set()
        """Question and exercise revisions known to be stored (`services/revisions.py`), so that a
        turn using an already stored one writes nothing for it."""
        self._fresh: OrderedDict[int, Reply] = OrderedDict()
        """Replies just written by this process, by turn id: the request that waited for one
        returns it without reading it back (bounded; anything else reads the database)."""
        self.submissions: Callable[[str, str], SubmissionFacts | None] | None = None
        """(session, client_msg_id) -> a `submission` turn's run facts (set by services/exercise_runs.py)."""

    @property
    def loop_lag(self) -> float:
        """Smoothed lateness of this process's event loop (s)."""
        return self._runner.loop_lag

    async def watch_loop(self, interval: float = 0.05) -> None:
        await self._runner.watch_loop(interval)

    def close(self) -> None:
        """Stop the service's threads (second opinions not computed yet are dropped)."""
        if self._opinions is not None:
            self._opinions.close()
        self._runner.close()

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
            "exercise": {"id": ex.exercise_id, "title": ex.title} if (ex := state.exercise) else None,
        }

    def plans(self) -> dict[str, Any]:
        return {
            "plans": [
                {"id": p.id, "title": p.title, "tracks": p.tracks, "mode": p.mode}
                for p in sorted(self._bank.plans.values(), key=lambda p: (p.id != "full", p.id))
            ],
            "invite_only": self._invite_only,
        }

    def article(self, slug: str) -> tuple[str, str] | None:
        """A reference article's title and Markdown text; None for an unknown slug."""
        found = self._bank.articles.get(slug)
        if found is None:
            return None
        return found.title, (self._bank.root / "articles" / f"{slug}.md").read_text(encoding="utf-8")

    # --- start --------------------------------------------------------------------------
    async def start(
        self, *, plan: str | None, invite_code: str | None, client_address: str | None
    ) -> tuple[str, str, list[dict[str, Any]], dict[str, Any]]:
        if self._bank_edits is not None:  # HR's latest bank edits (saved by any worker) before a new session
            await self._bank_edits.catch_up()
        mode: str | None = None
        show_report = True
        invite_id = None
        if invite_code:
            invite = await self._runner.write(self._claim, invite_code)
            if invite is None:
                raise Forbidden("this invite code is not valid (unknown, used or expired)")
            plan, mode, show_report, invite_id = invite
        elif self._invite_only:
            raise Forbidden("interviews here are by invitation only: enter your invite code")
        result = await self._engine.start(plan, mode=mode, show_report=show_report)  # raises UnknownPlan
        state = result.state
        session_id = str(uuid.uuid4())
        token = secrets.token_urlsafe(32)
        await self._runner.write(
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
        messages = await self._runner.read(self._messages, session_id)
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

    def _keep(self, db: Any, questions: list[Question], state: SessionState | None = None) -> None:
        """Store the revisions this turn used for the first time (`services/revisions.py`)."""
        revisions.keep(db, self._kept, self._bank, questions, state)

    # --- reading ------------------------------------------------------------------------
    def _owned(self, db: Any, session_id: str, token: str) -> InterviewSession:
        row = repo.get_session(db, session_id=session_id)
        if row is None or not hmac.compare_digest(row.token_hash, repo.sha256(token)):
            raise NotFound("no such interview")
        if self._token_ttl is not None and utcnow() - row.created_at > self._token_ttl:
            raise Expired(
                f"this interview's link has expired ({self._token_ttl.days} days after it started); "
                "ask whoever invited you for a new one"
            )
        return row

    def _messages(self, session_id: str) -> list[dict[str, Any]]:
        with self._db.session() as db:
            return [message_json(t) for t in repo.list_turns(db, session_id=session_id)]

    async def owned_state(self, *, session_id: str, token: str) -> SessionState:
        """The session's engine state, for its candidate (NotFound, Expired otherwise)."""

        def read() -> SessionState:
            with self._db.session() as db:
                return SessionState.model_validate(self._owned(db, session_id, token).state)

        return await self._runner.read(read)

    async def transcript(self, *, session_id: str, token: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        def read() -> tuple[list[dict[str, Any]], dict[str, Any], TurnRow | None]:
            with self._db.session() as db:
                row = self._owned(db, session_id, token)
                pending = repo.pending_turn(db, session_id=session_id)
                turns = [message_json(t) for t in repo.list_turns(db, session_id=session_id)]
                state = SessionState.model_validate(row.state)
                return turns, self.public_state(state, pending=pending is not None), pending

        turns, state, pending = await self._runner.read(read)
        if pending is not None and self._resuming is not None:  # start-up may be about to take it
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._resuming), timeout=WAIT_FOR_REPLY_S)
        if pending is not None and (self._runner.running(pending.id) or self._is_stale(pending)):
            with contextlib.suppress(ServiceError, TimeoutError):
                await asyncio.wait_for(self._process(pending.id), timeout=WAIT_FOR_REPLY_S)
            turns, state, _ = await self._runner.read(read)
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
                runs = exercise_store.list_runs(db, session_id=session_id)
                return candidate_view(report.data) | {
                    "exercise_runs": [
                        r.model_dump(mode="json") for r in run_records(runs) if r.status == "done"
                    ]
                }

        return await self._runner.read(read)

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
        kind: str = "answer",
    ) -> Reply:
        """Take an answer and return the interviewer's reply. `on_accepted` is awaited once the
        answer is committed; `on_delta` receives model-phrased replies while they stream (they
        are provisional: the returned messages are what was stored)."""
        body_hash = repo.sha256(content)
        self._runner.admit()

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
                    kind=kind,
                )

        submitted = await self._runner.write(submit)
        match submitted.outcome:
            case "conflict":
                raise Conflict("this client_msg_id was already used with a different answer")
            case "busy":
                raise Conflict("another answer is being processed for this interview; wait for its reply")
            case "duplicate":
                assert submitted.turn is not None
                if submitted.turn.status == "pending":
                    if not self._runner.running(submitted.turn.id) and not self._is_stale(submitted.turn):
                        raise Conflict("this answer is still being processed; retry shortly")
                    await self._process(submitted.turn.id, on_delta)
                return await self._runner.read(self._stored_reply, session_id, client_msg_id)
            case "accepted":
                assert submitted.turn is not None
                if on_accepted is not None:
                    await on_accepted(submitted.turn.seq)
                await self._process(submitted.turn.id, on_delta)
                fresh = self._fresh.pop(submitted.turn.id, None)
                if fresh is not None:
                    return fresh
                return await self._runner.read(self._stored_reply, session_id, client_msg_id)

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
        return not self._runner.running(turn.id) and utcnow() - turn.created_at > STALE_AFTER

    async def _process(self, turn_id: int, on_delta: DeltaSink | None = None) -> None:
        """Process a pending answer, or join the processing already under way in this process."""
        await self._runner.join(turn_id, functools.partial(self._process_now, turn_id), on_delta)

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

        loaded = await self._runner.read(load)
        if loaded is None:
            return
        session, turn = loaded
        state = SessionState.model_validate(session.state)
        # HR changed or withdrew a question this session asked or an exercise it was given: go on
        # with the revision it had
        stale = revisions.stale(state, self._bank)
        pinned, exercises = (
            await self._runner.read(revisions.pinned, self._db, *stale) if any(stale) else ({}, {})
        )

        async def fan_out(index: int, text: str) -> None:
            await self._runner.publish(turn_id, turn.seq + index, text)

        facts = self.submissions if turn.kind == "submission" else None
        submission = await self._runner.read(facts, session.id, turn.client_msg_id or "") if facts else None
        try:
            result = await self._engine.answer(
                state,
                turn.content,
                listener=fan_out,
                pinned=pinned,
                owned=True,
                submission=submission,
                pinned_exercises=exercises,
            )
        except SessionCompleted:
            raise  # a Conflict: the interview has ended
        except Exception as exc:  # the answer is safe in the database; say so, resume later
            log.exception("processing turn %s of session %s failed", turn.seq, session.id)
            raise Unavailable(
                "your answer is saved; the interviewer's reply failed — it will be retried"
            ) from exc
        new_state = result.state

        def write() -> list[TurnRow] | None:
            with self._db.session() as db:
                self._keep(db, result.asked, new_state)
                return repo.complete_turn(
                    db,
                    session=session,
                    turn=turn,
                    expected_version=session.version,
                    state=new_state.model_dump(mode="json"),
                    status=new_state.status,
                    replies=result.messages[1:],
                    assessment=result.assessment,
                    report=new_state.report,
                    calls=result.calls,
                )

        rows = await self._runner.write(write)
        if rows is None:
            log.info("turn %s of session %s was completed by another worker", turn.seq, session.id)
            return
        self._fresh[turn_id] = Reply([message_json(r) for r in rows], self.public_state(new_state), turn.seq)
        while len(self._fresh) > FRESH_REPLIES:
            self._fresh.popitem(last=False)
        if result.second_opinion is not None:
            self._second_opinion(session.id, turn.seq, result.second_opinion)

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
            self._runner.write_later(store, score)

        if not self._opinions.submit(job, on_score):
            log.warning(
                "second opinion skipped (backlog full) for turn %s of session %s", turn_seq, session_id
            )

    def active_sessions(self) -> int:
        """How many interviews are running (the metrics' gauge)."""
        with self._db.session() as db:
            return repo.count_active_sessions(db)

    async def resume_pending(self) -> int:
        """Process answers left pending by a process that died (called at start-up)."""

        def find() -> list[int]:
            with self._db.session() as db:
                return [t.id for t in repo.pending_turns(db)]

        registered = self._resuming = asyncio.get_running_loop().create_future()
        try:
            found = await self._runner.read(find)
            tasks = [self._runner.start(t, functools.partial(self._process_now, t)) for t in found]
        finally:
            registered.set_result(None)  # readers waiting for it now find the answers being processed
            self._resuming = None
        results = await asyncio.gather(*tasks, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                log.warning("could not resume a pending answer: %s", result)
        return sum(not isinstance(r, BaseException) for r in results)
