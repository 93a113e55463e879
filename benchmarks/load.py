"""Load driver: simulated candidates speaking API v1 over real HTTP to a real `interviewer serve`
(one uvicorn worker) pointed at the fake model server, both started here as child processes.

    .venv/bin/python benchmarks/load.py --candidates 100 --turns 4                # JSON turns
    .venv/bin/python benchmarks/load.py --candidates 500 --turns 3 --stream       # server-sent events
    .venv/bin/python benchmarks/load.py --candidates 100 --turns 4 --profile      # + py-spy of the server

Each candidate starts a session (`POST /api/v1/sessions`), then answers `--turns` times back to
back (no think time, so all candidates have a turn in flight at once), JSON or
`Accept: text/event-stream`. Every answer carries a marker `[bench c<i>-t<j>]`; the fake server
records each model call with the marker of the latest answer in its prompt and writes its own
request number `(#n)` into every text reply, so each turn is matched to the model calls it made
and their durations as measured by the fake server (GET /stats). Then:

    model time per turn   = sum of the fake server's durations of that turn's calls
    overhead per turn     = turn latency − model time
    ratio                 = turn latency / model time
    first delta           = time from sending the answer to the first `delta` event (streams)

and a Markdown table is printed (and appended to `--out` if given). Everything is bounded: the
number of turns, a per-request timeout and `--max-seconds` for the whole run; only 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import platform
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
_REQ_NO = re.compile(r"\(#(\d+)\)")

ANSWERS = [
    "I would put a load balancer in front of stateless app servers and keep state in PostgreSQL, "
    "with a read replica for reporting and Redis as a cache with a TTL.",
    "The GIL lets only one thread run Python bytecode at a time, so threads help for I/O-bound work "
    "while CPU-bound work needs multiprocessing or a C extension that releases the GIL.",
    "A shallow copy copies the outer container only; nested objects are shared. deepcopy recurses "
    "and keeps a memo dict so cycles and shared references are preserved.",
    "I'd count with a Counter (a hash map) in one pass and take the top N with heapq.nlargest, "
    "O(n log N) time and O(k) memory for k distinct IPs; for huge logs, shard by hash and merge.",
    "First I would reproduce it, then look at EXPLAIN ANALYZE: a sequential scan on a big table "
    "usually means a missing index, or a function on the column that stops the index being used.",
    "Generators produce values lazily with yield; the frame is suspended between next() calls, so "
    "memory stays constant, which is useful for streaming a large file line by line.",
    "For notifications I'd use a queue (Kafka or SQS) between producers and a fan-out service, "
    "WebSockets to connected clients, and a retry with backoff plus a dead-letter queue.",
]


# --- processes ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (and its threads), in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


class Child:
    def __init__(self, name: str, argv: list[str], env: dict[str, str], cwd: Path, log: Path) -> None:
        self.name = name
        self.log = log
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                argv,
                env=env,
                cwd=cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def wait_http(self, url: str, timeout: float) -> float:
        t0 = time.monotonic()
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() - t0 < timeout:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {self.log}")
                with contextlib.suppress(httpx.TransportError):
                    if client.get(url).status_code == 200:
                        return time.monotonic() - t0
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} not ready after {timeout:.0f} s; see {self.log}")

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def prepare_data_dir(data_dir: Path) -> None:
    """A fresh database; the vector index kept, or copied from ./data/chroma (no ~15 s ingest)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    seed = ROOT / "data" / "chroma"
    if not (data_dir / "chroma").exists() and seed.is_dir():
        shutil.copytree(seed, data_dir / "chroma")
    for suffix in ("", "-wal", "-shm", "-journal"):
        (data_dir / f"interviewer.db{suffix}").unlink(missing_ok=True)


def server_env(data_dir: Path, fake_port: int, ns: argparse.Namespace) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENAI_", "INTERVIEWER_")) and k != "DATABASE_URL"
    }
    env.update(
        INTERVIEWER_DATA_DIR=str(data_dir),
        INTERVIEWER_KNOWLEDGE_DIR=str(ROOT / "knowledge"),
        INTERVIEWER_PROMPTS_DIR=str(ROOT / "prompts"),
        INTERVIEWER_LLM_MAX_RETRIES=str(ns.llm_retries),
        INTERVIEWER_ANSWERS_PER_MINUTE=str(ns.answers_per_minute),
        INTERVIEWER_REQUESTS_PER_MINUTE=str(ns.requests_per_minute),
        INTERVIEWER_SESSIONS_PER_MINUTE=str(ns.sessions_per_minute),
        PYTHONUNBUFFERED="1",
    )
    for pair in ns.server_env:
        key, _, value = pair.partition("=")
        env[key] = value
    if not ns.offline:
        env.update(
            OPENAI_BASE_URL=f"http://127.0.0.1:{fake_port}/v1", OPENAI_API_KEY="x", INTERVIEWER_MODEL="fake"
        )
    return env


