"""A bounded queue of sandbox runs with workers of its own.

Runs are slow (tens of milliseconds to seconds) and CPU-bound; a burst of submissions must not
take the threads or the cores the chat needs. So runs never execute on the caller's thread pool:
`workers` threads of this queue run them, at most `max_queued` more wait, and a submission past
that is refused at once with `errors.Overloaded` (nothing was taken; the client retries).
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from interviewer.errors import Overloaded
from interviewer.sandbox.model import Limits, RunResult, Sandbox, Suite


class RunQueue:
    def __init__(self, sandbox: Sandbox, *, workers: int = 2, max_queued: int = 20) -> None:
        if workers < 1 or max_queued < 0:
            raise ValueError("RunQueue needs at least one worker and a non-negative queue bound")
        self.sandbox = sandbox
        self.workers = workers
        self.max_queued = max_queued
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._pending = 0

    @property
    def pending(self) -> int:
        """Runs taken and not finished (running or waiting)."""
        return self._pending

    def submit(self, code: str, tests: Suite, limits: Limits) -> Future[RunResult]:
        """Queue a run; its future completes with the `RunResult` (or the engine's error).
        Raises `Overloaded` when `workers + max_queued` runs are already pending."""
        with self._lock:
            if self._pending >= self.workers + self.max_queued:
                raise Overloaded(
                    f"the code runner is busy ({self._pending} runs pending); try again in a few seconds"
                )
            if self._pool is None:  # started on first use: no threads at construction
                self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="sandbox")
            self._pending += 1
            future = self._pool.submit(self.sandbox.run, code, tests, limits)
        future.add_done_callback(self._finished)
        return future

    def run(self, code: str, tests: Suite, limits: Limits) -> RunResult:
        """Queue a run and wait for it (for callers on their own thread: the CLI, a worker)."""
        return self.submit(code, tests, limits).result()

    async def run_async(self, code: str, tests: Suite, limits: Limits) -> RunResult:
        """Queue a run and await it without blocking the event loop."""
        return await asyncio.wrap_future(self.submit(code, tests, limits))

    def _finished(self, _: Future[RunResult]) -> None:
        with self._lock:
            self._pending -= 1

    def close(self) -> None:
        """Wait for the pending runs and stop the workers."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
