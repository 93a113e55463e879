"""The vector index: questions (with their key points) and article passages in Chroma.

Ingest is idempotent by content hash. Every vector carries the hash of the *item* it came from
(a whole question, or a whole article) and of the embedder; an item whose hash is unchanged is
not embedded again, a changed item has all its vectors replaced, and vectors of items that no
longer exist are deleted. Embedding happens on our side (see `embeddings.py`), so the same code
runs against the embedded client (a local folder) and a Chroma server.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import chromadb
from chromadb.config import Settings as ChromaSettings

from interviewer.bank.embeddings import ChromaEmbedding, Embedder, Vectors
from interviewer.bank.loader import Bank
from interviewer.config import Settings

_T = TypeVar("_T")

Progress = Callable[[int, int], None]
"""Called as `progress(done, total)` with counts of vectors embedded so far."""


COUNT_TTL_S = 5.0


class VectorStoreError(RuntimeError):
    """The vector store is unreachable or refused an operation."""


@dataclass(frozen=True)
class IngestReport:
    added: int
    updated: int
    removed: int
    unchanged: int
    vectors_embedded: int
    seconds: float

    def summary(self) -> str:
        return (
            f"ingest: {self.added} added, {self.updated} updated, {self.removed} removed, "
            f"{self.unchanged} unchanged ({self.vectors_embedded} vectors embedded) "
            f"in {self.seconds:.1f} s"
        )


@dataclass(frozen=True)
class _Doc:
    id: str
    text: str
    meta: dict[str, str | int]


@dataclass(frozen=True)
class Match:
    id: str
    similarity: float
    meta: dict[str, Any]


def make_chroma_client(settings: Settings) -> Any:
    """The embedded persistent client, or an HTTP client when a Chroma server is configured."""
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_host:
        return chromadb.HttpClient(
            host=settings.chroma_host,
            port=settings.chroma_port,
            ssl=settings.chroma_ssl,
            settings=chroma_settings,
        )
    settings.chroma_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_dir), settings=chroma_settings)


class VectorIndex:
    """Two collections per embedder: `<prefix>-questions-<embedder>` and `...-passages-...`."""

    def __init__(self, client: Any, embedder: Embedder, *, prefix: str = "interviewer") -> None:
        self._client = client
        self._embedder = embedder
        self._prefix = prefix
        self._collections: dict[str, Any] = {}
        self._counts: dict[str, tuple[int, float]] = {}

    @property
    def embedder(self) -> Embedder:
        return self._embedder

    @property
    def folder(self) -> Path | None:
        """Where an embedded (persistent) index keeps its files; None for a Chroma server."""
        get_settings = getattr(self._client, "get_settings", None)
        settings = get_settings() if callable(get_settings) else None
        if settings is None or not settings.is_persistent:
            return None
        return Path(settings.persist_directory)

    def _collection(self, kind: str) -> Any:
        if kind not in self._collections:
            name = f"{self._prefix}-{kind}-{self._embedder.name}"
            try:
                self._collections[kind] = self._client.get_or_create_collection(
                    name=name,
                    embedding_function=ChromaEmbedding(self._embedder),
                    configuration={"hnsw": {"space": "cosine"}},
                )
            except Exception as exc:  # chromadb raises many unrelated types here
                raise VectorStoreError(f"cannot open Chroma collection {name!r}: {exc}") from exc
        return self._collections[kind]

    # --- ingest -------------------------------------------------------------------------
    def ingest(self, bank: Bank, *, progress: Progress | None = None) -> IngestReport:
        started = time.perf_counter()
        wanted = {
            "questions": dict(_question_items(bank, self._embedder.name)),
            "passages": dict(_article_items(bank, self._embedder.name)),
        }
        added = updated = removed = unchanged = 0
        to_embed: list[tuple[str, _Doc]] = []
        to_delete: dict[str, list[str]] = {"questions": [], "passages": []}
        for kind, items in wanted.items():
            existing = self._existing(kind)
            for item, (item_hash, docs) in items.items():
                old = existing.pop(item, None)
                if old is None:
                    added += 1
                elif old[0] != item_hash or set(old[1]) != {doc.id for doc in docs}:
                    updated += 1
                    to_delete[kind].extend(old[1])
                else:
                    unchanged += 1
                    continue
                to_embed.extend((kind, doc) for doc in docs)
            for _, ids in existing.values():
                removed += 1
                to_delete[kind].extend(ids)
        for kind, ids in to_delete.items():
            for batch in _batches(ids, 500):
                self._collection(kind).delete(ids=batch)
        # similar lengths together: the embedder pads each batch to its longest text
        to_embed.sort(key=lambda kd: len(kd[1].text))
        total = len(to_embed)
        done = 0
        if progress:
            progress(0, total)
        for group in _batches(to_embed, 64):
            vectors = self._embedder.embed([doc.text for _, doc in group])
            for kind in ("questions", "passages"):
                rows = [(i, doc) for i, (k, doc) in enumerate(group) if k == kind]
                if rows:
                    self._collection(kind).add(
                        ids=[doc.id for _, doc in rows],
                        documents=[doc.text for _, doc in rows],
                        metadatas=[doc.meta for _, doc in rows],
                        embeddings=[vectors[i] for i, _ in rows],
                    )
            done += len(group)
            if progress:
                progress(done, total)
        self._counts.clear()  # sizes read during the ingest are stale
        return IngestReport(
            added=added,
            updated=updated,
            removed=removed,
            unchanged=unchanged,
            vectors_embedded=total,
            seconds=time.perf_counter() - started,
        )

    def _existing(self, kind: str) -> dict[str, tuple[str, list[str]]]:
        """item -> (item hash, vector ids) for what the collection holds now."""
        got = self._collection(kind).get(include=["metadatas"])
        items: dict[str, tuple[str, list[str]]] = {}
        for vid, meta in zip(got["ids"], got["metadatas"] or [], strict=True):
            item = str(meta.get("item", ""))
            item_hash = str(meta.get("item_hash", ""))
            prev = items.get(item)
            if prev is not None and prev[0] != item_hash:
                item_hash = "mixed"  # half-written item: force a rewrite
            items.setdefault(item, (item_hash, []))
            items[item] = (item_hash, [*items[item][1], vid])
        return items

    def _count(self, kind: str, collection: Any) -> int:
        """The collection's size for `n_results`, re-read at most every few seconds (another
        process's ingest shows up by then); a query does not pay a count each time."""
        now = time.monotonic()
        cached = self._counts.get(kind)
        if cached is None or now - cached[1] > COUNT_TTL_S:
            cached = (int(collection.count()), now)
            self._counts[kind] = cached
        return cached[0]

    def count(self, kind: str) -> int:
        return int(self._collection(kind).count())

    # --- query --------------------------------------------------------------------------
    def query(
        self,
        kind: str,
        vector: Vectors,
        *,
        where: dict[str, Any] | None,
        limit: int,
    ) -> list[Match]:
        collection = self._collection(kind)
        n = min(limit, self._count(kind, collection))
        if n <= 0:
            return []
        result = collection.query(
            query_embeddings=[vector],
            n_results=n,
            where=where,
            include=["metadatas", "distances"],
        )
        ids = result["ids"][0]
        metas = (result["metadatas"] or [[]])[0]
        distances = (result["distances"] or [[]])[0]
        return [
            Match(id=i, similarity=1.0 - float(d), meta=dict(m or {}))
            for i, m, d in zip(ids, metas, distances, strict=True)
        ]