# --- candidates --------------------------------------------------------------------------------


@dataclass
class TurnResult:
    candidate: int
    turn: int
    marker: str
    status: str  # "200" or the HTTP status / exception name / "sse-error"
    latency: float  # s, send -> full JSON body or `done` event
    first_byte: float | None = None  # s, send -> first byte of the response body
    first_delta: float | None = None  # s, send -> first `delta` event
    req_nos: list[int] = field(default_factory=list)  # fake-server request numbers seen in the reply
    finished: bool = False
    sent_wall: float | None = None  # time.time() when the answer was sent (the fake server's clock)
    first_delta_wall: float | None = None  # time.time() of the first `delta` event


@dataclass
class Run:
    turns: list[TurnResult] = field(default_factory=list)
    start_errors: Counter[str] = field(default_factory=Counter)
    sessions: int = 0


def _parse_sse(buf: bytes) -> tuple[list[tuple[str, bytes]], bytes]:
    events = []
    while b"\n\n" in buf:
        raw, buf = buf.split(b"\n\n", 1)
        name, data = "message", b""
        for line in raw.split(b"\n"):
            if line.startswith(b"event:"):
                name = line[6:].strip().decode()
            elif line.startswith(b"data:"):
                data += line[5:].strip()
        if data or name != "message":
            events.append((name, data))
    return events, buf


async def send_turn(
    client: httpx.AsyncClient,
    sid: str,
    token: str,
    content: str,
    stream: bool,
    timeout: float,
    walls: dict[str, float],
) -> tuple[str, float, float | None, float | None, list[dict[str, Any]], dict[str, Any]]:
    """One answer; `walls` gets the wall-clock times (`sent`, `first_delta`) to set beside the
    fake server's own clock."""
    headers = {"Authorization": f"Bearer {token}"}
    body = {"content": content, "client_msg_id": str(uuid.uuid4())}
    url = f"/api/v1/sessions/{sid}/messages"
    t0 = time.perf_counter()
    walls["sent"] = time.time()
    if not stream:
        r = await client.post(url, json=body, headers=headers, timeout=timeout)
        latency = time.perf_counter() - t0
        if r.status_code != 200:
            return str(r.status_code), latency, None, None, [], {}
        data = r.json()
        return "200", latency, None, None, data["messages"], data["state"]
    headers["Accept"] = "text/event-stream"
    first_byte = first_delta = None
    messages: list[dict[str, Any]] = []
    state: dict[str, Any] = {}
    status = "200"
    async with client.stream("POST", url, json=body, headers=headers, timeout=timeout) as r:
        if r.status_code != 200:
            await r.aread()
            return str(r.status_code), time.perf_counter() - t0, None, None, [], {}
        buf = b""
        done = False
        async for chunk in r.aiter_raw():
            now = time.perf_counter() - t0
            if first_byte is None:
                first_byte = now
            events, buf = _parse_sse(buf + chunk)
            for name, data in events:
                if name == "delta" and first_delta is None:
                    first_delta = now
                    walls["first_delta"] = time.time()
                elif name == "message":
                    messages.append(orjson.loads(data))
                elif name == "state":
                    state = orjson.loads(data)
                elif name == "error":
                    status = "sse-error"
                elif name == "done":
                    done = True
            if done:
                break
        if not done and status == "200":
            status = "sse-incomplete"
    return status, time.perf_counter() - t0, first_byte, first_delta, messages, state


