"""The offline scorer on the labelled development set, and the behaviours that must hold for any
answer: no reward for padding, repetition or a bag of key-point words; off-topic flagged;
evidence is verbatim; deterministic."""

from __future__ import annotations

import random
from typing import Any

import pytest

from interviewer.bank import Bank
from interviewer.engine.evidence import quote_is_verbatim
from interviewer.engine.metrics import LabelledAnswer, agreement, keyword_baseline
from tests.conftest import DATA

DEVSET = [
    LabelledAnswer.model_validate_json(line)
    for line in (DATA / "devset.jsonl").read_text(encoding="utf-8").splitlines()
    if line.strip()
]


@pytest.fixture(scope="module")
def dev_scores(bank: Bank, offline_scorer: Any) -> list[tuple[LabelledAnswer, float]]:
    batch = [
        (bank.questions[i.question_id], i.answer, bank.tracks[bank.questions[i.question_id].track].rubric)
        for i in DEVSET
    ]
    return [(i, a.score) for i, a in zip(DEVSET, offline_scorer.assess_many(batch), strict=True)]


def test_devset_shape() -> None:
    assert len(DEVSET) >= 60 and len({i.question_id for i in DEVSET}) >= 12
    assert {"excellent", "short-excellent", "adequate", "weak", "confident-wrong", "long-wrong"} <= {
        i.kind for i in DEVSET
    }


def test_agreement_with_labels(dev_scores: list[tuple[LabelledAnswer, float]]) -> None:
    """Floors a little under the measured level on the old development set (0.70 / 0.82 / 0.86 /
    0.86); they catch regressions. The earlier scorer reached 0.79 here because it had been fitted
    to these 84 answers; the current one is fitted on the judgement corpus's tuning half and is
    measured on its test half (`interviewer eval --corpus tests/data/judgement`), where it moved
    from 0.45 to 0.60."""
    ours = agreement(dev_scores)
    baseline = agreement([(i, keyword_baseline(i)) for i, _ in dev_scores])
    assert ours.spearman >= 0.68 and ours.spearman > baseline.spearman + 0.1
    assert ours.pairwise >= 0.8
    assert ours.short_over_long_wrong is not None and ours.short_over_long_wrong >= 0.8
    assert ours.adequate_over_confident_wrong is not None and ours.adequate_over_confident_wrong >= 0.8


def _assess(bank: Bank, scorer: Any, qid: str, text: str) -> Any:
    q = bank.questions[qid]
    return scorer.assess(q, text, bank.tracks[q.track].rubric)


def test_shuffled_bag_of_key_point_words_scores_low(bank: Bank, offline_scorer: Any) -> None:
    rng = random.Random(7)
    for qid in ("py-gil-cpu-io-bound", "arch-url-shortener", "ps-top-n-frequent-ips"):
        words = [w for kp in bank.questions[qid].key_points for w in kp.text.split()]
        rng.shuffle(words)
        lines = [" ".join(words[i : i + 12]) + "." for i in range(0, len(words), 12)]
        assert _assess(bank, offline_scorer, qid, " ".join(lines)).score <= 2.0, qid


def test_no_reward_for_padding_or_repetition(bank: Bank, offline_scorer: Any) -> None:
    item = next(i for i in DEVSET if i.kind == "adequate")
    base = _assess(bank, offline_scorer, item.question_id, item.answer).score
    padding = (
        " In my experience, communication with the team matters a lot, and I always try to "
        "write clean, readable code that my colleagues can maintain easily."
    ) * 5
    assert _assess(bank, offline_scorer, item.question_id, item.answer + padding).score <= base + 0.05
    assert _assess(bank, offline_scorer, item.question_id, (item.answer + " ") * 4).score <= base + 0.05


def test_off_topic_answer_is_flagged(bank: Bank, offline_scorer: Any) -> None:
    a = _assess(
        bank,
        offline_scorer,
        "py-gil-cpu-io-bound",
        "My favourite pasta recipe uses garlic, olive oil and fresh basil from the garden.",
    )
    assert a.score == 1.0 and "off_topic" in a.flags


def test_evidence_is_verbatim_and_result_deterministic(bank: Bank, offline_scorer: Any) -> None:
    item = next(i for i in DEVSET if i.kind == "excellent")
    first = _assess(bank, offline_scorer, item.question_id, item.answer)
    again = _assess(bank, offline_scorer, item.question_id, item.answer)
    assert first == again
    quotes = [q for c in first.criteria for q in c.evidence]
    assert quotes and all(quote_is_verbatim(q, item.answer) for q in quotes)
    assert first.covered and set(first.covered).isdisjoint(first.missed)


def test_known_pitfall_is_named(bank: Bank, offline_scorer: Any) -> None:
    a = _assess(
        bank,
        offline_scorer,
        "py-gil-cpu-io-bound",
        "Because of the GIL, Python code is thread-safe, so you never need a lock around a shared "
        "counter. Threads are fine for CPU-bound work too since the GIL schedules them fairly.",
    )
    assert a.pitfalls and a.score <= 2.0


