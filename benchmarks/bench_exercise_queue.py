"""The chat's overhead while coding-exercise runs are queued (issue 11's third figure).

    .venv/bin/python benchmarks/bench_exercise_queue.py                 # 20 submissions, 2 workers
    .venv/bin/python benchmarks/bench_exercise_queue.py --json          # the figures as one JSON object
    .venv/bin/python benchmarks/bench_exercise_queue.py --burst 20 --burn-s 1.5 --chat-clients 4
    .venv/bin/python benchmarks/bench_exercise_queue.py --server-env INTERVIEWER_SANDBOX_NICE=0
                                                        # runs at the chat's priority (as before)

Starts `interviewer serve` (one worker, offline engine, a temporary data folder: a fresh SQLite
file, the vector index and the scorer's vectors copied from ./data; the request limits lifted,
the sandbox queue as shipped: `INTERVIEWER_SANDBOX_WORKERS` 2, `INTERVIEWER_SANDBOX_QUEUE` 20).
Then, over real HTTP on 127.0.0.1:

1. `--burst` problem-solving interviews are brought to their open exercise ("I don't know"
   moves past the main questions; the exercise comes after them);
2. `--chat-clients` candidates in other interviews (the python track) answer one after another,
   each waiting `--think-ms` between answers: first `--idle-seconds` with the sandbox idle;
3. then the same chat load while all `--burst` interviews submit at once code that burns
   `--burn-s` s of CPU when imported (inside every test's time limit), so the runs queue behind
   the sandbox's workers; the phase lasts until the last submission has its reply.

It prints the chat's answer latency (p50, p95, max) in both phases and their difference, the
queue's throughput (runs / seconds from the burst to the last result), each submission's latency
and its run's own duration, and the server's CPU. Everything is bounded (turns, per-request
timeout). Numbers depend on the machine's other load: compare the two phases of one sitting.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import ANSWERS, ROOT, Child, cpu_seconds, free_port, pct  # noqa: E402

DONT_KNOW = "I don't know this one, sorry."
BURN = """\
import time

# burn CPU at import (the tests then fail to import what they need: quick errors)
_until = time.process_time() + {burn_s}
while time.process_time() < _until:
    pass