async def candidate(
    i: int,
    client: httpx.AsyncClient,
    ns: argparse.Namespace,
    run: Run,
    started: asyncio.Event,
    ready: list[int],
    deadline: float,
) -> None:
    try:
        r = await client.post(
            "/api/v1/sessions", json={"plan": ns.plan} if ns.plan else {}, timeout=ns.timeout
        )
    except httpx.HTTPError as exc:
        run.start_errors[type(exc).__name__] += 1
        ready.append(i)
        return
    if r.status_code != 201:
        run.start_errors[str(r.status_code)] += 1
        ready.append(i)
        return
    data = r.json()
    sid, token = data["session_id"], data["token"]
    run.sessions += 1
    ready.append(i)
    await started.wait()
    if ns.think_jitter_ms:  # candidates do not all answer at the same instant
        await asyncio.sleep(random.uniform(0, ns.think_jitter_ms) / 1000)
    for j in range(ns.turns):
        if time.monotonic() > deadline:
            break
        marker = f"c{i}-t{j}"
        content = f"{ANSWERS[(i + j) % len(ANSWERS)]} [bench {marker}]"
        walls: dict[str, float] = {}
        try:
            status, latency, fb, fd, messages, state = await send_turn(
                client, sid, token, content, ns.stream, ns.timeout, walls
            )
        except httpx.HTTPError as exc:
            run.turns.append(TurnResult(i, j, marker, type(exc).__name__, float("nan")))
            continue
        nos = [int(m) for msg in messages for m in _REQ_NO.findall(msg.get("content", ""))]
        finished = state.get("status") == "completed"
        result = TurnResult(i, j, marker, status, latency, fb, fd, nos, finished)
        result.sent_wall, result.first_delta_wall = walls.get("sent"), walls.get("first_delta")
        run.turns.append(result)
        if finished or status in ("404", "409"):
            break
        if ns.think_ms or ns.think_jitter_ms:
            await asyncio.sleep((ns.think_ms + random.uniform(0, ns.think_jitter_ms)) / 1000)


# --- stats -----------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def ms(x: float) -> str:
    return "–" if x != x else f"{x * 1000:.0f} ms" if x >= 0.1 else f"{x * 1000:.1f} ms"


def analyse(run: Run, records: list[dict[str, Any]], ttft_s: float) -> dict[str, Any]:
    by_marker: dict[str, list[dict[str, Any]]] = {}
    by_no = {r["n"]: r for r in records}
    for r in records:
        if r.get("marker"):
            by_marker.setdefault(r["marker"], []).append(r)
    ok = [t for t in run.turns if t.status == "200"]
    lat, model, over, ratio, fdelta, fbyte = [], [], [], [], [], []
    lag, before = [], []  # model's first token -> client's first delta; sent -> streamed call starts
    gaps: dict[str, list[float]] = {
        "before the first call": [],
        "between calls": [],
        "after the last call": [],
    }
    by_turn: dict[int, list[float]] = {}
    matched_calls = Counter()
    for t in ok:
        calls = {r["n"]: r for r in by_marker.get(t.marker, [])}
        for n in t.req_nos:
            if n in by_no:
                calls[n] = by_no[n]
        matched_calls[len(calls)] += 1
        lat.append(t.latency)
        if t.first_delta is not None:
            fdelta.append(t.first_delta)
        if t.first_byte is not None:
            fbyte.append(t.first_byte)
        streamed = [r for r in calls.values() if r.get("stream")]
        if streamed and t.first_delta_wall is not None and t.sent_wall is not None:
            first = min(streamed, key=lambda r: r["start"])
            lag.append(t.first_delta_wall - (first["start"] + ttft_s))
            before.append(first["start"] - t.sent_wall)
        if calls and t.sent_wall is not None and all("end" in r for r in calls.values()):
            ordered = sorted(calls.values(), key=lambda r: r["start"])
            gaps["before the first call"].append(ordered[0]["start"] - t.sent_wall)
            gaps["between calls"] += [b["start"] - a["end"] for a, b in itertools.pairwise(ordered)]
            gaps["after the last call"].append(t.sent_wall + t.latency - ordered[-1]["end"])
        if calls:
            m = sum(r["dur_ms"] for r in calls.values()) / 1000
            model.append(m)
            over.append(t.latency - m)
            ratio.append(t.latency / m)
            by_turn.setdefault(t.turn, []).append(t.latency - m)
    return {
        "lat": lat,
        "model": model,
        "over": over,
        "ratio": ratio,
        "fdelta": fdelta,
        "fbyte": fbyte,
        "lag": lag,
        "before": before,
        "gaps": gaps,
        "matched_calls": matched_calls,
        "by_turn": by_turn,
        "ok": len(ok),
    }


