"""Prompts are versioned data: one YAML file per prompt in `prompts/`, loaded into a
langchain-core `ChatPromptTemplate`. At load, the variables a file declares must be exactly the
variables its messages use (a typo fails at start-up, not mid-interview). A prompt's version is
the hash of its file's content, recorded with every model call that used it. A prompt sent
to a model declares `max_tokens`, the most output its reply may take; the client caps every call
with `INTERVIEWER_LLM_MAX_TOKENS`, also a prompt's that declares none.

Candidate text is only ever a variable *value*: f-string templates do not re-interpret braces in
values, so text like `{persona}` inside an answer stays literal.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from langchain_core.messages import BaseMessage
from langchain_core.prompts import ChatPromptTemplate

REQUIRED = (
    "persona",
    "ask",
    "follow_up",
    "clarify",
    "score",
    "score_checklist",
    "track_summary",
    "exercise_follow_up",
    "final_report",
)
_ROLES = {"system": "system", "human": "human", "user": "human", "ai": "ai", "assistant": "ai"}


class PromptError(ValueError):
    pass


@dataclass(frozen=True)
class Prompt:
    name: str
    version: str
    variables: frozenset[str]
    template: ChatPromptTemplate
    max_tokens: int | None = None

    def render(self, **values: Any) -> list[BaseMessage]:
        missing = self.variables - values.keys()
        extra = values.keys() - self.variables
        if missing or extra:
            raise PromptError(f"prompt {self.name!r}: missing {sorted(missing)}, unexpected {sorted(extra)}")
        return self.template.format_messages(**{k: str(v) for k, v in values.items()})


class PromptLibrary:
    def __init__(self, prompts: dict[str, Prompt]) -> None:
        self._prompts = prompts

    def __getitem__(self, name: str) -> Prompt:
        return self._prompts[name]

    def __iter__(self) -> Any:
        return iter(self._prompts.values())

    @property
    def persona(self) -> str:
        return str(self._prompts["persona"].template.messages[0].prompt.template)  # type: ignore[union-attr]

    def render(self, name: str, **values: Any) -> list[BaseMessage]:
        prompt = self._prompts[name]
        if "persona" in prompt.variables and "persona" not in values:
            values["persona"] = self.persona
        return prompt.render(**values)


def load_prompt(path: Path) -> Prompt:
    raw = path.read_bytes()
    try:
        doc = yaml.safe_load(raw.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise PromptError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("messages"), list):
        raise PromptError(f"{path}: expected 'variables' and a list of 'messages'")
    declared = frozenset(doc.get("variables") or [])
    max_tokens = doc.get("max_tokens")
    if max_tokens is not None and (
        not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or not 1 <= max_tokens <= 100_000
    ):
        raise PromptError(f"{path}: max_tokens must be a whole number from 1 to 100000")
    messages = []
    for i, m in enumerate(doc["messages"]):
        role = _ROLES.get(str(m.get("role", "")).lower())
        if role is None or not isinstance(m.get("content"), str):
            raise PromptError(f"{path}: messages[{i}] needs a role (system/human/ai) and a content")
        messages.append((role, m["content"]))
    try:
        template = ChatPromptTemplate.from_messages(messages)
    except ValueError as exc:
        raise PromptError(f"{path}: {exc}") from exc
    used = frozenset(template.input_variables)
    if used != declared:
        raise PromptError(
            f"{path}: declared variables {sorted(declared)} but the messages use {sorted(used)}"
        )
    version = hashlib.sha256(raw).hexdigest()[:12]
    return Prompt(
        name=path.stem, version=version, variables=declared, template=template, max_tokens=max_tokens
    )


def load_prompts(folder: Path) -> PromptLibrary:
    if not folder.is_dir():
        raise PromptError(f"prompts folder not found: {folder}")
    prompts = {p.stem: load_prompt(p) for p in sorted(folder.glob("*.yaml"))}
    missing = [name for name in REQUIRED if name not in prompts]
    if missing:
        raise PromptError(f"{folder}: missing prompt file(s): {', '.join(m + '.yaml' for m in missing)}")
    return PromptLibrary(prompts)
