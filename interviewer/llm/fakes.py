"""Test doubles shipped as product code: the same doors production uses, no network.

- `ScriptedModel` replays queued replies in order and fails loudly on a call it was not
  scripted for (an empty queue is a bug in the test, never a silent "").
- `FunctionModel` routes on content: a function of the messages returns the reply.
- `EchoModel` replies with what it was sent, to show what the model saw.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field

from langchain_core.messages import BaseMessage
from pydantic import BaseModel

from interviewer.domain import CallRecord, Usage
from interviewer.llm.base import (
    CallSink,
    Completion,
    complete_via,
    fan_out,
)
from interviewer.llm.errors import LLMError


class UnexpectedCall(AssertionError):
    """A fake model was called more often than scripted."""


Reply = str | LLMError


@dataclass
class _Fake:
    on_call: CallSink | None = None
    calls: list[list[BaseMessage]] = field(default_factory=list)
    name: str = "fake"
    limits: list[int | None] = field(default_factory=list)
    """The `max_tokens` each call asked for, in order."""

    def _reply(self, messages: Sequence[BaseMessage]) -> Reply:
        raise NotImplementedError

    def _finish(
        self,
        text: str,
        prompt: str,
        version: str,
        started: float,
        *,
        attempts: int = 1,
        error: str | None = None,
        on_call: CallSink | None = None,
    ) -> CallRecord:
        record = CallRecord(
            model=self.name,
            prompt=prompt,
            prompt_version=version,
            usage=Usage(sum(len(m.text) // 4 for m in self.calls[-1]), len(text) // 4),
            latency_ms=(time.perf_counter() - started) * 1000,
            attempts=attempts,
            ok=error is None,
            error=error,
        )
        for sink in (self.on_call, on_call):
            if sink is not None:
                sink(record)
        return record

    async def complete(
        self,
        messages: Sequence[BaseMessage],
        *,
        schema: type[BaseModel] | None = None,
        prompt: str = "",
        prompt_version: str = "",
        max_tokens: int | None = None,
        on_call: CallSink | None = None,
    ) -> Completion:
        self.limits.append(max_tokens)

        async def send(conversation: Sequence[BaseMessage]) -> tuple[str, Usage]:
            self.calls.append(list(conversation))
            reply = self._reply(conversation)
            if isinstance(reply, LLMError):
                raise reply
            return reply, Usage(sum(len(m.text) // 4 for m in conversation), len(reply) // 4)

        return await complete_via(
            send,
            messages,
            schema=schema,
            model=self.name,
            prompt=prompt,
            prompt_version=prompt_version,
            on_call=fan_out(self.on_call, on_call),
        )

    async def stream(
        self,
        messages: Sequence[BaseMessage],
        *,
        prompt: str = "",
        prompt_version: str = "",
        max_tokens: int | None = None,
        on_call: CallSink | None = None,
    ) -> AsyncIterator[str]:
        started = time.perf_counter()
        self.limits.append(max_tokens)
        self.calls.append(list(messages))
        reply = self._reply(messages)
        if isinstance(reply, LLMError):
            self._finish("", prompt, prompt_version, started, error=type(reply).__name__, on_call=on_call)
            raise reply
        for i in range(0, len(reply), 16):
            yield reply[i : i + 16]
        self._finish(reply, prompt, prompt_version, started, on_call=on_call)


class ScriptedModel(_Fake):
    """Replays `replies` in order; an exception instance in the list is raised instead."""

    def __init__(
        self, replies: Sequence[Reply], *, on_call: CallSink | None = None, name: str = "scripted"
    ) -> None:
        super().__init__(on_call=on_call, name=name)
        self._queue = list(replies)

    @property
    def remaining(self) -> int:
        return len(self._queue)

    def push(self, *replies: Reply) -> None:
        self._queue.extend(replies)

    def _reply(self, messages: Sequence[BaseMessage]) -> Reply:
        if not self._queue:
            last = messages[-1].text[:200] if messages else ""
            raise UnexpectedCall(
                f"ScriptedModel got an unscripted call #{len(self.calls)}; last message began: {last!r}"
            )
        return self._queue.pop(0)


class FunctionModel(_Fake):
    """Replies with `fn(messages)`."""

    def __init__(
        self,
        fn: Callable[[Sequence[BaseMessage]], Reply],
        *,
        on_call: CallSink | None = None,
        name: str = "function",
    ) -> None:
        super().__init__(on_call=on_call, name=name)
        self._fn = fn

    def _reply(self, messages: Sequence[BaseMessage]) -> Reply:
        return self._fn(messages)


class EchoModel(_Fake):
    """Replies with the conversation it was sent, one `role: content` line per message."""

    def __init__(self, *, on_call: CallSink | None = None) -> None:
        super().__init__(on_call=on_call, name="echo")

    def _reply(self, messages: Sequence[BaseMessage]) -> Reply:
        return "\n".join(f"{m.type}: {m.text}" for m in messages)