def table(ns: argparse.Namespace, run: Run, a: dict[str, Any], extra: dict[str, Any]) -> str:
    errors = Counter(t.status for t in run.turns if t.status != "200")
    errors.update({f"start {k}": v for k, v in run.start_errors.items()})
    err = ", ".join(f"{k}: {v}" for k, v in sorted(errors.items())) or "none"
    lat, model, over, ratio = a["lat"], a["model"], a["over"], a["ratio"]
    mode = "SSE" if ns.stream else "JSON"
    rows = [
        (
            "scenario",
            f"{ns.candidates} candidates × {ns.turns} turns, {mode}, "
            + (
                "offline engine (no model)"
                if ns.offline
                else f"fake model TTFT {ns.ttft_ms:.0f} ms, {ns.tps:.0f} tok/s"
            )
            + ", one worker"
            + (
                f", after a warm-up of {ns.warmup_candidates} × {ns.warmup_turns} turns"
                if ns.warmup_candidates
                else ""
            )
            + (
                f", think time {ns.think_ms:.0f} + U(0, {ns.think_jitter_ms:.0f}) ms"
                if ns.think_ms or ns.think_jitter_ms
                else ", no think time (answers in lockstep)"
            ),
        ),
        ("sessions started / turns done (ok)", f"{run.sessions} / {len(run.turns)} ({a['ok']})"),
        ("errors by status", err),
        ("wall time of the turn phase", f"{extra['wall']:.1f} s ({a['ok'] / extra['wall']:.1f} turns/s)"),
        (
            "model calls matched per ok turn",
            ", ".join(f"{k}: {v}" for k, v in sorted(a["matched_calls"].items())),
        ),
        (
            "turn latency p50 / p95 / p99",
            f"{ms(pct(lat, 0.5))} / {ms(pct(lat, 0.95))} / {ms(pct(lat, 0.99))}",
        ),
        (
            "model time per turn p50 / p95 / p99",
            f"{ms(pct(model, 0.5))} / {ms(pct(model, 0.95))} / {ms(pct(model, 0.99))}",
        ),
        (
            "**overhead per turn** p50 / p99 (target ≤ 10 / ≤ 50 ms)",
            f"{ms(pct(over, 0.5))} / {ms(pct(over, 0.99))}",
        ),
        (
            "overhead p50 / p99 by turn number",
            "; ".join(
                f"{j}: {ms(pct(v, 0.5))} / {ms(pct(v, 0.99))}" for j, v in sorted(a["by_turn"].items())
            ),
        ),
        (
            "where the overhead is (p50 / p99): " + ", ".join(a["gaps"]),
            "; ".join(f"{ms(pct(v, 0.5))} / {ms(pct(v, 0.99))}" for v in a["gaps"].values()),
        ),
        (
            "**ratio** turn / model p50 / p99 (mean-based) (target ≤ 1.05)",
            f"{pct(ratio, 0.5):.3f} / {pct(ratio, 0.99):.3f} ({(sum(lat) / sum(model)) if model else float('nan'):.3f})",
        ),
    ]
    if ns.stream:
        fd = a["fdelta"]
        rows += [
            ("first body byte p50 / p99", f"{ms(pct(a['fbyte'], 0.5))} / {ms(pct(a['fbyte'], 0.99))}"),
            (
                f"**first `delta` event** p50 / p99 (target ≤ TTFT + 20 = {ns.ttft_ms + 20:.0f} ms)",
                f"{ms(pct(fd, 0.5))} / {ms(pct(fd, 0.99))}",
            ),
            (
                "of which: sent → the streamed (phrasing) call starts, p50 / p99",
                f"{ms(pct(a['before'], 0.5))} / {ms(pct(a['before'], 0.99))}",
            ),
            (
                "**model's first token → first `delta` at the client** p50 / p99 (server-added; target ≤ 20 ms)",
                f"{ms(pct(a['lag'], 0.5))} / {ms(pct(a['lag'], 0.99))}",
            ),
            (
                "**stream duration p99 / model's own p99** (target ≤ 1.3)",
                f"{ms(pct(lat, 0.99))} / {ms(pct(model, 0.99))} = {pct(lat, 0.99) / pct(model, 0.99):.2f}",
            ),
        ]
    rows += [
        (
            "server CPU per ok turn (whole process, all threads)",
            f"{extra['server_cpu'] / max(1, a['ok']) * 1000:.1f} ms "
            f"({extra['server_cpu']:.1f} s over {extra['wall']:.1f} s = {extra['server_cpu'] / extra['wall'] * 100:.0f}% of a core)",
        ),
        ("fake model / driver CPU", f"{extra['fake_cpu']:.1f} s / {extra['driver_cpu']:.1f} s"),
        ("fake model max in-flight calls", str(extra["max_inflight"])),
    ]
    out = ["| measure | value |", "| --- | --- |"] + [f"| {k} | {v} |" for k, v in rows]
    return "\n".join(out)


