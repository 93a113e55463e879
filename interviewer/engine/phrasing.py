"""What a model phrases for the interviewer: a follow-up, the next question, a clarification, a
track summary, the final report — always with the engine's own text as the fallback (the bank's
question or follow-up, a fixed message, the offline report).

A model-phrased message is used only if a model is configured, the turn's budget of model calls
allows one more (`TurnWork.may_call_model`), the call ends within the turn's time budget, and the
text passes `messages.acceptable` (not empty, not too long, no talk of grading outside the
report, not a repeat, no leak of the question's key points). Otherwise the fallback is said, so
whatever the model does the candidate gets a sound message.
With a listener on the turn, the reply streams to it as it is generated, released piece by piece
by `messages.LiveRelease`; the last piece waits for the checks.
"""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.messages import BaseMessage

from interviewer.domain import Question
from interviewer.engine import messages as msg
from interviewer.engine.deadline import Deadline
from interviewer.engine.prompts import Prompt, PromptLibrary
from interviewer.engine.turn_work import TurnWork
from interviewer.llm.base import ChatModel, strip_reasoning
from interviewer.llm.errors import LLMError


class Phraser:
    def __init__(self, model: ChatModel | None, prompts: PromptLibrary) -> None:
        self._model = model
        self._prompts = prompts

    def may_phrase(self, turn: TurnWork) -> bool:
        """Whether a model would be asked now: one is configured and the turn's budget allows."""
        return self._model is not None and turn.may_call_model

    async def phrase(
        self,
        turn: TurnWork,
        prompt_name: str,
        question: Question | None,
        *,
        fallback: str,
        values: dict[str, str],
        lead: str = "",
    ) -> str:
        """Model-phrased text if a model is configured, the turn's call budget allows, and the
        text passes the checks; otherwise `fallback`. With a listener on the turn the model's
        reply streams to it (`lead` first) as it is generated; it is then the next message said."""
        if self._model is None or not turn.may_call_model:
            return fallback
        prompt = self._prompts[prompt_name]
        messages = self._prompts.render(prompt_name, **values)
        turn.calls += 1
        release = msg.LiveRelease(question, report=prompt_name == "final_report")
        deadline = turn.deadline or Deadline(None)
        try:
            if turn.listener is None:
                completion = await deadline.run(
                    self._model.complete(
                        messages,
                        prompt=prompt.name,
                        prompt_version=prompt.version,
                        max_tokens=prompt.max_tokens,
                        on_call=turn.record,
                    )
                )
                text = completion.text.strip()
            else:
                text = await deadline.run(self._stream(turn, messages, prompt, release, lead))
        except LLMError:
            return fallback
        ok = msg.acceptable(
            text,
            question=question,
            already_said=turn.state.interviewer_texts(),
            report=prompt_name == "final_report",
        )
        if ok and turn.listener is not None and (rest := release.rest(text)):
            await turn.listener(len(turn.out), rest)  # a last word that waited for the checks
        return text if ok else fallback

    async def _stream(
        self,
        turn: TurnWork,
        messages: Sequence[BaseMessage],
        prompt: Prompt,
        release: msg.LiveRelease,
        lead: str,
    ) -> str:
        assert self._model is not None and turn.listener is not None
        index = len(turn.out)  # this reply will be the turn's next message
        if lead:
            await turn.listener(index, lead)
        parts: list[str] = []
        async for piece in self._model.stream(
            messages,
            prompt=prompt.name,
            prompt_version=prompt.version,
            max_tokens=prompt.max_tokens,
            on_call=turn.record,
        ):
            parts.append(piece)
            shown = release.feed("".join(parts))
            if shown:
                await turn.listener(index, shown)
        return strip_reasoning("".join(parts)).strip()  # a block whose opening tag the server sent
