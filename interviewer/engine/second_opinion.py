"""The offline scorer's deferred second opinion, in a process of its own.

With a model configured, the model scores each answer on the turn's path; the offline scorer's
opinion (kept beside it for evaluators: the disagreement) is CPU-bound embedding work that the
candidate should not wait for, nor pay for in the worker's event loop. It runs after the reply in
one child process at the lowest CPU priority: it uses CPU the turns leave idle, and — unlike a
thread — it never holds the worker's GIL. The backlog is bounded; beyond it an opinion is skipped
(counted, logged) and the assessment simply has none.

The child is started (spawned, not forked: the worker has threads) on the first job, builds its
own embedder from the settings and keeps its question vectors between jobs. It dies with its
parent, however the parent ends (kill -9 runs no shutdown code): first thing at its start it asks
Linux for SIGKILL when its parent goes (`PR_SET_PDEATHSIG`; strictly, when the parent's thread
that spawned it ends — the event loop's thread, which lives as long as the worker), and a
watchdog thread waits on multiprocessing's parent sentinel (a pipe that closes when the parent
dies) and on the parent pid, for the platforms without it.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from interviewer.domain import Criterion, Question

log = logging.getLogger("interviewer.second_opinion")


@dataclass(frozen=True)
class SecondOpinionJob:
    """What the offline scorer needs to score one assessed answer (picklable)."""

    question: Question
    answer: str
    rubric: tuple[Criterion, ...]


class SecondOpinions:
    def __init__(self, settings: Any, *, max_waiting: int = 1000) -> None:
        self._settings = settings
        self._max_waiting = max_waiting
        self._waiting = 0
        self._lock = threading.Lock()
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self.skipped = 0

    def submit(self, job: SecondOpinionJob, on_score: Callable[[float], None]) -> bool:
        """Queue `job`; `on_score(score)` is called (in a pool thread) when it is done. False,
        and nothing queued, when the backlog is full."""
        with self._lock:
            if self._waiting >= self._max_waiting:
                self.skipped += 1
                return False
            self._waiting += 1
            if self._pool is None:
                self._pool = concurrent.futures.ProcessPoolExecutor(
                    max_workers=1,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_start_child,
                    initargs=(self._settings, os.getpid()),
                )
            pool = self._pool

        def done(future: concurrent.futures.Future[float]) -> None:
            with self._lock:
                self._waiting -= 1
            if future.cancelled():
                return
            error = future.exception()
            if error is not None:
                log.warning("a second opinion failed: %s", error)
                return
            try:
                on_score(future.result())
            except Exception:  # the turn is stored; a missing second opinion is shown as such
                log.exception("storing a second opinion failed")

        pool.submit(_score, job).add_done_callback(done)
        return True

    def close(self) -> None:
        """Stop the child; opinions not computed yet are dropped."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


# --- in the child process ----------------------------------------------------------------------

_scorer: Any = None


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent(parent_pid: int) -> None:
    """End this process when the parent `parent_pid` dies: the kernel's parent-death signal
    (Linux), and a watchdog thread for everywhere else. Call it first thing in a child."""
    if sys.platform == "linux":
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="parent-watch", daemon=True).start()


def _watch_parent(parent_pid: int, interval_s: float = 1.0) -> None:
    parent = multiprocessing.parent_process()  # spawned children hold a sentinel of the parent
    while True:
        if parent is not None:
            parent.join(interval_s)  # returns at once when the parent's end of the pipe closes
            gone = not parent.is_alive()
        else:
            threading.Event().wait(interval_s)
            gone = False
        if gone or os.getppid() != parent_pid:  # reparented: the parent is gone
            os._exit(1)


def _start_child(settings: Any, parent_pid: int) -> None:
    die_with_parent(parent_pid)
    global _scorer
    with contextlib.suppress(AttributeError, OSError):
        os.nice(19)  # background work: only the CPU the turns leave idle
    from interviewer.bank.embeddings import LocalMiniLM, make_embedder
    from interviewer.engine.offline_scorer import OfflineScorer

    embedder = make_embedder(settings)
    if isinstance(embedder, LocalMiniLM):
        embedder = LocalMiniLM(threads=1)  # one core at most, whatever the machine
    _scorer = OfflineScorer(embedder, cache_dir=Path(settings.data_dir) / "vectors")


def _score(job: SecondOpinionJob) -> float:
    assert _scorer is not None, "the child was not started with _start_child"
    return float(_scorer.assess(job.question, job.answer, list(job.rubric)).score)