# --- profile -----------------------------------------------------------------------------------


def summarise_profile(path: Path, top: int = 25) -> str:
    """py-spy raw (collapsed) stacks -> self and inclusive sample shares per function."""
    self_c: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [f for f in stack.split(";") if f]
        names = []
        for f in frames:
            name = re.sub(r" \((.*?)\)$", lambda m: " (" + _short(m.group(1)) + ")", f)
            names.append(name)
        if names:
            self_c[names[-1]] += n
        for name in set(names):
            incl[name] += n
    if not total:
        return "(no samples)"
    lines = [f"{total} samples", "", "| self % | function |", "| ---: | --- |"]
    lines += [f"| {c / total * 100:.1f} | `{k}` |" for k, c in self_c.most_common(top)]
    lines += ["", "| inclusive % | function (interviewer code and its direct libraries) |", "| ---: | --- |"]
    lines += [
        f"| {c / total * 100:.1f} | `{k}` |"
        for k, c in incl.most_common(400)
        if (
            "interviewer/" in k
            or "sqlalchemy" in k
            or "openai" in k
            or "starlette" in k
            or "fastapi" in k
            or "pydantic" in k
            or "httpx" in k
            or "tiktoken" in k
        )
    ][:top]
    return "\n".join(lines)


def _short(loc: str) -> str:
    loc = loc.replace(str(ROOT) + "/", "")
    return re.sub(r".*/site-packages/", "", loc)


# --- main --------------------------------------------------------------------------------------


