"""The start-up warm-up keeps its work on disk: a restart on the same data folder embeds, queries
and stems nothing of the bank again (each restart is simulated by emptying the process's
in-memory caches), and an edited question is recomputed, never read stale."""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from interviewer.bank import Bank, Retriever, VectorIndex
from interviewer.bank.embeddings import Vectors
from interviewer.bank.index import make_chroma_client
from interviewer.engine import assemble, lexical, offline_scorer
from interviewer.engine.offline_scorer import OfflineScorer
from interviewer.llm.fakes import ScriptedModel
from tests.conftest import make_settings


class CountingEmbedder:
    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.texts: list[str] = []

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.texts.extend(texts)
        result: Vectors = self.inner.embed(texts)
        return result


class CountingStemmer:
    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls = 0

    def stemWord(self, word: str) -> str:  # noqa: N802  # the Snowball stemmer's name
        self.calls += 1
        return str(self.inner.stemWord(word))


def _few(bank: Bank) -> Bank:
    """Four questions of the bank (the index holds all of them): enough to count, quick to warm."""
    return dataclasses.replace(bank, questions=dict(list(bank.questions.items())[:4]))


def _start(
    monkeypatch: pytest.MonkeyPatch,
    *,
    bank: Bank,
    full_data_dir: Path,
    embedder: Any,
    prompts: Any,
    tmp: Path,
    with_model: bool,
) -> tuple[CountingEmbedder, CountingStemmer]:
    """One start-up of the engine on `tmp`'s caches, in a fresh process state; its warm-up run."""
    monkeypatch.setattr(offline_scorer, "_SHARED_VECTORS", OrderedDict())
    monkeypatch.setattr(lexical, "_CACHE", {})
    stemmer = CountingStemmer(lexical._STEMMER)
    monkeypatch.setattr(lexical, "_STEMMER", stemmer)
    counting = CountingEmbedder(embedder)
    settings = make_settings(full_data_dir.parent)
    index = VectorIndex(make_chroma_client(settings), counting)  # type: ignore[arg-type]
    orchestrator = assemble(
        bank=bank,
        retriever=Retriever(bank, index),
        offline=OfflineScorer(counting, cache_dir=tmp / "vectors"),  # type: ignore[arg-type]
        prompts=prompts,
        model=ScriptedModel([]) if with_model else None,
        second_opinion="deferred",
        warm_dir=tmp / "warm",
    )
    assert orchestrator.warm_up() == len(bank.questions)
    return counting, stemmer


@pytest.mark.parametrize("with_model", [False, True], ids=["offline", "model"])
def test_warm_restart_recomputes_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    bank: Bank,
    full_index: VectorIndex,
    full_data_dir: Path,
    prompts: Any,
    with_model: bool,
) -> None:
    def start() -> tuple[CountingEmbedder, CountingStemmer]:
        return _start(
            monkeypatch,
            bank=_few(bank),
            full_data_dir=full_data_dir,
            embedder=full_index.embedder,
            prompts=prompts,
            tmp=tmp_path,
            with_model=with_model,
        )

    cold_embedder, cold_stemmer = start()
    assert cold_embedder.texts  # the first start computes
    if not with_model:
        assert cold_stemmer.calls
    warm_embedder, warm_stemmer = start()
    assert warm_embedder.texts == []
    assert warm_stemmer.calls == 0


def test_edited_question_is_grounded_again(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    bank: Bank,
    full_index: VectorIndex,
    full_data_dir: Path,
    prompts: Any,
) -> None:
    common: dict[str, Any] = {
        "full_data_dir": full_data_dir,
        "embedder": full_index.embedder,
        "prompts": prompts,
        "tmp": tmp_path,
        "with_model": True,
    }
    few = _few(bank)
    _start(monkeypatch, bank=few, **common)
    first = next(q for q in few.questions.values() if q.pitfalls)
    changed = first.model_copy(update={"question": first.question + " Explain with an example."})
    edited = dataclasses.replace(few, questions={**few.questions, first.id: changed})
    counting, _ = _start(monkeypatch, bank=edited, **common)
    # the edited question is grounded again, and so are the questions that borrow their
    # neighbours' pitfalls (the bank changed); every other question's grounding is read back
    borrowing = {q.question for q in few.questions.values() if not q.pitfalls}
    assert set(counting.texts) == {changed.question} | borrowing
