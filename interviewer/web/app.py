"""The FastAPI app. `create_app(settings, ...)` builds it with no I/O at import; collaborators
(database, bank, index, model) can be passed in through the same doors tests use. Start-up
migrates the database, makes sure the index is built, and resumes answers left pending by a
process that died. Only this package maps domain errors to HTTP, in the handlers below."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from interviewer import __version__, errors
from interviewer.bank import Retriever, VectorIndex, load_bank, open_index
from interviewer.bank.loader import Bank
from interviewer.bank.sync import BankSync
from interviewer.config import Settings, load_settings
from interviewer.domain import CallRecord
from interviewer.engine import build_engine
from interviewer.engine.orchestrator import UnknownPlan
from interviewer.engine.second_opinion import SecondOpinions
from interviewer.errors import EngineError, StorageUnavailable
from interviewer.llm.base import ChatModel
from interviewer.service import (
    Conflict,
    Expired,
    Forbidden,
    InterviewService,
    NotFound,
    Overloaded,
    Unavailable,
    collect_call,
)
from interviewer.services.rate_limit import RateLimiter
from interviewer.services.staff import StaffService
from interviewer.store.db import Database
from interviewer.store.faults import describe
from interviewer.store.tables import InterviewSession
from interviewer.web import api, docs, hr, openapi_doc, pages, readiness, review
from interviewer.web.deps import Context
from interviewer.web.input import MAX_BODY_BYTES, BadInput
from interviewer.web.observability import (
    Observe,
    check_metrics_access,
    count_active_sessions_with,
    metrics_payload,
    observe_call,
)
from interviewer.web.security import SECURITY_HEADERS

log = logging.getLogger("interviewer.web")


class SecurityHeaders:
    """Adds the security headers (CSP and the rest) to every response that does not set its own.
    A plain ASGI middleware: Starlette's `@app.middleware("http")` passes every streamed chunk
    through a memory stream, a cost on each SSE event."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers.append(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimit:
    """Refuse request bodies over the limit (uvicorn sets none), by header and by counting."""

    def __init__(self, app: ASGIApp, limit: int, larger: dict[str, int] | None = None) -> None:
        self.app = app
        self.limit = limit
        self.larger = larger or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.larger.get(scope["path"], self.limit)
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and (len(value) > 18 or int(value) > limit):
                await JSONResponse({"detail": f"request body larger than {limit} bytes"}, status_code=413)(
                    scope, receive, send
                )
                return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BadInput(413, f"request body larger than {limit} bytes")
            return message

        await self.app(scope, counted, send)


class _BodyTimeout(Exception):
    pass


class BodyDeadline:
    """A request body must arrive within `timeout_s` of the app's first read of it (uvicorn sets
    no such bound: a body that never ended held its connection and its task for ever). Past it the
    request is answered 408 and the connection closed. Once the body is complete, reads (the
    wait for a disconnect under a streamed reply) are not bounded. The server closes a connection
    whose body the app never reads (`web.server`)."""

    def __init__(self, app: ASGIApp, timeout_s: float) -> None:
        self.app = app
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline: float | None = None
        complete = False
        started = False

        async def bounded() -> Message:
            nonlocal deadline, complete
            if complete:
                return await receive()
            if deadline is None:
                deadline = loop.time() + self.timeout_s
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                raise _BodyTimeout from None
            complete = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, bounded, watched)
        except _BodyTimeout:
            if started:
                raise
            response = _error(
                408, f"the request body did not arrive within {self.timeout_s:g} s", {"Connection": "close"}
            )
            await response(scope, receive, send)


DOMAIN_ERRORS: dict[type[Exception], tuple[int, str | None]] = {
    NotFound: (404, None),
    Expired: (401, None),
    Conflict: (409, None),
    Forbidden: (403, None),
    UnknownPlan: (422, None),
    Overloaded: (503, "3"),
    Unavailable: (503, "5"),
    errors.Unauthorized: (401, None),
    errors.Forbidden: (403, None),
    errors.Invalid: (422, None),
    errors.TooMany: (429, None),  # Retry-After: the error's own retry_after
}
"""The one place domain errors become HTTP statuses (with a Retry-After where a retry helps)."""