async def drive(ns: argparse.Namespace, base: str, fake: str, server: Child, fake_child: Child) -> str:
    run = Run()
    limits = httpx.Limits(max_connections=ns.candidates + 20, max_keepalive_connections=ns.candidates + 20)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=ns.timeout) as client:
        if ns.warmup_candidates:
            # unmeasured candidates first, so the server's caches are warm (a server that has run a while)
            wns = argparse.Namespace(**{**vars(ns), "turns": ns.warmup_turns, "stream": False})
            wrun, wready, wgo = Run(), [], asyncio.Event()
            wgo.set()
            sem = asyncio.Semaphore(ns.start_concurrency)

            async def warm(i: int) -> None:
                async with sem:
                    await candidate(
                        100_000 + i, client, wns, wrun, wgo, wready, time.monotonic() + ns.max_seconds
                    )

            t_w = time.monotonic()
            await asyncio.gather(*(warm(i) for i in range(ns.warmup_candidates)))
            print(f"warm-up: {len(wrun.turns)} turns in {time.monotonic() - t_w:.0f} s", file=sys.stderr)
        started = asyncio.Event()
        ready: list[int] = []
        deadline = time.monotonic() + ns.max_seconds
        # sessions are started with bounded concurrency, then every candidate answers at once
        starters = []
        for i in range(ns.candidates):
            starters.append(asyncio.create_task(candidate(i, client, ns, run, started, ready, deadline)))
            if (i + 1) % ns.start_concurrency == 0:
                while len(ready) < i + 1 and time.monotonic() < deadline:
                    await asyncio.sleep(0.02)
        while len(ready) < ns.candidates and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        async with httpx.AsyncClient(timeout=10) as c:
            await c.post(f"{fake}/stats/reset")
        cpu0 = (cpu_seconds(server.proc.pid), cpu_seconds(fake_child.proc.pid), time.process_time())
        profiler = None
        if ns.profile:
            prof_path = Path(ns.data_dir) / "profile.txt"
            profiler = subprocess.Popen(
                [
                    str(Path(PY).parent / "py-spy"),
                    "record",
                    "--pid",
                    str(server.proc.pid),
                    "--format",
                    "raw",
                    "--rate",
                    "200",
                    "--nonblocking",
                    "--threads",
                    "-o",
                    str(prof_path),
                    "--duration",
                    str(ns.profile_seconds),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        t0 = time.monotonic()
        started.set()
        await asyncio.wait_for(asyncio.gather(*starters), timeout=ns.max_seconds + ns.timeout + 30)
        wall = time.monotonic() - t0
        cpu1 = (cpu_seconds(server.proc.pid), cpu_seconds(fake_child.proc.pid), time.process_time())
        async with httpx.AsyncClient(timeout=30) as c:
            stats = (await c.get(f"{fake}/stats")).json()
    a = analyse(run, stats["records"], ns.ttft_ms / 1000)
    extra = {
        "wall": wall,
        "server_cpu": cpu1[0] - cpu0[0],
        "fake_cpu": cpu1[1] - cpu0[1],
        "driver_cpu": cpu1[2] - cpu0[2],
        "max_inflight": stats["max_inflight"],
    }
    out = table(ns, run, a, extra)
    if profiler is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            profiler.wait(ns.profile_seconds + 30)
        prof_path = Path(ns.data_dir) / "profile.txt"
        if prof_path.exists():
            out += "\n\nServer profile (py-spy, all threads, during the turn phase):\n\n" + summarise_profile(
                prof_path
            )
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--candidates", type=int, default=100)
    p.add_argument("--turns", type=int, default=4, help="answers per candidate (fewer if the interview ends)")
    p.add_argument("--stream", action="store_true", help="Accept: text/event-stream turns")
    p.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a setting for the server, e.g. INTERVIEWER_SECOND_OPINION=off (repeatable)",
    )
    p.add_argument(
        "--offline",
        action="store_true",
        help="no model: the offline engine (CPU-bound embeddings) answers; for its CPU cost per turn",
    )
    p.add_argument("--ttft-ms", type=float, default=500.0)
    p.add_argument("--tps", type=float, default=50.0)
    p.add_argument("--reply-tokens", type=int, default=20)
    p.add_argument("--error-rate", type=float, default=0.0)
    p.add_argument("--plan", default=None, help="interview plan (default: the server's, 'full')")
    p.add_argument("--think-ms", type=float, default=0.0, help="pause between a reply and the next answer")
    p.add_argument(
        "--think-jitter-ms",
        type=float,
        default=0.0,
        help="plus a uniform random pause up to this (candidates stop answering in lockstep)",
    )
    p.add_argument("--timeout", type=float, default=120.0, help="per request (s)")
    p.add_argument("--max-seconds", type=float, default=300.0, help="no new turn starts after this (s)")
    p.add_argument("--start-concurrency", type=int, default=25, help="session starts in flight at once")
    p.add_argument("--warmup-candidates", type=int, default=0, help="unmeasured candidates run first")
    p.add_argument("--warmup-turns", type=int, default=8)
    p.add_argument("--llm-retries", type=int, default=2)
    p.add_argument("--answers-per-minute", type=int, default=10_000)
    p.add_argument("--requests-per-minute", type=int, default=100_000)
    p.add_argument("--sessions-per-minute", type=int, default=10_000)
    p.add_argument("--data-dir", default=str(ROOT / "data" / "load-bench"))
    p.add_argument("--profile", action="store_true", help="py-spy the server during the turn phase")
    p.add_argument("--profile-seconds", type=int, default=20)
    p.add_argument("--out", default=None, help="append the table to this file")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    ns = parse_args(argv)
    data_dir = Path(ns.data_dir).resolve()
    ns.data_dir = str(data_dir)
    prepare_data_dir(data_dir)
    fake_port, app_port = free_port(), free_port()
    fake_url, base = f"http://127.0.0.1:{fake_port}", f"http://127.0.0.1:{app_port}"
    fake = Child(
        "fake model",
        [
            PY,
            str(ROOT / "benchmarks" / "fake_llm_server.py"),
            "--port",
            str(fake_port),
            "--ttft-ms",
            str(ns.ttft_ms),
            "--tps",
            str(ns.tps),
            "--reply-tokens",
            str(ns.reply_tokens),
            "--error-rate",
            str(ns.error_rate),
        ],
        dict(os.environ),
        data_dir,
        data_dir / "fake.log",
    )
    server = None
    try:
        fake.wait_http(f"{fake_url}/healthz", 30)
        server = Child(
            "interviewer serve",
            [PY, "-m", "interviewer.cli", "serve", "--port", str(app_port), "--log-level", "warning"],
            server_env(data_dir, fake_port, ns),
            data_dir,
            data_dir / "server.log",
        )
        boot = server.wait_http(f"{base}/readyz", 120)
        print(
            f"server ready in {boot:.1f} s; {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}",
            file=sys.stderr,
        )
        try:
            import uvloop

            uvloop.install()
        except ImportError:
            pass
        text = asyncio.run(drive(ns, base, fake_url, server, fake))
    finally:
        if server is not None:
            server.stop()
        fake.stop()
    print(text)
    if ns.out:
        with open(ns.out, "a") as f:
            f.write(f"\n`{' '.join(sys.argv)}`\n\n{text}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
