"""The FastAPI app. `create_app(settings, ...)` builds it with no I/O at import; collaborators
(database, bank, index, model, the code sandbox) can be passed in through the same doors tests use. Start-up
migrates the database, makes sure the index is built, and resumes answers left pending by a
process that died. This module is a composition root: it may wire any layer (the routers reach
only `services/`); errors become HTTP statuses in `web/errors.py`."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from interviewer import __version__
from interviewer.bank import Retriever, VectorIndex, load_bank, open_index
from interviewer.bank.loader import Bank
from interviewer.config import Settings, load_settings
from interviewer.engine import build_engine
from interviewer.engine.orchestrator import Orchestrator
from interviewer.engine.second_opinion import SecondOpinions
from interviewer.llm.base import ChatModel
from interviewer.sandbox import Sandbox
from interviewer.services import readiness
from interviewer.services.bank_edits import BankEdits
from interviewer.services.exercise_runs import ExerciseRuns
from interviewer.services.exercises import DEFAULT_LIMITS, open_exercises
from interviewer.services.interview import InterviewService
from interviewer.services.rate_limit import RateLimiter
from interviewer.services.review import ReviewService
from interviewer.services.staff import StaffService
from interviewer.store.db import Database
from interviewer.web import api, docs, errors, exercises, hr, openapi_doc, pages, review
from interviewer.web.deps import Context
from interviewer.web.input import MAX_BODY_BYTES
from interviewer.web.middleware import BodyDeadline, BodyLimit, SecurityHeaders
from interviewer.web.observability import (
    Observe,
    check_metrics_access,
    count_active_sessions_with,
    metrics_payload,
    observe_call,
)

log = logging.getLogger("interviewer.web")


@dataclass(kw_only=True)
class Wiring(Context):
    """The routers' context, plus what the composition root built the services from (the
    readiness checks read them; tests reach the database through them)."""

    db: Database
    bank: Bank
    index: VectorIndex


def _rate_limits(settings: Settings) -> tuple[RateLimiter, RateLimiter, RateLimiter]:
    """The request bounds: answers per session token, requests per address, new interviews per address."""
    return (
        RateLimiter(
            rate_per_minute=settings.answers_per_minute,
            burst=max(5, settings.answers_per_minute // 2),
            max_keys=settings.rate_limit_max_keys,
        ),
        RateLimiter(
            rate_per_minute=settings.requests_per_minute,
            burst=max(10, settings.requests_per_minute // 4),
            max_keys=settings.rate_limit_max_keys,
        ),
        RateLimiter(
            rate_per_minute=settings.sessions_per_minute,
            burst=max(3, settings.sessions_per_minute // 2),
            max_keys=settings.rate_limit_max_keys,
        ),
    )


def _interview_service(
    settings: Settings,
    database: Database,
    engine: Orchestrator,
    bank: Bank,
    bank_edits: BankEdits,
    *,
    with_model: bool,
) -> InterviewService:
    return InterviewService(
        db=database,
        engine=engine,
        bank=bank,
        invite_only=settings.invite_only,
        max_active_turns=settings.max_active_turns,
        max_loop_lag_s=settings.max_loop_lag_ms / 1000,
        max_write_queue=settings.max_write_queue,
        second_opinions=(
            SecondOpinions(settings) if with_model and settings.second_opinion == "deferred" else None
        ),
        db_threads=settings.db_threads,
        token_ttl=timedelta(days=settings.candidate_token_days),
        bank_edits=bank_edits,
    )


def _background(ctx: Context, *coroutines: Coroutine[Any, Any, Any]) -> list[asyncio.Task[Any]]:
    """Start work that outlives no request but the app: kept referenced, cancelled at shutdown."""
    tasks = [asyncio.create_task(c) for c in coroutines]
    for task in tasks:
        ctx.background.add(task)
        task.add_done_callback(ctx.background.discard)
    return tasks


def create_app(
    settings: Settings | None = None,
    *,
    db: Database | None = None,
    bank: Bank | None = None,
    index: VectorIndex | None = None,
    model: ChatModel | None = None,
    sandbox: Sandbox | None = None,
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
        runs = open_exercises(
            settings.knowledge_dir,
            sandbox=sandbox,
            workers=settings.sandbox_workers,
            max_queued=settings.sandbox_queue,
            limits=replace(DEFAULT_LIMITS, nice=settings.sandbox_nice),
            bank=the_bank,  # HR's edits included
            db=database,  # the revisions running interviews were given
        )  # no process starts here: the sandbox is probed on the first run
        bank_edits = BankEdits(bank=the_bank, db=database, index=the_index, exercises=runs)
        await asyncio.to_thread(bank_edits.refresh)  # HR's edits from the database, re-indexed
        if the_index.count("questions") == 0:
            log.info("building the vector index (first start)")
            the_index.ingest(the_bank)
        the_model = model
        if the_model is None and not offline_only:
            from interviewer.engine import make_model

            # every call is counted in the metrics; each turn keeps its own calls' records
            # (`TurnResult.calls`, passed down as `on_call` with each model call)
            the_model = make_model(settings, on_call=observe_call)
        engine = build_engine(
            settings, model=the_model, bank=the_bank, index=the_index, offline_only=the_model is None
        )
        per_token, per_address, new_sessions = _rate_limits(settings)
        service = _interview_service(
            settings, database, engine, the_bank, bank_edits, with_model=the_model is not None
        )
        ctx = app.state.ctx = Wiring(
            settings=settings,
            db=database,
            bank=the_bank,
            index=the_index,
            service=service,
            bank_edits=bank_edits,
            review=ReviewService(db=database, bank=the_bank, min_kappa=settings.calibration_min_kappa),
            per_token=per_token,
            per_address=per_address,
            new_sessions=new_sessions,
            staff=StaffService(settings=settings, db=database, bank_edits=bank_edits),
            proxies=settings.trusted_proxy_networks if settings.trust_proxy_headers else None,
        )
        ctx.exercises = ExerciseRuns(db=database, interview=service, exercises=runs)
        app.state.retriever = Retriever(the_bank, the_index)
        count_active_sessions_with(service.active_sessions)
        warm_stop = threading.Event()  # a thread cannot be cancelled: the warm-up checks this
        # answers left pending by a process that died are resumed in the background (a slow or
        # absent model does not hold up start-up); the warm-up spares the first answers its cost,
        # and /readyz says ready once it is done
        _, app.state.warm_up, _ = _background(
            ctx, service.resume_pending(), asyncio.to_thread(engine.warm_up, warm_stop), service.watch_loop()
        )
        yield
        # stop background work (resumed answers, turns whose client left) before the database goes
        warm_stop.set()
        for task in list(ctx.background):
            task.cancel()
        await asyncio.gather(*ctx.background, return_exceptions=True)
        service.close()
        runs.close()
        ctx.staff.close()
        bank_edits.close()
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

    errors.install(app)

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
        ctx: Wiring | None = getattr(request.app.state, "ctx", None)
        if ctx is None:
            return JSONResponse({"status": "unavailable", "app": "starting"}, status_code=503)
        checks = await readiness.checks(ctx.db, ctx.index, getattr(request.app.state, "warm_up", None))
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ok" if ok else "unavailable", **checks}, status_code=200 if ok else 503
        )

    app.include_router(api.router)
    app.include_router(exercises.router)
    app.include_router(review.router)
    app.include_router(hr.router)
    app.include_router(pages.router)
    app.include_router(docs.router)
    app.mount("/static", StaticFiles(directory=pages.STATIC, check_dir=False), name="static")
    return app


def app_factory() -> FastAPI:
    """For `uvicorn --factory interviewer.web.app:app_factory` (several workers)."""
    return create_app()
