"""A candidate turn's time budget (`INTERVIEWER_TURN_BUDGET_S`).

A turn makes at most two model calls (score, then phrase what comes next), and each may pay the
SDK's timeout and retries: a slow endpoint once cost 84 s a turn. So the turn gets one deadline,
set when its processing starts; every model call runs within what is left of it, and one that
would outlast it is cancelled and reported as `LLMTimeout` — the error the engine already answers
with the offline scorer and the bank's own text. Once the budget is spent, no model call starts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from interviewer.llm.errors import LLMTimeout

T = TypeVar("T")


class Deadline:
    """The end of a turn's budget on the running loop's clock; `None` seconds: no budget."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self._at = None if seconds is None else asyncio.get_running_loop().time() + seconds

    def remaining(self) -> float | None:
        if self._at is None:
            return None
        return max(0.0, self._at - asyncio.get_running_loop().time())

    @property
    def spent(self) -> bool:
        return self.remaining() == 0.0

    async def run(self, call: Coroutine[Any, Any, T]) -> T:
        """Await `call` within the time left; `LLMTimeout` if it is (or would be) over."""
        left = self.remaining()
        if left is None:
            return await call
        if left <= 0:
            call.close()
            raise LLMTimeout(f"the turn's time budget ({self.seconds:g} s) is spent")
        try:
            async with asyncio.timeout(left):
                return await call
        except TimeoutError as exc:
            raise LLMTimeout(f"the model call outlasted the turn's time budget ({self.seconds:g} s)") from exc
