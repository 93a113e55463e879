"""Where the interview service's work runs, and how much of it is let in.

- **Database threads.** Reads run on a pool of their own, so that CPU-bound work queued elsewhere
  (embeddings, the guard) never delays a commit, nor the reverse. SQLite has one writer at a time
  and makes the others poll with growing sleeps: this process's writes queue on one thread
  instead (PostgreSQL locks rows: writes share the read pool).
- **Admission.** A new answer is refused (`Overloaded`, nothing taken) while more turns are in
  progress than `max_active`, while the event loop runs later than `max_loop_lag_s` (the process
  is out of CPU: refusing beats slowing every turn down), or while more writes wait than
  `max_write_queue` (the database's backlog).
- **Turn tasks.** Each answer is processed in a task of its own, registered by turn id, so that a
  client that disconnects does not cancel it and every request waiting for the same turn joins the
  one task.
- **Fan-out.** Text streamed while a turn is processed goes to every listener of that turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from interviewer.errors import Overloaded

T = TypeVar("T")
DeltaSink = Callable[[int, str], Awaitable[None]]
"""Receives streamed reply text as it is generated: (the message's id — its seq —, new text)."""


class Runner:
    def __init__(
        self,
        *,
        single_writer: bool,
        db_threads: int = 8,
        max_active: int = 0,
        max_loop_lag_s: float = 0.0,
        max_write_queue: int = 0,
    ) -> None:
        self._max_active = max_active
        self._max_lag = max_loop_lag_s
        self._max_writes = max_write_queue
        self._writes_waiting = 0
        self.loop_lag = 0.0
        """Smoothed lateness of this process's event loop (s), kept by `watch_loop`."""
        self._db_pool = ThreadPoolExecutor(max_workers=db_threads, thread_name_prefix="db")
        self._write_pool = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="db-write")
            if single_writer
            else self._db_pool
        )
        self._tasks: dict[int, asyncio.Task[None]] = {}
        """Turns being processed by this process, by turn id (shared by every request that waits)."""
        self._listeners: dict[int, list[DeltaSink]] = {}
        """Who receives the text of a turn in progress as it streams, by turn id."""

    # --- database threads -------------------------------------------------------------------
    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a database read off the event loop, on the database threads."""
        call = functools.partial(contextvars.copy_context().run, fn, *args)
        return await asyncio.get_running_loop().run_in_executor(self._db_pool, call)

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a database write off the event loop, one at a time on SQLite. How many are waiting
        is the database's backlog (`admit`)."""
        call = functools.partial(contextvars.copy_context().run, fn, *args)
        self._writes_waiting += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._write_pool, call)
        finally:
            self._writes_waiting -= 1

    def write_later(self, fn: Callable[..., Any], *args: Any) -> None:
        """Queue a write from any thread without waiting for it (a second opinion's score)."""
        self._write_pool.submit(contextvars.copy_context().run, fn, *args)

    def close(self) -> None:
        self._write_pool.shutdown(wait=True)
        self._db_pool.shutdown(wait=True)

    # --- admission ----------------------------------------------------------------------------
    def admit(self) -> None:
        """Raise `Overloaded` when this process should take no new answer now."""
        if (
            (self._max_active and len(self._tasks) >= self._max_active)
            or (self._max_lag and self.loop_lag > self._max_lag)
            or (self._max_writes and self._writes_waiting >= self._max_writes)
        ):
            raise Overloaded(
                "the interviewer is at capacity right now; your answer was not taken — "
                "send it again in a few seconds"
            )

    async def watch_loop(self, interval: float = 0.05) -> None:
        """Keep `loop_lag`: how late a timer fires (smoothed, so that a lone hiccup does not trip it)."""
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            await asyncio.sleep(interval)
            late = max(0.0, loop.time() - start - interval)
            self.loop_lag = 0.8 * self.loop_lag + 0.2 * late

    # --- turn tasks and fan-out ---------------------------------------------------------------
    def running(self, turn_id: int) -> bool:
        return turn_id in self._tasks

    def start(self, turn_id: int, work: Callable[[], Coroutine[Any, Any, None]]) -> asyncio.Task[None]:
        """The task processing this turn: the one already running here, or a new one running `work`."""
        task = self._tasks.get(turn_id)
        if task is None:
            task = asyncio.create_task(work())
            self._tasks[turn_id] = task
            task.add_done_callback(lambda t: (self._tasks.pop(turn_id, None), t.cancelled() or t.exception()))
        return task

    async def join(
        self, turn_id: int, work: Callable[[], Coroutine[Any, Any, None]], listener: DeltaSink | None = None
    ) -> None:
        """Wait for the turn's task (started if need be), receiving its streamed text meanwhile.
        The task is shielded: the caller going away does not cancel it."""
        if listener is None:
            await asyncio.shield(self.start(turn_id, work))
            return
        sinks = self._listeners.setdefault(turn_id, [])
        sinks.append(listener)
        try:
            await asyncio.shield(self.start(turn_id, work))
        finally:
            sinks.remove(listener)
            if not sinks:
                self._listeners.pop(turn_id, None)

    async def publish(self, turn_id: int, message_id: int, text: str) -> None:
        """Hand streamed text to the turn's listeners (a listener's failure is not the turn's)."""
        for sink in list(self._listeners.get(turn_id, ())):
            with contextlib.suppress(Exception):
                await sink(message_id, text)
