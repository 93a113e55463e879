"""`/readyz`: may this worker take turns? Each check says "ok" or, in a few words, what is wrong
and what to do — a load balancer needs the status, an operator the reason.

- database: readable (the schema, which a corrupt file fails), writable, with room on its disk, and
  no storage fault met since the last committed write (`Database.problem`);
- index: the embedded Chroma folder still on disk (a deleted folder goes unnoticed by the open
  client until it restarts: it keeps the unlinked file) and holding the bank;
- warm_up: the start-up preparation is done (a cold worker would be slow on its first turns).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from interviewer.bank import VectorIndex
from interviewer.store.db import Database

CHROMA_FILE = "chroma.sqlite3"
"""The file an embedded Chroma index keeps in its folder."""
INGEST = "run `interviewer ingest`"


def index_problem(index: VectorIndex) -> str | None:
    folder = index.folder
    if folder is not None and not (folder / CHROMA_FILE).is_file():
        return f"index missing, {INGEST} (then restart the server): {folder} is gone"
    if index.count("questions") == 0:
        return f"index empty, {INGEST}"
    return None


async def checks(db: Database, index: VectorIndex, warm: asyncio.Task[Any] | None) -> dict[str, str]:
    """Every check's outcome: "ok" or the reason (blocking work runs off the event loop)."""
    out: dict[str, str] = {}
    named: tuple[tuple[str, Callable[[], str | None]], ...] = (
        ("database", db.problem),
        ("index", lambda: index_problem(index)),
    )
    for name, check in named:
        try:
            problem = await asyncio.to_thread(check)
        except Exception as exc:  # noqa: BLE001  # readiness reports any failure
            problem = f"error: {type(exc).__name__}"
        out[name] = problem or "ok"
    out["warm_up"] = "ok" if warm is not None and warm.done() else "running"
    return out