def _hash(*parts: str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()[:32]


def _question_items(bank: Bank, embedder: str) -> Iterator[tuple[str, tuple[str, list[_Doc]]]]:
    for q in bank.questions.values():
        item = f"question:{q.id}"
        item_hash = _hash(embedder, q.model_dump_json())
        base: dict[str, str | int] = {
            "item": item,
            "item_hash": item_hash,
            "question_id": q.id,
            "track": q.track,
            "topic": q.topic,
            "difficulty": q.difficulty,
        }
        docs = [_Doc(f"q:{q.id}", q.question, {**base, "kind": "question"})]
        docs += [
            _Doc(f"q:{q.id}:kp:{kp.id}", kp.text, {**base, "kind": "key_point", "key_point": kp.id})
            for kp in q.key_points
        ]
        yield item, (item_hash, docs)


def _article_items(bank: Bank, embedder: str) -> Iterator[tuple[str, tuple[str, list[_Doc]]]]:
    for article in bank.articles.values():
        item = f"article:{article.slug}"
        item_hash = _hash(embedder, article.model_dump_json())
        docs = [
            _Doc(
                f"a:{chunk.id}",
                chunk.text,
                {"item": item, "item_hash": item_hash, "article": article.slug, "chunk": chunk.id},
            )
            for chunk in article.chunks
        ]
        yield item, (item_hash, docs)


def _batches(items: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
