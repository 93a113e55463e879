"""Ingest is idempotent by content hash: nothing changed -> nothing embedded; an edited question
is re-embedded; a deleted one disappears from the index. Real chromadb, real local embeddings."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

from interviewer.bank import Retriever, VectorIndex, load_bank
from interviewer.bank.embeddings import LocalMiniLM, Vectors
from interviewer.bank.index import make_chroma_client
from interviewer.cli import app
from tests.conftest import make_settings
from tests.minibank import edit, write_mini_bank


class CountingEmbedder:
    """Wraps the real embedder and counts what it is asked to embed."""

    def __init__(self, inner: LocalMiniLM) -> None:
        self.inner = inner
        self.texts: list[str] = []
        self.name = inner.name

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.texts.extend(texts)
        return self.inner.embed(texts)


@pytest.fixture
def setup(tmp_path: Path, embedder: LocalMiniLM) -> tuple[Path, VectorIndex, CountingEmbedder]:
    kb = write_mini_bank(tmp_path / "knowledge")
    counting = CountingEmbedder(embedder)
    settings = make_settings(tmp_path)
    return kb, VectorIndex(make_chroma_client(settings), counting), counting


def test_second_run_embeds_nothing(setup: tuple[Path, VectorIndex, CountingEmbedder]) -> None:
    kb, index, counting = setup
    first = index.ingest(load_bank(kb))
    assert (first.added, first.updated, first.removed, first.unchanged) == (13, 0, 0, 0)
    # 12 questions x (1 question + 4 key points) + 3 passages (intro and two sections)
    assert first.vectors_embedded == 12 * 5 + 3 == index.count("questions") + index.count("passages")
    counting.texts.clear()
    second = index.ingest(load_bank(kb))
    assert (second.added, second.updated, second.removed, second.unchanged) == (0, 0, 0, 13)
    assert second.vectors_embedded == 0 and counting.texts == []


def test_edited_question_is_reembedded(setup: tuple[Path, VectorIndex, CountingEmbedder]) -> None:
    kb, index, counting = setup
    index.ingest(load_bank(kb))
    counting.texts.clear()
    path = kb / "questions/python/python-generators-1.yaml"
    new_text = "How would you stream a ten gigabyte CSV file through a pipeline of generators?"
    edit(path, question=new_text)
    report = index.ingest(load_bank(kb))
    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 1, 0, 12)
    assert new_text in counting.texts and report.vectors_embedded == 5
    hits = Retriever(load_bank(kb), index).find_questions("stream a huge CSV lazily", limit=1)
    assert hits[0].question.id == "python-generators-1"
    assert index.count("questions") == 60  # replaced, not duplicated


def test_removed_key_point_leaves_no_stale_vector(
    setup: tuple[Path, VectorIndex, CountingEmbedder],
) -> None:
    kb, index, _ = setup
    index.ingest(load_bank(kb))
    path = kb / "questions/python/python-generators-1.yaml"
    bank = load_bank(kb)
    q = bank.questions["python-generators-1"]
    kps = [kp.model_dump() for kp in q.key_points] + [{"id": "kp5", "text": "A fifth point."}]
    edit(path, key_points=kps)
    index.ingest(load_bank(kb))
    assert index.count("questions") == 61
    edit(path, key_points=kps[:4])
    index.ingest(load_bank(kb))
    assert index.count("questions") == 60


def test_deleted_question_is_removed(setup: tuple[Path, VectorIndex, CountingEmbedder]) -> None:
    kb, index, _ = setup
    index.ingest(load_bank(kb))
    (kb / "questions/python/python-generators-1.yaml").unlink()
    report = index.ingest(load_bank(kb))
    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 0, 1, 12)
    assert index.count("questions") == 55
    hits = Retriever(load_bank(kb), index).find_questions("generators", track="python", limit=10)
    assert "python-generators-1" not in {h.question.id for h in hits}


def test_half_written_item_is_repaired(setup: tuple[Path, VectorIndex, CountingEmbedder]) -> None:
    """A run killed between deleting and re-adding an item's vectors must not leave it short."""
    kb, index, _ = setup
    index.ingest(load_bank(kb))
    index._collection("questions").delete(ids=["q:python-generators-1:kp:kp2"])
    report = index.ingest(load_bank(kb))
    assert report.updated == 1 and index.count("questions") == 60


def test_index_persists_across_clients(tmp_path: Path, embedder: LocalMiniLM) -> None:
    kb = write_mini_bank(tmp_path / "knowledge")
    settings = make_settings(tmp_path)
    VectorIndex(make_chroma_client(settings), embedder).ingest(load_bank(kb))
    reopened = VectorIndex(make_chroma_client(settings), embedder)
    assert reopened.ingest(load_bank(kb)).vectors_embedded == 0


def test_cli_ingest_prints_summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kb = write_mini_bank(tmp_path / "knowledge")
    monkeypatch.setenv("INTERVIEWER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("INTERVIEWER_KNOWLEDGE_DIR", str(kb))
    monkeypatch.chdir(tmp_path)  # no stray .env
    runner = CliRunner()
    first = runner.invoke(app, ["ingest"])
    assert first.exit_code == 0, first.output
    assert "13 added, 0 updated, 0 removed, 0 unchanged" in first.output
    second = runner.invoke(app, ["ingest"])
    assert "0 added, 0 updated, 0 removed, 13 unchanged (0 vectors embedded)" in second.output
    found = runner.invoke(app, ["search", "lazy iteration", "--track", "python"])
    assert found.exit_code == 0 and "python-generators-1" in found.output
    bad = runner.invoke(app, ["search", "x", "--track", "golang"])
    assert bad.exit_code == 2 and "unknown track" in bad.output