def _error(status: int, detail: Any, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def create_app(
    settings: Settings | None = None,
    *,
    db: Database | None = None,
    bank: Bank | None = None,
    index: VectorIndex | None = None,
    model: ChatModel | None = None,
    offline_only: bool = False,
) -> FastAPI:
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = db or Database.from_settings(settings)
        applied = database.migrate()
        if applied:
            log.info("applied migrations: %s", ", ".join(applied))
        the_bank = bank or load_bank(settings.knowledge_dir)
        the_index = index or open_index(settings)
        bank_sync = BankSync(bank=the_bank, db=database, index=the_index)
        await asyncio.to_thread(bank_sync.refresh)  # HR's edits from the database, re-indexed
        bank_sync.activate()
        app.state.bank_sync = bank_sync
        if the_index.count("questions") == 0:
            log.info("building the vector index (first start)")
            the_index.ingest(the_bank)
        the_model = model
        if the_model is None and not offline_only:
            from interviewer.engine import make_model

            def on_call(record: CallRecord) -> None:
                collect_call(record)
                observe_call(record)

            the_model = make_model(settings, on_call=on_call)
        engine = build_engine(
            settings, model=the_model, bank=the_bank, index=the_index, offline_only=the_model is None
        )
        service = InterviewService(
            db=database,
            engine=engine,
            bank=the_bank,
            invite_only=settings.invite_only,
            max_active_turns=settings.max_active_turns,
            max_loop_lag_s=settings.max_loop_lag_ms / 1000,
            max_write_queue=settings.max_write_queue,
            second_opinions=(
                SecondOpinions(settings)
                if the_model is not None and settings.second_opinion == "deferred"
                else None
            ),
            db_threads=settings.db_threads,
            token_ttl=timedelta(days=settings.candidate_token_days),
        )
        app.state.ctx = Context(
            settings=settings,
            db=database,
            bank=the_bank,
            index=the_index,
            service=service,
            staff=StaffService(settings=settings, db=database, bank=the_bank),
            per_token=RateLimiter(
                rate_per_minute=settings.answers_per_minute,
                burst=max(5, settings.answers_per_minute // 2),
                max_keys=settings.rate_limit_max_keys,
            ),
            per_address=RateLimiter(
                rate_per_minute=settings.requests_per_minute,
                burst=max(10, settings.requests_per_minute // 4),
                max_keys=settings.rate_limit_max_keys,
            ),
            new_sessions=RateLimiter(
                rate_per_minute=settings.sessions_per_minute,
                burst=max(3, settings.sessions_per_minute // 2),
                max_keys=settings.rate_limit_max_keys,
            ),
            proxies=settings.trusted_proxy_networks if settings.trust_proxy_headers else None,
        )
        app.state.retriever = Retriever(the_bank, the_index)

        def active_sessions() -> int:
            with database.session() as db_session:
                return int(
                    db_session.scalar(
                        select(func.count())
                        .select_from(InterviewSession)
                        .where(InterviewSession.status == "active")
                    )
                    or 0
                )

        count_active_sessions_with(active_sessions)
        # answers left pending by a process that died: resumed in the background, so that a slow
        # or absent model does not hold up start-up; a client asking for one joins its processing
        resume = asyncio.create_task(service.resume_pending())
        warm_stop = threading.Event()
        warm = asyncio.create_task(
            asyncio.to_thread(engine.warm_up, warm_stop)
        )  # first answers do not pay it
        app.state.warm_up = warm  # /readyz reports ready once it is done
        watch = asyncio.create_task(service.watch_loop())
        for task in (resume, warm, watch):
            app.state.ctx.background.add(task)
            task.add_done_callback(app.state.ctx.background.discard)
        yield
        # stop background work (resumed answers, turns whose client left) before the database goes
        warm_stop.set()  # a thread cannot be cancelled: the warm-up checks this between questions
        for task in list(app.state.ctx.background):
            task.cancel()
        await asyncio.gather(*app.state.ctx.background, return_exceptions=True)
        service.close()
        app.state.ctx.staff.close()
        bank_sync.deactivate()
        if db is None:
            database.dispose()

    app = FastAPI(
        title="interviewer",
        version=__version__,
        lifespan=lifespan,
        description="An AI mock interviewer for Senior Python Developer roles. API v1.",
        docs_url=None,  # web/docs.py serves /docs from the app's own files, under the strict CSP
        redoc_url=None,
    )
    openapi_doc.install(app)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES, larger=hr.LARGE_BODIES)
    app.add_middleware(BodyDeadline, timeout_s=settings.body_timeout_s)
    app.add_middleware(Observe)

    @app.exception_handler(BadInput)
    async def bad_input(_: Request, exc: BadInput) -> JSONResponse:
        retry = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
        return _error(exc.status, exc.detail, retry)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", "invalid"), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return _error(422, details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, exc.detail)

    for error, (status, retry_after) in DOMAIN_ERRORS.items():

        async def domain_error(
            _: Request, exc: Exception, status: int = status, retry_after: str | None = retry_after
        ) -> JSONResponse:
            if isinstance(exc, errors.TooMany):
                retry_after = str(exc.retry_after)
            detail = exc.detail if isinstance(exc, errors.ServiceError) else str(exc)
            return _error(status, detail, {"Retry-After": retry_after} if retry_after else None)

        app.add_exception_handler(error, domain_error)

    @app.exception_handler(StorageUnavailable)
    @app.exception_handler(DBAPIError)
    async def storage_error(_: Request, exc: Exception) -> JSONResponse:
        # never str(exc): a driver error carries the statement and its parameters (candidate text)
        reason = describe(exc)
        if reason is None:
            # the type only: the message and traceback hold the statement's parameters
            log.error("database error on a request: %s", type(getattr(exc, "orig", exc)).__name__)
            return _error(500, "the database failed on this request")
        log.error("storage unavailable: %s", reason)
        return _error(503, f"storage unavailable: {reason}; try again later", {"Retry-After": "30"})

    @app.exception_handler(ClientDisconnect)
    async def client_gone(request: Request, _: ClientDisconnect) -> Response:
        # the client left while sending its body: nothing of ours failed and no one will read an
        # answer; 499 (nginx's "client closed request") keeps it out of the 5xx counts
        log.info(
            "client disconnected before its request body was complete: %s %s",
            request.method,
            request.url.path,
        )
        return Response(status_code=499)

    @app.exception_handler(EngineError)
    async def engine_error(_: Request, exc: EngineError) -> JSONResponse:
        return _error(500, "the interview engine failed; your answer is saved")

    @app.get(
        "/metrics",
        summary="Prometheus metrics (text format): needs `Authorization: Bearer <INTERVIEWER_METRICS_TOKEN>`; "
        "404 when no token is set (unless INTERVIEWER_METRICS_PUBLIC=true)",
    )
    async def metrics(request: Request) -> Response:
        check_metrics_access(settings, request.headers.get("authorization"))
        body, content_type = metrics_payload()
        return Response(body, media_type=content_type)

    @app.get("/healthz", include_in_schema=True, summary="Process alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        summary="Database and vector index reachable, start-up warm-up done (until then 503: "
        "a load balancer sends no turn to a cold worker)",
    )
    async def readyz(request: Request) -> JSONResponse:
        ctx: Context | None = getattr(request.app.state, "ctx", None)
        if ctx is None:
            return JSONResponse({"status": "unavailable", "app": "starting"}, status_code=503)
        checks = await readiness.checks(ctx.db, ctx.index, getattr(request.app.state, "warm_up", None))
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ok" if ok else "unavailable", **checks}, status_code=200 if ok else 503
        )

    app.include_router(api.router)
    app.include_router(review.router)
    app.include_router(hr.router)
    app.include_router(pages.router)
    app.include_router(docs.router)
    app.mount("/static", StaticFiles(directory=pages.STATIC, check_dir=False), name="static")
    return app


def app_factory() -> FastAPI:
    """For `uvicorn --factory interviewer.web.app:app_factory` (several workers)."""
    return create_app()
