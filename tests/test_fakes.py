import asyncio

import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel

from interviewer.llm.base import CallLog
from interviewer.llm.errors import LLMOutputError, LLMTimeout
from interviewer.llm.fakes import EchoModel, FunctionModel, ScriptedModel, UnexpectedCall

MSGS = [SystemMessage("sys"), HumanMessage("hello")]


class Out(BaseModel):
    n: int


def test_scripted_model_replays_then_fails_loudly() -> None:
    log = CallLog()
    model = ScriptedModel(['{"n": 1}', LLMTimeout("slow"), "plain"], on_call=log.append)
    assert asyncio.run(model.complete(MSGS, schema=Out)).parsed == Out(n=1)
    with pytest.raises(LLMTimeout):
        asyncio.run(model.complete(MSGS))
    assert asyncio.run(model.complete(MSGS)).text == "plain"
    with pytest.raises(UnexpectedCall, match="unscripted call"):
        asyncio.run(model.complete(MSGS))
    assert [r.ok for r in log.records] == [True, False, True]


def test_scripted_model_reasks_once_then_raises() -> None:
    model = ScriptedModel(["nope", '{"n": 2}', "bad", "worse"])
    assert asyncio.run(model.complete(MSGS, schema=Out)).parsed == Out(n=2)
    with pytest.raises(LLMOutputError) as info:
        asyncio.run(model.complete(MSGS, schema=Out))
    assert info.value.last_completion == "worse"


def test_function_and_echo_models() -> None:
    model = FunctionModel(lambda msgs: msgs[-1].text.upper())
    assert asyncio.run(model.complete(MSGS)).text == "HELLO"

    async def stream() -> str:
        return "".join([c async for c in EchoModel().stream(MSGS)])

    assert asyncio.run(stream()) == "system: sys\nhuman: hello"
