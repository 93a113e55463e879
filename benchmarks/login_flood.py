"""Staff reads while wrong logins hammer the server (issue 12, High 2).

    .venv/bin/python benchmarks/login_flood.py                    # the shipped login bounds
    .venv/bin/python benchmarks/login_flood.py --unbounded        # bounds lifted: as before issue 12
    .venv/bin/python benchmarks/login_flood.py --rate 5 --seconds 20 --out benchmarks/results.md

Starts `interviewer serve` (one worker; its own data folder `data/login-bench`, the index copied
from `data/chroma`; the general request limits lifted so that only the login bounds act), creates
an evaluator and starts a few interviews, then runs two phases of `--seconds` each:

- quiet: the evaluator reads its session list (`GET /api/v1/review/sessions`) back to back;
- flood: the same, while an attacker sends `--rate` wrong logins a second for one account from
  one address, each its own request, not waiting for the previous one (as a script would).

It prints a Markdown table: the evaluator's read latency (p50, p95, max) in each phase, the
attacker's answers by status with their latency, and the server's CPU. `--unbounded` lifts the
login bounds (many checks at once, no rates, no back-off), which is what the server did before
(every check on the shared thread pool). Everything is bounded (phases, per-request timeout) and
only 127.0.0.1 is used. Numbers depend on the machine's other load: compare the two modes in
one sitting.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import ROOT, Child, cpu_seconds, free_port, pct, prepare_data_dir  # noqa: E402

PASSWORD = "correct horse battery staple"
UNBOUNDED = {
    "INTERVIEWER_LOGIN_CHECKS_AT_ONCE": "6",  # the size of the shared pool the checks used to run on
    "INTERVIEWER_LOGIN_QUEUE": "1000",
    "INTERVIEWER_LOGINS_PER_MINUTE": "100000",
    "INTERVIEWER_LOGINS_PER_MINUTE_PER_ADDRESS": "100000",
    "INTERVIEWER_LOGIN_FAILURES_BEFORE_BACKOFF": "1000",
}


def server_env(data_dir: Path, ns: argparse.Namespace) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENAI_", "INTERVIEWER_")) and k != "DATABASE_URL"
    }
    env.update(
        INTERVIEWER_DATA_DIR=str(data_dir),
        INTERVIEWER_KNOWLEDGE_DIR=str(ROOT / "knowledge"),
        INTERVIEWER_PROMPTS_DIR=str(ROOT / "prompts"),
        INTERVIEWER_REQUESTS_PER_MINUTE="100000",
        INTERVIEWER_SESSIONS_PER_MINUTE="10000",
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
    )
    if ns.unbounded:
        env.update(UNBOUNDED)
    return env


def create_evaluator(env: dict[str, str], email: str) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "interviewer.cli",
            "users",
            "create",
            "--email",
            email,
            "--role",
            "evaluator",
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
        text=True,
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )


async def reads(client: httpx.AsyncClient, token: str, until: float) -> list[float]:
    out = []
    while time.monotonic() < until:
        t0 = time.monotonic()
        r = await client.get("/api/v1/review/sessions", headers={"Authorization": f"Bearer {token}"})
        r.raise_for_status()
        out.append(time.monotonic() - t0)
    return out


async def attack(client: httpx.AsyncClient, rate: float, until: float) -> list[tuple[int, float]]:
    results: list[tuple[int, float]] = []

    async def one() -> None:
        t0 = time.monotonic()
        try:
            r = await client.post("/api/v1/auth/login", json={"email": "ev@example.com", "password": "guess"})
            results.append((r.status_code, time.monotonic() - t0))
        except httpx.HTTPError:
            results.append((0, time.monotonic() - t0))

    tasks = []
    while time.monotonic() < until:
        tasks.append(asyncio.create_task(one()))
        await asyncio.sleep(1 / rate)
    await asyncio.gather(*tasks)
    return results


def ms(values: list[float], q: float) -> str:
    return f"{pct(values, q) * 1000:.0f}" if values else "-"


async def drive(ns: argparse.Namespace, base: str, server: Child) -> str:
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        login = await client.post(
            "/api/v1/auth/login", json={"email": "ev@example.com", "password": PASSWORD}
        )
        login.raise_for_status()
        token = login.json()["token"]
        for _ in range(ns.sessions):
            (await client.post("/api/v1/sessions", json={"plan": "python"})).raise_for_status()
        quiet = await reads(client, token, time.monotonic() + ns.seconds)
        cpu0, t0 = cpu_seconds(server.proc.pid), time.monotonic()
        until = time.monotonic() + ns.seconds
        flood, attacked = await asyncio.gather(reads(client, token, until), attack(client, ns.rate, until))
        cpu = cpu_seconds(server.proc.pid) - cpu0
        wall = time.monotonic() - t0
    by_status = Counter(status for status, _ in attacked)
    lines = [
        f"### Login flood: {'bounds lifted (before issue 12)' if ns.unbounded else 'shipped login bounds'}",
        "",
        f"{ns.rate:g} wrong logins/s for one account from one address, {ns.seconds:g} s per phase; "
        f"load average at the end {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores",
        "",
        "| what | p50 ms | p95 ms | max ms | n |",
        "| --- | --- | --- | --- | --- |",
        f"| evaluator's session list, quiet | {ms(quiet, 0.5)} | {ms(quiet, 0.95)} | {ms(quiet, 1.0)} | {len(quiet)} |",
        f"| evaluator's session list, during the flood | {ms(flood, 0.5)} | {ms(flood, 0.95)} | {ms(flood, 1.0)} | {len(flood)} |",
    ]
    for status in sorted(by_status):
        latencies = [t for s, t in attacked if s == status]
        lines.append(
            f"| attacker's logins answered {status or 'error'} | {ms(latencies, 0.5)} | {ms(latencies, 0.95)} | "
            f"{ms(latencies, 1.0)} | {len(latencies)} |"
        )
    lines += [
        "",
        f"server CPU during the flood: {cpu:.1f} s over {wall:.1f} s ({cpu / wall * 100:.0f}% of a core)",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=5.0, help="wrong logins per second")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each phase")
    parser.add_argument("--sessions", type=int, default=20, help="interviews started for the list")
    parser.add_argument("--unbounded", action="store_true", help="lift the login bounds")
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data" / "login-bench")
    parser.add_argument("--out", type=Path, help="append the table to this file")
    ns = parser.parse_args()
    prepare_data_dir(ns.data_dir)
    env = server_env(ns.data_dir, ns)
    create_evaluator(env, "ev@example.com")
    port = free_port()
    log = ns.data_dir / "server.log"
    server = Child(
        "server",
        [sys.executable, "-m", "interviewer.cli", "serve", "--port", str(port), "--log-level", "warning"],
        env,
        ROOT,
        log,
    )
    try:
        server.wait_http(f"http://127.0.0.1:{port}/readyz", timeout=600)
        report = asyncio.run(drive(ns, f"http://127.0.0.1:{port}", server))
    finally:
        server.stop()
    print(report)
    if ns.out:
        with ns.out.open("a", encoding="utf-8") as f:
            f.write(report + "\n")


if __name__ == "__main__":
    main()
