"""What the start-up warm-up computes, kept on disk so that a warm restart reads it back instead
of computing it again (embedding every bank question, querying the index, stemming thousands of
words: tens of seconds on a busy 2-core machine, for results that depend only on content).

Every entry is keyed by a hash of exactly what it depends on, so an edit invalidates only what it
touches and nothing stale is ever read:
- grounding (the model scorer's reference passages and pitfalls for a bank question): the
  question, the embedding model, the articles in the index, and — for a question without
  pitfalls of its own, which borrows its neighbours' — every question of the bank;
- stems (word -> Snowball stem): the stemmer's version.
The question vectors of the offline scorer have their own cache (`OfflineScorer(cache_dir=...)`).

Files are replaced atomically (temporary file, then rename), so several workers may write at
once; a missing, unreadable or damaged file costs a recomputation, never an error.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from interviewer.bank.loader import Bank
from interviewer.domain import Question

Grounding = tuple[list[str], list[str]]
"""Reference passages, and pitfalls as `"id: claim"` lines."""

GROUNDING_FILE = "grounding.json"
_FORMAT = 1


def content_hash(*parts: str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()[:32]


def read_json(path: Path) -> Any:
    """The file's JSON, or None when it is missing or unreadable."""
    with contextlib.suppress(OSError, ValueError):
        return json.loads(path.read_text(encoding="utf-8"))
    return None


def write_json(path: Path, data: Any) -> None:
    """Replace `path` atomically; a read-only or full disk only costs the next start-up."""
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)


class GroundingStore:
    """The model scorer's grounding of bank questions, in `<dir>/grounding.json`."""

    def __init__(self, directory: Path, *, bank: Bank, embedder: str) -> None:
        self._path = directory / GROUNDING_FILE
        articles = sorted(a.model_dump_json() for a in bank.articles.values())
        questions = sorted(q.model_dump_json() for q in bank.questions.values())
        self._articles = content_hash("articles", embedder, *articles)
        self._questions = content_hash("questions", embedder, *questions)

    def key(self, question: Question) -> str:
        parts = [self._articles, question.model_dump_json()]
        if not question.pitfalls:  # borrows the pitfalls of its nearest bank questions
            parts.append(self._questions)
        return content_hash("grounding", *parts)

    def load(self) -> dict[str, Grounding]:
        data = read_json(self._path)
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            return {}
        entries = data.get("entries")
        if not isinstance(entries, dict):
            return {}
        out: dict[str, Grounding] = {}
        for key, value in entries.items():
            if (
                isinstance(value, list)
                and len(value) == 2
                and all(isinstance(v, list) and all(isinstance(s, str) for s in v) for v in value)
            ):
                out[str(key)] = (list(value[0]), list(value[1]))
        return out

    def save(self, entries: Mapping[str, Grounding]) -> None:
        """Keep exactly `entries` (what the current bank needs: stale ones are dropped)."""
        write_json(
            self._path,
            {"format": _FORMAT, "entries": {k: [list(r), list(p)] for k, (r, p) in entries.items()}},
        )


def stems_path(directory: Path) -> Path:
    try:
        version = metadata.version("snowballstemmer")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return directory / f"stems-{content_hash(version)[:12]}.json"


def load_stems(path: Path) -> dict[str, str]:
    data = read_json(path)
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}


def save_stems(path: Path, stems: Iterable[tuple[str, str]]) -> None:
    write_json(path, dict(stems))
