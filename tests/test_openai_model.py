"""The OpenAI-compatible client at its HTTP boundary (respx): request shape, structured output and
its fallbacks, streaming, re-ask, retries, and error mapping."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import respx
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel

from interviewer.llm.base import CallLog, strip_reasoning
from interviewer.llm.errors import (
    LLMBadResponse,
    LLMConnectionError,
    LLMOutputError,
    LLMRateLimited,
    LLMRequestRejected,
    LLMServerError,
    LLMTimeout,
)
from interviewer.llm.openai_model import OpenAIChatModel

BASE = "http://llm.test/v1"
URL = f"{BASE}/chat/completions"
MESSAGES = [SystemMessage("You are an assessor."), HumanMessage("Score this.")]


class Verdict(BaseModel):
    score: int
    reason: str


def completion(content: str, *, prompt_tokens: int = 11, completion_tokens: int = 7) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "test-model",
        "choices": [
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def model(log: CallLog | None = None, *, retries: int = 0, timeout: float = 5.0) -> OpenAIChatModel:
    return OpenAIChatModel(
        model="test-model",
        base_url=BASE,
        api_key="sk-test",
        max_retries=retries,
        timeout_s=timeout,
        on_call=log.append if log else None,
    )


def body(call: Any) -> dict[str, Any]:
    return json.loads(call.request.content)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_structured_request_shape_and_usage(respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post(URL).respond(json=completion('{"score": 4, "reason": "solid"}'))
    log = CallLog()
    result = run(model(log).complete(MESSAGES, schema=Verdict, prompt="score", prompt_version="abc123"))
    assert result.parsed == Verdict(score=4, reason="solid")
    sent = body(route.calls.last)
    assert sent["model"] == "test-model"
    assert [m["role"] for m in sent["messages"]] == ["system", "user"]
    assert sent["messages"][1]["content"] == "Score this."
    fmt = sent["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["name"] == "Verdict"
    assert set(fmt["json_schema"]["schema"]["properties"]) == {"score", "reason"}
    assert route.calls.last.request.headers["authorization"] == "Bearer sk-test"
    (record,) = log.records
    assert (record.prompt, record.prompt_version, record.ok) == ("score", "abc123", True)
    assert (record.usage.prompt_tokens, record.usage.completion_tokens) == (11, 7)
    assert record.latency_ms > 0


def test_plain_completion_has_no_response_format(respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post(URL).respond(json=completion("Tell me about generators?"))
    result = run(model().complete(MESSAGES))
    assert result.text == "Tell me about generators?" and result.parsed is None
    assert "response_format" not in body(route.calls.last)


def test_malformed_reply_is_reasked_then_accepted(respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post(URL).mock(
        side_effect=[
            httpx.Response(200, json=completion("Sure! The score is four.")),
            httpx.Response(200, json=completion('```json\n{"score": 4, "reason": "ok"}\n```')),
        ]
    )
    log = CallLog()
    result = run(model(log).complete(MESSAGES, schema=Verdict))
    assert result.parsed == Verdict(score=4, reason="ok")
    assert route.call_count == 2
    reask = body(route.calls[1])["messages"]
    assert reask[-2] == {"role": "assistant", "content": "Sure! The score is four."}
    assert "could not be used" in reask[-1]["content"] and "JSON" in reask[-1]["content"]
    assert log.records[-1].attempts == 2 and log.records[-1].usage.prompt_tokens == 22


def test_persistently_malformed_reply_is_a_typed_error(respx_mock: respx.MockRouter) -> None:
    respx_mock.post(URL).mock(
        side_effect=[
            httpx.Response(200, json=completion('{"score": "high"}')),
            httpx.Response(200, json=completion('{"score": 9000}')),
        ]
    )
    log = CallLog()
    with pytest.raises(LLMOutputError) as info:
        run(model(log).complete(MESSAGES, schema=Verdict))
    assert info.value.last_completion == '{"score": 9000}' and info.value.attempts == 2
    assert log.records[-1].ok is False and log.records[-1].error == "output"


def test_falls_back_to_json_mode_when_schema_unsupported(respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post(URL).mock(
        side_effect=[
            httpx.Response(
                400,
                json={
                    "error": {
                        "message": "response_format 'json_schema' is not supported",
                        "type": "invalid_request_error",
                    }
                },
            ),
            httpx.Response(200, json=completion('{"score": 3, "reason": "fine"}')),
            httpx.Response(200, json=completion('{"score": 2, "reason": "again"}')),
        ]
    )
    client = model()
    assert run(client.complete(MESSAGES, schema=Verdict)).parsed == Verdict(score=3, reason="fine")
    second = body(route.calls[1])
    assert second["response_format"] == {"type": "json_object"}
    assert "JSON schema" in second["messages"][-1]["content"]
    run(client.complete(MESSAGES, schema=Verdict))  # the working mode is remembered
    assert body(route.calls[2])["response_format"] == {"type": "json_object"}


def test_falls_back_to_text_when_json_mode_unsupported_too(respx_mock: respx.MockRouter) -> None:
    unsupported = {"error": {"message": "unknown field response_format"}}
    route = respx_mock.post(URL).mock(
        side_effect=[
            httpx.Response(400, json=unsupported),
            httpx.Response(400, json=unsupported),
            httpx.Response(200, json=completion('Here you go: {"score": 5, "reason": "great"}')),
        ]
    )
    assert run(model().complete(MESSAGES, schema=Verdict)).parsed == Verdict(score=5, reason="great")
    assert "response_format" not in body(route.calls[2])


def test_streaming(respx_mock: respx.MockRouter) -> None:
    def chunk(text: str | None, usage: dict[str, int] | None = None) -> str:
        choices = [] if text is None else [{"index": 0, "delta": {"content": text}, "finish_reason": None}]
        data = {
            "id": "c",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "test-model",
            "choices": choices,
            "usage": usage,
        }
        return f"data: {json.dumps(data)}\n\n"

    stream = (
        chunk("What ")
        + chunk("happens ")
        + chunk("next?")
        + chunk(None, {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8})
        + "data: [DONE]\n\n"
    )
    route = respx_mock.post(URL).respond(
        200, headers={"content-type": "text/event-stream"}, content=stream.encode()
    )
    log = CallLog()

    async def collect() -> list[str]:
        return [piece async for piece in model(log).stream(MESSAGES, prompt="ask", prompt_version="v1")]

    assert run(collect()) == ["What ", "happens ", "next?"]
    sent = body(route.calls.last)
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    assert log.records[-1].usage.completion_tokens == 3 and log.records[-1].prompt == "ask"


def _chunks(*pieces: str | None) -> bytes:
    out = ""
    for text in pieces:
        choices = [] if text is None else [{"index": 0, "delta": {"content": text}, "finish_reason": None}]
        data = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": choices}
        out += f"data: {json.dumps(data)}\n\n"
    return (out + "data: [DONE]\n\n").encode()


def test_reasoning_models_thoughts_are_not_the_reply(respx_mock: respx.MockRouter) -> None:
    """Reasoning models served without a reasoning parser write `<think>…</think>` into the
    reply: it is neither parsed as the JSON nor streamed to the candidate, even when the tag is
    split across chunks."""
    thought = '<think>The answer is weak, maybe {"score": 1}? The key point is the GIL.</think>\n'
    respx_mock.post(URL).respond(200, json=completion(thought + '{"score": 4, "reason": "clear"}'))
    done = run(model().complete(MESSAGES, schema=Verdict))
    assert done.parsed == Verdict(score=4, reason="clear")

    respx_mock.post(URL).respond(
        200,
        headers={"content-type": "text/event-stream"},
        content=_chunks(
            "<thi", "nk>They missed the GIL", " key point.</th", "ink>\n\nWhat ", "happens next?"
        ),
    )

    async def collect() -> list[str]:
        return [piece async for piece in model().stream(MESSAGES)]

    assert "".join(run(collect())) == "What happens next?"

    respx_mock.post(URL).respond(
        200, headers={"content-type": "text/event-stream"}, content=_chunks("<b>Bold", "</b> start")
    )
    assert "".join(run(collect())) == "<b>Bold</b> start"  # not a reasoning tag: passes through


@pytest.mark.parametrize(
    ("reply", "shown"),
    [
        ("<think>plan</think>\n\nHello", "Hello"),
        ("<Thinking>plan</Thinking>Hello", "Hello"),
        ("the template opened the tag</think>Hello", "Hello"),  # only the closing tag is in the reply
        ("<think>ran out of tokens while thinking", ""),
        ("Tags like <think> are mentioned here.", "Tags like <think> are mentioned here."),
        ("Plain reply.", "Plain reply."),
    ],
)
def test_strip_reasoning(reply: str, shown: str) -> None:
    assert strip_reasoning(reply) == shown


def test_stream_without_stream_options_for_servers_that_refuse_it(respx_mock: respx.MockRouter) -> None:
    refused = httpx.Response(
        400, json={"error": {"message": "Unrecognized request argument: stream_options"}}
    )
    ok = httpx.Response(200, headers={"content-type": "text/event-stream"}, content=_chunks("Hi ", "there"))
    route = respx_mock.post(URL).mock(side_effect=[refused, ok, ok])
    chat = model()

    async def collect() -> str:
        return "".join([piece async for piece in chat.stream(MESSAGES)])

    assert run(collect()) == "Hi there"
    assert "stream_options" in body(route.calls[0]) and "stream_options" not in body(route.calls[1])
    assert run(collect()) == "Hi there" and "stream_options" not in body(route.calls[2])  # remembered


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (httpx.Response(401, json={"error": {"message": "bad key"}}), LLMRequestRejected),
        (httpx.Response(404, json={"error": {"message": "model not found"}}), LLMRequestRejected),
        (httpx.Response(429, json={"error": {"message": "slow down"}}), LLMRateLimited),
        (httpx.Response(500, json={"error": {"message": "boom"}}), LLMServerError),
        (httpx.Response(503, text="unavailable"), LLMServerError),
        (httpx.ConnectError("refused"), LLMConnectionError),
        (httpx.ReadTimeout("slow"), LLMTimeout),
    ],
)
def test_errors_are_mapped(respx_mock: respx.MockRouter, response: Any, error: type) -> None:
    respx_mock.post(URL).mock(side_effect=[response])
    log = CallLog()
    with pytest.raises(error):
        run(model(log).complete(MESSAGES))
    assert log.records[-1].ok is False


def test_retries_transient_errors_with_backoff(respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post(URL).mock(
        side_effect=[
            httpx.Response(503, text="busy"),
            httpx.Response(429, json={"error": {"message": "slow"}}, headers={"retry-after-ms": "10"}),
            httpx.Response(200, json=completion("ok?")),
        ]
    )
    assert run(model(retries=2).complete(MESSAGES)).text == "ok?"
    assert route.call_count == 3


def test_gives_up_after_the_configured_retries(respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post(URL).mock(side_effect=[httpx.Response(500, text="x")] * 2)
    with pytest.raises(LLMServerError):
        run(model(retries=1).complete(MESSAGES))
    assert route.call_count == 2


PROXY_PAGE = "<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>"


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text=PROXY_PAGE, headers={"content-type": "text/html"}),
        httpx.Response(200, text="upstream connect error", headers={"content-type": "text/plain"}),
        httpx.Response(200, json={"error": {"message": "quota exceeded"}}),
        httpx.Response(200, json=["not", "a", "completion"]),
        httpx.Response(200, json={"choices": [{"message": {"content": {"nested": 1}}}]}),
    ],
    ids=["html", "text", "error-object", "json-list", "content-not-text"],
)
@pytest.mark.parametrize("schema", [None, Verdict], ids=["plain", "structured"])
def test_a_2xx_that_is_not_a_completion_is_a_model_error(
    respx_mock: respx.MockRouter, response: httpx.Response, schema: type[BaseModel] | None
) -> None:
    respx_mock.post(URL).mock(side_effect=[response])
    log = CallLog()
    with pytest.raises(LLMBadResponse):
        run(model(log, retries=2).complete(MESSAGES, schema=schema))
    assert log.records[-1].ok is False and log.records[-1].error == "LLMBadResponse"


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text=PROXY_PAGE, headers={"content-type": "text/html"}),
        httpx.Response(
            200, content=b"data: <html>oops</html>\n\n", headers={"content-type": "text/event-stream"}
        ),
    ],
    ids=["html", "event-not-json"],
)
def test_a_stream_that_is_not_a_completion_stream_is_a_model_error(
    respx_mock: respx.MockRouter, response: httpx.Response
) -> None:
    respx_mock.post(URL).mock(side_effect=[response])
    log = CallLog()

    async def collect() -> list[str]:
        return [piece async for piece in model(log).stream(MESSAGES)]

    with pytest.raises(LLMBadResponse):
        run(collect())
    assert log.records[-1].ok is False and log.records[-1].error == "LLMBadResponse"


# --- bounded output, and a server that refuses the response format with a 500 ------------------


def test_every_request_bounds_its_output(respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post(URL).mock(
        side_effect=[
            httpx.Response(200, json=completion("plain")),
            httpx.Response(200, json=completion("not json")),  # re-asked: bounded again
            httpx.Response(200, json=completion('{"score": 3, "reason": "ok"}')),
            httpx.Response(200, json=completion("uncapped prompt")),
            httpx.Response(200, headers={"content-type": "text/event-stream"}, content=_chunks("hi")),
        ]
    )
    client = OpenAIChatModel(model="m", base_url=BASE, api_key="k", max_retries=0, max_tokens=500)
    run(client.complete(MESSAGES, max_tokens=120))
    run(client.complete(MESSAGES, schema=Verdict, max_tokens=9000))  # more than the cap asks for

    async def collect() -> list[str]:
        return [p async for p in client.stream(MESSAGES, max_tokens=80)]

    run(client.complete(MESSAGES))
    assert run(collect()) == ["hi"]
    assert [body(c)["max_tokens"] for c in route.calls] == [120, 500, 500, 500, 80]


def test_a_500_naming_the_response_format_downgrades_at_once(respx_mock: respx.MockRouter) -> None:
    """llama-cpp-python's server answers `json_schema` with HTTP 500: one request in that mode,
    no SDK retries of it, one in JSON mode, and JSON mode from then on."""
    refused = httpx.Response(
        500,
        json={"error": {"message": "Unsupported response_format type: json_schema", "code": 500}},
    )
    route = respx_mock.post(URL).mock(
        side_effect=[
            refused,
            httpx.Response(200, json=completion('{"score": 3, "reason": "fine"}')),
            httpx.Response(200, json=completion('{"score": 4, "reason": "again"}')),
        ]
    )
    client = model(retries=2)
    assert run(client.complete(MESSAGES, schema=Verdict)).parsed == Verdict(score=3, reason="fine")
    assert route.call_count == 2
    assert body(route.calls[0])["response_format"]["type"] == "json_schema"
    assert body(route.calls[1])["response_format"] == {"type": "json_object"}
    assert run(client.complete(MESSAGES, schema=Verdict)).parsed == Verdict(score=4, reason="again")
    assert route.call_count == 3 and body(route.calls[2])["response_format"] == {"type": "json_object"}


def test_a_500_naming_nothing_is_still_retried(respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post(URL).mock(
        side_effect=[
            httpx.Response(500, json={"error": {"message": "CUDA out of memory"}}),
            httpx.Response(200, json=completion('{"score": 3, "reason": "fine"}')),
        ]
    )
    assert run(model(retries=1).complete(MESSAGES, schema=Verdict)).parsed is not None
    assert [body(c)["response_format"]["type"] for c in route.calls] == ["json_schema", "json_schema"]


def test_max_completion_tokens_for_servers_that_refuse_max_tokens(respx_mock: respx.MockRouter) -> None:
    refused = {
        "error": {
            "message": "Unsupported parameter: 'max_tokens' is not supported with this model. "
            "Use 'max_completion_tokens' instead.",
            "type": "invalid_request_error",
            "param": "max_tokens",
        }
    }
    route = respx_mock.post(URL).mock(
        side_effect=[
            httpx.Response(400, json=refused),
            httpx.Response(200, json=completion("one")),
            httpx.Response(200, json=completion("two")),
        ]
    )
    client = model()
    assert run(client.complete(MESSAGES, max_tokens=100)).text == "one"
    assert run(client.complete(MESSAGES, max_tokens=100)).text == "two"
    sent = [body(c) for c in route.calls]
    assert "max_tokens" in sent[0] and all(
        s.get("max_completion_tokens") == 100 and "max_tokens" not in s for s in sent[1:]
    )
