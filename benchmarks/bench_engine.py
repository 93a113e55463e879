"""Benchmark of the interview engine: offline scorer agreement with the labelled development set
(beside keyword-overlap and length baselines), scorer throughput, injection-guard figures, and
prompt tokens per model call over a whole interview.

    .venv/bin/python benchmarks/bench_engine.py      (or: make bench)
"""

from __future__ import annotations

import asyncio
import os
import platform
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from langchain_core.messages import BaseMessage  # noqa: E402

from interviewer.bank import Retriever, VectorIndex, load_bank  # noqa: E402
from interviewer.bank.embeddings import LocalMiniLM  # noqa: E402
from interviewer.bank.index import make_chroma_client  # noqa: E402
from interviewer.config import Settings  # noqa: E402
from interviewer.engine import guard  # noqa: E402
from interviewer.engine.metrics import LabelledAnswer, agreement, keyword_baseline, length_baseline  # noqa: E402
from interviewer.engine.offline_scorer import OfflineScorer  # noqa: E402
from interviewer.engine.orchestrator import Orchestrator  # noqa: E402
from interviewer.engine.prompts import load_prompts  # noqa: E402
from interviewer.engine.scoring import Assessor, Exchange, ModelScorer  # noqa: E402
from interviewer.llm.fakes import FunctionModel  # noqa: E402
from interviewer.llm.tokens import TokenCounter  # noqa: E402

DATA = ROOT / "tests" / "data"


def fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:.3f}"


def main() -> None:
    bank = load_bank(ROOT / "knowledge")
    embedder = LocalMiniLM()
    scorer = OfflineScorer(embedder)
    items = [
        LabelledAnswer.model_validate_json(line)
        for line in (DATA / "devset.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    batch = [
        (bank.questions[i.question_id], i.answer, bank.tracks[bank.questions[i.question_id].track].rubric)
        for i in items
    ]
    scorer.assess_many(batch[:1])  # load the model
    started = time.perf_counter()
    scores = [a.score for a in scorer.assess_many(batch)]
    cold_rate = len(items) / (time.perf_counter() - started)
    started = time.perf_counter()
    scorer.assess_many(batch)
    batched_rate = len(items) / (time.perf_counter() - started)
    started = time.perf_counter()
    for q, a, r in batch:
        scorer.assess(q, a, r)
    single_rate = len(items) / (time.perf_counter() - started)

    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}.\n")
    print(
        f"### Offline scorer on the development set ({len(items)} answers, "
        f"{len({i.question_id for i in items})} questions)\n"
    )
    print(
        "| set | scorer | Spearman | pairwise | in labelled range | short-excellent > long-wrong | "
        "adequate > confident-wrong |\n| --- | --- | --- | --- | --- | --- | --- |"
    )
    groups: dict[str, list[int]] = defaultdict(list)
    for n, item in enumerate(items):
        groups["all"].append(n)
        groups[item.track or "?"].append(n)
    for name, idx in groups.items():
        for label, values in (
            ("interviewer", [scores[n] for n in idx]),
            ("keyword overlap", [keyword_baseline(items[n]) for n in idx]),
            ("length only", [length_baseline(items[n]) for n in idx]),
        ):
            a = agreement([(items[n], v) for n, v in zip(idx, values, strict=True)])
            print(
                f"| {name} | {label} | {fmt(a.spearman)} | {fmt(a.pairwise)} | {fmt(a.within_range)} | "
                f"{fmt(a.short_over_long_wrong)} | {fmt(a.adequate_over_confident_wrong)} |"
            )
    print(
        f"\nThroughput (target ≥ 50 answers/s): {batched_rate:.1f} answers/s batched, the questions' "
        f"own vectors cached; {cold_rate:.1f} answers/s on a first pass (embedding the questions' key "
        f"points, pitfalls and model answers included); {single_rate:.1f} answers/s one at a time.\n"
    )

    # every key point of the bank stated alone: credited with it, and how often with a sibling
    probes = [
        (q, kp.id, ("I think that " + kp.text.strip(), q, bank.tracks[q.track].rubric))
        for q in bank.questions.values()
        for kp in q.key_points
    ]
    results = scorer.assess_many([(q, text, rubric) for _, _, (text, q, rubric) in probes])
    own = sum(kp in a.covered for (_, kp, _), a in zip(probes, results, strict=True)) / len(probes)
    extra = sum(len(set(a.covered) - {kp}) for (_, kp, _), a in zip(probes, results, strict=True))
    siblings = sum(len(q.key_points) - 1 for q, _, _ in probes)
    print(f"### One key point stated alone ({len(probes)} answers, every key point of the bank)\n")
    print("| measure | result | target |\n| --- | --- | --- |")
    print(f"| its own key point credited | {own:.3f} | ≥ 0.95 |")
    print(f"| another key point of the question credited | {extra / siblings:.3f} | ≤ 0.05 |")
    print(f"| mean score | {sum(a.score for a in results) / len(results):.2f} | — |\n")

    # known misconceptions: each pitfall's claim alone is named; no correct text of the bank is one
    claims = [(q, p.claim.strip(), p.id) for q in bank.questions.values() for p in q.pitfalls]
    named = scorer.assess_many([(q, c, bank.tracks[q.track].rubric) for q, c, _ in claims])
    hits = sum(pid in a.pitfalls for (_, _, pid), a in zip(claims, named, strict=True))
    correct = [
        (q, text.strip(), bank.tracks[q.track].rubric)
        for q in bank.questions.values()
        for text in [*(kp.text for kp in q.key_points), q.model_answer, *(p.why for p in q.pitfalls)]
    ]
    wrongly = sum(bool(a.pitfalls) for a in scorer.assess_many(correct))
    print("### Known misconceptions (every pitfall of the bank)\n")
    print("| measure | result | target |\n| --- | --- | --- |")
    print(f"| a pitfall's claim stated alone is named | {hits} of {len(claims)} | ≥ 95% |")
    print(
        f"| correct bank text (key points, model answers, corrections) read as one | {wrongly} of {len(correct)} | 0 |\n"
    )

    attacks = yaml.safe_load((DATA / "attacks.yaml").read_text(encoding="utf-8"))
    honest = yaml.safe_load((DATA / "honest.yaml").read_text(encoding="utf-8"))
    per_cat: dict[str, list[bool]] = defaultdict(list)
    for a in attacks:
        per_cat[a["category"]].append(bool(guard.detect(a["attack"])))
    flagged = sum(sum(v) for v in per_cat.values())
    fp = sum(bool(guard.detect(h["answer"])) for h in honest)
    print("### Injection guard\n")
    print("| measure | result | target |\n| --- | --- | --- |")
    print(f"| attacks flagged ({len(attacks)}) | {flagged / len(attacks):.3f} | ≥ 0.95 |")
    for cat, hits in sorted(per_cat.items()):
        print(f"| — {cat} ({len(hits)}) | {sum(hits) / len(hits):.2f} | |")
    print(f"| honest-but-tricky answers flagged ({len(honest)}) | {fp / len(honest):.3f} | ≤ 0.05 |")
    texts = [*(q.model_answer for q in bank.questions.values()), *(t for _, t, _ in correct)]
    print(
        f"| correct bank text flagged (model answers, key points, corrections; {len(texts)}) | "
        f"{sum(bool(guard.detect(t)) for t in texts)} | 0 |"
    )

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(_env_file=None, data_dir=Path(tmp))  # type: ignore[call-arg]
        index = VectorIndex(make_chroma_client(settings), embedder)
        index.ingest(bank)
        retriever = Retriever(bank, index)
        assessor = Assessor(scorer, retriever=retriever)

        async def twins() -> int:
            above = 0
            for a in attacks:
                q = bank.questions[a["question_id"]]
                rubric = bank.tracks[q.track].rubric
                s_attack = (
                    await assessor.assess(q, [Exchange(q.question, a["attack"])], rubric, track_title="")
                ).score
                s_clean = (
                    await assessor.assess(q, [Exchange(q.question, a["clean"])], rubric, track_title="")
                ).score
                above += s_attack > s_clean
            return above

        print(f"| attacks scoring above their clean twin | {asyncio.run(twins())} of {len(attacks)} | 0 |\n")
        budget = 4000
        print("### Prompt tokens per model call (a full three-track interview, 600-word answers)\n")
        stats = asyncio.run(_token_run(bank, retriever, scorer, budget))
        print("| measure | result | target |\n| --- | --- | --- |")
        print(f"| model calls | {stats['calls']} | ≤ 2 per candidate turn |")
        print(f"| max prompt tokens in one call | {stats['max']} | ≤ {budget} (budget) |")
        print(f"| total prompt tokens | {stats['total']} | — |")
        print(f"| total if every call replayed the whole history | {stats['replay']} | — |")
        print(f"| ratio | {stats['total'] / stats['replay']:.2f} | ≤ 0.50 |")


