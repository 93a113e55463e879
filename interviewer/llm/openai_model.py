"""`ChatModel` on the openai SDK's AsyncOpenAI: OpenAI, Azure OpenAI, vLLM, Ollama, llama.cpp
server, LM Studio — anything that speaks `/v1/chat/completions`.

Structured output degrades gracefully across servers: JSON schema (`response_format` of type
`json_schema`) first; if the server rejects that, JSON mode (`json_object`); if it rejects that
too, plain text with tolerant parsing. The mode that worked is remembered per instance. A server
can say "no" to a format with any status — llama-cpp-python's server answers `json_schema` with a
500 — so any error whose body names the response format downgrades the mode, and such a response
is marked final for the SDK (`x-should-retry: false`, which it obeys) so that its retries are not
spent on it. A reply that does not validate is re-asked once with the validation error; a second
failure raises `LLMOutputError` carrying the last completion. Transport retries (429, 5xx,
connection errors, with exponential backoff) are the SDK's own, bounded by `max_retries`.

Every call bounds its output: `max_tokens` is the prompt's own limit (its YAML's `max_tokens`)
within the client's cap (`INTERVIEWER_LLM_MAX_TOKENS`), so a model that does not stop cannot
generate until its context is full. A server that wants `max_completion_tokens` instead (OpenAI's
reasoning models) gets that name from then on.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any, Literal, cast

import httpx
import openai
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from openai.types.chat import ChatCompletion
from pydantic import BaseModel

from interviewer.config import Settings
from interviewer.domain import CallRecord, Usage
from interviewer.llm.base import (
    CallSink,
    Completion,
    ReasoningFilter,
    complete_via,
    fan_out,
    strip_reasoning,
)
from interviewer.llm.errors import (
    LLMBadResponse,
    LLMConnectionError,
    LLMError,
    LLMRateLimited,
    LLMRequestRejected,
    LLMServerError,
    LLMTimeout,
)

Mode = Literal["json_schema", "json_object", "text"]
_MODES: tuple[Mode, ...] = ("json_schema", "json_object", "text")


def to_openai_messages(messages: Sequence[BaseMessage]) -> list[dict[str, str]]:
    out = []
    for m in messages:
        match m:
            case SystemMessage():
                role = "system"
            case HumanMessage():
                role = "user"
            case AIMessage():
                role = "assistant"
            case _:
                raise TypeError(f"unsupported message type {type(m).__name__}")
        out.append({"role": role, "content": m.text})
    return out


def map_error(exc: openai.OpenAIError) -> LLMError:
    """Translate an SDK error into our error tree."""
    match exc:
        case openai.APITimeoutError():
            return LLMTimeout(f"model call timed out: {exc}")
        case openai.APIConnectionError():
            return LLMConnectionError(f"cannot reach the model endpoint: {exc}")
        case openai.RateLimitError():
            return LLMRateLimited(f"rate limited by the model endpoint: {exc}")
        case openai.APIStatusError() if exc.status_code >= 500:
            return LLMServerError(f"model endpoint error {exc.status_code}", status=exc.status_code)
        case openai.APIStatusError():
            return LLMRequestRejected(
                f"model endpoint rejected the request ({exc.status_code}): {exc.message}",
                status=exc.status_code,
            )
        case _:
            return LLMError(str(exc))


_FORMAT_WORDS = ("response_format", "response format", "json_schema", "json_object")


def _names_format(text: str) -> bool:
    text = text.lower()
    return any(word in text for word in _FORMAT_WORDS)


def _unsupported_format(exc: openai.APIStatusError) -> bool:
    """The server refuses the structured-output mode: an error of any status whose body names
    the response format, or a client error about JSON."""
    text = f"{exc.message} {exc.body!r}"
    if _names_format(text):
        return True
    return exc.status_code in (400, 404, 415, 422, 501) and "json" in text.lower()


def _wants_max_completion_tokens(exc: openai.APIStatusError) -> bool:
    text = f"{exc.message} {exc.body!r}"
    return exc.status_code in (400, 422) and "max_tokens" in text and "max_completion_tokens" in text


async def _final_if_format_refused(response: httpx.Response) -> None:
    """httpx response hook: an error answering a structured-output request, whose body names
    the response format, is the server's "no" to that mode, not a passing fault — the SDK is told
    not to retry it, and the mode is downgraded at once."""
    if response.is_success:
        return
    try:
        sent = response.request.content
    except httpx.RequestNotRead:
        return
    if b"response_format" not in sent:
        return
    await response.aread()
    if _names_format(response.text):
        response.headers["x-should-retry"] = "false"


class OpenAIChatModel:
    def __init__(
        self,
        *,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout_s: float = 60.0,
        max_retries: int = 2,
        http_client: httpx.AsyncClient | None = None,
        on_call: CallSink | None = None,
        temperature: float | None = 0.2,
        max_tokens: int = 2048,
    ) -> None:
        self._model = model
        if http_client is None:
            http_client = openai.DefaultAsyncHttpxClient()  # the SDK's defaults, and our hook
        hooks = http_client.event_hooks  # a client passed in gets the hook too
        if _final_if_format_refused not in hooks.get("response", []):
            http_client.event_hooks = {
                **hooks,
                "response": [*hooks.get("response", []), _final_if_format_refused],
            }
        self._client = openai.AsyncOpenAI(
            base_url=base_url,
            api_key=api_key or "not-needed",
            timeout=timeout_s,
            max_retries=max_retries,
            http_client=http_client,
        )
        self._max_tokens = max_tokens
        """The cap on any call's output tokens; a prompt may ask for less, never for more."""
        self._tokens_param = "max_tokens"
        """`max_completion_tokens` once a server refuses `max_tokens` (OpenAI's reasoning models)."""
        self._on_call = on_call
        self._temperature = temperature
        self._mode: Mode = "json_schema"
        self._stream_usage = True
        """Ask for usage in the stream (`stream_options`); off once a server refuses the option."""

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> OpenAIChatModel:
        if settings.model is None:
            raise ValueError("INTERVIEWER_MODEL is not set")
        key = settings.openai_api_key
        return cls(
            model=settings.model,
            base_url=settings.openai_base_url,
            api_key=key.get_secret_value() if key else None,
            timeout_s=settings.llm_timeout_s,
            max_retries=settings.llm_max_retries,
            max_tokens=settings.llm_max_tokens,
            **kwargs,
        )

    @property
    def name(self) -> str:
        return self._model

    def _record(
        self,
        prompt: str,
        version: str,
        usage: Usage,
        started: float,
        *,
        attempts: int = 1,
        error: str | None = None,
        on_call: CallSink | None = None,
    ) -> CallRecord:
        record = CallRecord(
            model=self._model,
            prompt=prompt,
            prompt_version=version,
            usage=usage,
            latency_ms=(time.perf_counter() - started) * 1000,
            attempts=attempts,
            ok=error is None,
            error=error,
        )
        for sink in (self._on_call, on_call):
            if sink is not None:
                sink(record)
        return record

    def warm(self) -> None:
        """Import what the SDK would import on the first request — its resource and type
        modules, about a second of CPU that would otherwise block the first turns' event loop."""
        _ = self._client.chat.completions

    def _limit(self, max_tokens: int | None) -> dict[str, int]:
        """The output bound of one call, under the name this server takes."""
        limit = self._max_tokens if max_tokens is None else min(max_tokens, self._max_tokens)
        return {self._tokens_param: limit}

    def _switch_tokens_param(self, exc: openai.APIStatusError) -> bool:
        if self._tokens_param == "max_tokens" and _wants_max_completion_tokens(exc):
            self._tokens_param = "max_completion_tokens"
            return True
        return False

    async def _create(
        self, messages: list[dict[str, str]], schema: type[BaseModel] | None, max_tokens: int | None
    ) -> tuple[str, Usage]:
        while True:
            kwargs: dict[str, Any] = self._limit(max_tokens)
            if schema is not None and self._mode == "json_schema":
                kwargs["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {
                        "name": schema.__name__,
                        "schema": _json_schema(schema),
                        "strict": False,
                    },
                }
            elif schema is not None and self._mode == "json_object":
                kwargs["response_format"] = {"type": "json_object"}
            if self._temperature is not None:
                kwargs["temperature"] = self._temperature
            send = messages
            if schema is not None and self._mode != "json_schema":
                send = _with_schema_instruction(messages, schema)
            try:
                response = await self._client.chat.completions.create(
                    model=self._model,
                    messages=cast(Any, send),
                    **kwargs,
                )
            except openai.APIStatusError as exc:
                if schema is not None and self._mode != "text" and _unsupported_format(exc):
                    self._mode = _MODES[_MODES.index(self._mode) + 1]
                    continue
                if self._switch_tokens_param(exc):
                    continue
                raise map_error(exc) from exc
            except openai.OpenAIError as exc:
                raise map_error(exc) from exc
            text, usage = _reply_of(response)
            return strip_reasoning(text), usage

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
        async def send(conversation: Sequence[BaseMessage]) -> tuple[str, Usage]:
            return await self._create(to_openai_messages(conversation), schema, max_tokens)

        return await complete_via(
            send,
            messages,
            schema=schema,
            model=self._model,
            prompt=prompt,
            prompt_version=prompt_version,
            on_call=fan_out(self._on_call, on_call),
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
        usage = Usage()
        visible = ReasoningFilter()
        chunks = 0
        try:
            stream = await self._open_stream(messages, max_tokens)
            async with stream:  # the response is closed also when the caller gives up
                async for chunk in stream:
                    chunks += 1
                    usage = _usage_of(chunk) or usage
                    for piece in _pieces_of(chunk):
                        if text := visible.feed(piece):
                            yield text
            if chunks == 0:
                raise LLMBadResponse("the model endpoint's stream held no completion chunk")
            if rest := visible.flush():
                yield rest
        except (openai.OpenAIError, ValueError) as exc:
            # ValueError: an event whose data is not JSON (the SDK's decoder raises it)
            error = (
                map_error(exc)
                if isinstance(exc, openai.OpenAIError)
                else LLMBadResponse(f"the model endpoint's stream is not a completion stream: {exc}")
            )
            self._record(prompt, prompt_version, usage, started, error=type(error).__name__, on_call=on_call)
            raise error from exc
        except LLMBadResponse as exc:
            self._record(prompt, prompt_version, usage, started, error=type(exc).__name__, on_call=on_call)
            raise
        except asyncio.CancelledError:  # the turn's time budget ran out (engine/deadline.py)
            self._record(prompt, prompt_version, usage, started, error="cancelled", on_call=on_call)
            raise
        self._record(prompt, prompt_version, usage, started, on_call=on_call)

    async def _open_stream(self, messages: Sequence[BaseMessage], max_tokens: int | None) -> Any:
        """The streamed request; without `stream_options` for a server that refuses it (some
        OpenAI-compatible servers reject unknown options with 400/422)."""
        while True:
            try:
                return await self._client.chat.completions.create(
                    model=self._model,
                    messages=cast(Any, to_openai_messages(messages)),
                    stream=True,
                    stream_options={"include_usage": True} if self._stream_usage else openai.omit,
                    temperature=openai.omit if self._temperature is None else self._temperature,
                    **cast(Any, self._limit(max_tokens)),
                )
            except openai.APIStatusError as exc:
                if (
                    self._stream_usage
                    and exc.status_code in (400, 422)
                    and "stream_options" in (f"{exc.message} {exc.body!r}")
                ):
                    self._stream_usage = False
                    continue
                if self._switch_tokens_param(exc):
                    continue
                raise


def _reply_of(response: object) -> tuple[str, Usage]:
    """The text and usage of a non-streamed reply. The SDK hands back whatever a 2xx carried —
    the body's text when it is not JSON (a proxy's HTML error page), an unvalidated model when
    it is JSON of another shape — so the shape is checked here: anything else is a model error."""
    choices = getattr(response, "choices", None) if isinstance(response, ChatCompletion) else None
    if not isinstance(choices, list):
        what = "a body that is not JSON" if isinstance(response, str) else "JSON of another shape"
        raise LLMBadResponse(f"the model endpoint answered with {what}, not a chat completion")
    if not choices:
        return "", _usage_of(response) or Usage()
    content = getattr(getattr(choices[0], "message", None), "content", None)
    if content is not None and not isinstance(content, str):
        raise LLMBadResponse("the model endpoint's completion has no text content")
    return content or "", _usage_of(response) or Usage()


def _usage_of(reply: object) -> Usage | None:
    usage = getattr(reply, "usage", None)
    prompt_tokens = getattr(usage, "prompt_tokens", None)
    completion_tokens = getattr(usage, "completion_tokens", None)
    if isinstance(prompt_tokens, int) and isinstance(completion_tokens, int):
        return Usage(prompt_tokens, completion_tokens)
    return None


def _pieces_of(chunk: object) -> list[str]:
    """The text pieces of one streamed chunk (a chunk of another shape has none)."""
    choices = getattr(chunk, "choices", None)
    pieces: list[str] = []
    for choice in choices if isinstance(choices, list) else ():
        content = getattr(getattr(choice, "delta", None), "content", None)
        if isinstance(content, str) and content:
            pieces.append(content)
    return pieces


@functools.lru_cache(maxsize=64)
def _json_schema(schema: type[BaseModel]) -> dict[str, Any]:
    """A schema class's JSON schema, built once (pydantic builds it anew on every call)."""
    return schema.model_json_schema()


def _with_schema_instruction(chat: list[dict[str, str]], schema: type[BaseModel]) -> list[dict[str, str]]:
    note = "Reply with a single JSON object, no prose, matching this JSON schema:\n" + json.dumps(
        _json_schema(schema)
    )
    return [*chat, {"role": "system", "content": note}]
