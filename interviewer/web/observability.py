"""What operators watch: Prometheus metrics at `/metrics` (behind a bearer token, see
`check_metrics_access`) and structured JSON logs.

Metrics: HTTP requests and their latency by route template (never by raw path, so session ids do
not explode the label space), candidate turns and their latency, model calls, tokens and errors,
active sessions (read from the database at scrape time, so every worker reports the same).
With several workers set `PROMETHEUS_MULTIPROC_DIR` to an empty folder shared by them; the
endpoint then aggregates all workers.

Logs: one JSON object per line with time, level, logger, message, request id and session id, or
human-readable text (`INTERVIEWER_LOG_FORMAT`; `auto` picks text on a terminal). Health and
readiness probes are logged at debug level only.
Candidate text, tokens and passwords are never logged: handlers log ids and outcomes only.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import secrets
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from interviewer.config import Settings
from interviewer.domain import CallRecord
from interviewer.web.input import BadInput

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
session_id: contextvars.ContextVar[str] = contextvars.ContextVar("session_id", default="-")

REGISTRY = CollectorRegistry(auto_describe=True)
HTTP_REQUESTS = Counter(
    "interviewer_http_requests_total", "HTTP requests", ["method", "route", "status"], registry=REGISTRY
)
HTTP_SECONDS = Histogram(
    "interviewer_http_request_seconds",
    "HTTP request latency",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
TURNS = Counter("interviewer_turns_total", "Candidate turns by outcome", ["status"], registry=REGISTRY)
TURN_SECONDS = Histogram(
    "interviewer_turn_seconds",
    "Candidate turn latency (answer in, reply stored)",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32),
    registry=REGISTRY,
)
MODEL_CALLS = Counter(
    "interviewer_model_calls_total", "Model calls", ["prompt", "outcome"], registry=REGISTRY
)
MODEL_TOKENS = Counter("interviewer_model_tokens_total", "Model tokens", ["kind"], registry=REGISTRY)
MODEL_SECONDS = Histogram(
    "interviewer_model_call_seconds",
    "Model call latency",
    ["prompt"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64),
    registry=REGISTRY,
)
TURN_ROUTE = "/api/v1/sessions/{session_id}/messages"
PROBE_ROUTES = frozenset({"/healthz", "/readyz"})
"""Polled every few seconds by load balancers (and by `serve` until ready): access lines at debug."""


def observe_call(record: CallRecord) -> None:
    MODEL_CALLS.labels(record.prompt or "-", "ok" if record.ok else (record.error or "error")).inc()
    MODEL_TOKENS.labels("prompt").inc(record.usage.prompt_tokens)
    MODEL_TOKENS.labels("completion").inc(record.usage.completion_tokens)
    MODEL_SECONDS.labels(record.prompt or "-").observe(record.latency_ms / 1000)


class _ActiveSessions:
    def __init__(self) -> None:
        self.count: Callable[[], int] = lambda: 0

    def collect(self) -> Iterable[GaugeMetricFamily]:
        gauge = GaugeMetricFamily("interviewer_active_sessions", "Interviews in progress")
        try:
            gauge.add_metric([], self.count())
        except Exception:  # noqa: BLE001  # a scrape must not fail because the database is down
            gauge.add_metric([], float("nan"))
        yield gauge


_ACTIVE = _ActiveSessions()
REGISTRY.register(_ACTIVE)


def count_active_sessions_with(count: Callable[[], int]) -> None:
    """Where the active-sessions gauge reads from (the app's database)."""
    _ACTIVE.count = count


def check_metrics_access(settings: Settings, authorization: str | None) -> None:
    """/metrics names routes, traffic and model errors: only for the scraper. With
    `metrics_token` set it needs `Authorization: Bearer <token>` (401 otherwise); with none set it
    does not exist (404) unless `metrics_public` says to serve it to anyone."""
    token = settings.metrics_token
    if token is None:
        if not settings.metrics_public:
            raise BadInput(404, "Not Found")
        return
    sent = authorization[7:].strip() if authorization and authorization.lower().startswith("bearer ") else ""
    if not secrets.compare_digest(sent.encode(), token.get_secret_value().encode()):
        raise BadInput(401, "/metrics needs Authorization: Bearer <INTERVIEWER_METRICS_TOKEN>")


def metrics_payload() -> tuple[bytes, str]:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


class Observe:
    """ASGI middleware: request id, session id, per-route metrics, one access log line per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.log = logging.getLogger("interviewer.access")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers", [])).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming[:64] if incoming.replace("-", "").isalnum() else uuid.uuid4().hex
        token_r = request_id.set(rid)
        parts = scope.get("path", "").split("/")
        sid = parts[4] if len(parts) > 4 and parts[1:4] == ["api", "v1", "sessions"] else "-"
        token_s = session_id.set(sid[:64])
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message.setdefault("headers", []).append((b"x-request-id", rid.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or (
                "static" if scope.get("path", "").startswith("/static") else "unmatched"
            )
            HTTP_REQUESTS.labels(scope.get("method", "-"), template, str(status)).inc()
            HTTP_SECONDS.labels(template).observe(elapsed)
            if template == TURN_ROUTE and scope.get("method") == "POST":
                TURNS.labels(str(status)).inc()
                if status == 200:
                    TURN_SECONDS.observe(elapsed)
            self.log.log(
                logging.DEBUG if template in PROBE_ROUTES else logging.INFO,
                "%s %s %s %.1fms",
                scope.get("method"),
                template,
                status,
                elapsed * 1000,
                extra={
                    "status": status,
                    "route": template,
                    "ms": round(elapsed * 1000, 1),
                    "request_id": rid,
                    "session_id": sid[:64],
                },
            )
            request_id.reset(token_r)
            session_id.reset(token_s)


class ContextFilter(logging.Filter):
    """Stamps each record with the ids of the request it was logged in (before the context ends)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get()
            record.session_id = session_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line; request and session ids from the context."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or request_id.get(),
            "session_id": getattr(record, "session_id", None) or session_id.get(),
        }
        for key in ("status", "route", "ms"):
            if hasattr(record, key):
                data[key] = getattr(record, key)
        if record.exc_info:
            data["error"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


LogFormat = Literal["auto", "text", "json"]


def resolve_log_format(fmt: str, stream: TextIO | None = None) -> Literal["text", "json"]:
    """`auto`: human-readable text on a terminal, JSON lines otherwise (a log collector)."""
    if fmt == "auto":
        stream = stream if stream is not None else sys.stderr
        isatty = getattr(stream, "isatty", None)
        return "text" if callable(isatty) and isatty() else "json"
    if fmt not in ("text", "json"):
        raise ValueError(f"unknown log format {fmt!r}; use auto, text or json")
    return "text" if fmt == "text" else "json"


def configure_logging(*, level: str = "info", fmt: str = "json") -> dict[str, Any]:
    """A logging config (dictConfig) for the app and uvicorn; uvicorn's own access log is off
    (the middleware writes one line per request with ids instead)."""
    formatter = (
        {"()": "interviewer.web.observability.JsonFormatter"}
        if fmt == "json"
        else {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "filters": {"context": {"()": "interviewer.web.observability.ContextFilter"}},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "filters": ["context"],
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "interviewer": {"handlers": ["default"], "level": level.upper(), "propagate": False},
            "uvicorn": {"handlers": ["default"], "level": level.upper(), "propagate": False},
            "uvicorn.error": {"level": level.upper()},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }
