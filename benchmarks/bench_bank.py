"""Benchmark of the knowledge base: cold and warm ingest, retrieval latency, retrieval quality.

    make bench            (or: .venv/bin/python benchmarks/bench_bank.py)

Prints a Markdown table (the one in the README). Ingest is timed twice: in-process (the index's
own work: model load, embedding, Chroma writes) and as the `interviewer ingest` command end to end
(process start and imports included), each into a fresh data folder.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from interviewer.bank import Retriever, VectorIndex, load_bank  # noqa: E402
from interviewer.bank.embeddings import LocalMiniLM  # noqa: E402
from interviewer.bank.index import make_chroma_client  # noqa: E402
from interviewer.bank.quality import load_paraphrases, recall_at_k  # noqa: E402
from interviewer.config import Settings  # noqa: E402

KNOWLEDGE = ROOT / "knowledge"
PARAPHRASES = ROOT / "tests" / "data" / "paraphrases"


def _cli_ingest(data_dir: Path) -> float:
    env = {**os.environ, "INTERVIEWER_DATA_DIR": str(data_dir), "INTERVIEWER_KNOWLEDGE_DIR": str(KNOWLEDGE)}
    started = time.perf_counter()
    subprocess.run(
        [str(Path(sys.executable).parent / "interviewer"), "ingest"],
        env=env,
        check=True,
        capture_output=True,
        cwd=data_dir.parent,
    )
    return time.perf_counter() - started


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    rows: list[tuple[str, str, str]] = []
    bank = load_bank(KNOWLEDGE)
    n_passages = sum(len(a.chunks) for a in bank.articles.values())
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(_env_file=None, data_dir=Path(tmp) / "inproc")  # type: ignore[call-arg]
        embedder = LocalMiniLM()
        index = VectorIndex(make_chroma_client(settings), embedder)
        cold = index.ingest(bank)
        warm = index.ingest(bank)
        rows.append(
            ("cold ingest, in-process (model load + embed + write)", f"{cold.seconds:.1f} s", "≤ 30 s")
        )
        rows.append(("warm re-ingest, in-process (nothing changed)", f"{warm.seconds:.2f} s", "≤ 2 s"))
        cli_cold = _cli_ingest(Path(tmp) / "cli")
        cli_warm = _cli_ingest(Path(tmp) / "cli")
        rows.append(("cold `interviewer ingest` (whole command)", f"{cli_cold:.1f} s", "≤ 30 s"))
        rows.append(("warm `interviewer ingest` (whole command)", f"{cli_warm:.1f} s", "—"))

        retriever = Retriever(bank, index)
        paraphrases = load_paraphrases(PARAPHRASES)
        for p in paraphrases[:20]:  # warm-up
            retriever.find_questions(p.text, track=p.track, limit=3)
        q_lat: list[float] = []
        p_lat: list[float] = []
        for p in paraphrases:
            t = time.perf_counter()
            retriever.find_questions(p.text, track=p.track, limit=3)
            q_lat.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            retriever.find_passages(p.text, limit=3)
            p_lat.append((time.perf_counter() - t) * 1000)
        rows.append(
            (
                f"find_questions latency p50 / p99 ({len(q_lat)} queries)",
                f"{statistics.median(q_lat):.1f} / {_pct(q_lat, 0.99):.1f} ms",
                "≤ 10 / ≤ 30 ms",
            )
        )
        rows.append(
            (
                "find_passages latency p50 / p99",
                f"{statistics.median(p_lat):.1f} / {_pct(p_lat, 0.99):.1f} ms",
                "≤ 10 / ≤ 30 ms",
            )
        )
        unfiltered = recall_at_k(retriever, paraphrases, k=3)
        filtered = recall_at_k(retriever, paraphrases, k=3, filter_track=True)
        for track in sorted(unfiltered.per_track):
            hit, total = unfiltered.per_track[track]
            fhit, _ = filtered.per_track[track]
            rows.append(
                (
                    f"recall@3 `{track}` ({total} paraphrases): whole bank / track filter",
                    f"{hit / total:.3f} / {fhit / total:.3f}",
                    "≥ 0.9",
                )
            )
        rows.append(
            (
                "recall@3 all tracks: whole bank / track filter",
                f"{unfiltered.recall():.3f} / {filtered.recall():.3f}",
                "≥ 0.9",
            )
        )

    print(
        f"Bank: {len(bank.questions)} questions, {len(bank.articles)} articles "
        f"({n_passages} passages). Machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}.\n"
    )
    print("| measure | result | target |\n| --- | --- | --- |")
    for name, value, target in rows:
        print(f"| {name} | {value} | {target} |")
    if unfiltered.misses and "-v" in sys.argv:
        print("\nmisses (whole bank):")
        for p, got in unfiltered.misses:
            print(f"  {p.question_id}: {p.text!r} -> {got}")


if __name__ == "__main__":
    main()