async def _token_run(
    bank: object, retriever: Retriever, scorer: OfflineScorer, budget: int
) -> dict[str, int]:
    counter = TokenCounter()
    prompts = load_prompts(ROOT / "prompts")
    sizes: list[int] = []
    history: list[str] = []

    def route(messages: Sequence[BaseMessage]) -> str:
        sizes.append(counter.count_messages((m.type, m.text) for m in messages))
        if "strict, fair technical assessor" in messages[0].text:
            return (
                '{"criteria": [{"id": "accuracy", "score": 3, "evidence": []}], "covered": [], '
                '"missed": [], "pitfalls": [], "manipulation": false}'
            )
        return "Thanks — how would you approach the next part of it?"

    model = FunctionModel(route)
    assessor = Assessor(
        scorer, model_scorer=ModelScorer(model, prompts, counter=counter, budget=budget), retriever=retriever
    )
    engine = Orchestrator(
        bank=bank,
        retriever=retriever,
        assessor=assessor,
        prompts=prompts,  # type: ignore[arg-type]
        model=model,
        counter=counter,
        budget=budget,
    )
    result = await engine.start("full", seed=1)
    state = result.state
    replay = 0
    history = [t.content for t in state.turns]
    filler = (
        "I would start from the requirements, then consider the data model, the bottlenecks and "
        "how to test and operate it, explaining each trade-off as I go. "
    ) * 20
    while state.status == "active":
        before = len(sizes)
        result = await engine.answer(state, filler)
        state = result.state
        history += [t.content for t in result.messages]
        calls = len(sizes) - before
        replay += calls * counter.count("\n".join(history))
    return {"calls": len(sizes), "max": max(sizes), "total": sum(sizes), "replay": replay}


if __name__ == "__main__":
    main()
