"""The offline scorer's deferred second opinion, in a process of its own.

With a model configured, the model scores each answer on the turn's path; the offline scorer's
opinion (kept beside it for evaluators: the disagreement) is CPU-bound embedding work that the
candidate should not wait for, nor pay for in the worker's event loop. It runs after the reply in
one child process at the lowest CPU priority: it uses CPU the turns leave idle, and — unlike a
thread — it never holds the worker's GIL. The backlog is bounded; beyond it an opinion is skipped
(counted, logged) and the assessment simply has none.

The child is started (spawned, not forked: the worker has threads) on the first job, builds its
own embedder from the settings and keeps its question vectors between jobs.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import multiprocessing
import os
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
                    initargs=(self._settings,),
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


def _start_child(settings: Any) -> None:
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