def test_misconceptions_are_named_and_correct_text_is_not_one(bank: Bank, offline_scorer: Any) -> None:
    """Over the whole bank: each pitfall's claim stated alone is named; no correct text of the bank
    (key points, model answers, the pitfalls' corrections) is read as a misconception; and a
    sentence that states a key point in the words of a pitfall's topic is not punished for the
    resemblance (it was: an excellent answer fell to 2.3 for one such sentence)."""
    claims = [(q, p.claim.strip(), p.id) for q in bank.questions.values() for p in q.pitfalls]
    named = offline_scorer.assess_many([(q, c, bank.tracks[q.track].rubric) for q, c, _ in claims])
    hit = sum(pid in a.pitfalls for (_, _, pid), a in zip(claims, named, strict=True)) / len(claims)
    assert hit >= 0.95, hit
    correct = [
        (q, text.strip(), bank.tracks[q.track].rubric)
        for q in bank.questions.values()
        for text in [*(kp.text for kp in q.key_points), q.model_answer, *(p.why for p in q.pitfalls)]
    ]
    flagged = [
        t for (_, t, _), a in zip(correct, offline_scorer.assess_many(correct), strict=True) if a.pitfalls
    ]
    assert flagged == []
    a = _assess(
        bank,
        offline_scorer,
        "arch-notification-service",
        "Connections live in their own tier of async gateway servers, separate from the normal API, "
        "each holding maybe 50 to 100k WebSockets, or SSE if we only ever push one way.",
    )
    assert a.pitfalls == []


def test_one_key_point_is_not_credited_as_its_siblings(bank: Bank, offline_scorer: Any) -> None:
    """Key points of one question are close to each other (the GIL's five are 0.6-0.7 apart), so a
    sentence stating one of them is near the rest; only its closeness beyond what that one key
    point explains counts. Over the whole bank, an answer that states a single key point must be
    credited with it and hardly ever with another, and stating two credits both."""
    batch, meta = [], []
    for q in bank.questions.values():
        for kp in q.key_points:
            batch.append((q, "I think that " + kp.text.strip(), bank.tracks[q.track].rubric))
            meta.append((q, kp.id))
    results = offline_scorer.assess_many(batch)
    own = sum(kp in a.covered for (_, kp), a in zip(meta, results, strict=True)) / len(meta)
    others = sum(len(set(a.covered) - {kp}) for (_, kp), a in zip(meta, results, strict=True))
    siblings = sum(len(q.key_points) - 1 for q, _ in meta)
    assert own >= 0.95 and others / siblings <= 0.05, (own, others / siblings)

    gil = bank.questions["py-gil-cpu-io-bound"]
    rubric = bank.tracks["python"].rubric
    first, second = (gil.key_points[0].text.strip(), gil.key_points[1].text.strip())
    assert offline_scorer.assess(gil, "I think that " + first, rubric).covered == [gil.key_points[0].id]
    both = offline_scorer.assess(gil, f"{first} {second}", rubric)
    assert {gil.key_points[0].id, gil.key_points[1].id} <= set(both.covered)


def test_doubt_is_what_reads_wrong_and_padding_cannot_dilute_it(bank: Bank, offline_scorer: Any) -> None:
    """An answer's doubt counts the words of its sentences that read closer to the question's known
    wrong statements than to anything correct: the pitfalls' own claims carry it, the key points
    do not, harmless padding adds nothing to the count (a share could be diluted), and code is not
    a claim."""
    q = bank.questions["py-gil-cpu-io-bound"]
    claims = " ".join(p.claim.strip() for p in q.pitfalls[:3])
    right = " ".join(kp.text.strip() for kp in q.key_points)

    def doubt(text: str) -> float:
        feats = offline_scorer.features_many([(q, text)])[0]
        assert not isinstance(feats, str)
        return float(feats.doubt)

    assert doubt(claims) > 0.1
    assert doubt(right) < doubt(claims) / 3
    padding = " Thanks for asking, I enjoyed preparing for this interview with my team last week."
    assert doubt(claims + padding * 3) == pytest.approx(doubt(claims), abs=0.02)
    code = "```python\n" + "\n".join(f"# {p.claim.strip()}" for p in q.pitfalls[:3]) + "\nx = 1\n```"
    assert doubt(right + "\n\n" + code) == pytest.approx(doubt(right), abs=1e-9)


def test_doubt_lowers_the_credit_but_a_point_talked_about_is_not_called_missed(
    bank: Bank, offline_scorer: Any
) -> None:
    """Doubt lowers every key point's coverage (the credit, so the score), monotonically; whether a
    point was missed, which picks the follow-ups and "worth adding", is read without it: a
    follow-up never asks again for what a doubted sentence talked about."""
    import dataclasses

    import numpy as np

    from interviewer.engine.offline_scorer import Features, rubric_assessment

    q = bank.questions["py-gil-cpu-io-bound"]
    n = len(q.key_points)
    base = Features(
        units=["x"] * n,
        embedding=np.full(n, 0.2),  # a point talked about, not clearly stated (about 0.35)
        lexical=np.full(n, 0.13),
        best=np.arange(n),
        wrong={},
        near_wrong=1.0,
        order=1.0,
    )
    values = []
    for d in (0.0, 0.5, 1.0, 2.0):
        cov = offline_scorer.coverage(q, dataclasses.replace(base, doubt=d))
        values.append([c.value for c in cov])
        a = rubric_assessment(q, bank.tracks["python"].rubric, None, cov, {})
        assert a.missed == [] and a.covered == []
    assert np.all(np.diff(np.array(values), axis=0) < 0)
    assert max(values[-1]) < offline_scorer.params.missed_below < min(values[0])


def test_inline_code_is_not_broken_word_order() -> None:
    """`disorder` reads prose: inline code (`a is b`, `x in d`) is a noun to it, so terse notes
    full of code spans are not taken for a shuffled bag of words."""
    from interviewer.engine.fluency import disorder

    notes = "- `a is b` = identity; `x in d` = membership\n- the `is` check → `id(a) == id(b)`"
    assert disorder(notes) <= 0.2
    assert disorder("the of is and a with the for . an or a") > 0.5
