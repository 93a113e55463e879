"""The HTTP server's own limits (issue 12, High 4: slowloris), on a real uvicorn server with the
options `interviewer serve` uses, on a free loopback port, driven with raw sockets; both of
uvicorn's HTTP parsers (httptools, the default, and h11).

- A request whose line and headers never finish is cut off after the header timeout (also a
  connection that sends nothing, and a kept-alive one that starts a second request and stalls).
- A body that never finishes gets 408 after the body timeout, and the connection is closed.
- Connections per client address are capped: beyond the cap a connection gets 429 and is
  closed, while another address still gets through, and the first one again once its
  connections close.
- docker-compose.yml puts a buffering nginx in front (deploy/nginx.conf), the one proxy the app
  believes.

The timeouts are made small here; a socket's own (long) timeout is only the test's failure mode
("the server kept the connection open"), never a measurement.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import pytest
import uvicorn
import yaml

from interviewer.bank import Bank, VectorIndex
from interviewer.config import Settings, parse_networks
from interviewer.web.app import create_app
from interviewer.web.server import uvicorn_options

ROOT = Path(__file__).resolve().parent.parent
WAIT = 20.0  # seconds a test waits for the server to close a socket before it calls that a failure
IMPLS = ["httptools", "h11"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def live(tmp: Path, bank: Bank, index: VectorIndex, *, impl: str, **overrides: Any) -> Iterator[int]:
    settings = Settings(
        _env_file=None,
        data_dir=tmp,
        knowledge_dir=ROOT / "knowledge",  # type: ignore[call-arg]
        prompts_dir=ROOT / "prompts",
        **overrides,
    )
    app = create_app(settings, bank=bank, index=index, offline_only=True)
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", **uvicorn_options(settings, impl=impl)
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(30)


def connect(port: int, source: str = "127.0.0.1") -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=WAIT, source_address=(source, 0))
    s.settimeout(WAIT)
    return s


def read_to_close(s: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    chunks = []
    try:
        while chunk := s.recv(65536):
            chunks.append(chunk)
    except TimeoutError:
        pytest.fail(f"the server kept the connection open for {WAIT} s (got {b''.join(chunks)[:80]!r})")
    except ConnectionResetError:
        pass  # closed with data we never read: closed all the same
    return b"".join(chunks)


def get(port: int, path: str = "/healthz", source: str = "127.0.0.1") -> bytes:
    with connect(port, source) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n".encode())
        return read_to_close(s)


@pytest.mark.parametrize("impl", IMPLS)
def test_headers_that_never_finish_are_cut_off(
    tmp_path: Path, bank: Bank, full_index: VectorIndex, impl: str
) -> None:
    with live(tmp_path, bank, full_index, impl=impl, header_timeout_s=0.5) as port:
        with connect(port) as half:
            half.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\nX-Slow: ")
            assert read_to_close(half) == b""
        with connect(port) as silent:  # not a byte
            assert read_to_close(silent) == b""
        with connect(port) as kept:  # one whole request kept alive, then a second that stalls
            kept.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
            first = kept.recv(65536)
            assert first.startswith(b"HTTP/1.1 200")
            kept.sendall(b"GET /healthz HTTP/1.1\r\nHo")
            assert b"HTTP/1.1" not in read_to_close(kept)
        assert get(port).startswith(b"HTTP/1.1 200")  # whole requests still work


@pytest.mark.parametrize("impl", IMPLS)
def test_a_body_that_never_finishes_gets_408(
    tmp_path: Path, bank: Bank, full_index: VectorIndex, impl: str
) -> None:
    with live(tmp_path, bank, full_index, impl=impl, body_timeout_s=0.5) as port, connect(port) as s:
        s.sendall(
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"email": '
        )
        reply = read_to_close(s)
    assert reply.startswith(b"HTTP/1.1 408"), reply[:200]
    assert b"connection: close" in reply.lower()


@pytest.mark.parametrize("impl", IMPLS)
def test_connections_per_address_are_capped(
    tmp_path: Path, bank: Bank, full_index: VectorIndex, impl: str
) -> None:
    with live(
        tmp_path,
        bank,
        full_index,
        impl=impl,
        max_connections_per_address=2,
        trusted_proxies="192.0.2.1/32",  # loopback is no proxy here: it is capped like anyone
        header_timeout_s=60,
    ) as port:
        held = [connect(port), connect(port)]  # open, idle
        try:
            refused = get(port)
            assert refused.startswith(b"HTTP/1.1 429"), refused[:200]
            assert b"retry-after" in refused.lower()
            assert get(port, source="127.0.0.2").startswith(b"HTTP/1.1 200")  # another address
        finally:
            for s in held:
                s.close()
        deadline = time.monotonic() + WAIT  # the server sees the two close, then has room again
        while not (reply := get(port)).startswith(b"HTTP/1.1 200"):
            assert time.monotonic() < deadline, reply[:200]
            time.sleep(0.1)


def test_compose_puts_a_buffering_proxy_in_front() -> None:
    """docker-compose.yml: nginx (deploy/nginx.conf) is the only way in, and it is the one proxy
    the app believes; the config holds slow clients and caps each address."""
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))["services"]
    proxy, app = services["proxy"], services["app"]
    assert "ports" not in app  # reached through the proxy only
    assert any(v.startswith("./deploy/nginx.conf:") for v in proxy["volumes"])
    env = app["environment"]
    proxy_ip = ip_address(proxy["networks"]["default"]["ipv4_address"])
    assert env["INTERVIEWER_TRUST_PROXY_HEADERS"] == "true"
    assert any(proxy_ip in net for net in parse_networks(env["INTERVIEWER_TRUSTED_PROXIES"]))
    conf = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    for directive in (
        "client_header_timeout",
        "client_body_timeout",
        "limit_conn per_address",
        "limit_req zone=logins",
        "proxy_request_buffering on",
        "proxy_set_header X-Forwarded-For $remote_addr",  # replaces what the client sent
        "proxy_set_header Host $http_host",  # the login's Origin check compares with it
        "location = /metrics",
        "server app:8000",
    ):
        assert directive in conf, directive