"""


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    cpu_s: float = 0.0
    wall_s: float = 0.0
    since: float = 0.0
    """Answers sent before this (perf_counter) are not counted."""

    def add(self, status: str, sent: float, latency: float) -> None:
        if sent < self.since:
            return
        if status == "200":
            self.latencies.append(latency)
        else:
            self.errors[status] = self.errors.get(status, 0) + 1

    def figures(self) -> dict[str, Any]:
        return {
            "answers": len(self.latencies),
            "errors": self.errors,
            "p50_ms": round(pct(self.latencies, 0.5) * 1000, 1),
            "p95_ms": round(pct(self.latencies, 0.95) * 1000, 1),
            "max_ms": round(max(self.latencies, default=float("nan")) * 1000, 1),
            "server_cpu_share": round(self.cpu_s / self.wall_s, 2) if self.wall_s else None,
            "seconds": round(self.wall_s, 1),
        }


def prepare(data: Path) -> None:
    """A fresh data folder with ./data's vector index and scorer vectors (no ingest, no embedding
    of the bank at start-up)."""
    data.mkdir(parents=True)
    for name in ("chroma", "vectors"):
        if (ROOT / "data" / name).is_dir():
            shutil.copytree(ROOT / "data" / name, data / name)


def server_env(data: Path, ns: argparse.Namespace) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENAI_", "INTERVIEWER_")) and k != "DATABASE_URL"
    }
    env.update(
        INTERVIEWER_DATA_DIR=str(data),
        INTERVIEWER_KNOWLEDGE_DIR=str(ROOT / "knowledge"),
        INTERVIEWER_PROMPTS_DIR=str(ROOT / "prompts"),
        INTERVIEWER_ANSWERS_PER_MINUTE="10000",
        INTERVIEWER_REQUESTS_PER_MINUTE="100000",
        INTERVIEWER_SESSIONS_PER_MINUTE="10000",
        INTERVIEWER_SANDBOX_WORKERS=str(ns.workers),
        INTERVIEWER_SANDBOX_QUEUE=str(ns.queue),
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
    )
    for pair in ns.server_env:
        key, _, value = pair.partition("=")
        env[key] = value
    return env


async def start(client: httpx.AsyncClient, plan: str) -> tuple[str, dict[str, str]]:
    r = await client.post("/api/v1/sessions", json={"plan": plan})
    r.raise_for_status()
    body = r.json()
    return body["session_id"], {"Authorization": f"Bearer {body['token']}"}


async def answer(client: httpx.AsyncClient, sid: str, auth: dict[str, str], content: str) -> httpx.Response:
    return await client.post(
        f"/api/v1/sessions/{sid}/messages",
        headers=auth,
        json={"content": content, "client_msg_id": str(uuid.uuid4())},
    )


async def reach_exercise(client: httpx.AsyncClient) -> tuple[str, dict[str, str]]:
    """A problem-solving interview with its exercise open."""
    sid, auth = await start(client, "problem_solving")
    for _ in range(30):
        r = await answer(client, sid, auth, DONT_KNOW)
        r.raise_for_status()
        if r.json()["state"]["exercise"] is not None:
            return sid, auth
    raise RuntimeError(f"session {sid} never reached its exercise")


async def chat(
    client: httpx.AsyncClient, i: int, ns: argparse.Namespace, phase: Phase, stop: asyncio.Event
) -> None:
    """One candidate answering back to back (with think time) until `stop`; a finished interview
    is replaced by a new one (its start is not timed)."""
    sid, auth = await start(client, "python")
    turn = 0
    while not stop.is_set():
        t0 = time.perf_counter()
        try:
            r = await answer(client, sid, auth, ANSWERS[(i + turn) % len(ANSWERS)])
            status = str(r.status_code)
        except httpx.HTTPError as exc:
            status, r = type(exc).__name__, None
        phase.add(status, t0, time.perf_counter() - t0)
        turn += 1
        if r is None or r.status_code != 200 or r.json()["state"]["status"] == "completed":
            sid, auth = await start(client, "python")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), ns.think_ms / 1000)


def chat_phase(
    client: httpx.AsyncClient, ns: argparse.Namespace, phase: Phase, stop: asyncio.Event
) -> list[asyncio.Task[None]]:
    return [asyncio.create_task(chat(client, i, ns, phase, stop)) for i in range(ns.chat_clients)]


async def submit(
    client: httpx.AsyncClient, sid: str, auth: dict[str, str], code: str
) -> tuple[int, float, float, dict[str, Any]]:
    """(status, latency s, finished at (perf_counter), the run) of one submission."""
    t0 = time.perf_counter()
    r = await client.post(
        f"/api/v1/sessions/{sid}/exercise/runs",
        headers=auth,
        json={"code": code, "kind": "submit", "client_msg_id": str(uuid.uuid4())},
    )
    done = time.perf_counter()
    return (
        r.status_code,
        done - t0,
        done,
        r.json().get("run", {}) if r.status_code == 200 else {"detail": r.text},
    )


async def drive(ns: argparse.Namespace, base: str, server: Child) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=ns.burst + ns.chat_clients + 8)
    async with httpx.AsyncClient(base_url=base, timeout=ns.timeout, limits=limits) as client:
        gate = asyncio.Semaphore(4)

        async def reach() -> tuple[str, dict[str, str]]:
            async with gate:
                return await reach_exercise(client)

        t0 = time.perf_counter()
        coders = await asyncio.gather(*(reach() for _ in range(ns.burst)))
        print(
            f"{len(coders)} interviews at their exercise in {time.perf_counter() - t0:.1f} s", file=sys.stderr
        )

        # phase 1: the sandbox idle
        idle = Phase("sandbox idle")
        stop = asyncio.Event()
        cpu0, w0 = cpu_seconds(server.proc.pid), time.perf_counter()
        tasks = chat_phase(client, ns, idle, stop)
        await asyncio.sleep(ns.idle_seconds)
        stop.set()
        await asyncio.gather(*tasks)
        idle.cpu_s, idle.wall_s = cpu_seconds(server.proc.pid) - cpu0, time.perf_counter() - w0

        # phase 2: the same chat while every coder submits at once
        busy = Phase(f"{ns.burst} submissions queued/running")
        stop = asyncio.Event()
        tasks = chat_phase(client, ns, busy, stop)
        await asyncio.sleep(ns.think_ms / 1000)  # the chat running before the burst lands
        code = BURN.format(burn_s=ns.burn_s)
        cpu0, w0 = cpu_seconds(server.proc.pid), time.perf_counter()
        busy.since = w0
        submissions = await asyncio.gather(*(submit(client, sid, auth, code) for sid, auth in coders))
        stop.set()
        await asyncio.gather(*tasks)
        busy.cpu_s, busy.wall_s = cpu_seconds(server.proc.pid) - cpu0, time.perf_counter() - w0

    ok = [s for s in submissions if s[0] == 200]
    last = max((s[2] for s in ok), default=w0)
    run_ms = [float(s[3]["duration_ms"]) for s in ok]
    statuses: dict[str, int] = {}
    for s in submissions:
        statuses[str(s[0])] = statuses.get(str(s[0]), 0) + 1
    i, b = idle.figures(), busy.figures()
    return {
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_at_end": [round(x, 1) for x in os.getloadavg()],
        },
        "settings": {
            "burst": ns.burst,
            "burn_s": ns.burn_s,
            "workers": ns.workers,
            "queue": ns.queue,
            "chat_clients": ns.chat_clients,
            "think_ms": ns.think_ms,
        },
        "chat_idle": i,
        "chat_busy": b,
        "overhead_p50_ms": round(b["p50_ms"] - i["p50_ms"], 1),
        "overhead_p95_ms": round(b["p95_ms"] - i["p95_ms"], 1),
        "queue": {
            "submissions": statuses,
            "runs_per_s": round(len(ok) / (last - w0), 2) if ok else 0.0,
            "seconds": round(last - w0, 1),
            "submission_p50_ms": round(pct([s[1] for s in ok], 0.5) * 1000),
            "submission_max_ms": round(max((s[1] for s in ok), default=float("nan")) * 1000),
            "run_duration_p50_ms": round(pct(run_ms, 0.5)),
            "run_duration_max_ms": round(max(run_ms, default=float("nan"))),
            "runs_timed_out": sum(bool(s[3].get("timed_out")) for s in ok),
            "runs_cut_short": sum(bool(s[3].get("crash")) for s in ok),
            "a_crash": next((s[3]["crash"] for s in ok if s[3].get("crash")), None),
        },
    }


def table(f: dict[str, Any]) -> str:
    i, b, q, s = f["chat_idle"], f["chat_busy"], f["queue"], f["settings"]
    errors = lambda p: ", ".join(f"{k}: {v}" for k, v in sorted(p["errors"].items())) or "none"  # noqa: E731
    lines = [
        f"{s['chat_clients']} chat candidates answering (think time {s['think_ms']} ms); "
        f"{s['burst']} submissions burning {s['burn_s']:g} s of CPU each, "
        f"{s['workers']} sandbox workers, queue bound {s['queue']}; {f['machine']['cores']} cores, "
        f"load average at the end {' / '.join(map(str, f['machine']['load_average_at_end']))}",
        "",
        "| chat answer latency | sandbox idle | runs queued/running | difference |",
        "| --- | --- | --- | --- |",
        f"| p50 | {i['p50_ms']:.0f} ms | {b['p50_ms']:.0f} ms | **{f['overhead_p50_ms']:+.0f} ms** |",
        f"| p95 | {i['p95_ms']:.0f} ms | {b['p95_ms']:.0f} ms | **{f['overhead_p95_ms']:+.0f} ms** |",
        f"| max | {i['max_ms']:.0f} ms | {b['max_ms']:.0f} ms | |",
        f"| answers (errors) | {i['answers']} ({errors(i)}) | {b['answers']} ({errors(b)}) | |",
        f"| phase length | {i['seconds']} s | {b['seconds']} s | |",
        f"| server CPU (share of a core) | {i['server_cpu_share']} | {b['server_cpu_share']} | |",
        "",
        "| the queue | result |",
        "| --- | --- |",
        f"| submissions by status | {', '.join(f'{k}: {v}' for k, v in sorted(q['submissions'].items()))} |",
        f"| throughput | **{q['runs_per_s']} runs/s** ({q['seconds']} s from the burst to the last result) |",
        f"| a submission's latency (queue wait + run + the interviewer's reply) p50 / max | "
        f"{q['submission_p50_ms']} / {q['submission_max_ms']} ms |",
        f"| a run's own duration in the sandbox p50 / max | {q['run_duration_p50_ms']} / "
        f"{q['run_duration_max_ms']} ms |",
        f"| runs timed out / cut short (a crash: the import over its time limit...) | "
        f"{q['runs_timed_out']} / {q['runs_cut_short']} {q['a_crash'] or ''} |",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--burst", type=int, default=20, help="submissions sent at once (one per interview)")
    p.add_argument("--burn-s", type=float, default=1.5, help="CPU seconds each submission burns")
    p.add_argument("--workers", type=int, default=2, help="INTERVIEWER_SANDBOX_WORKERS")
    p.add_argument("--queue", type=int, default=20, help="INTERVIEWER_SANDBOX_QUEUE")
    p.add_argument("--chat-clients", type=int, default=4, help="candidates answering in other interviews")
    p.add_argument("--think-ms", type=int, default=250, help="each chat candidate's pause between answers")
    p.add_argument("--idle-seconds", type=float, default=20.0, help="length of the idle phase")
    p.add_argument("--timeout", type=float, default=120.0, help="per request")
    p.add_argument("--server-env", action="append", default=[], help="KEY=VALUE for the server (repeatable)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON instead of a table")
    ns = p.parse_args(argv)
    if ns.burst > ns.workers + ns.queue:
        p.error("--burst is more than the queue holds (workers + queue): some would get 503")
    with tempfile.TemporaryDirectory(prefix="bench-exercise-") as tmp:
        data = Path(tmp) / "data"
        prepare(data)
        port = free_port()
        server = Child(
            "interviewer serve",
            [sys.executable, "-m", "interviewer.cli", "serve", "--port", str(port), "--log-level", "warning"],
            server_env(data, ns),
            Path(tmp),
            Path(tmp) / "server.log",
        )
        try:
            boot = server.wait_http(f"http://127.0.0.1:{port}/readyz", 300)
            print(f"server ready in {boot:.1f} s", file=sys.stderr)
            figures = asyncio.run(drive(ns, f"http://127.0.0.1:{port}", server))
        except BaseException:
            print((Path(tmp) / "server.log").read_text()[-3000:], file=sys.stderr)
            raise
        finally:
            server.stop()
    print(json.dumps(figures, indent=2) if ns.json else table(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
