"""Benchmark of the code sandbox (issue 11): start-up overhead per run and runs per second.

    .venv/bin/python benchmarks/bench_sandbox.py [--runs 40] [--burst 40] [--workers 2]

- overhead: an empty run (no code, no tests) end to end — bwrap's namespaces and mounts, the
  interpreter's start, the harness, the host's reading and reaping — median and p95, beside the
  bare interpreter (`python -I -S -c pass`) outside any sandbox;
- one exercise's visible examples (merge-intervals), the "Run examples" button's cost;
- throughput: a burst of runs of the examples through a `RunQueue` with `--workers` workers.

Prints a Markdown table. Needs bubblewrap (`apt-get install bubblewrap`).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from interviewer.bank.exercises import load_exercises  # noqa: E402
from interviewer.sandbox import BubblewrapSandbox, Limits, RunQueue, Suite  # noqa: E402
from interviewer.sandbox.layout import default_python  # noqa: E402
from interviewer.services.exercises import limits_for, suite_for  # noqa: E402


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _row(name: str, values: list[float]) -> tuple[str, str]:
    return (
        name,
        f"median {statistics.median(values):.0f} ms, p95 {_pct(values, 0.95):.0f} ms (n={len(values)})",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40, help="sequential runs per latency figure")
    parser.add_argument("--burst", type=int, default=40, help="runs submitted at once for throughput")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    sandbox = BubblewrapSandbox()
    reason = sandbox.unavailable()
    if reason is not None:
        sys.exit(f"the sandbox cannot run here: {reason}")
    python = default_python()
    rows: list[tuple[str, str]] = []

    bare = []
    for _ in range(args.runs):
        started = time.perf_counter()
        subprocess.run([python, "-I", "-S", "-c", "pass"], check=True, env={})  # noqa: S603
        bare.append((time.perf_counter() - started) * 1000)
    rows.append(_row(f"bare interpreter start ({python} -I -S -c pass)", bare))

    empty = [sandbox.run("", Suite(files=()), Limits()).duration_ms for _ in range(args.runs)]
    rows.append(_row("sandbox: an empty run (start-up overhead)", empty))

    exercise = load_exercises(ROOT / "knowledge")["merge-intervals"]
    suite = suite_for(exercise, hidden=False)
    limits = limits_for(suite, Limits())
    runs = [sandbox.run(exercise.solution, suite, limits) for _ in range(args.runs)]
    assert all(r.passed == len(r.tests) for r in runs)
    rows.append(_row("sandbox: merge-intervals, visible examples", [r.duration_ms for r in runs]))

    queue = RunQueue(sandbox, workers=args.workers, max_queued=args.burst)
    started = time.perf_counter()
    futures = [queue.submit(exercise.solution, suite, limits) for _ in range(args.burst)]
    results = [f.result() for f in futures]
    elapsed = time.perf_counter() - started
    queue.close()
    assert all(r.passed == len(r.tests) for r in results)
    rows.append(
        (
            f"throughput: {args.burst} runs of the examples, {args.workers} workers",
            f"{args.burst / elapsed:.1f} runs/s ({elapsed:.1f} s)",
        )
    )

    load = os.getloadavg()
    print(
        f"Machine: {os.cpu_count()} cores, {platform.machine()}, host Python {platform.python_version()}, "
        f"sandbox Python {python}; load average at the end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}\n"
    )
    print("| measure | result |\n| --- | --- |")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
