"""The app's ASGI middleware: security headers on every response, a bound on request bodies'
size and on the time they take to arrive."""

from __future__ import annotations

import asyncio

from fastapi.responses import JSONResponse
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from interviewer.web.errors import error
from interviewer.web.input import BadInput
from interviewer.web.security import SECURITY_HEADERS


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
    """Refuse request bodies over the limit (uvicorn sets none), by header and by counting.
    `larger`: paths allowed more — exactly, or every path under one that ends in "/"."""

    def __init__(self, app: ASGIApp, limit: int, larger: dict[str, int] | None = None) -> None:
        self.app = app
        self.limit = limit
        self.larger = larger or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        limit = self.larger.get(path) or next(
            (n for p, n in self.larger.items() if p.endswith("/") and path.startswith(p)), self.limit
        )
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
            response = error(
                408, f"the request body did not arrive within {self.timeout_s:g} s", {"Connection": "close"}
            )
            await response(scope, receive, send)
