"""The HTTP server's own limits: what uvicorn does not bound (issue 12, slowloris).

uvicorn times out only an idle kept-alive connection. A connection that never sends a byte, or
sends half a request line and headers, or starts a second request on a kept-alive connection and
stalls, stayed open for ever: about 20,000 of them from one client left the server without file
descriptors, resetting every new connection. Here, per connection, on uvicorn's own protocol
classes (httptools, the default, and h11):

- the request line and headers must arrive within `header_timeout_s` of the connection opening
  (or of the first byte of the next request on a kept-alive connection); then it is closed;
- the body must arrive within twice `body_timeout_s` of the headers: a fallback for bodies the
  app never reads; the app answers 408 at `body_timeout_s` itself (`app.BodyDeadline`);
- each client address may hold `max_connections_per_address` connections per worker; one more
  is answered 429 and closed at once. The trusted proxies' addresses are exempt: behind a proxy
  every connection comes from it, and the proxy caps its clients (docker-compose.yml).

`uvicorn_options(settings)` is what `interviewer serve` passes to uvicorn. Several workers run
in spawned processes, so `serve` names the protocol classes defined here, which read the
settings in the worker; tests pass a subclass bound to their own settings.
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections import Counter
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, cast

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from interviewer.config import Settings, load_settings
from interviewer.web.security import Network, in_networks

Impl = Literal["auto", "httptools", "h11"]
HAS_HTTPTOOLS = importlib.util.find_spec("httptools") is not None

_REFUSED = (
    b"HTTP/1.1 429 Too Many Requests\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"retry-after: 5\r\nconnection: close\r\ncontent-length: 39\r\n\r\n"
    b"too many connections from this address\n"
)


@dataclass(frozen=True)
class ConnectionLimits:
    header_timeout_s: float
    body_timeout_s: float
    max_per_address: int
    exempt: tuple[Network, ...]

    @classmethod
    def of(cls, settings: Settings) -> ConnectionLimits:
        return cls(
            header_timeout_s=settings.header_timeout_s,
            body_timeout_s=settings.body_timeout_s,
            max_per_address=settings.max_connections_per_address,
            exempt=settings.trusted_proxy_networks,
        )


class _Guard:
    """One connection's deadline and its place in the per-address count."""

    def __init__(self, limits: ConnectionLimits, counts: Counter[str], transport: asyncio.Transport) -> None:
        self.limits = limits
        self.counts = counts
        self.transport = transport
        self.address: str | None = None
        self.phase: Literal["headers", "body", "none"] = "none"
        self.timer: asyncio.TimerHandle | None = None

    def opened(self, client: tuple[str, int] | None) -> None:
        host = client[0] if client else "unknown"
        cap = self.limits.max_per_address
        if cap and not in_networks(host, self.limits.exempt):
            if self.counts[host] >= cap:
                self.transport.write(_REFUSED)
                self.transport.close()
                return
            self.counts[host] += 1
            self.address = host
        self.expect_headers()

    def expect_headers(self) -> None:
        if self.phase != "headers":
            self._arm("headers", self.limits.header_timeout_s)

    def expect_body(self) -> None:
        if self.phase != "body":
            self._arm("body", 2 * self.limits.body_timeout_s)

    def complete(self) -> None:
        self.phase = "none"
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def closed(self) -> None:
        self.complete()
        if self.address is not None:
            self.counts[self.address] -= 1
            if self.counts[self.address] <= 0:
                del self.counts[self.address]
            self.address = None

    def _arm(self, phase: Literal["headers", "body"], seconds: float) -> None:
        self.complete()
        self.phase = phase
        self.timer = asyncio.get_running_loop().call_later(seconds, self._expired)

    def _expired(self) -> None:
        self.timer = None
        if not self.transport.is_closing():
            self.transport.close()


class _Limited:
    """What both protocol classes share: their limits (bound, or read from the settings once per
    process), the open connections per address of their server, and a connection's guard from
    its opening to its end. Listed before uvicorn's protocol class, whose methods it extends."""

    _guard: _Guard

    limits: ClassVar[ConnectionLimits | None] = None
    counts: ClassVar[Counter[str]] = Counter()

    @classmethod
    def _limits(cls) -> ConnectionLimits:
        if cls.limits is None:
            cls.limits = ConnectionLimits.of(load_settings())
        return cls.limits

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[misc]  # the protocol class after this one
        self._guard = _Guard(self._limits(), self.counts, cast(asyncio.Transport, transport))
        self._guard.opened(self.client)  # type: ignore[attr-defined]

    def connection_lost(self, exc: Exception | None) -> None:
        self._guard.closed()
        super().connection_lost(exc)  # type: ignore[misc]


class GuardedH11Protocol(_Limited, H11Protocol):
    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        state = self.conn.their_state
        if state is h11.SEND_BODY:
            self._guard.expect_body()
        elif state is h11.IDLE:
            if self.conn.trailing_data[0]:  # part of the next request line or headers
                self._guard.expect_headers()
        else:
            self._guard.complete()


if HAS_HTTPTOOLS:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class GuardedHttpToolsProtocol(_Limited, HttpToolsProtocol):
        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._guard.expect_headers()

        def on_headers_complete(self) -> None:
            super().on_headers_complete()
            self._guard.expect_body()

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._guard.complete()


def protocol_class(settings: Settings | None = None, *, impl: Impl = "auto") -> type[asyncio.Protocol]:
    """The guarded protocol class for `impl` ("auto": httptools when installed, as uvicorn's own
    auto). With `settings`, a subclass bound to them, with its own connection counts (one
    server in this process); without, the module's class, which reads the settings itself."""
    use_httptools = impl == "httptools" or (impl == "auto" and HAS_HTTPTOOLS)
    base: type[asyncio.Protocol] = GuardedHttpToolsProtocol if use_httptools else GuardedH11Protocol
    if settings is None:
        return base
    return type(base.__name__, (base,), {"limits": ConnectionLimits.of(settings), "counts": Counter()})


def uvicorn_options(settings: Settings, *, impl: Impl = "auto", workers: int = 1) -> dict[str, Any]:
    """uvicorn's keyword arguments for these limits (`interviewer serve` and the tests)."""
    return {
        "http": protocol_class(settings if workers == 1 else None, impl=impl),
        "timeout_keep_alive": 5,
        "h11_max_incomplete_event_size": 16 * 1024,  # request line and headers (h11; httptools: 80 KB)
    }
