"""The knowledge base: load and validate `knowledge/`, embed it into Chroma, retrieve from it."""

from __future__ import annotations

from interviewer.bank.embeddings import Embedder, make_embedder
from interviewer.bank.index import IngestReport, Progress, VectorIndex, make_chroma_client
from interviewer.bank.loader import Bank, BankError, Problem, load_bank, validate_bank
from interviewer.bank.retrieval import PassageHit, QuestionHit, Retriever
from interviewer.config import Settings

__all__ = [
    "Bank",
    "BankError",
    "Embedder",
    "IngestReport",
    "PassageHit",
    "Problem",
    "QuestionHit",
    "Retriever",
    "VectorIndex",
    "load_bank",
    "open_index",
    "validate_bank",
]


def open_index(settings: Settings, *, embedder: Embedder | None = None) -> VectorIndex:
    """The vector index the settings point at (local folder or Chroma server)."""
    return VectorIndex(
        make_chroma_client(settings),
        embedder or make_embedder(settings),
        prefix=settings.collection_prefix,
    )


def ingest(settings: Settings, *, bank: Bank | None = None, progress: Progress | None = None) -> IngestReport:
    bank = bank or load_bank(settings.knowledge_dir)
    return open_index(settings).ingest(bank, progress=progress)
