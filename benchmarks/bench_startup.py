"""Start-up benchmark: how long `make run` takes to be ready, cold (a fresh data folder) and warm
(a restart on the same folder).

    .venv/bin/python benchmarks/bench_startup.py [--warm 3] [--model] [--legacy]

Each start runs what `make run` runs — `interviewer serve --prepare` (validate the bank, ingest
what changed, serve) — in a fresh process and times, from the process start, the URL line
(listening) and the `ready: URL` line (`/readyz` says ok: database, index, warm-up done), then
stops the server. `--model` configures a chat model (an unreachable loopback endpoint: the
warm-up calls no model, but the engine's model path is then the one warmed up). `--legacy` times
the three separate commands `make run` used before (`bank validate`, `ingest`, `serve`) instead,
to compare. Prints a Markdown table; the machine's load average is printed beside it (the
figures are only comparable on a quiet machine).
"""

from __future__ import annotations

import argparse
import os
import queue
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT_S = 1800.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(data: Path, *, model: bool) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "INTERVIEWER_MODEL", "DATABASE_URL")
    }
    env.update(
        INTERVIEWER_DATA_DIR=str(data),
        INTERVIEWER_KNOWLEDGE_DIR=str(ROOT / "knowledge"),
        INTERVIEWER_PROMPTS_DIR=str(ROOT / "prompts"),
        PYTHONPATH=str(ROOT),
    )
    if model:
        env.update(
            OPENAI_BASE_URL=f"http://127.0.0.1:{_free_port()}/v1",  # nothing listens: no call is made
            OPENAI_API_KEY="unused",
            INTERVIEWER_MODEL="bench-model",
        )
    return env


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "interviewer.cli", *args]


def _serve(data: Path, *, model: bool, prepare: bool, started: float) -> tuple[float, float]:
    """Run the server until its ready line; (seconds to the URL line, seconds to ready)."""
    port = _free_port()
    args = ["serve", "--port", str(port), "--log-format", "text", "--log-level", "warning"]
    proc = subprocess.Popen(
        _cli(*args, *(["--prepare"] if prepare else [])),
        env=_env(data, model=model),
        cwd=str(data.parent),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    listening = ready = 0.0
    try:
        while not ready:
            line = lines.get(timeout=READY_TIMEOUT_S)
            if line is None:
                raise RuntimeError("the server stopped before it was ready")
            if line.startswith("interviewer on "):
                listening = time.perf_counter() - started
            elif line.startswith("ready: "):
                ready = time.perf_counter() - started
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=10) as r:  # noqa: S310
            assert r.status == 200, "ready line printed before /readyz said ok"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        reader.join(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()
    return listening, ready


def start(data: Path, *, model: bool, legacy: bool) -> tuple[float, float]:
    started = time.perf_counter()
    if legacy:
        env = _env(data, model=model)
        for command in (("bank", "validate"), ("ingest",)):
            subprocess.run(_cli(*command), env=env, cwd=str(data.parent), check=True, capture_output=True)
        return _serve(data, model=model, prepare=False, started=started)
    return _serve(data, model=model, prepare=True, started=started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--warm", type=int, default=3, help="warm restarts to time (median shown)")
    parser.add_argument("--model", action="store_true", help="with a chat model configured")
    parser.add_argument("--legacy", action="store_true", help="the old three commands of make run")
    parser.add_argument("--data", type=Path, help="data folder to start from (default: a fresh one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        data = args.data or Path(tmp) / "data"
        load = os.getloadavg()[0]
        cold = start(data, model=args.model, legacy=args.legacy)
        warm = [start(data, model=args.model, legacy=args.legacy) for _ in range(args.warm)]
    flow = "bank validate; ingest; serve" if args.legacy else "serve --prepare"
    mode = "model" if args.model else "offline engine"
    print(f"`{flow}`, {mode}, {os.cpu_count()} cores, load average {load:.1f} at the start\n")
    print("| start | URL printed | ready |")
    print("| --- | --- | --- |")
    print(
        f"| {'given data folder' if args.data else 'cold (fresh data folder)'} | {cold[0]:.1f} s | {cold[1]:.1f} s |"
    )
    if warm:
        print(
            f"| warm restart (median of {len(warm)}) | {statistics.median(w[0] for w in warm):.1f} s "
            f"| {statistics.median(w[1] for w in warm):.1f} s |"
        )
        print(f"\nwarm ready times: {', '.join(f'{w[1]:.1f} s' for w in warm)}")


if __name__ == "__main__":
    main()
