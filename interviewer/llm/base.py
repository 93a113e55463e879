"""The one model boundary: everything the engine asks of a language model goes through
`ChatModel`. Prompting, parsing and scoring live above it; SDK and HTTP details below it.

Messages are langchain-core messages (what our `ChatPromptTemplate`s produce). A call names the
prompt version (the prompt file's content hash) so that every recorded call can be traced back
to the exact prompt text that produced it.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from pydantic import BaseModel, ValidationError

from interviewer.domain import CallRecord, Usage
from interviewer.llm.errors import LLMError, LLMOutputError

T = TypeVar("T", bound=BaseModel)


@dataclass(frozen=True)
class Completion:
    text: str
    parsed: BaseModel | None
    record: CallRecord


CallSink = Callable[[CallRecord], None]


def fan_out(*sinks: CallSink | None) -> CallSink | None:
    """One sink that hands each record to every given sink (None when there is none)."""
    present = [s for s in sinks if s is not None]
    if not present:
        return None
    if len(present) == 1:
        return present[0]

    def each(record: CallRecord) -> None:
        for sink in present:
            sink(record)

    return each


class ChatModel(Protocol):
    """An LLM that completes a chat, optionally into a pydantic schema, or streams text.
    `max_tokens`: the most output tokens this call may produce (the prompt's own limit); an
    implementation bounds every call, with its own cap when none is given. `on_call` receives
    this call's record (besides the model's own sink): how a caller learns which calls were made
    on its behalf — an interview turn keeps the calls of that turn."""

    @property
    def name(self) -> str: ...

    async def complete(
        self,
        messages: Sequence[BaseMessage],
        *,
        schema: type[BaseModel] | None = None,
        prompt: str = "",
        prompt_version: str = "",
        max_tokens: int | None = None,
        on_call: CallSink | None = None,
    ) -> Completion: ...

    def stream(
        self,
        messages: Sequence[BaseMessage],
        *,
        prompt: str = "",
        prompt_version: str = "",
        max_tokens: int | None = None,
        on_call: CallSink | None = None,
    ) -> AsyncIterator[str]: ...


@dataclass
class CallLog:
    """Collects call records; pass `log.append` as a model's `on_call`."""

    records: list[CallRecord] = field(default_factory=list)

    def append(self, record: CallRecord) -> None:
        self.records.append(record)


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)

REASONING_TAGS = ("think", "thinking", "reasoning")
"""Reasoning models served without a reasoning parser (vLLM, llama.cpp, Ollama, LM Studio) write
their chain of thought into the reply itself, inside one of these tags, before the answer."""
_OPEN = tuple(f"<{t}>" for t in REASONING_TAGS)
_CLOSE = re.compile("</(?:" + "|".join(REASONING_TAGS) + ")>", re.IGNORECASE)


def strip_reasoning(text: str) -> str:
    """The reply without a leading reasoning block: `<think>…</think>` (or thinking/reasoning),
    also when the server's chat template already opened the tag so that only the closing one is
    in the reply. An unterminated block is all reasoning: nothing is left."""
    opened = text.lstrip().lower().startswith(_OPEN)
    close = _CLOSE.search(text)
    if close is None:
        return "" if opened else text
    return text[close.end() :].lstrip()


class ReasoningFilter:
    """`strip_reasoning` for a stream: feed the pieces as they arrive, get back what may be shown.
    A reply that starts with a reasoning tag is held back until the tag closes; anything else
    passes through at once (only the opening few characters wait, to tell which it is)."""

    def __init__(self) -> None:
        self._buffer = ""
        self._state = "start"  # start | inside | pass

    def feed(self, piece: str) -> str:
        if self._state == "pass":
            return piece
        self._buffer += piece
        if self._state == "start":
            head = self._buffer.lstrip().lower()
            if not head:
                return ""
            if any(tag.startswith(head) for tag in _OPEN):  # maybe a tag, not sure yet
                return ""
            if not head.startswith(_OPEN):
                self._state = "pass"
                out, self._buffer = self._buffer, ""
                return out
            self._state = "inside"
        close = _CLOSE.search(self._buffer)
        if close is None:
            return ""
        self._state = "pass"
        out, self._buffer = self._buffer[close.end() :].lstrip(), ""
        return out

    def flush(self) -> str:
        """At the end of the stream: text still held back that is not reasoning."""
        out = self._buffer if self._state == "start" else ""
        self._buffer = ""
        return out


def parse_json_reply(text: str, schema: type[T]) -> T:
    """Tolerant parsing for servers without structured output: strips code fences and prose
    around the first JSON object, then validates. Raises ValueError with a message fit for a
    re-ask."""
    candidates = [text.strip()]
    candidates += [m.strip() for m in _FENCE.findall(text)]
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start : end + 1])
    last_error = "the reply contains no JSON object"
    for candidate in candidates:
        try:
            data: Any = json.loads(candidate)
        except json.JSONDecodeError as exc:
            last_error = f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            continue
        try:
            return schema.model_validate(data)
        except ValidationError as exc:
            details = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}"
                for e in exc.errors(include_url=False, include_input=False)
            )
            raise ValueError(f"the JSON does not match the schema: {details}") from exc
    raise ValueError(last_error)


REASK = (
    "Your reply could not be used: {reason}. Reply again with only the JSON object that matches "
    "the schema, nothing else."
)

Send = Callable[[Sequence[BaseMessage]], Awaitable[tuple[str, Usage]]]
"""One round trip to a model: the conversation in, (reply text, usage) out; raises LLMError."""


async def complete_via(
    send: Send,
    messages: Sequence[BaseMessage],
    *,
    schema: type[BaseModel] | None,
    model: str,
    prompt: str,
    prompt_version: str,
    on_call: CallSink | None,
) -> Completion:
    """The shared shape of `ChatModel.complete`: one call; with a schema, parse → on failure re-ask
    once with the validation error → then `LLMOutputError` carrying the last completion. Every
    call is recorded (model, prompt version, tokens, latency, attempts, outcome)."""
    started = time.perf_counter()
    conversation = list(messages)
    total = Usage()
    text = reason = ""
    attempts = 0

    def record(*, error: str | None = None) -> CallRecord:
        rec = CallRecord(
            model=model,
            prompt=prompt,
            prompt_version=prompt_version,
            usage=total,
            latency_ms=(time.perf_counter() - started) * 1000,
            attempts=max(attempts, 1),
            ok=error is None,
            error=error,
        )
        if on_call is not None:
            on_call(rec)
        return rec

    for attempt in (1, 2):
        attempts = attempt
        try:
            text, usage = await send(conversation)
        except LLMError as exc:
            record(error=type(exc).__name__)
            raise
        except asyncio.CancelledError:  # the turn's time budget ran out (engine/deadline.py)
            record(error="cancelled")
            raise
        total = Usage(
            total.prompt_tokens + usage.prompt_tokens, total.completion_tokens + usage.completion_tokens
        )
        if schema is None:
            return Completion(text, None, record())
        try:
            parsed = parse_json_reply(text, schema)
        except ValueError as exc:
            reason = str(exc)
            conversation += [AIMessage(text), HumanMessage(REASK.format(reason=reason))]
            continue
        return Completion(text, parsed, record())
    record(error="output")
    assert schema is not None
    raise output_error(schema, text, reason, attempts)


def output_error(schema: type[BaseModel], text: str, reason: str, attempts: int) -> LLMOutputError:
    return LLMOutputError(
        f"reply did not match {schema.__name__} after {attempts} attempt(s): {reason}",
        last_completion=text,
        attempts=attempts,
    )
