"""The interview engine: orchestrator, scoring, guard, report. `build_engine` wires it from
settings; tests and the web app pass their own collaborators through the same doors."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal, assert_never

from interviewer.bank import Bank, Retriever, VectorIndex, load_bank, open_index
from interviewer.bank.exercises import LiveExercises
from interviewer.config import Settings
from interviewer.domain import Exercise
from interviewer.engine.checklist import ChecklistScorer
from interviewer.engine.offline_scorer import OfflineScorer
from interviewer.engine.orchestrator import Orchestrator, SessionCompleted, TurnResult
from interviewer.engine.prompts import PromptLibrary, load_prompts
from interviewer.engine.scoring import Assessor, ModelScorer
from interviewer.errors import EngineError
from interviewer.llm.base import CallSink, ChatModel
from interviewer.llm.tokens import TokenCounter

__all__ = [
    "assemble",
    "EngineError",
    "Orchestrator",
    "SessionCompleted",
    "TurnResult",
    "build_engine",
    "make_model",
    "make_model_scorer",
]

ModelScorerForm = Literal["checklist", "holistic"]


def make_model(settings: Settings, *, on_call: CallSink | None = None) -> ChatModel | None:
    """The configured chat model, or None for the offline engine."""
    if not settings.uses_model:
        return None
    from interviewer.llm.openai_model import OpenAIChatModel

    return OpenAIChatModel.from_settings(settings, on_call=on_call)


def make_model_scorer(
    model: ChatModel, prompts: PromptLibrary, *, form: ModelScorerForm, counter: TokenCounter, budget: int
) -> ModelScorer:
    """The model scorer in the configured form (`INTERVIEWER_MODEL_SCORER`): yes/no checks with
    the score computed in code (`checklist`), or the model's own 1-5 numbers (`holistic`)."""
    match form:
        case "checklist":
            return ChecklistScorer(model, prompts, counter=counter, budget=budget)
        case "holistic":
            return ModelScorer(model, prompts, counter=counter, budget=budget)
        case _:
            assert_never(form)


def build_engine(
    settings: Settings,
    *,
    model: ChatModel | None = None,
    bank: Bank | None = None,
    index: VectorIndex | None = None,
    prompts: PromptLibrary | None = None,
    offline_only: bool = False,
) -> Orchestrator:
    bank = bank or load_bank(settings.knowledge_dir)
    index = index or open_index(settings)
    if index.count("questions") == 0 or index.count("passages") == 0:
        index.ingest(bank)
    prompts = prompts or load_prompts(settings.prompts_dir)
    if model is None and not offline_only:
        model = make_model(settings)
    return assemble(
        bank=bank,
        retriever=Retriever(bank, index),
        offline=OfflineScorer(index.embedder, cache_dir=settings.data_dir / "vectors"),
        prompts=prompts,
        model=model,
        counter=TokenCounter(settings.tokenizer_encoding),
        budget=settings.prompt_token_budget,
        second_opinion=settings.second_opinion,
        model_scorer=settings.model_scorer,
        turn_budget_s=settings.turn_budget_s or None,
        warm_dir=settings.data_dir / "warm",
        exercises=LiveExercises(bank),
    )


def assemble(
    *,
    bank: Bank,
    retriever: Retriever,
    offline: OfflineScorer,
    prompts: PromptLibrary,
    model: ChatModel | None = None,
    counter: TokenCounter | None = None,
    budget: int = 4000,
    second_opinion: str = "inline",
    model_scorer: ModelScorerForm = "holistic",
    turn_budget_s: float | None = None,
    warm_dir: Path | None = None,
    exercises: Mapping[str, Exercise] | None = None,
) -> Orchestrator:
    """Wire the orchestrator from its parts (production and tests use this one door).
    `model_scorer`: the form of the model scorer; production passes the setting (default
    `checklist`), the scripted fakes of the engine tests speak the `holistic` reply.
    `warm_dir`: where the start-up warm-up keeps its results for the next start."""
    counter = counter or TokenCounter()
    scorer = (
        make_model_scorer(model, prompts, form=model_scorer, counter=counter, budget=budget)
        if model is not None
        else None
    )
    assessor = Assessor(
        offline, model_scorer=scorer, retriever=retriever, second_opinion=second_opinion, warm_dir=warm_dir
    )
    return Orchestrator(
        bank=bank,
        retriever=retriever,
        assessor=assessor,
        prompts=prompts,
        model=model,
        counter=counter,
        budget=budget,
        turn_budget_s=turn_budget_s,
        exercises=exercises,
    )
