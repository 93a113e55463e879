"""Retrieval quality: does a paraphrase of a bank question find that question in the top k?

The paraphrases are hand-written test data (`tests/data/paraphrases/<track>.yaml`: a list of
`{question_id, paraphrases: [...]}`), never generated from the question text. Used by the test
suite and by `benchmarks/bench_bank.py`, so both report the same figure.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml

from interviewer.bank.retrieval import Retriever
from interviewer.domain import TrackId


@dataclass(frozen=True)
class Paraphrase:
    question_id: str
    track: TrackId
    text: str


@dataclass(frozen=True)
class RecallReport:
    k: int
    per_track: dict[str, tuple[int, int]]  # track -> (found in top k, total)
    misses: list[tuple[Paraphrase, list[str]]]

    def recall(self, track: str | None = None) -> float:
        items = [self.per_track[track]] if track else list(self.per_track.values())
        hit = sum(h for h, _ in items)
        total = sum(t for _, t in items)
        return hit / total if total else 0.0


def load_paraphrases(folder: Path) -> list[Paraphrase]:
    out: list[Paraphrase] = []
    for path in sorted(folder.glob("*.yaml")):
        track = path.stem
        for entry in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            for text in entry["paraphrases"]:
                out.append(Paraphrase(entry["question_id"], track, text))  # type: ignore[arg-type]
    return out


def recall_at_k(
    retriever: Retriever, paraphrases: list[Paraphrase], *, k: int = 3, filter_track: bool = False
) -> RecallReport:
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    misses: list[tuple[Paraphrase, list[str]]] = []
    for p in paraphrases:
        hits = retriever.find_questions(p.text, track=p.track if filter_track else None, limit=k)
        ids = [h.question.id for h in hits]
        counts[p.track][1] += 1
        if p.question_id in ids:
            counts[p.track][0] += 1
        else:
            misses.append((p, ids))
    return RecallReport(k, {t: (c[0], c[1]) for t, c in sorted(counts.items())}, misses)
